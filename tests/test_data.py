"""The prepared ML-100K: counts, catalog, chronological split, version stamp."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from data.catalog import display_title, item_sentence
from data.dataset import load_dataset
from data.prepare import dataset_dir, prepare


def test_counts_match_movielens_100k(ml100k):
    assert ml100k.n_users == 943
    assert len(ml100k.catalog) == 1682
    assert len(ml100k.interactions) == 100_000


def test_every_user_has_train_valid_test(ml100k):
    counts = ml100k.interactions.groupby(["user_id", "split"], observed=True).size().unstack(fill_value=0)
    assert (counts["test"] == 1).all() and (counts["valid"] == 1).all()
    assert (counts["train"] >= 1).all()
    assert len(counts) == 943


def test_split_is_strictly_chronological(ml100k):
    df = ml100k.interactions
    for _, g in df.groupby("user_id"):
        ts = g["timestamp"].to_numpy()
        assert np.all(np.diff(ts) >= 0)
        split = g["split"].astype(str).to_numpy()
        assert split[-1] == "test" and split[-2] == "valid"
        # nothing in train is later than the validation item, which is not later than the test item
        assert ts[:-2].max() <= ts[-2] <= ts[-1]


def test_sequences_and_targets_line_up(ml100k):
    test_in, valid_in = ml100k.sequences("test"), ml100k.sequences("valid")
    valid_t, test_t = ml100k.targets("valid"), ml100k.targets("test")
    user = 1
    full = ml100k.history(user)
    assert list(test_in[user]) == full[:-1] and test_t[user] == full[-1]
    assert list(valid_in[user]) == full[:-2] and valid_t[user] == full[-2]


def test_catalog_titles_are_normalised(ml100k):
    cat = ml100k.catalog
    assert cat.get(12).title == "The Usual Suspects"
    assert cat.get(12).year == 1995
    assert "Crime" in cat.get(12).genres
    assert cat.get(12).sentence == "title: The Usual Suspects | year: 1995 | genres: Crime, Thriller"
    assert not any(it.title.endswith(", The") for it in cat)
    assert len(cat.genres) == 18  # the 18 MovieLens genres; 'unknown' is not a genre


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Usual Suspects, The (1995)", "The Usual Suspects", 1995),
        ("Horseman on the Roof, The (Hussard sur le toit, Le)", "The Horseman on the Roof (Hussard sur le toit, Le)", None),
        ("Appartement, L' (1996)", "L'Appartement", 1996),
        ("Heat", "Heat", None),
    ],
)
def test_display_title(raw, title, year):
    assert display_title(raw) == (title, year)


def test_item_sentence_format():
    assert item_sentence("Heat", 1995, ["Action", "Crime", "Thriller"]) == "title: Heat | year: 1995 | genres: Action, Crime, Thriller"
    assert item_sentence("X", None, []) == "title: X"


def test_prepare_is_a_noop_when_up_to_date(settings, ml100k):
    folder = dataset_dir(settings.artifacts_dir, "ml-100k")
    before = (folder / "items.parquet").stat().st_mtime_ns
    t0 = time.perf_counter()
    prepare(settings)
    assert time.perf_counter() - t0 < 5
    assert (folder / "items.parquet").stat().st_mtime_ns == before
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["version"] == ml100k.version and meta["split"] == {"train": 98114, "valid": 943, "test": 943}


@pytest.mark.slow
def test_ml1m_counts(settings):
    prepare(settings.model_copy(update={"dataset": "ml-1m"}))
    ds = load_dataset(settings.artifacts_dir, "ml-1m")
    assert ds.n_users == 6040
    assert len(ds.interactions) == 1_000_209
    assert len(ds.catalog) == 3883
    assert ds.interactions["user_id"].min() == 1 and ds.interactions["user_id"].max() == 6040
    toy = [it for it in ds.catalog if it.title == "Toy Story"]
    assert toy and toy[0].year == 1995
