"""One recorded turn of a fault conversation, and the checks shared by the runtime fault cases."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents.agent import Agent
from agents.reply import Reply
from agents.state import Session
from data.catalog import Catalog

# Lines of the reply kept in the record: the notice and the first sentences, as the user reads them.
HEAD_LINES = 4


@dataclass
class TurnRecord:
    phase: str  # "healthy", "fault", "recovered"
    message: str
    reply_head: str
    notices: list[str]
    fallback_steps: list[dict[str, str]]  # {"tool", "note"} of each trace step marked fallback
    items: list[str]  # labels of the catalog items shown
    used_llm: bool  # the language model chose this turn's tools (no fallback)
    latency_ms: float
    before: dict[str, int]
    after: dict[str, int]
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def counts(session: Session) -> dict[str, int]:
    """What a session holds, as counts: what must never shrink because a part failed."""
    return {
        "history": len(session.history),
        "liked": len(session.liked),
        "disliked": len(session.disliked),
        "seen": len(session.seen),
        "shown": len(session.shown),
        "turns": len(session.turns),
    }


def used_llm(reply: Reply) -> bool:
    """The model picked this turn's tools: an "llm" trace step with tool calls and no fallback anywhere."""
    chose = any(s.tool == "llm" and s.args.get("tool_calls") for s in reply.trace)
    return chose and not reply.fallback


def run_turn(agent: Agent, session: Session, message: str, phase: str) -> tuple[TurnRecord, Reply]:
    before = counts(session)
    reply = agent.turn(session, message)
    record = TurnRecord(
        phase=phase,
        message=message,
        reply_head="\n".join(reply.text.splitlines()[:HEAD_LINES]),
        notices=list(reply.notices),
        fallback_steps=[{"tool": s.tool, "note": s.note} for s in reply.trace if s.fallback],
        items=[it.label for it in reply.items],
        used_llm=used_llm(reply),
        latency_ms=reply.latency_ms,
        before=before,
        after=counts(session),
    )
    return record, reply


def session_problems(record: TurnRecord, reply: Reply, session: Session, kept: Session, catalog: Catalog) -> list[str]:
    """What this turn lost or broke in the session. `kept` is a copy of the session before the turn: every
    item it held is still there, the turn is logged, its items are remembered as shown, and none of them
    was already known, seen, disliked or shown."""
    problems = []
    for name in ("history", "liked", "disliked", "seen"):
        lost = [i for i in getattr(kept, name) if i not in getattr(session, name)]
        if lost:
            problems.append(f"{name} lost items {lost}")
    if record.after["turns"] != record.before["turns"] + 1:
        problems.append(f"turn not logged: {record.before['turns']} -> {record.after['turns']} turns")
    if record.after["shown"] != record.before["shown"] + len(reply.items):
        problems.append(f"shown items not remembered: {record.before['shown']} + {len(reply.items)} != {record.after['shown']}")
    repeated = [it.item_id for it in reply.items if it.item_id in kept.blocked()]
    if repeated:
        problems.append(f"recommended items the session already held: {repeated}")
    unknown = [it.item_id for it in reply.items if it.item_id not in catalog]
    if unknown:
        problems.append(f"items not in the catalog: {unknown}")
    return problems


def healthy_problems(record: TurnRecord, *, want_llm: bool) -> list[str]:
    """A turn with every part working: items, no notice, no fallback (and the model chose, when asked)."""
    problems = []
    if not record.items:
        problems.append("no catalog items")
    if record.notices:
        problems.append(f"unexpected notice: {record.notices}")
    if record.fallback_steps:
        problems.append(f"unexpected fallback: {record.fallback_steps}")
    if want_llm and not record.used_llm:
        problems.append("the language model did not choose the tools")
    return problems


@dataclass
class CaseResult:
    name: str
    part: str
    what: str
    turns: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "part": self.part, "what": self.what, "ok": self.ok, "problems": self.problems, "turns": self.turns, **self.extra}
