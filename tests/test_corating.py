"""Co-rating similarity ("people who rated these also rated") on the real ML-100K train split."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import InvalidInput
from tools.seqrec.corating import CoRating
from tools.seqrec.data import ItemIndex


def test_tiny_matrix_scores_by_shared_raters():
    # users 1 and 2 rated items 10 and 20 together; user 3 rated 10 and 30; item 40 has no co-rater of 10
    index = ItemIndex.from_ids([10, 20, 30, 40])
    model = CoRating(index, np.array([1, 1, 2, 2, 3, 3, 4]), np.array([10, 20, 10, 20, 10, 30, 40]), shrink=0.0)
    res = model.recommend([10], k=3)
    assert [i for i, _ in res.items] == [20, 30, 40] and res.method == "co-rating"
    assert res.items[0][1] > res.items[1][1] > res.items[2][1]
    assert [i for i, _ in model.recommend([10], k=3, exclude=[20]).items] == [30, 40]
    assert [i for i, _ in model.recommend([10], k=3, allowed=[30, 40]).items] == [30, 40]
    assert model.recommend([], k=1).method == "popularity"


def test_raters_counts_people_once_and_knows_unrated_films():
    index = ItemIndex.from_ids([10, 20, 30, 40])
    model = CoRating(index, np.array([1, 1, 2, 3]), np.array([10, 20, 10, 20]))
    assert model.raters([10]) == 2 and model.raters([10, 20]) == 3  # user 1 rated both: counted once
    assert model.raters([30]) == 0 and model.raters([40, 99]) == 0 and model.raters([]) == 0


def test_bad_arguments_are_named():
    index = ItemIndex.from_ids([1, 2])
    with pytest.raises(InvalidInput, match="outside the index"):
        CoRating(index, np.array([1]), np.array([3]))
    with pytest.raises(InvalidInput, match="k must be at least 1"):
        CoRating(index, np.array([1, 1]), np.array([1, 2])).recommend([1], k=0)


def test_on_ml100k_the_neighbours_of_a_film_share_its_audience(ml100k, lookup):
    model = CoRating.from_dataset(ml100k)
    star_wars = lookup.exact_ids("Star Wars (1977)")[0]
    top = [ml100k.catalog.get(i).title for i, _ in model.recommend([star_wars], k=5).items]
    assert "Return of the Jedi" in top and "The Empire Strikes Back" in top
    # never the history, and only from the train split (a user's validation and test items are not read)
    assert star_wars not in [i for i, _ in model.recommend([star_wars], k=50).items]
    assert model.counts.sum() == (ml100k.interactions["split"] == "train").sum()


def test_films_on_the_table_count_at_half_weight_and_are_never_returned():
    # item 20 shares raters with 10, item 30 with 50; 10 is the person's own, 50 only on the table
    index = ItemIndex.from_ids([10, 20, 30, 50])
    users = np.array([1, 1, 2, 2, 3, 3])
    items = np.array([10, 20, 10, 20, 50, 30])
    model = CoRating(index, users, items, shrink=0.0)
    own, _ = index.encode([10])
    table, _ = index.encode([50])
    s_own = model.scores(own)
    s_both = model.scores(own, table)
    j20, j30 = index.encode([20])[0][0], index.encode([30])[0][0]
    assert s_both[j20] == s_own[j20] and s_both[j30] == pytest.approx(s_own[j30] + 0.5)
    res = model.recommend([10], k=3, context=[50])
    assert [i for i, _ in res.items] == [20, 30] and res.method == "co-rating"
    assert model.recommend([], k=1, context=[50]).items[0][0] == 30
