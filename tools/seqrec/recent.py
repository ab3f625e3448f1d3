"""Popularity as of now: interaction counts that fade with age, the fade fitted on the log's own validation split.

A person who asks a chat for "something good" means popular now, not most-rated over twenty years: counted over
the whole of ml-latest-small (ratings from 1996 to 2016) the top of the list is all 1990s films. Each rating
here counts 0.5 ** (age in months / half-life). The half-life is not a guess: for every user's validation
interaction, popularity as it stood at the start of that month (their own training items excluded) ranks the
item they rated next, and the half-life with the best mean reciprocal rank is kept ("no fading" is one of the
candidates, so a log where age does not matter keeps plain counts). Only the training and validation splits
are read; the test split and any evaluation data are not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tools.seqrec.data import ItemIndex

MONTH_S = 30.44 * 86400
# Candidate half-lives in months; None is plain counts (no fading).
HALF_LIVES: tuple[float | None, ...] = (1, 3, 6, 12, 24, 48, None)


@dataclass(frozen=True)
class RecentPopularity:
    scores: np.ndarray  # (n_items + 1,) model-index aligned (index 0 is padding), as of the end of the log
    half_life_months: float | None  # the fitted fade; None = plain counts
    valid_mrr: dict[str, float] = field(default_factory=dict)  # per candidate half-life ("none" for plain counts)

    def describe(self) -> str:
        hl = "no fading" if self.half_life_months is None else f"half-life {self.half_life_months:g} months"
        return f"popularity with {hl} (fitted on the validation split)"


def _months(timestamps: np.ndarray, start: float) -> np.ndarray:
    return ((np.asarray(timestamps, dtype=np.float64) - start) // MONTH_S).astype(np.int64)


def _key(half_life: float | None) -> str:
    return "none" if half_life is None else f"{half_life:g}"


def fit_recent_popularity(index: ItemIndex, train: pd.DataFrame, valid: pd.DataFrame, half_lives=HALF_LIVES) -> RecentPopularity:
    """train, valid: interactions with user_id, item_id, timestamp (seconds). Items outside the index are skipped."""
    n = index.n_items + 1
    tr = train[np.isin(train["item_id"].to_numpy(), index.item_ids)]
    tr_idx, _ = index.encode(tr["item_id"].to_numpy())
    if len(tr) == 0:
        return RecentPopularity(np.zeros(n), None, {})
    start = float(min(tr["timestamp"].min(), valid["timestamp"].min() if len(valid) else np.inf))
    tr_month = _months(tr["timestamp"].to_numpy(), start)
    n_months = int(tr_month.max()) + 1
    by_month: dict[int, np.ndarray] = {}
    order = np.argsort(tr_month, kind="stable")
    for m, chunk in zip(*_split_sorted(tr_month[order], tr_idx[order]), strict=True):
        by_month[int(m)] = np.bincount(chunk, minlength=n).astype(np.float64)
    seen: dict[int, np.ndarray] = {int(u): index.encode(g.to_numpy())[0] for u, g in tr.groupby("user_id")["item_id"]}
    probes: dict[int, list[tuple[int, int]]] = defaultdict(list)  # month -> (user, item index) scored at its start
    for u, i, t in zip(valid["user_id"].to_numpy(), valid["item_id"].to_numpy(), valid["timestamp"].to_numpy(), strict=True):
        idx, _ = index.encode([i])
        if len(idx):
            probes[min(int(_months(np.array([t]), start)[0]), n_months)].append((int(u), int(idx[0])))

    mrr: dict[str, float] = {}
    finals: dict[str, np.ndarray] = {}
    for hl in half_lives:
        fade = 1.0 if hl is None else 0.5 ** (1.0 / hl)
        pop = np.zeros(n)
        rr: list[float] = []
        for m in range(n_months + 1):
            for user, item in probes.get(m, ()):
                s = pop.copy()
                s[0] = -np.inf
                s[seen.get(user, np.empty(0, dtype=np.int64))] = -np.inf
                rr.append(1.0 / (1 + int((s > s[item]).sum())))
            if m < n_months:
                pop = pop * fade + by_month.get(m, 0.0)
        mrr[_key(hl)] = float(np.mean(rr)) if rr else 0.0
        finals[_key(hl)] = pop
    best = max(half_lives, key=lambda hl: (mrr[_key(hl)], hl is None))  # a tie keeps plain counts
    scores = finals[_key(best)]
    scores[0] = 0.0
    return RecentPopularity(scores, best, mrr)


def _split_sorted(months: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group `values` by the (sorted) `months`: the distinct months and one array of values each."""
    uniq, starts = np.unique(months, return_index=True)
    return uniq, np.split(values, starts[1:])
