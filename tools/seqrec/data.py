"""Catalog ids <-> model indices, the split as index sequences, and batch padding."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from data.dataset import Dataset
from data.split import TEST, TRAIN, VALID


@dataclass(frozen=True)
class ItemIndex:
    """Model index i (1..n) is catalog item item_ids[i - 1]; index 0 is padding."""

    item_ids: np.ndarray  # (n,) catalog ids, sorted
    _pos: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pos", {int(c): i + 1 for i, c in enumerate(self.item_ids)})

    @classmethod
    def from_ids(cls, ids: Iterable[int]) -> ItemIndex:
        return cls(np.array(sorted({int(i) for i in ids}), dtype=np.int64))

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def encode(self, ids: Iterable[int]) -> tuple[np.ndarray, list[int]]:
        """Catalog ids -> (model indices in the same order, the ids not in the index)."""
        known: list[int] = []
        unknown: list[int] = []
        for i in ids:
            idx = self._pos.get(int(i))
            if idx is None:
                unknown.append(int(i))
            else:
                known.append(idx)
        return np.array(known, dtype=np.int64), unknown

    def decode(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.item_ids[np.asarray(indices, dtype=np.int64) - 1]


@dataclass
class EvalSet:
    """One target per user: inputs[u] is the history (model indices) before targets[u]."""

    inputs: list[np.ndarray]
    targets: np.ndarray  # (U,)


@dataclass
class SplitData:
    index: ItemIndex
    train: list[np.ndarray]  # per user, train-split items in time order
    train_times: list[np.ndarray]  # the timestamps of those items (seconds), aligned with train
    valid: EvalSet  # input = train items, target = validation item
    test: EvalSet  # input = train + validation items, target = test item


def split_data(dataset: Dataset) -> SplitData:
    """The dataset's chronological leave-one-out split, as model-index sequences."""
    index = ItemIndex.from_ids(dataset.catalog.ids)

    def enc(ids: np.ndarray) -> np.ndarray:
        return index.encode(ids)[0]

    seqs, times = dataset.sequences(TRAIN), dataset.sequence_times(TRAIN)
    users = [u for u, s in seqs.items() if len(s) > 0]
    train = [enc(seqs[u]) for u in users]
    # the same items enc keeps (those in the index), so times stay aligned with train
    train_times = [times[u][np.isin(seqs[u], index.item_ids)] for u in users]

    def eval_set(split: str) -> EvalSet:
        inputs = dataset.sequences(split)
        targets = dataset.targets(split)
        users = [u for u in sorted(targets) if len(inputs.get(u, ())) > 0]
        return EvalSet([enc(inputs[u]) for u in users], enc(np.array([targets[u] for u in users])))

    return SplitData(index, train, train_times, eval_set(VALID), eval_set(TEST))


def pad_left(seqs: Sequence[np.ndarray], max_len: int) -> torch.Tensor:
    """The last max_len items of each sequence, left-padded with 0 to the longest one: (B, L)."""
    length = max(1, min(max_len, max(len(s) for s in seqs)))
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for row, s in enumerate(seqs):
        tail = s[-length:]
        if len(tail):
            out[row, length - len(tail) :] = tail
    return torch.from_numpy(out)


def popularity_counts(train: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    """Interaction count of every model index (n_items + 1,), index 0 (padding) = 0."""
    counts = np.zeros(n_items + 1, dtype=np.float64)
    for s in train:
        np.add.at(counts, s, 1.0)
    counts[0] = 0.0
    return counts
