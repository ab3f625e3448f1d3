"""The more_like tool's fusion (agents/toolbox.py): the seeds' audience and their text neighbours weigh the same, the
audience only within the seeds' genres, and the text neighbours lead for a film no one in the log rated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from agents.state import Session
from agents.toolbox import CONTENT_LEADS, MORE_LIKE_CONTENT_WEIGHT, Toolbox
from tools.retriever.retriever import RetrievalResult
from tools.seqrec.corating import CoRating
from tools.seqrec.data import ItemIndex


@dataclass
class TextNeighbours:
    """A retriever whose nearest items are fixed: the test is about the fusion, not about the index."""

    order: list[int]

    def similar_to(self, item_ids, k=10, exclude=(), **_filters) -> RetrievalResult:
        near = [i for i in self.order if i not in item_ids and i not in exclude]
        return RetrievalResult([(i, 1.0 / (n + 1)) for n, i in enumerate(near)][:k], [])


@pytest.fixture
def films(ml100k):
    """A comedy seed, a comedy and a horror film its audience also rated, three text neighbours, a film no one rated."""
    cat = ml100k.catalog
    comedies = [int(i) for i in cat.ids if cat.get(int(i)).genres == ("Comedy",)]
    horror = [int(i) for i in cat.ids if cat.get(int(i)).genres == ("Horror",)]
    seed, fellow, *near = comedies[:6]
    return {"seed": seed, "fellow": fellow, "scary": horror[0], "near": near[:3], "unrated": near[3]}


def _toolbox(ml100k, f) -> Toolbox:
    ids = [f["seed"], f["fellow"], f["scary"], *f["near"], f["unrated"]]
    # three people rated the seed with the horror film and the comedy; the neighbours were rated by others
    users = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 6])
    items = np.array([f["seed"], f["scary"], f["fellow"]] * 3 + f["near"])
    corating = CoRating(ItemIndex.from_ids(ids), users, items)
    return Toolbox(ml100k.catalog, None, TextNeighbours([*f["near"], f["fellow"]]), corating=corating)


def test_the_audience_counts_as_much_as_the_text_but_only_within_the_seeds_genres(ml100k, films):
    tools, trace = _toolbox(ml100k, films), []
    res = [c.item_id for c in tools.more_like(Session(), trace, [films["seed"]], k=5).candidates]
    assert films["fellow"] in res[:2]  # on both lists: at the top
    assert films["scary"] not in res  # the audience's horror pick is not "more like" a comedy
    assert any(st.tool == "fuse" and st.args["weights"] == [MORE_LIKE_CONTENT_WEIGHT, 1] for st in trace)
    assert MORE_LIKE_CONTENT_WEIGHT == 1.0


def test_the_text_neighbours_lead_for_a_film_no_one_rated(ml100k, films):
    tools, trace = _toolbox(ml100k, films), []
    res = [c.item_id for c in tools.more_like(Session(), trace, [films["unrated"]], k=5).candidates]
    assert res[:2] == films["near"][:2]
    assert any(st.tool == "fuse" and st.args["weights"] == [CONTENT_LEADS, 1] for st in trace)
