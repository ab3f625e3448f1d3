"""Chronological leave-one-out: per user, the last interaction is test, the second-last validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRAIN, VALID, TEST = "train", "valid", "test"


def chronological_split(inter: pd.DataFrame) -> pd.DataFrame:
    """Sort by (user, timestamp, file row) and label each row train / valid / test.

    Ties in timestamp keep file order (a stable sort), so the split is deterministic. Users with two
    interactions get train + test, users with one get train only.
    """
    df = inter.sort_values(["user_id", "timestamp", "row"], kind="stable").reset_index(drop=True)
    pos = df.groupby("user_id").cumcount().to_numpy()
    n = df.groupby("user_id")["user_id"].transform("size").to_numpy()
    split = np.full(len(df), TRAIN, dtype=object)
    split[(pos == n - 1) & (n >= 2)] = TEST
    split[(pos == n - 2) & (n >= 3)] = VALID
    df["split"] = pd.Categorical(split, categories=[TRAIN, VALID, TEST])
    df["pos"] = pos
    return df
