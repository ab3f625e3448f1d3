"""Per-user dialogue state. One Session per user (per browser tab); never shared, never global.

Everything here is plain data so a session serialises to JSON and back (the UI and the evals persist it).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Constraints:
    genres_any: list[str] = field(default_factory=list)  # each shown item has at least one of these
    genres_all: list[str] = field(default_factory=list)  # ... and all of these ("romcom")
    genres_none: list[str] = field(default_factory=list)  # ... and none of these ("no horror")
    year_min: int | None = None
    year_max: int | None = None
    tags_none: list[str] = field(default_factory=list)  # ... and carries none of these users' tags ("no adam sandler")

    def is_empty(self) -> bool:
        return not (self.genres_any or self.genres_all or self.genres_none or self.year_min or self.year_max or self.tags_none)

    def describe(self) -> str:
        parts = []
        if self.genres_all:
            parts.append(" + ".join(self.genres_all))
        if self.genres_any:
            parts.append(" or ".join(self.genres_any))
        if self.genres_none:
            parts.append("no " + ", ".join(self.genres_none))
        if self.year_min and self.year_max:
            parts.append(f"{self.year_min}-{self.year_max}")
        elif self.year_min:
            parts.append(f"from {self.year_min}")
        elif self.year_max:
            parts.append(f"up to {self.year_max}")
        if self.tags_none:
            parts.append("nothing tagged " + " or ".join(f"“{t}”" for t in self.tags_none))
        return "; ".join(parts)


@dataclass
class Candidate:
    """One item on the candidate bus: who proposed it, with what score and rank."""

    item_id: int
    score: float
    source: str  # "sasrec", "retriever", "fusion", "similar", "popularity", "reranker:..."
    rank: int  # 1-based rank within its source list


@dataclass
class ShownItem:
    item_id: int
    turn: int
    position: int  # 1-based position in that turn's list
    source: str
    reason: str = ""


@dataclass
class TraceStep:
    tool: str
    args: dict[str, Any]
    duration_ms: float
    n_in: int
    n_out: int
    note: str = ""
    fallback: bool = False


@dataclass
class TurnLog:
    turn: int
    user: str
    intent: str
    reply: str
    item_ids: list[int]
    trace: list[TraceStep]


@dataclass
class Session:
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    user_id: int | None = None  # a dataset user whose history was preloaded
    history: list[int] = field(default_factory=list)  # profile: chronological, oldest first
    liked: list[int] = field(default_factory=list)
    disliked: list[int] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)  # "seen it": not to recommend, no taste signal
    constraints: Constraints = field(default_factory=Constraints)
    wish: str = ""  # the current free-text wish
    shown: list[ShownItem] = field(default_factory=list)
    bus: list[Candidate] = field(default_factory=list)
    focus: int | None = None  # the item the conversation is about ("why that one?", "seen it")
    turns: list[TurnLog] = field(default_factory=list)

    @property
    def turn_no(self) -> int:
        return len(self.turns) + 1

    def taste(self) -> list[int]:
        """What the user likes, oldest first, for seqrec: profile history then liked items."""
        out = [i for i in self.history if i not in self.disliked]
        out += [i for i in self.liked if i not in out]
        return out

    def on_the_table(self) -> list[int]:
        """The films of the last list shown that the user has not rejected and does not already count as their own:
        what the conversation is about right now (a weaker signal than the user's own favourites)."""
        own = set(self.taste())
        return [s.item_id for s in self.last_shown() if s.item_id not in self.disliked and s.item_id not in own]

    def blocked(self) -> set[int]:
        """Items never to recommend again: known, seen, disliked, already shown."""
        return set(self.history) | set(self.liked) | set(self.disliked) | set(self.seen) | {s.item_id for s in self.shown}

    def last_shown(self) -> list[ShownItem]:
        if not self.shown:
            return []
        last = max(s.turn for s in self.shown)
        return sorted((s for s in self.shown if s.turn == last), key=lambda s: s.position)

    def add_history(self, item_id: int) -> None:
        if item_id not in self.history:
            self.history.append(item_id)
        if item_id in self.disliked:
            self.disliked.remove(item_id)

    def mark(self, item_id: int, feedback: str) -> None:
        """Apply card or chat feedback: 'liked', 'disliked' or 'seen'."""
        for lst in (self.liked, self.disliked, self.seen):
            if item_id in lst:
                lst.remove(item_id)
        {"liked": self.liked, "disliked": self.disliked, "seen": self.seen}[feedback].append(item_id)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Session:
        raw = json.loads(text)
        raw["constraints"] = Constraints(**raw.get("constraints", {}))
        raw["shown"] = [ShownItem(**s) for s in raw.get("shown", [])]
        raw["bus"] = [Candidate(**c) for c in raw.get("bus", [])]
        raw["turns"] = [TurnLog(**{**t, "trace": [TraceStep(**s) for s in t.get("trace", [])]}) for t in raw.get("turns", [])]
        return cls(**raw)
