"""Popularity as of now (tools/seqrec/recent.py): counts that fade with age, the fade fitted on validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.seqrec.corating import CoRating
from tools.seqrec.data import ItemIndex
from tools.seqrec.recent import HALF_LIVES, MONTH_S, fit_recent_popularity

DAY = 86400


def _log(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def _shifting_tastes() -> tuple[ItemIndex, pd.DataFrame, pd.DataFrame]:
    """Item 1 was the hit of the first two years (30 raters), item 2 is the hit of the last year (12 raters);
    users active late rate item 2 next, users active early rate item 1 next."""
    rows = [(u, 1, (u % 24) * MONTH_S) for u in range(30)]
    rows += [(100 + u, 2, (48 + u % 12) * MONTH_S) for u in range(12)]
    rows += [(200 + u, 3, (u % 60) * MONTH_S) for u in range(8)]  # a steady, modest film
    train = _log(rows)
    valid = _log([(300 + u, 2, (55 + u % 5) * MONTH_S + DAY) for u in range(6)] + [(400, 1, 10 * MONTH_S + DAY)])
    return ItemIndex.from_ids([1, 2, 3]), train, valid


def test_a_log_whose_tastes_shift_gets_a_fade_and_todays_hit_on_top():
    index, train, valid = _shifting_tastes()
    fit = fit_recent_popularity(index, train, valid)
    assert fit.half_life_months is not None and set(fit.valid_mrr) == {"none" if h is None else f"{h:g}" for h in HALF_LIVES}
    assert fit.valid_mrr[f"{fit.half_life_months:g}"] > fit.valid_mrr["none"]
    top = index.decode([int(np.argmax(fit.scores))])[0]
    assert top == 2  # plain counts would put item 1 (30 ratings against 12) first
    assert fit.scores[0] == 0.0 and len(fit.scores) == index.n_items + 1
    # the prior ranks an empty history in co-rating
    model = CoRating(index, train["user_id"].to_numpy(), train["item_id"].to_numpy(), prior=fit)
    assert next(i for i, _ in model.recommend([], k=3).items) == 2
    assert next(i for i, _ in CoRating(index, train["user_id"].to_numpy(), train["item_id"].to_numpy()).recommend([], k=3).items) == 1


def test_a_log_without_time_keeps_plain_counts():
    # every rating in one month: no fade can rank differently, and a tie keeps plain counts
    index = ItemIndex.from_ids([1, 2, 3])
    train = _log([(u, 1 + u % 3 if u < 10 else 1, 5 * DAY) for u in range(20)])
    valid = _log([(50 + u, 1, 6 * DAY) for u in range(3)])
    fit = fit_recent_popularity(index, train, valid)
    assert fit.half_life_months is None
    assert np.argmax(fit.scores) == 1  # item 1 (index 1) has the most ratings


def test_only_train_and_valid_are_read_on_ml100k(ml100k):
    df = ml100k.interactions
    index = ItemIndex.from_ids(ml100k.catalog.ids)
    fit = fit_recent_popularity(index, df[df["split"] == "train"], df[df["split"] == "valid"])
    # with no fade, the scores are the train split's counts exactly
    plain = fit_recent_popularity(index, df[df["split"] == "train"], df[df["split"] == "valid"], half_lives=(None,))
    counts = np.bincount(index.encode(df[df["split"] == "train"]["item_id"].to_numpy())[0], minlength=index.n_items + 1)
    assert np.array_equal(plain.scores, counts.astype(float))
    assert len(fit.scores) == index.n_items + 1 and fit.scores.sum() > 0
    assert all(0.0 < v < 1.0 for v in fit.valid_mrr.values())
