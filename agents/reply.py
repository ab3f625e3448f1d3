"""What a turn returns, whichever policy decided it: the text, the items shown, the trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents import answer
from agents.state import TraceStep


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
