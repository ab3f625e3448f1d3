"""Session metrics (InteRecAgent's protocol), pure functions over recorded sessions.

A session is the list of turns one system had with one simulated user; it ends at the first hit or
after the turn limit T. Hit@k within t turns is cumulative; AT@k counts a failure as T + 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class TurnRecord:
    message: str
    shown: list[int]  # item ids, display order
    latency_ms: float
    tools: list[str] = field(default_factory=list)
    out_of_catalog: list[str] = field(default_factory=list)


@dataclass
class SessionRecord:
    user_id: int
    target: int
    turns: list[TurnRecord]


def hit_turn(session: SessionRecord, k: int) -> int | None:
    """The first turn (1-based) whose top-k shown items contain the target, or None."""
    for n, t in enumerate(session.turns, start=1):
        if session.target in t.shown[:k]:
            return n
    return None


def hit_at_k_by_turn(sessions: Sequence[SessionRecord], k: int, max_turns: int) -> list[float]:
    """[Hit@k within 1 turn, within 2 turns, ..., within max_turns]: the fraction of sessions with a hit so far."""
    if not sessions:
        return [0.0] * max_turns
    firsts = [hit_turn(s, k) for s in sessions]
    return [sum(1 for f in firsts if f is not None and f <= t) / len(sessions) for t in range(1, max_turns + 1)]


def average_turns(sessions: Sequence[SessionRecord], k: int, max_turns: int) -> float:
    """AT@k: mean turn of the first hit, a session without a hit within max_turns counting max_turns + 1."""
    if not sessions:
        return float(max_turns + 1)
    vals = []
    for s in sessions:
        f = hit_turn(s, k)
        vals.append(f if f is not None and f <= max_turns else max_turns + 1)
    return sum(vals) / len(vals)


def out_of_catalog_per_turn(sessions: Sequence[SessionRecord]) -> float:
    """Out-of-catalog titles (or ids) per turn, over every turn of every session."""
    turns = [t for s in sessions for t in s.turns]
    return sum(len(t.out_of_catalog) for t in turns) / len(turns) if turns else 0.0


def repeated_item_rate(sessions: Sequence[SessionRecord]) -> float:
    """Of all items shown, the fraction already shown earlier in the same session."""
    shown = repeats = 0
    for s in sessions:
        seen: set[int] = set()
        for t in s.turns:
            for i in t.shown:
                shown += 1
                repeats += i in seen
                seen.add(i)
    return repeats / shown if shown else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 1]; 0.0 for no values."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_ms(sessions: Sequence[SessionRecord]) -> tuple[float, float]:
    """(p50, p95) of the time one turn took, over all turns."""
    lat = [t.latency_ms for s in sessions for t in s.turns]
    return percentile(lat, 0.5), percentile(lat, 0.95)


def tool_mix(sessions: Sequence[SessionRecord]) -> dict[str, float]:
    """Per tool, the fraction of turns that used it (a turn may use several), most used first."""
    turns = [t for s in sessions for t in s.turns]
    if not turns:
        return {}
    counts = Counter(tool for t in turns for tool in set(t.tools))
    return {tool: n / len(turns) for tool, n in counts.most_common()}


@dataclass
class Summary:
    system: str
    users: int
    k: int
    max_turns: int
    hit_by_turn: list[float]
    at_k: float
    out_of_catalog_per_turn: float
    repeated_item_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    tools: dict[str, float]
    turns: int

    @property
    def hit(self) -> float:
        """Hit@k within max_turns."""
        return self.hit_by_turn[-1] if self.hit_by_turn else 0.0


def summarize(system: str, sessions: Sequence[SessionRecord], k: int, max_turns: int) -> Summary:
    p50, p95 = latency_ms(sessions)
    return Summary(
        system=system,
        users=len(sessions),
        k=k,
        max_turns=max_turns,
        hit_by_turn=[round(h, 4) for h in hit_at_k_by_turn(sessions, k, max_turns)],
        at_k=round(average_turns(sessions, k, max_turns), 4),
        out_of_catalog_per_turn=round(out_of_catalog_per_turn(sessions), 4),
        repeated_item_rate=round(repeated_item_rate(sessions), 4),
        latency_p50_ms=round(p50, 1),
        latency_p95_ms=round(p95, 1),
        tools={t: round(v, 3) for t, v in tool_mix(sessions).items()},
        turns=sum(len(s.turns) for s in sessions),
    )
