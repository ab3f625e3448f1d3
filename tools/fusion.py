"""Reciprocal-rank fusion: merge ranked id lists (e.g. seqrec and retriever) without calibrating their scores."""

from __future__ import annotations

from collections.abc import Sequence

from data.errors import InvalidInput


def rrf_fuse(rankings: Sequence[Sequence[int]], k: int = 60, weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Fuse rankings by score(i) = sum_r w_r / (k + rank_r(i)), ranks starting at 1 (Cormack et al., 2009).

    An id missing from a ranking gets nothing from it; a repeated id counts at its best rank. Returns
    (id, fused score) sorted by score, ties broken by the best single rank, then by id, so the order is
    deterministic. k dampens the head: larger k gives lower ranks relatively more weight."""
    if k < 0:
        raise InvalidInput(f"RRF k must be >= 0, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise InvalidInput(f"got {len(weights)} weights for {len(rankings)} rankings; give one weight per ranking")
    if any(w < 0 for w in weights):
        raise InvalidInput(f"RRF weights must be >= 0, got {list(weights)}")
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[int] = set()
        for rank, item in enumerate(ranking, start=1):
            item = int(item)
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, rank), rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))
