"""The retriever's tag channel (tools/retriever/tags.py): a wish that says what users' tags say finds the tagged films."""

from __future__ import annotations

import numpy as np
import pytest

from data.catalog import item_sentence, sentence_field
from data.dataset import load_dataset
from tools.retriever.retriever import Retriever, open_retriever
from tools.retriever.tags import TAG_MATCH, TagIndex, free_text


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_tags_are_read_back_from_the_sentence():
    s = item_sentence("Sample", 1999, ["Comedy"], {"tags": "slow burn, found footage"})
    assert sentence_field(s, "tags") == "slow burn, found footage"
    assert sentence_field(s, "year") == "1999" and sentence_field(s, "director") is None
    assert sentence_field(item_sentence("No Tags", None, []), "tags") is None


def test_a_tag_counts_only_when_close_enough_and_an_item_keeps_its_best_tag():
    index = TagIndex(("slow burn", "burn", "found footage"), np.stack([_unit(1, 0, 0), _unit(1, 1, 0), _unit(0, 0, 1)]), ((1, 2), (2, 3), (4,)))
    hits = index.match(_unit(1, 0.05, 0))
    assert [(i, t) for i, _, t in hits] == [(1, "slow burn"), (2, "slow burn")]  # "burn" at 0.74 is not close enough
    assert all(s >= TAG_MATCH for _, s, _ in hits)
    assert index.match(_unit(0, 0, 1))[0][0] == 4
    assert index.match(_unit(0, 1, 0)) == []
    empty = TagIndex((), np.empty((0, 3), dtype=np.float32), ())
    assert empty.match(_unit(1, 0, 0)) == []


def test_only_the_free_words_of_a_key_value_query_meet_the_tags():
    assert free_text("genres: Comedy | year: 1980-1989 | a slow burn with found footage") == "a slow burn with found footage"
    assert free_text("genres: Horror") == ""
    assert free_text("a film about rivals") == "a film about rivals"


@pytest.fixture(scope="module")
def mls_retriever(settings):
    import torch

    torch.set_num_threads(1)
    ds = load_dataset(settings.artifacts_dir, "ml-latest-small")  # prepared and indexed by `make test`
    return open_retriever(settings.artifacts_dir, ds, build=False)


def _tagged(retriever, ids, tag) -> list[int]:
    return [i for i in ids if tag in retriever.catalog.get(i).tags]


def test_a_wish_naming_a_tag_finds_the_films_users_tagged_so(mls_retriever):
    r = mls_retriever
    assert len(r.tags) > 500
    tagged = [it.item_id for it in r.catalog if "dark comedy" in it.tags]
    top = r.search("a dark comedy", k=10).ids
    # whole-sentence search alone put none of them in the top 10 (titles sharing a word's look won)
    assert len(_tagged(r, top, "dark comedy")) >= 3, [r.catalog.get(i).label for i in top]
    # filters and exclusions hold for the tag matches too
    banned = {g for i in tagged[:1] for g in r.catalog.get(i).genres if g != "Comedy"}
    filtered = r.search("a dark comedy", k=10, genres_none=sorted(banned), exclude=tagged[1:2]).ids
    assert not set(filtered) & ({tagged[1]} if len(tagged) > 1 else set())
    assert all(not banned & set(r.catalog.get(i).genres) for i in filtered)
    # a wish that names no tag is the sentence search, unchanged
    plain = Retriever(r.collection, r.catalog, r.embedder, r.info)
    words = "an old silent film about a train"
    assert not r.tags.match(r.embed_query(words))
    assert r.search(words, k=10).ids == plain.search(words, k=10).ids
