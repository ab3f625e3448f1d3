"""Reciprocal-rank fusion on hand-made rankings."""

from __future__ import annotations

import pytest

from data.errors import InvalidInput
from tools.fusion import fuse_more_like, rrf_fuse


def test_scores_follow_the_formula():
    fused = dict(rrf_fuse([[10, 20, 30], [20, 40]], k=60))
    assert fused[20] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[10] == pytest.approx(1 / 61)
    assert fused[30] == pytest.approx(1 / 63)
    assert fused[40] == pytest.approx(1 / 62)


def test_items_in_both_lists_beat_items_in_one_and_order_is_by_score():
    fused = rrf_fuse([[1, 2, 3], [3, 2, 4]], k=60)
    assert [i for i, _ in fused] == [3, 2, 1, 4]  # 1/63+1/61 > 2/62 (1/x is convex), then single-list items
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True)


def test_ties_break_by_best_rank_then_id():
    # 7 and 8 tie on score (1/61 + 1/62 each); 7 reaches rank 1 first in list order, so do both: then id decides.
    fused = rrf_fuse([[7, 8], [8, 7]], k=60)
    assert [i for i, _ in fused] == [7, 8]
    fused = rrf_fuse([[9], [5]], k=60)
    assert [i for i, _ in fused] == [5, 9]


def test_weights_shift_the_balance():
    history, wish = [1, 2, 3], [3, 2, 1]
    assert rrf_fuse([history, wish], weights=[3.0, 1.0])[0][0] == 1
    assert rrf_fuse([history, wish], weights=[1.0, 3.0])[0][0] == 3
    assert rrf_fuse([history, wish], weights=[1.0, 0.0]) == rrf_fuse([history, []])


def test_duplicates_count_once_at_best_rank_and_empty_inputs():
    assert dict(rrf_fuse([[5, 5, 6]], k=0)) == {5: 1.0, 6: pytest.approx(1 / 3)}
    assert rrf_fuse([]) == []
    assert rrf_fuse([[], []]) == []


def test_bad_arguments_raise_with_a_fix():
    with pytest.raises(InvalidInput, match="one weight per ranking"):
        rrf_fuse([[1], [2]], weights=[1.0])
    with pytest.raises(InvalidInput, match=">= 0"):
        rrf_fuse([[1]], k=-1)
    with pytest.raises(InvalidInput, match="weights must be >= 0"):
        rrf_fuse([[1]], weights=[-1.0])


def test_more_like_keeps_the_audience_to_the_seeds_kinds_and_weighs_content_as_asked():
    genres = {1: {"Comedy"}, 2: {"Horror"}, 3: {"Comedy", "Drama"}, 4: {"Drama"}}
    content, audience = [4, 3], [2, 1, 3]
    same_kind = [i for i, _ in fuse_more_like(content, audience, {"Comedy"}, genres.__getitem__, 1.0)]
    assert 2 not in same_kind and same_kind[0] == 3  # on both lists; the horror film is not "more like" a comedy
    assert 4 in same_kind  # content's own picks are not filtered: the seeds' text neighbours are their kind
    # no kinds: no filter; a heavy content weight puts content's first ahead of the audience's first
    assert [i for i, _ in fuse_more_like(content, audience, set(), genres.__getitem__, 4.0)][:2] == [3, 4]
    assert 2 in [i for i, _ in fuse_more_like(content, audience, (), genres.__getitem__, 1.0)]
