"""Ranking metrics on hand-made rankings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tools.metrics import bootstrap_mean_ci, hr_at_k, metrics_from_ranks, mrr_at_k, ndcg_at_k, ndcg_per_user, rank_of, target_ranks


def test_per_list_metrics_on_a_hand_made_ranking():
    ranked = [7, 3, 9, 1, 5]
    assert rank_of(ranked, 9) == 3
    assert rank_of(ranked, 42) is None
    assert hr_at_k(ranked, 9, 3) == 1.0
    assert hr_at_k(ranked, 9, 2) == 0.0
    assert ndcg_at_k(ranked, 7, 5) == 1.0
    assert ndcg_at_k(ranked, 9, 5) == pytest.approx(1 / math.log2(4))
    assert ndcg_at_k(ranked, 5, 4) == 0.0
    assert mrr_at_k(ranked, 1, 5) == pytest.approx(0.25)
    assert mrr_at_k(ranked, 42, 5) == 0.0


def test_target_ranks_full_ranking_with_ties_and_masks():
    scores = np.array(
        [
            [0.1, 0.9, 0.5, 0.3],  # target col 2: one higher score -> rank 2
            [0.5, 0.5, 0.5, 0.5],  # all tied, target col 3: three lower columns first -> rank 4
            [0.2, 0.1, -np.inf, 0.0],  # masked target -> never a hit (rank n + 1)
            [-np.inf, 0.0, 0.3, 0.3],  # tie with a higher column: target col 2 ranks first
        ]
    )
    ranks = target_ranks(scores, np.array([2, 3, 2, 2]))
    assert ranks.tolist() == [2, 4, 5, 1]


def test_target_ranks_match_the_per_list_definition():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(30, 50))
    targets = rng.integers(0, 50, size=30)
    ranks = target_ranks(scores, targets)
    agg = metrics_from_ranks(ranks, ks=(5, 10))
    lists = [list(np.argsort(-row, kind="stable")) for row in scores]
    for k in (5, 10):
        assert agg[f"hr@{k}"] == pytest.approx(np.mean([hr_at_k(r, t, k) for r, t in zip(lists, targets, strict=True)]))
        assert agg[f"ndcg@{k}"] == pytest.approx(np.mean([ndcg_at_k(r, t, k) for r, t in zip(lists, targets, strict=True)]))
        assert agg[f"mrr@{k}"] == pytest.approx(np.mean([mrr_at_k(r, t, k) for r, t in zip(lists, targets, strict=True)]))


def test_metrics_from_ranks_hand_values():
    out = metrics_from_ranks(np.array([1, 3, 11]), ks=(10,))
    assert out["hr@10"] == pytest.approx(2 / 3)
    assert out["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / 3)
    assert out["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)


def test_ndcg_per_user_matches_the_mean_metric():
    ranks = np.array([1, 3, 11, 10])
    per_user = ndcg_per_user(ranks, 10)
    assert per_user.tolist() == pytest.approx([1.0, 0.5, 0.0, 1 / math.log2(11)])
    assert per_user.mean() == pytest.approx(metrics_from_ranks(ranks, ks=(10,))["ndcg@10"])


def test_bootstrap_ci_brackets_the_mean_and_shrinks_with_more_users():
    rng = np.random.default_rng(1)
    small = (rng.random(200) < 0.1).astype(float)
    large = (rng.random(20000) < 0.1).astype(float)
    se_small, lo_small, hi_small = bootstrap_mean_ci(small, seed=0)
    se_large, lo_large, hi_large = bootstrap_mean_ci(large, seed=0)
    assert lo_small < small.mean() < hi_small
    assert lo_large < large.mean() < hi_large
    # the standard error of a mean of n 0/1 values with share p is sqrt(p (1 - p) / n)
    for values, se in ((small, se_small), (large, se_large)):
        p = values.mean()
        assert se == pytest.approx(math.sqrt(p * (1 - p) / len(values)), rel=0.15)
    assert hi_large - lo_large < (hi_small - lo_small) / 5
    # a constant column has no spread at all
    assert bootstrap_mean_ci(np.full(50, 0.3)) == pytest.approx((0.0, 0.3, 0.3))


@pytest.mark.parametrize("values, level", [(np.array([0.5]), 0.95), (np.ones((3, 2)), 0.95), (np.ones(10), 1.0)])
def test_bootstrap_ci_rejects_bad_input(values, level):
    with pytest.raises(ValueError):
        bootstrap_mean_ci(values, level=level)
