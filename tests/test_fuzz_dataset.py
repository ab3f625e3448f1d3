"""Generated custom datasets with defects: each prepares into a consistent dataset or fails with one
DataFormatError naming the file and the fix (property and strategies: evals/fuzz.py)."""

from __future__ import annotations

import pytest

from data.errors import DataFormatError
from data.prepare import prepare
from data.settings import Settings
from evals.fuzz import DATASET_PROPERTY, DatasetCase, check_dataset, run_property

EXAMPLES = 200


def test_generated_datasets_prepare_or_fail_clearly() -> None:
    name, strategy, check = DATASET_PROPERTY
    res = run_property(name, strategy, check, EXAMPLES, derandomize=True)
    assert res.failures == 0, res.failing
    assert res.examples >= EXAMPLES


def _csv(inter: str, items: str) -> DatasetCase:
    return DatasetCase("csv", {"interactions.csv": inter.encode(), "items.csv": items.encode()})


ITEMS = "item_id,title,year\n1,Heat,1995\n2,Fargo,1996\n"


@pytest.mark.parametrize(
    ("inter", "items"),
    [
        # ids beyond int64, and "7"/"007" that would collide as numbers, map to 1..n instead of crashing
        ("user_id,item_id,timestamp\nu1,99999999999999999999,5\nu1,2,6\n", "item_id,title\n99999999999999999999,Heat\n2,Fargo\n"),
        ("user_id,item_id,timestamp\nu1,7,5\nu1,007,6\n", "item_id,title\n7,Heat\n007,Fargo\n"),
        # a year that overflows a float is no year, not a crash
        ("user_id,item_id,timestamp\nu1,1,5\n", "item_id,title,year\n1,Heat,1e400\n2,Fargo,inf\n"),
    ],
    ids=["huge-ids", "zero-padded-ids", "overflowing-year"],
)
def test_fixed_crashes_now_prepare(inter, items) -> None:
    check_dataset(_csv(inter, items))


@pytest.mark.parametrize(
    ("inter", "items", "needles"),
    [
        ("user_id,item_id,timestamp\nu1,1,inf\n", ITEMS, ["interactions.csv", "'inf'", "Unix seconds"]),
        ("user_id,item_id,timestamp\nu1,1,99999999999999999999999\n", ITEMS, ["interactions.csv", "Unix seconds"]),
        ("user_id,item_id,timestamp\nu1,1,5\n", "item_id,title,TITLE\n1,Heat,x\n", ["items.csv", "'title'", "more than once"]),
        ("user_id,item_id,timestamp\nu1,1\n", ITEMS, ["interactions.csv", "row 1", "timestamp"]),
        # pandas would take the first row's extra field as an index and shift every column silently
        ("user_id,item_id,timestamp\nu1,1,5,extra\nu1,2,6\n", ITEMS, ["interactions.csv", "row 1", "more fields than the header"]),
    ],
    ids=["infinite-timestamp", "timestamp-beyond-int64", "same-column-twice", "short-row", "first-row-extra-field"],
)
def test_found_defects_give_one_clear_error(tmp_path, inter, items, needles) -> None:
    inter_csv, items_csv = tmp_path / "interactions.csv", tmp_path / "items.csv"
    inter_csv.write_text(inter)
    items_csv.write_text(items)
    s = Settings(artifacts_dir=tmp_path / "art", dataset="custom", custom_interactions_csv=inter_csv, custom_items_csv=items_csv)
    with pytest.raises(DataFormatError) as info:
        prepare(s)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg
