"""One turn of conversation: understand, decide (planner or LLM), act with tools, answer, ground.

`Agent.turn(session, message) -> Reply` is the single entry point used by the UI, the CLI and the evals.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from statistics import median

from agents import answer
from agents.grounding import ground
from agents.nlu import Parsed, Parser, TitleMention
from agents.state import Constraints, Session, ShownItem, TraceStep, TurnLog
from agents.toolbox import INDEX_NOTICE, REASONS_NOTICE, Toolbox, ToolResult, index_was_down
from data.catalog import Catalog
from data.errors import BackendTimeout, TalkRecError
from data.lookup import TitleLookup
from tools.explainer import Evidence

log = logging.getLogger(__name__)


@dataclass
class ReplyItem:
    item_id: int
    title: str
    year: int | None
    genres: list[str]
    reason: str
    source: str
    rank: int

    @property
    def label(self) -> str:
        return answer.label(self.title, self.year)


@dataclass
class Reply:
    text: str
    items: list[ReplyItem] = field(default_factory=list)
    trace: list[TraceStep] = field(default_factory=list)
    intent: str = ""
    notices: list[str] = field(default_factory=list)
    fallback: bool = False
    latency_ms: float = 0.0


OUT_OF_SCOPE = (
    "I can only help with films from this catalog ({n:,} movies, {lo}-{hi}). Tell me a few you loved, or describe what you're "
    "in the mood for: a genre, a decade, a mood."
)
GREETING = "Hi! I'm TalkRec. Tell me a few films you loved, or what you're in the mood for (\"a funny 80s adventure\"), and I'll suggest some."


class Agent:
    """Holds no per-user state: everything about a conversation lives in the Session passed in."""

    def __init__(
        self,
        catalog: Catalog,
        lookup: TitleLookup,
        toolbox: Toolbox,
        *,
        k: int = 5,
        llm_policy: object | None = None,
        use_reranker: bool = False,
        vocabulary: frozenset[str] | None = None,
        llm_pause_s: float = 30.0,
    ) -> None:
        self.catalog = catalog
        self.lookup = lookup
        self.parser = Parser(lookup, vocabulary)
        self.tools = toolbox
        self.k = k
        self.llm_policy = llm_policy  # agents.llm_policy.LLMPolicy, or None for the planner
        self.use_reranker = use_reranker
        # After a timeout the model is not asked again for llm_pause_s: a hung server would otherwise cost every
        # turn of every user the full timeout. Backend health, shared by all sessions; no user state.
        self.llm_pause_s = llm_pause_s
        self._llm_paused_until = 0.0  # time.monotonic() before which the planner answers without asking

    @property
    def policy(self) -> str:
        return "llm" if self.llm_policy is not None else "planner"

    # -- entry point ---------------------------------------------------------------------------
    def turn(self, session: Session, message: str) -> Reply:
        t0 = time.perf_counter()
        trace: list[TraceStep] = []
        notices: list[str] = []
        parsed = self.parser.parse(message, session)
        if parsed.truncated:
            notices.append("Your message was very long; I read its first 2,000 characters.")
        clarify = self._title_notices(parsed.mentions, notices)
        reply: Reply | None = None
        # Greetings, out-of-scope talk and feedback ("seen the third one") change state or need no tool: code
        # handles them under both policies, so a model's stray tool call can never lose a user's feedback.
        wants_llm = self.llm_policy is not None and parsed.intent not in ("empty", "chitchat", "feedback")
        paused_s = self._llm_paused_until - time.monotonic()
        if wants_llm and paused_s > 0:
            backend = getattr(self.llm_policy, "backend_name", "?")
            trace.append(
                TraceStep(
                    "llm",
                    {"backend": backend},
                    0.0,
                    0,
                    0,
                    note=f"language model paused after a timeout; asked again in {paused_s:.0f} s",
                    fallback=True,
                )
            )
            notices.append(
                "The language model did not answer in time a moment ago, so I answered with the built-in planner; "
                f"I will try it again in {paused_s:.0f} s."
            )
            wants_llm = False
        if wants_llm:
            try:
                reply = self.llm_policy.turn(self, session, parsed, trace)
            except TalkRecError as exc:
                if isinstance(exc, BackendTimeout) and self.llm_pause_s > 0:
                    self._llm_paused_until = time.monotonic() + self.llm_pause_s
                log.warning("llm policy failed, falling back to the planner: %s", exc)
                trace.append(
                    TraceStep(
                        "llm",
                        {"backend": getattr(self.llm_policy, "backend_name", "?")},
                        0.0,
                        0,
                        0,
                        note=f"language model failed, the planner answered: {exc}",
                        fallback=True,
                    )
                )
                from agents.llm_policy import fallback_notice  # already loaded: the policy object comes from it

                notices.append(fallback_notice(exc))
        if reply is None:
            reply = self._planner_turn(session, parsed, trace, clarify)
        reply.notices = notices + reply.notices
        if index_was_down(trace) and not any(n.startswith(INDEX_NOTICE) for n in reply.notices):
            reply.notices.append(REASONS_NOTICE)  # the tools said what they did instead; only evidence is left
        reply.trace = trace
        reply.fallback = any(s.fallback for s in trace)
        body = reply.text
        if reply.notices:
            body = "\n".join(reply.notices) + ("\n\n" + body if body else "")
        reply.text = body
        reply.latency_ms = round((time.perf_counter() - t0) * 1000, 1)
        self._remember(session, reply, message)
        return reply

    # -- bookkeeping ---------------------------------------------------------------------------
    def _title_notices(self, mentions: list[TitleMention], notices: list[str]) -> bool:
        clarify = False
        said: set[str] = set()
        for m in mentions:
            if m.text.lower() in said:  # the same title twice in a message gets one notice
                continue
            said.add(m.text.lower())
            if m.status == "not_found":
                sugg = ", ".join(answer.label(s.title, s.year) for s in m.options[:3])
                notices.append(f"I couldn't find “{m.text}” in the catalog" + (f"; did you mean {sugg}?" if sugg else "."))
            elif m.status == "ambiguous":
                opts = " or ".join(answer.label(s.title, s.year) for s in m.options[:4])
                notices.append(f"“{m.text}” matches more than one film: {opts}. Which one? (add the year)")
                clarify = True
        return clarify

    def _remember(self, session: Session, reply: Reply, message: str) -> None:
        turn = session.turn_no
        for pos, it in enumerate(reply.items, start=1):
            session.shown.append(ShownItem(it.item_id, turn, pos, it.source, it.reason))
        session.turns.append(TurnLog(turn, message[:2000], reply.intent, reply.text, [i.item_id for i in reply.items], reply.trace))

    def allowed_names(self, session: Session) -> set[int]:
        """Items a reply may name: the bus, everything shown, and the user's own items."""
        return (
            {c.item_id for c in session.bus}
            | {s.item_id for s in session.shown}
            | set(session.history)
            | set(session.liked)
            | set(session.disliked)
            | set(session.seen)
        )

    # -- the deterministic planner -------------------------------------------------------------
    def _planner_turn(self, session: Session, p: Parsed, trace: list[TraceStep], clarify: bool) -> Reply:
        key = (session.session_id, session.turn_no)
        if p.intent == "empty":
            return Reply(
                GREETING if not session.turns else "I didn't catch that: tell me a film you liked or what you're in the mood for.", intent="empty"
            )
        if p.intent == "chitchat":
            lo, hi = self.catalog.year_range
            text = GREETING if not session.turns and answer_is_greeting(p.text) else OUT_OF_SCOPE.format(n=len(self.catalog), lo=lo, hi=hi)
            return Reply(text, intent="chitchat")
        if p.intent == "explain":
            return self._explain(session, p, trace, key)
        if p.intent == "item_info":
            target = p.targets[0] if p.targets else None
            if target is None:
                return Reply("Which film do you mean? Give me its title.", intent="item_info")
            session.focus = target
            return Reply(self.tools.item_details(trace, target) + " Want more like it?", intent="item_info")
        if p.intent == "feedback":
            return self._feedback(session, p, trace, key)
        if clarify and not p.titles:
            return Reply("", intent="clarify")
        if p.intent == "more_like":
            seeds = p.titles if p.feedback else p.targets
            for r in p.refs if p.feedback else []:
                session.mark(r, p.feedback)
            if seeds:
                # "like Alien but from the 90s": the message's constraints join those of the conversation
                self._update_state(session, replace(p, intent="refine", titles=[], wish=""))
                session.focus = seeds[0]
                for sd in seeds:  # asking for more like a film is a vote for it
                    if sd not in session.taste():
                        session.mark(sd, "liked")
                res = self.tools.more_like(session, trace, seeds)
                basis = "like " + ", ".join(self.catalog.get(s).title for s in seeds[:3])
                return self._present(session, res, trace, key, basis, "more_like")
        self._update_state(session, p)
        return self._recommend(session, p, trace, key)

    def _update_state(self, session: Session, p: Parsed) -> None:
        disliking = p.feedback is None and bool(p.titles) and _negative(p.text)
        for t in p.titles:
            if disliking:
                session.mark(t, "disliked")
            else:
                session.add_history(t)
        c = session.constraints
        if p.intent == "recommend":
            # a fresh request starts fresh constraints; refinements ("no horror", "older") merge below
            session.constraints = Constraints(
                genres_any=list(p.genres_any),
                genres_all=list(p.genres_all),
                genres_none=list(p.genres_none),
                year_min=p.year_range[0] if p.year_range else None,
                year_max=p.year_range[1] if p.year_range else None,
            )
            session.wish = p.wish
            for g in session.constraints.genres_any + session.constraints.genres_all:
                if g in session.constraints.genres_none:
                    session.constraints.genres_none.remove(g)
        else:  # refine: merge into what is there
            if p.genres_any and _ALSO_RE.search(p.text):
                # "also a comedy": the new genre is required on top of what was asked
                c.genres_all = list(dict.fromkeys(c.genres_all + p.genres_any))
            elif p.genres_any:
                c.genres_any = list(p.genres_any)
            if p.genres_all:
                c.genres_all = list(p.genres_all)
            c.genres_none = list(dict.fromkeys(c.genres_none + p.genres_none))
            c.genres_any = [g for g in c.genres_any if g not in c.genres_none]
            if p.year_range:
                c.year_min, c.year_max = p.year_range
            years = [self.catalog.get(s.item_id).year for s in session.last_shown()]
            years = [y for y in years if y is not None]
            if p.relative_year == "older" and (years or c.year_min):
                # older than the decade asked for, else older than what was shown
                edge = c.year_min if c.year_min else min(years)
                c.year_min, c.year_max = None, max(edge - 1, self.catalog.year_range[0] + 5)
            elif p.relative_year == "newer" and years:
                c.year_min, c.year_max = min(int(median(years)) + 1, self.catalog.year_range[1]), None
            if p.wish and p.wish not in session.wish:
                session.wish = (session.wish + " " + p.wish).strip()

    def _recommend(self, session: Session, p: Parsed, trace: list[TraceStep], key: tuple) -> Reply:
        taste, wish, c = session.taste(), session.wish, session.constraints
        if taste and wish:
            res = self.tools.hybrid(session, trace)
            # with the index down the wish could not be searched: the notice says so, the heading must not claim it
            basis = "from your favourites" if index_was_down(trace) else f"from your favourites and “{wish}”"
        elif taste:
            res = self.tools.recommend_from_history(session, trace)
            names = [self.catalog.get(t).title for t in taste[-3:]]
            basis = "based on " + answer.join_names(names) if not session.user_id else "based on your viewing history"
        elif wish or not c.is_empty():
            res = self.tools.search_by_description(session, trace)
            basis = "for " + (f"“{wish}”" if wish else c.describe())
        else:
            res = self.tools.recommend_from_history(session, trace)
            basis = "that many people loved (tell me films you like for personal picks)"
        if c.describe() and "for " + c.describe() != basis:
            basis += f" ({c.describe()})"
        if self.use_reranker and res.candidates and taste:
            res = self.tools.rerank_candidates(session, trace, request=wish)
        return self._present(session, res, trace, key, basis, p.intent if p.intent in ("refine", "recommend") else "recommend")

    def _present(
        self,
        session: Session,
        res: ToolResult,
        trace: list[TraceStep],
        key: tuple,
        basis: str,
        intent: str,
        reasons: Callable[[Sequence[Evidence]], list[str]] | None = None,
    ) -> Reply:
        """The reply for a list of candidates. `reasons` writes one reason per item from its evidence
        (the llm policy's checked model reasons); the default is the template."""
        picks = res.candidates[: self.k]
        evs = self.tools.explain_items(session, trace, [c.item_id for c in picks])
        texts = reasons(evs) if reasons is not None and evs else [answer.reason(ev, key) for ev in evs]
        items: list[ReplyItem] = []
        for c, text in zip(picks, texts, strict=True):
            it = self.catalog.get(c.item_id)
            items.append(ReplyItem(it.item_id, it.title, it.year, list(it.genres), text, c.source, c.rank))
        notes = [n for n in res.notes if n]
        if not items:
            msg = "I found nothing in the catalog that fits all of that"
            msg += f" ({session.constraints.describe()})." if session.constraints.describe() else "."
            return Reply(msg + " Try loosening a filter: another decade or fewer excluded genres.", intent=intent, notices=notes)
        lines = [answer.intro(len(items), basis, key)]
        lines += [f"{n}. {it.label} — {it.reason}" for n, it in enumerate(items, start=1)]
        lines.append(answer.outro(key))
        session.focus = None
        text = "\n".join(lines)
        report = ground(text, self.lookup, self.allowed_names(session))
        if report.removed:
            log.error("grounding removed %s from a template reply", report.removed)
        return Reply(report.text, items=items, intent=intent, notices=notes)

    def _explain(self, session: Session, p: Parsed, trace: list[TraceStep], key: tuple) -> Reply:
        target = p.targets[0] if p.targets else (session.focus if session.focus is not None else None)
        if target is None:
            shown = session.last_shown()
            if not shown:
                return Reply("Which film should I explain? Ask me for recommendations first, or name a title.", intent="explain")
            target = shown[0].item_id
        session.focus = target
        ev = self.tools.explain_item(session, trace, target)
        return Reply(answer.explanation(ev, key), intent="explain")

    def _feedback(self, session: Session, p: Parsed, trace: list[TraceStep], key: tuple) -> Reply:
        targets = p.targets
        if not targets:
            shown = session.last_shown()
            if len(shown) == 1:
                targets = [shown[0].item_id]
            elif session.focus is not None:
                targets = [session.focus]
        if not targets:
            return Reply("Which one do you mean? Say “the second one” or give its title.", intent="feedback")
        t0 = time.perf_counter()
        for t in targets:
            session.mark(t, p.feedback or "seen")
        trace.append(
            TraceStep(
                "feedback",
                {"feedback": p.feedback, "items": [self.catalog.get(t).title for t in targets]},
                round((time.perf_counter() - t0) * 1000, 1),
                len(targets),
                0,
            )
        )
        names = answer.join_names([self.catalog.get(t).label for t in targets])
        ack = {
            "seen": f"Noted: you've seen {names}.",
            "liked": f"Great, I'll count {names} as a favourite.",
            "disliked": f"Got it, {names} {'are' if len(targets) > 1 else 'is'} not for you.",
        }[p.feedback or "seen"]
        if p.feedback == "liked" and not p.wants_more:
            return Reply(ack + " Ask for more whenever you like.", intent="feedback")
        # "None of these. Something from the 80s?": the rest of the message refines the request
        self._update_state(session, replace(p, intent="refine", titles=[]))
        rep = self._recommend(session, p, trace, key)
        rep.text = ack + " " + rep.text
        rep.intent = "feedback"
        return rep


_ALSO_RE = re.compile(r"\b(also|as well|too|plus)\b", re.I)


def answer_is_greeting(text: str) -> bool:
    return text.lower().strip(" !.").split(" ")[0] in {"hi", "hello", "hey", "yo", "morning", "evening", "hiya"}


def _negative(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in ("hated", "didn't like", "did not like", "dislike", "not a fan of", "can't stand", "hate "))
