"""Pure functions for the ReDial replay: recall at k over scored points, precision/recall of grounding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """One scored recommender utterance: a system's ranking and the target films it should contain."""

    ranking: tuple[int, ...]
    targets: tuple[int, ...]


def recall_at(points: Sequence[Point], k: int) -> float:
    """Share of all target films that appear in the top k of the ranking made for them (micro average)."""
    total = sum(len(p.targets) for p in points)
    if total == 0:
        return 0.0
    hits = sum(len(set(p.ranking[:k]) & set(p.targets)) for p in points)
    return hits / total


def precision_recall(pairs: Sequence[tuple[set, set]]) -> tuple[float, float]:
    """(predicted, gold) sets per message -> micro precision and recall; 0 where nothing was predicted or gold."""
    tp = sum(len(pred & gold) for pred, gold in pairs)
    n_pred = sum(len(pred) for pred, _ in pairs)
    n_gold = sum(len(gold) for _, gold in pairs)
    return (tp / n_pred if n_pred else 0.0, tp / n_gold if n_gold else 0.0)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return float(ordered[rank - 1])
