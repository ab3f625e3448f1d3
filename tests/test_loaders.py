"""Plug-in datasets and every bad-input case: one clear error naming the file, the place and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.dataset import load_dataset
from data.errors import DataFormatError
from data.prepare import dataset_dir, prepare
from data.settings import Settings

INTER = "user,item,timestamp,rating\nu1,a,100,5\nu1,b,200,4\nu1,c,300,3\nu2,a,50,4\nu2,c,60,2\n"
ITEMS = 'item,title,year,genres,plot\na,"Matrix, The",1999,Action|Sci-Fi,hackers\nb,Heat,1995,Crime,heist\nc,Alien,1979,Horror|Sci-Fi,\n'


def _csv_settings(tmp_path: Path, inter: str = INTER, items: str | bytes = ITEMS) -> Settings:
    ip, tp = tmp_path / "inter.csv", tmp_path / "items.csv"
    ip.write_text(inter)
    tp.write_bytes(items if isinstance(items, bytes) else items.encode())
    return Settings(artifacts_dir=tmp_path / "art", dataset="custom", custom_interactions_csv=ip, custom_items_csv=tp)


def test_csv_pair_prepares_end_to_end(tmp_path):
    s = _csv_settings(tmp_path)
    prepare(s)
    ds = load_dataset(s.artifacts_dir, "custom")
    assert len(ds.catalog) == 3 and ds.n_users == 2
    matrix = next(it for it in ds.catalog if it.year == 1999)
    assert matrix.title == "The Matrix" and matrix.genres == ("Action", "Sci-Fi")
    assert matrix.sentence == "title: The Matrix | year: 1999 | genres: Action, Sci-Fi | plot: hackers"
    splits = ds.interactions.groupby("user_id")["split"].apply(lambda s: list(s.astype(str)))
    assert sorted(map(tuple, splits)) == [("train", "test"), ("train", "valid", "test")]


def test_atomic_folder_prepares(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "tiny.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n1\t10\t5\n1\t11\t6\n1\t10\t7\n")
    (folder / "tiny.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n10\tHeat\t1995\tCrime Thriller\n11\tFargo\t1996\tCrime\n"
    )
    s = Settings(artifacts_dir=tmp_path / "art", dataset="custom", custom_atomic_dir=folder)
    prepare(s)
    ds = load_dataset(s.artifacts_dir, "custom")
    assert ds.catalog.get(10).genres == ("Crime", "Thriller")
    assert ds.history(1) == [10, 11, 10]


@pytest.mark.parametrize(
    ("inter", "items", "needles"),
    [
        ("user,timestamp\nu1,5\n", ITEMS, ["inter.csv", "missing column 'item'", "header"]),
        (INTER, "item,year\na,1999\n", ["items.csv", "missing column 'title'"]),
        ("", ITEMS, ["inter.csv", "empty"]),
        ("user,item,timestamp\n", ITEMS, ["inter.csv", "no data rows"]),
        (INTER, "item,title\na,X\nb,Y\na,Z\n", ["items.csv", "row 3", "'a'", "more than once"]),
        ("user,item,timestamp\nu1,a,100\nu1,b,yesterday\n", ITEMS, ["inter.csv", "row 2", "'yesterday'", "Unix seconds"]),
        (INTER, "item,title\na,Caf\xe9\n".encode("latin-1"), ["items.csv", "line 2", "UTF-8", "iconv"]),
        ("user,item,timestamp\nu1,zzz,100\n", ITEMS, ["row 1", "'zzz'", "not in the items file"]),
        ("user,item,timestamp,rating\nu1,a,100,5\nu1,b,200,great\n", ITEMS, ["row 2", "'great'", "not a finite number"]),
        ("user,item,timestamp,rating\nu1,a,100,inf\n", ITEMS, ["row 1", "'inf'", "leave the cell empty"]),
    ],
    ids=[
        "missing-item-column",
        "missing-title-column",
        "empty-file",
        "header-only",
        "duplicate-item",
        "bad-timestamp",
        "latin1-encoding",
        "unknown-item",
        "text-rating",
        "infinite-rating",
    ],
)
def test_bad_input_gives_one_clear_error(tmp_path, inter, items, needles):
    s = _csv_settings(tmp_path, inter, items)
    with pytest.raises(DataFormatError) as info:
        prepare(s)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg
    # nothing half-written is left behind
    out = dataset_dir(s.artifacts_dir, "custom")
    assert not out.exists()
    assert not list(out.parent.glob(".custom-*")) if out.parent.exists() else True


def test_empty_and_missing_ratings_are_allowed(tmp_path):
    s = _csv_settings(tmp_path, "user,item,timestamp,rating\nu1,a,100,\nu1,b,200,NaN\nu1,c,300,4.5\nu2,a,50,3\nu2,c,60,2\n")
    prepare(s)
    ratings = load_dataset(s.artifacts_dir, "custom").interactions["rating"]
    assert ratings.isna().sum() == 2 and ratings.max() == 4.5


def test_failed_rebuild_keeps_previous_dataset(tmp_path):
    s = _csv_settings(tmp_path)
    prepare(s)
    (tmp_path / "items.csv").write_text("item,title\na,X\na,Y\n")
    with pytest.raises(DataFormatError):
        prepare(s)
    ds = load_dataset(s.artifacts_dir, "custom")  # the earlier, valid dataset is intact
    assert len(ds.catalog) == 3


def test_unknown_dataset_name_says_what_exists(tmp_path):
    with pytest.raises(DataFormatError, match="ml-100k"):
        prepare(Settings(artifacts_dir=tmp_path, dataset="netflix"))
