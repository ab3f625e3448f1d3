"""The "planner" policy (the default): deterministic rules map the dialogue state to tools.

History only -> seqrec; wish only -> retriever; both -> reciprocal-rank fusion of the two; more-like -> similar
items fused with seqrec seeded with them; explain -> evidence; chit-chat -> a short answer, no tools.
Constraints travel inside the tools as filters, exclusions (seen, disliked, profile, shown) too.
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace

from agents import answer
from agents.context import Context, turn_key
from agents.dialogue import update_state
from agents.nlu import Parsed
from agents.nlu.feedback import says_not_seen
from agents.nlu.intent import asks_for_films
from agents.present import present
from agents.reply import Reply
from agents.state import Session, TraceStep
from agents.toolbox import POOL, ToolResult, index_was_down

OUT_OF_SCOPE = (
    "I can only help with films from this catalog ({n:,} movies, {lo}-{hi}). Tell me a few you loved, or describe what you're "
    "in the mood for: a genre, a decade, a mood."
)
GREETING = "Hi! I'm TalkRec. Tell me a few films you loved, or what you're in the mood for (\"a funny 80s adventure\"), and I'll suggest some."


class PlannerPolicy:
    """Holds no state: everything it decides from is in the session and the parsed message."""

    name = "planner"

    def turn(self, ctx: Context, session: Session, p: Parsed, trace: list[TraceStep], *, clarify: bool = False) -> Reply:
        key = turn_key(session)
        if p.intent == "empty":
            return Reply(
                GREETING if not session.turns else "I didn't catch that: tell me a film you liked or what you're in the mood for.", intent="empty"
            )
        if p.intent == "chitchat":
            lo, hi = ctx.catalog.year_range
            text = GREETING if not session.turns and answer_is_greeting(p.text) else OUT_OF_SCOPE.format(n=len(ctx.catalog), lo=lo, hi=hi)
            return Reply(text, intent="chitchat")
        if p.intent == "explain":
            return self._explain(ctx, session, p, trace, key)
        if p.intent == "item_info":
            target = p.targets[0] if p.targets else self._the_one_on_the_table(session)
            if target is None:
                if says_not_seen(p.text):
                    return Reply(
                        "Then they're new to you. Ask about one (“what's the second one about?”), or tell me what to change.", intent="item_info"
                    )
                return Reply("Which film do you mean? Say “the second one” or give its title.", intent="item_info")
            session.focus = target
            return Reply(ctx.tools.item_details(trace, target) + " Want more like it?", intent="item_info")
        if p.intent == "feedback":
            return self._feedback(ctx, session, p, trace, key)
        if clarify and not p.titles:
            return Reply("", intent="clarify")
        if p.intent == "more_like":
            seeds = p.titles if p.feedback else p.targets
            for r in p.refs if p.feedback else []:
                session.mark(r, p.feedback)
            if seeds:
                # "like Alien but from the 90s": the message's constraints join those of the conversation
                update_state(ctx.catalog, session, replace(p, intent="refine", titles=[], wish=""))
                session.focus = seeds[0]
                for sd in seeds:  # asking for more like a film is a vote for it
                    if sd not in session.taste():
                        session.mark(sd, "liked")
                res = ctx.tools.more_like(session, trace, seeds)
                basis = "like " + ", ".join(ctx.catalog.get(s).title for s in seeds[:3])
                return present(ctx, session, res, trace, key, basis, "more_like")
        update_state(ctx.catalog, session, p)
        return self._recommend(ctx, session, p, trace, key)

    @staticmethod
    def _the_one_on_the_table(session: Session) -> int | None:
        """The film a message about "it" means when it names none: the only one last shown, else the one in focus."""
        shown = session.last_shown()
        if len(shown) == 1:
            return shown[0].item_id
        return session.focus

    def rank(self, ctx: Context, session: Session, k: int = POOL) -> list[int]:
        """What the planner would recommend now, from the session's state as it is (no new message): up to k
        item ids, best first, through the same tools, fusion and reranking as a recommendation turn, so the
        first ctx.k are the items that turn would show. Seen, disliked, profile and shown items are excluded
        as there. The session is not changed (the tools work on a copy). For k above POOL the tools are asked
        for k candidates each, so the fused order below POOL can differ from a turn's."""
        scratch = copy.deepcopy(session)
        res, _ = self._candidates(ctx, scratch, [], max(k, POOL))
        return [c.item_id for c in res.candidates[:k]]

    # -- recommendation ------------------------------------------------------------------------
    def _candidates(self, ctx: Context, session: Session, trace: list[TraceStep], pool: int = POOL) -> tuple[ToolResult, str]:
        """The recommendation path: the tools the state calls for, then the reranker where it is on; with the
        heading's basis ("based on ...")."""
        taste, wish, c = session.taste(), session.wish, session.constraints
        if taste and wish:
            res = ctx.tools.hybrid(session, trace, k=pool)
            # with the index down the wish could not be searched: the notice says so, the heading must not claim it
            basis = "from your favourites" if index_was_down(trace) else f"from your favourites and “{wish}”"
        elif taste:
            res = ctx.tools.recommend_from_history(session, trace, k=pool)
            names = [ctx.catalog.get(t).title for t in taste[-3:]]
            basis = "based on " + answer.join_names(names) if not session.user_id else "based on your viewing history"
        elif wish:
            res = ctx.tools.search_by_description(session, trace, k=pool)
            basis = f"for “{wish}”"
        elif session.on_the_table() and session.user_id is None and ctx.tools.corating is not None:
            # no favourites yet, but films on the table the user did not reject ("seen it", "sounds good"): more in
            # their vein, not the most popular films
            res = ctx.tools.recommend_from_history(session, trace, k=pool)
            names = [ctx.catalog.get(t).title for t in session.on_the_table()[:3]]
            basis = "in the vein of " + answer.join_names(names)
        elif not c.is_empty():
            # filters alone ("a horror film from the 80s"), nothing to describe: the films most people rated among
            # those that fit, not the ones whose text sits nearest the words "genres: Horror"
            res = ctx.tools.popular(session, trace, k=pool)
            basis = "for " + c.describe()
        else:
            res = ctx.tools.popular(session, trace, k=pool)
            basis = "that many people loved (tell me films you like for personal picks)"
        if c.describe() and "for " + c.describe() != basis:
            basis += f" ({c.describe()})"
        if ctx.use_reranker and res.candidates and taste:
            res = ctx.tools.rerank_candidates(session, trace, request=wish)
        return res, basis

    def _recommend(self, ctx: Context, session: Session, p: Parsed, trace: list[TraceStep], key: tuple) -> Reply:
        res, basis = self._candidates(ctx, session, trace)
        return present(ctx, session, res, trace, key, basis, p.intent if p.intent in ("refine", "recommend") else "recommend")

    # -- explanations and feedback -------------------------------------------------------------
    def _explain(self, ctx: Context, session: Session, p: Parsed, trace: list[TraceStep], key: tuple) -> Reply:
        target = p.targets[0] if p.targets else (session.focus if session.focus is not None else None)
        if target is None:
            shown = session.last_shown()
            if not shown:
                return Reply("Which film should I explain? Ask me for recommendations first, or name a title.", intent="explain")
            target = shown[0].item_id
        session.focus = target
        ev = ctx.tools.explain_item(session, trace, target)
        return Reply(answer.explanation(ev, key), intent="explain")

    def _feedback(self, ctx: Context, session: Session, p: Parsed, trace: list[TraceStep], key: tuple) -> Reply:
        one = self._the_one_on_the_table(session)
        targets = p.targets or ([one] if one is not None else [])
        if not targets:
            if not (p.wants_more or asks_for_films(p.text)):
                return Reply("Which one do you mean? Say “the second one” or give its title.", intent="feedback")
            # "seen that one, what else?" with several on the table: which one is unclear, the request is not; the list
            # shown is left out anyway, so answer it and say what was not noted
            update_state(ctx.catalog, session, replace(p, intent="refine", titles=[], wish=p.wish if asks_for_films(p.text) else ""))
            rep = self._recommend(ctx, session, p, trace, key)
            rep.text = "I'm not sure which film you mean, so I haven't noted it (say “the second one” or give its title). " + rep.text
            rep.intent = "feedback"
            return rep
        t0 = time.perf_counter()
        for t in targets:
            session.mark(t, p.feedback or "seen")
        trace.append(
            TraceStep(
                "feedback",
                {"feedback": p.feedback, "items": [ctx.catalog.get(t).title for t in targets]},
                round((time.perf_counter() - t0) * 1000, 1),
                len(targets),
                0,
            )
        )
        names = answer.join_names([ctx.catalog.get(t).label for t in targets])
        ack = {
            "seen": f"Noted: you've seen {names}.",
            "liked": f"Great, I'll count {names} as a favourite.",
            "disliked": f"Got it, {names} {'are' if len(targets) > 1 else 'is'} not for you.",
        }[p.feedback or "seen"]
        if p.feedback == "liked" and not p.wants_more:
            return Reply(ack + " Ask for more whenever you like.", intent="feedback")
        # "None of these. Something from the 80s?": the rest of the message refines the request; its words become
        # part of the wish only when it asks for films ("I skipped it, I thought it was a remake" describes nothing wanted)
        update_state(ctx.catalog, session, replace(p, intent="refine", titles=[], wish=p.wish if asks_for_films(p.text) else ""))
        rep = self._recommend(ctx, session, p, trace, key)
        rep.text = ack + " " + rep.text
        rep.intent = "feedback"
        return rep


def answer_is_greeting(text: str) -> bool:
    return text.lower().strip(" !.").split(" ")[0] in {"hi", "hello", "hey", "yo", "morning", "evening", "hiya"}
