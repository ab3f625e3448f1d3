"""A prepared dataset loaded from its parquet files: catalog, interactions, split helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from data.catalog import Catalog
from data.errors import MissingArtifact
from data.prepare import PREPARE_VERSION, dataset_dir
from data.split import TEST, TRAIN, VALID


@dataclass
class Dataset:
    name: str
    version: str
    catalog: Catalog
    interactions: pd.DataFrame  # sorted by (user_id, timestamp); columns user_id, item_id, timestamp, rating, split, pos
    meta: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return int(self.meta.get("n_users", self.interactions["user_id"].nunique()))

    @property
    def user_ids(self) -> list[int]:
        return sorted(self.histories)

    @cached_property
    def mean_ratings(self) -> dict[int, float]:
        """Each rated item's mean rating over the whole log (a fact about the film for "is it any good?")."""
        if self.interactions.empty or "rating" not in self.interactions:
            return {}
        means = self.interactions.groupby("item_id")["rating"].mean()
        return {int(i): float(m) for i, m in means.items()}

    @cached_property
    def histories(self) -> dict[int, np.ndarray]:
        """Each user's full chronological item sequence."""
        return {int(u): g["item_id"].to_numpy() for u, g in self.interactions.groupby("user_id", sort=True)}

    def sequences(self, upto: str = TRAIN) -> dict[int, np.ndarray]:
        """Per user, the items before the `upto` split's target: train -> train items; valid -> train
        items (input for the valid target); test -> train + valid items (input for the test target)."""
        return self._per_user("item_id", upto)

    def sequence_times(self, upto: str = TRAIN) -> dict[int, np.ndarray]:
        """The timestamps (seconds) of the items in sequences(upto), aligned with them."""
        return self._per_user("timestamp", upto)

    def _per_user(self, column: str, upto: str) -> dict[int, np.ndarray]:
        keep = {TRAIN: [TRAIN], VALID: [TRAIN], TEST: [TRAIN, VALID]}[upto]
        df = self.interactions[self.interactions["split"].isin(keep)]
        return {int(u): g[column].to_numpy() for u, g in df.groupby("user_id", sort=True)}

    def targets(self, split: str) -> dict[int, int]:
        df = self.interactions[self.interactions["split"] == split]
        return dict(zip(df["user_id"].astype(int), df["item_id"].astype(int), strict=True))

    def history(self, user_id: int) -> list[int]:
        if user_id not in self.histories:
            raise MissingArtifact(f"user {user_id} is not in dataset {self.name}; pick one of 1..{self.n_users}")
        return [int(i) for i in self.histories[user_id]]


def load_dataset(artifacts_dir: Path, name: str = "ml-100k") -> Dataset:
    """The prepared dataset; MissingArtifact naming the command that (re)prepares it when its folder is
    missing, damaged, from an older prepare format, or its files disagree with meta.json."""
    folder = dataset_dir(artifacts_dir, name)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise MissingArtifact(f"dataset {name!r} is not prepared at {folder}; run `python -m data.prepare --dataset {name}` (or make prepare)")
    meta = _read_meta(meta_path, name)
    if not str(meta["version"]).endswith(f"-p{PREPARE_VERSION}"):
        raise MissingArtifact(
            f"dataset {name!r} at {folder} was prepared by another version of data.prepare (version {meta['version']}, this code "
            f"writes -p{PREPARE_VERSION}); run `python -m data.prepare --dataset {name}` (or make prepare)"
        )
    items = _read_parquet(folder / "items.parquet", name, ITEM_COLUMNS)
    items["genres"] = items["genres"].map(list)
    inter = _read_parquet(folder / "interactions.parquet", name, INTERACTION_COLUMNS)
    for what, frame, key in (("items", items, "n_items"), ("interactions", inter, "n_interactions")):
        if key in meta and len(frame) != int(meta[key]):
            raise MissingArtifact(
                f"{folder}: {len(frame)} {what} on disk but meta.json says {meta[key]} (files from different preparations); {_reprepare(name)}"
            )
    return Dataset(name=name, version=meta["version"], catalog=Catalog(items), interactions=inter, meta=meta)


# Columns the rest of TalkRec reads; a file without them is from another format or damaged.
ITEM_COLUMNS = ("item_id", "title", "year", "genres", "sentence", "n_ratings")
INTERACTION_COLUMNS = ("user_id", "item_id", "timestamp", "rating", "split")


def _reprepare(name: str) -> str:
    return f"prepare it again: run `python -m data.prepare --dataset {name} --force`"


def _read_meta(path: Path, name: str) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MissingArtifact(f"{path} is damaged ({type(exc).__name__}: {exc}); {_reprepare(name)}") from exc
    if not isinstance(meta, dict) or "version" not in meta:
        raise MissingArtifact(f"{path} has no dataset version; {_reprepare(name)}")
    return meta


def _read_parquet(path: Path, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise MissingArtifact(f"{path} is missing (the dataset folder is incomplete); {_reprepare(name)}")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError; a cut-off file raises it
        raise MissingArtifact(f"{path} is damaged or truncated ({type(exc).__name__}); {_reprepare(name)}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingArtifact(f"{path} lacks columns {missing}; {_reprepare(name)}")
    return frame
