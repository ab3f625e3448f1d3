"""evals.redial: real-dialogue replay. A dialogue in the ReDial/IARD layout, written for this test, on ML-100K."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.redial.dialogues import MentionGrounder, is_accepted, load_dialogues
from evals.redial.metrics import Point, percentile, precision_recall, recall_at
from evals.redial.replay import OnAnnotated, OnGrounded, Popularity, Replayer, ReplayResult, ReplayState

FILE = Path(__file__).resolve().parent / "data" / "redial-style-dialogue.json"


def test_recall_is_the_share_of_targets_in_the_top_k():
    pts = [Point((1, 2, 3), (2,)), Point((4, 5, 6), (6, 7))]
    assert recall_at(pts, 1) == 0.0
    assert recall_at(pts, 2) == pytest.approx(1 / 3)
    assert recall_at(pts, 3) == pytest.approx(2 / 3)
    assert recall_at([], 10) == 0.0


def test_precision_recall_and_percentile():
    assert precision_recall([({1, 2}, {2, 3}), (set(), {4})]) == (0.5, pytest.approx(1 / 3))
    assert precision_recall([]) == (0.0, 0.0)
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1, 2, 3, 4], 95) == 4 and percentile([], 50) == 0.0


def test_mentions_ground_by_title_and_year(lookup):
    g = MentionGrounder(lookup)
    found = g.find("how about Heat (1995) or maybe The Usual Suspects (1995) ?", ["Heat"])
    assert [lookup.catalog.get(m.item_id).title for m in found] == ["Heat", "The Usual Suspects"]
    # the year must agree (within one): a film of that name from another decade is not the one named
    assert g.find("I liked Heat (1972)")[0].item_id is None
    assert g.find("I saw Ocean's Eleven (2001)", ["Ocean's Eleven"])[0].item_id is None  # not in ML-100K: counted, not guessed
    assert is_accepted("The Lion King", ["lion king"]) and not is_accepted("Heat", ["The Lion King"])


class _Fixed:
    name = "fixed"

    def __init__(self, ids):
        self.ids = ids

    def rank(self, state: ReplayState, k: int) -> list[int]:
        return self.ids[:k]


def test_replay_scores_new_films_and_shows_the_humans_list(services, lookup):
    dialogues = load_dialogues([FILE])
    MentionGrounder(lookup).annotate(dialogues)
    ids = {t: lookup.exact_ids(t)[0] for t in ("Toy Story (1995)", "Babe (1995)", "Aladdin (1992)", "The Lion King (1994)", "Heat (1995)")}
    seen_sessions, annotated = [], []

    class _Spy(_Fixed):
        def rank(self, state, k):
            seen_sessions.append(state.session)
            annotated.append(list(state.annotated))
            return super().rank(state, k)

    res = ReplayResult()
    fixed = _Spy([ids["Aladdin (1992)"], ids["Heat (1995)"], ids["The Lion King (1994)"]])
    Replayer(services.agent, services.catalog, [fixed, Popularity(services.catalog)], k=50).replay(dialogues[0], res)
    # two scored points: Aladdin (new), then The Lion King and Heat (Aladdin again is named before: not a target)
    assert [p.targets for p in res.points] == [[ids["Aladdin (1992)"]], [ids["The Lion King (1994)"], ids["Heat (1995)"]]]
    assert [p.accepted for p in res.points] == [[], [ids["The Lion King (1994)"]]]
    # rankings exclude the films named before: at the second point Aladdin is gone from the fixed list
    assert res.points[1].rankings["fixed"] == [ids["Heat (1995)"], ids["The Lion King (1994)"]]
    assert all(ids["Toy Story (1995)"] not in p.rankings["popularity"] for p in res.points)
    assert recall_at([Point(tuple(p.rankings["fixed"]), tuple(p.targets)) for p in res.points], 1) == pytest.approx(2 / 3)
    session = seen_sessions[-1]
    # "yes I saw it already" referred to the human's Aladdin (the last shown list), not to TalkRec's own picks
    assert ids["Aladdin (1992)"] in session.seen
    # "The first one sounds great" after the human's list: the Lion King, first of that list, is liked
    assert ids["The Lion King (1994)"] in session.liked or ids["The Lion King (1994)"] in session.history
    # the seeker's films were grounded; the one outside the catalog was not guessed
    first = res.turns[0]
    assert first.predicted_titles == {ids["Toy Story (1995)"], ids["Babe (1995)"]} == first.gold_titles
    assert "Comedy" in res.turns[1].predicted_genres and res.turns[1].gold_genre_values == ["comedy"]
    # the oracle's films are the annotators' in-catalog marks in the seeker's messages only (not the human's Aladdin)
    assert annotated == [[ids["Toy Story (1995)"], ids["Babe (1995)"]]] * 2


class _History:
    """A history model that ranks nothing but remembers what it was given."""

    def __init__(self):
        self.seen = []

    def recommend(self, history, k, exclude):
        self.seen.append((list(history), set(exclude)))
        return type("R", (), {"items": [(7, 1.0)]})()


def test_the_oracle_row_reads_the_annotated_films_where_the_other_reads_the_parsers():
    state = ReplayState(session=None, named={3}, grounded=[1, 2], annotated=[2, 5])
    on_parser, on_gold = _History(), _History()
    assert OnGrounded("g", on_parser).rank(state, 10) == [7] == OnAnnotated("o", on_gold).rank(state, 10)
    assert on_parser.seen == [([1, 2], {3})] and on_gold.seen == [([2, 5], {3})]


def test_cli_writes_the_report(tmp_path):
    from evals.redial.__main__ import main

    assert main([str(FILE), "--out", str(tmp_path), "--systems", "popularity,sasrec,retriever,talkrec"]) == 0
    out = json.loads((tmp_path / "redial-ml-100k.json").read_text())
    assert out["dialogues"] == 1 and out["targets"] == 3 and out["not_in_catalog"] == 1
    assert set(out["systems"]) == {"popularity", "SASRec on grounded films", "retriever on the seeker's words", "talkrec"}
    for figs in out["systems"].values():
        assert 0.0 <= figs["recall@1"] <= figs["recall@10"] <= figs["recall@50"] <= 1.0
    assert out["grounding"]["titles"] == {"precision": 1.0, "recall": 1.0, "gold": 2}
    md = (tmp_path / "redial-ml-100k.md").read_text()
    assert "| talkrec |" in md and "Published ReDial figures" in md and "UniCRS" in md
