"""The inference API the agent calls: rank every catalog item for any history of catalog item ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from data.dataset import Dataset
from data.errors import InvalidInput, MissingArtifact
from tools.seqrec.checkpoint import checkpoint_path, load_model, read_checkpoint, train_command
from tools.seqrec.data import ItemIndex

NO_HISTORY_NOTE = "no history: most popular items"


@dataclass
class SeqRecResult:
    items: list[tuple[int, float]]  # (catalog item_id, score), best first
    method: str  # "sasrec" | "gru4rec" | "popularity"
    note: str = ""  # human-readable caveat (fallback, ignored ids); "" when there is none


class SeqRecommender:
    """A trained sequential model (or, with model=None, the popularity baseline) over one catalog."""

    def __init__(self, model: nn.Module | None, method: str, index: ItemIndex, popularity: np.ndarray, max_len: int) -> None:
        if len(popularity) != index.n_items + 1:
            raise InvalidInput(f"popularity has {len(popularity)} entries, expected n_items + 1 = {index.n_items + 1}")
        self.model = model.eval() if model is not None else None
        self.method = method if model is not None else "popularity"
        self.index = index
        self.max_len = max_len
        self._pop_scores = np.asarray(popularity, dtype=np.float64)
        self._popularity: SeqRecommender | None = None if model is not None else self
        self.training: dict = {}  # the checkpoint's TrainReport as a dict (empty for the popularity baseline)

    @property
    def popularity(self) -> SeqRecommender:
        """The popularity baseline over the same catalog (train-split interaction counts)."""
        if self._popularity is None:
            self._popularity = SeqRecommender(None, "popularity", self.index, self._pop_scores, self.max_len)
        return self._popularity

    def scores(self, indices: np.ndarray) -> np.ndarray:
        """Next-item scores for a history of model indices: (n_items + 1,), float64, a fresh copy."""
        if self.model is None or len(indices) == 0:
            return self._pop_scores.copy()
        seq = torch.from_numpy(np.ascontiguousarray(indices[-self.max_len :]))[None]  # (1, L)
        with torch.inference_mode():
            return self.model.score_all(seq)[0].numpy().astype(np.float64)

    def recommend(self, history: Sequence[int], k: int = 10, exclude: Iterable[int] = (), allowed: Iterable[int] | None = None) -> SeqRecResult:
        """Top-k catalog items after `history` (oldest first), never an item of history or exclude,
        only items of `allowed` when it is given. Unknown ids in history are ignored (and noted)."""
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        indices, unknown = self.index.encode(history)
        notes = []
        if unknown:
            shown = ", ".join(str(i) for i in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            notes.append(f"ignored {len(unknown)} item id(s) not in the catalog: {shown}")
        if len(indices) == 0:
            notes.insert(0, NO_HISTORY_NOTE)
        method = self.method if len(indices) else "popularity"
        return SeqRecResult(best_items(self.scores(indices), self.index, indices, exclude, allowed, k), method, "; ".join(notes))


def best_items(
    scores: np.ndarray, index: ItemIndex, history: np.ndarray, exclude: Iterable[int], allowed: Iterable[int] | None, k: int
) -> list[tuple[int, float]]:
    """The k best (catalog id, score) of a score vector over model indices: never padding, the history or `exclude`,
    only `allowed` when given. Shared by every ranker over an ItemIndex."""
    scores[0] = -np.inf  # padding
    scores[history] = -np.inf
    excluded, _ = index.encode(exclude)
    scores[excluded] = -np.inf
    if allowed is not None:
        keep, _ = index.encode(allowed)
        masked = np.full_like(scores, -np.inf)
        masked[keep] = scores[keep]
        scores = masked
    top = _top_k(scores, np.flatnonzero(np.isfinite(scores)), k)
    ids = index.decode(top)
    return [(int(i), float(scores[t])) for i, t in zip(ids, top, strict=True)]


def _top_k(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The k best candidates by score, ties by lower index (the order the metrics use)."""
    if len(candidates) > k:
        # argpartition narrows to the k best (plus ties at the boundary) before the exact sort.
        kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= kth]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:k]


def load_seqrec(artifacts_dir: Path, dataset: Dataset, model: str = "sasrec") -> SeqRecommender:
    """The trained `model` for this dataset version; MissingArtifact (saying how to retrain) otherwise."""
    path = checkpoint_path(artifacts_dir, dataset.name, model)
    ckpt = read_checkpoint(path, model)
    if ckpt.dataset != dataset.name or ckpt.dataset_version != dataset.version:
        raise MissingArtifact(
            f"checkpoint {path} was trained on {ckpt.dataset} version {ckpt.dataset_version}, but the dataset is "
            f"{dataset.name} version {dataset.version}; retrain it: run `{train_command(model)}`"
        )
    index = ItemIndex(ckpt.item_ids)
    if set(int(i) for i in ckpt.item_ids) != set(dataset.catalog.ids):
        raise MissingArtifact(f"checkpoint {path} was trained on a different catalog; retrain it: run `{train_command(model)}`")
    if len(ckpt.popularity) != index.n_items + 1:
        raise MissingArtifact(f"checkpoint {path} is inconsistent (popularity size); retrain it: run `{train_command(model)}`")
    module = load_model(ckpt, path)
    rec = SeqRecommender(module, model, index, ckpt.popularity, int(ckpt.config["max_len"]))
    rec.training = dict(ckpt.report)
    return rec


def training_caveat(report: dict, model: str) -> str:
    """A sentence for the app when training was cut by the wall-clock guard instead of ending on validation
    (the model then is weaker than the benchmarked one); "" when it ended on validation."""
    if report.get("stopped_by") != "time":
        return ""
    valid = report.get("best_valid", {}).get("ndcg@10")
    score = f", validation NDCG@10 {valid:.4f}" if isinstance(valid, float) else ""
    name = {"sasrec": "SASRec", "gru4rec": "GRU4Rec"}.get(model, model)
    return (
        f"{name} training was stopped by its time guard after {report.get('epochs_run', '?')} epochs (best epoch "
        f"{report.get('best_epoch', '?')}{score}) before validation stopped improving, so it may be weaker than the "
        f"benchmarked model; on a less busy machine, retrain with `{train_command(model)}`."
    )
