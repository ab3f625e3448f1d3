"""Pure ranking metrics for one target item per user, full ranking over every item.

Two levels: per-list functions on a ranked list of ids (the definitions, tested by hand), and a
vectorised path for evaluation: `target_ranks(scores, targets)` then `metrics_from_ranks(ranks)`.
Ties in a score matrix are broken by column index (lower index ranks first), i.e. the order of a
stable descending sort, so a constant-score model cannot look better than it is by luck.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DEFAULT_KS = (5, 10, 20)


def rank_of(ranked_ids: Sequence[int], target_id: int) -> int | None:
    """1-based position of the target in the ranked list, or None if absent."""
    for pos, item in enumerate(ranked_ids, start=1):
        if item == target_id:
            return pos
    return None


def hr_at_k(ranked_ids: Sequence[int], target_id: int, k: int) -> float:
    """1.0 if the target is in the top k, else 0.0."""
    rank = rank_of(ranked_ids[:k], target_id)
    return 1.0 if rank is not None else 0.0


def ndcg_at_k(ranked_ids: Sequence[int], target_id: int, k: int) -> float:
    """1 / log2(rank + 1) if the target is in the top k (one relevant item, so IDCG = 1), else 0."""
    rank = rank_of(ranked_ids[:k], target_id)
    return 1.0 / math.log2(rank + 1) if rank is not None else 0.0


def mrr_at_k(ranked_ids: Sequence[int], target_id: int, k: int) -> float:
    """1 / rank if the target is in the top k, else 0."""
    rank = rank_of(ranked_ids[:k], target_id)
    return 1.0 / rank if rank is not None else 0.0


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target column among all columns. scores (U, N), targets (U,) -> (U,).

    Columns scored -inf (masked items) rank after everything else; a masked target gets rank N + 1
    (never a hit).
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets][:, None]  # (U, 1)
    higher = (scores > target_scores).sum(axis=1)
    cols = np.arange(scores.shape[1])[None, :]
    tied_before = ((scores == target_scores) & (cols < targets[:, None])).sum(axis=1)
    ranks = 1 + higher + tied_before
    ranks[np.isneginf(target_scores[:, 0])] = scores.shape[1] + 1
    return ranks


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """Mean HR/NDCG/MRR at each k over users: {"hr@10": ..., "ndcg@10": ..., "mrr@10": ...}."""
    ranks = np.asarray(ranks, dtype=np.float64)
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks <= k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(ndcg_per_user(ranks, k).mean())
        out[f"mrr@{k}"] = float(np.where(hit, 1.0 / ranks, 0.0).mean())
    return out


def ndcg_per_user(ranks: np.ndarray, k: int) -> np.ndarray:
    """Each user's NDCG@k from their target's 1-based rank: 1 / log2(rank + 1) inside the top k, else 0."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0)


def bootstrap_mean_ci(values: np.ndarray, n_resamples: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(standard error, low, high) of the mean of per-user values, by resampling users with replacement.

    The test set is one draw of users; this says how far the mean would move on another draw of the same size,
    which is the noise any single-split comparison between two systems carries.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"bootstrap_mean_ci needs a 1-D array of at least 2 values, got shape {values.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_resamples, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(means.std(ddof=1)), float(low), float(high)
