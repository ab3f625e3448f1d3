"""The systems the simulator talks to: TalkRec's agent and the baselines, behind one small interface.

Every system gets the same profile and the same messages, shows at most k items a turn, and never
shows an item of the profile or one it showed before in the session (the agent does this itself; the
baselines are given the same exclusions, so the comparison is fair).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.agent import Agent
from agents.state import Session
from data.catalog import Catalog

CHATREC_CANDIDATES = 20  # Chat-Rec / LlamaRec retrieve 20 and let the LLM rank them
# Only the top k of the LLM's ranking is shown, so its answer is cut at this many tokens (about 15
# indices): list-wise generation is the slow part of this baseline on a CPU.
CHATREC_MAX_TOKENS = 48


@dataclass
class Shown:
    """One turn of a system: what it showed and said, how long it took, which tools it used."""

    item_ids: list[int]
    text: str
    latency_ms: float
    tools: list[str] = field(default_factory=list)


@dataclass
class Conversation:
    """A system's per-session state; the agent keeps its Session in `session`."""

    profile: list[int]
    messages: list[str] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)
    session: Session | None = None

    def blocked(self) -> set[int]:
        return set(self.profile) | set(self.shown)


class System(Protocol):
    name: str

    def start(self, user_id: int, profile: Sequence[int]) -> Conversation: ...

    def turn(self, conv: Conversation, message: str) -> Shown: ...


def _labels(ids: Sequence[int], catalog: Catalog) -> str:
    return "\n".join(f"{n}. {catalog.get(i).label}" for n, i in enumerate(ids, start=1))


class AgentSystem:
    """TalkRec itself (planner or llm policy), driven through Agent.turn like the app."""

    def __init__(self, name: str, agent: Agent) -> None:
        self.name = name
        self.agent = agent

    def start(self, user_id: int, profile: Sequence[int]) -> Conversation:
        session = Session(user_id=user_id, history=list(profile))
        return Conversation(list(profile), session=session)

    def turn(self, conv: Conversation, message: str) -> Shown:
        assert conv.session is not None
        reply = self.agent.turn(conv.session, message)
        ids = [i.item_id for i in reply.items]
        conv.messages.append(message)
        conv.shown += ids
        return Shown(ids, reply.text, reply.latency_ms, [s.tool for s in reply.trace])


class _Baseline(ABC):
    """Shared turn logic: record the message, rank, drop blocked items, keep k."""

    name = "baseline"

    def __init__(self, catalog: Catalog, k: int) -> None:
        self.catalog = catalog
        self.k = k

    def start(self, user_id: int, profile: Sequence[int]) -> Conversation:
        return Conversation(list(profile))

    def turn(self, conv: Conversation, message: str) -> Shown:
        t0 = time.perf_counter()
        conv.messages.append(message)
        ids, tools = self._pick(conv)
        ids = [i for i in ids if i not in conv.blocked()][: self.k]
        conv.shown += ids
        return Shown(ids, _labels(ids, self.catalog), round((time.perf_counter() - t0) * 1000, 1), tools)

    @abstractmethod
    def _pick(self, conv: Conversation) -> tuple[list[int], list[str]]:
        """Ranked item ids (more than k is fine) and the tool names used."""


class SasrecOnly(_Baseline):
    """The sequential model on the profile; the words are ignored."""

    name = "SASRec only"

    def __init__(self, catalog: Catalog, seqrec: Any, k: int) -> None:
        super().__init__(catalog, k)
        self.seqrec = seqrec

    def _pick(self, conv: Conversation) -> tuple[list[int], list[str]]:
        res = self.seqrec.recommend(conv.profile, k=self.k, exclude=conv.blocked())
        return [int(i) for i, _ in res.items], [f"seqrec:{res.method}"]


def dialogue_text(messages: Sequence[str]) -> str:
    """What the text-only baselines search with: the whole dialogue so far, as Chat-Rec does."""
    return " ".join(messages)


class RetrieverOnly(_Baseline):
    """Dense retrieval over item sentences with the dialogue text; the profile is ignored (except that
    its items are not shown again)."""

    name = "retriever only"

    def __init__(self, catalog: Catalog, retriever: Any, k: int) -> None:
        super().__init__(catalog, k)
        self.retriever = retriever

    def _pick(self, conv: Conversation) -> tuple[list[int], list[str]]:
        res = self.retriever.search(dialogue_text(conv.messages), k=self.k, exclude=conv.blocked())
        return res.ids, ["retriever"]


class ChatRecStyle(_Baseline):
    """Chat-Rec: retrieve CHATREC_CANDIDATES by the dialogue text, then an LLM ranks them list-wise given
    the user's recent history (tools.reranker, the embedded model by default)."""

    name = "Chat-Rec style"

    def __init__(
        self, catalog: Catalog, retriever: Any, backend: Any, k: int, n_candidates: int = CHATREC_CANDIDATES, max_tokens: int = CHATREC_MAX_TOKENS
    ) -> None:
        super().__init__(catalog, k)
        self.retriever = retriever
        self.backend = backend
        self.n_candidates = n_candidates
        self.max_tokens = max_tokens

    def _pick(self, conv: Conversation) -> tuple[list[int], list[str]]:
        from tools.reranker import rerank

        text = dialogue_text(conv.messages)
        res = self.retriever.search(text, k=self.n_candidates, exclude=conv.blocked())
        cands = [(i, self.catalog.get(i).label) for i in res.ids]
        history = [self.catalog.get(i).label for i in conv.profile]
        ranked = rerank(history, text, cands, self.backend, method="listwise", max_tokens=self.max_tokens)
        return [i for i, _ in ranked.items], ["retriever", f"rerank:{ranked.method}"]
