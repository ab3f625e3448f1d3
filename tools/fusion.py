"""Reciprocal-rank fusion: merge ranked id lists (e.g. seqrec and retriever) without calibrating their scores."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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


def fuse_more_like(
    content: Sequence[int], audience: Sequence[int], kinds: Iterable[str], genres_of: Callable[[int], Iterable[str]], content_weight: float
) -> list[tuple[int, float]]:
    """ "More like these": the seeds' content neighbours fused with a history model's list (weight 1) at
    content_weight. "More like" a film asks for its kind, so the history model's films sharing none of the seeds'
    genres (`kinds`) stay out of its list; no kinds, no filter. The more_like tool and its weight eval
    (evals/more_like_weight.py) both order by this."""
    wanted = set(kinds)
    kept = [i for i in audience if not wanted or wanted & set(genres_of(i))]
    return rrf_fuse([list(content), kept], weights=[content_weight, 1.0])
