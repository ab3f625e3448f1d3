"""One turn of conversation: understand, decide through the policy, act with tools, answer, ground, remember.

`Agent.turn(session, message) -> Reply` is the single entry point used by the UI, the CLI and the evals. What
the Agent does not know is how its policy decides: agents/policies/ holds the policies, one module each.
"""

from __future__ import annotations

import copy
import time

from agents import answer
from agents.context import Context
from agents.nlu import Parser, TitleMention
from agents.policies.base import Policy
from agents.policies.planner import PlannerPolicy
from agents.reply import Reply
from agents.state import Session, ShownItem, TraceStep, TurnLog
from agents.toolbox import INDEX_NOTICE, REASONS_NOTICE, Toolbox, index_was_down
from data.catalog import Catalog
from data.lookup import TitleLookup


class Agent:
    """Holds no per-user state: everything about a conversation lives in the Session passed in."""

    def __init__(
        self,
        catalog: Catalog,
        lookup: TitleLookup,
        toolbox: Toolbox,
        *,
        k: int = 5,
        policy: Policy | None = None,
        use_reranker: bool = False,
        vocabulary: frozenset[str] | None = None,
    ) -> None:
        self.context = Context(catalog, lookup, toolbox, k=k, use_reranker=use_reranker)
        self.parser = Parser(lookup, vocabulary)
        self.decider: Policy = policy if policy is not None else PlannerPolicy()

    @property
    def policy(self) -> str:
        """The name of the policy that decides each turn ("planner", "llm"); the policy itself is `decider`."""
        return self.decider.name

    # what the policy is lent, readable on the agent as before
    @property
    def catalog(self) -> Catalog:
        return self.context.catalog

    @property
    def lookup(self) -> TitleLookup:
        return self.context.lookup

    @property
    def tools(self) -> Toolbox:
        return self.context.tools

    @property
    def k(self) -> int:
        return self.context.k

    @property
    def use_reranker(self) -> bool:
        return self.context.use_reranker

    def with_policy(self, policy: Policy) -> Agent:
        """This agent's tools, parser and settings under another policy (the two share everything but the policy)."""
        other = copy.copy(self)
        other.decider = policy
        return other

    # -- entry point ---------------------------------------------------------------------------
    def turn(self, session: Session, message: str) -> Reply:
        t0 = time.perf_counter()
        trace: list[TraceStep] = []
        notices: list[str] = []
        parsed = self.parser.parse(message, session)  # understand
        if parsed.truncated:
            notices.append("Your message was very long; I read its first 2,000 characters.")
        clarify = self._title_notices(parsed.mentions, notices)
        reply = self.decider.turn(self.context, session, parsed, trace, clarify=clarify)  # decide, act, answer, ground
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
