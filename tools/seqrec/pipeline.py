"""Dataset -> trained model -> checkpoint: the steps shared by the training CLI and the benchmark."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from data.dataset import Dataset
from data.errors import MissingArtifact
from tools.seqrec.checkpoint import Checkpoint, build_model, checkpoint_path, read_checkpoint
from tools.seqrec.data import SplitData, popularity_counts, split_data
from tools.seqrec.recommender import SeqRecommender
from tools.seqrec.trainer import TrainConfig, TrainReport, fit

log = logging.getLogger(__name__)

# Per-model settings chosen on validation NDCG@10 (docs/results/seqrec.md); config defaults otherwise.
# max_len 50: a 200-item window costs ~4x per epoch on this CPU; with 50, SASRec reaches its best validation NDCG@10
# inside the `make run` budget.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "sasrec": {"max_len": 50},
    "gru4rec": {"max_len": 50},
}
# SASRec stays inside the `make run` budget; GRU4Rec converges more slowly at lr 1e-3.
# SASRec trains on windows every 25 items, the loss on each window's 25 newest targets, in batches of 64: every
# target reads its whole past or at least 26 earlier items, closer to how it is asked at inference (a full
# 50-item window) than consecutive windows, where some targets read only one. With post-norm blocks this was
# the best of a sweep on this machine (docs/results/seqrec_ablation.md). Label smoothing 0.1 raised validation NDCG@10
# (seen excluded) on each of 3 seeds; 0.2 was no better on their mean, 0.3 no better on one seed. A target mixing
# the next 2 items (weights 1, 0.5) raised the 3-seed validation NDCG@10 in both rankings; the next 3 items scored
# the same within noise and the next 5 (decay 0.7) lower, on 2 seeds. Each epoch trains on a fresh random order of
# the items a user rated within 10 s of each other: the log orders same-second ties by file row, and ratings seconds
# apart come from one sitting whose order says little. On the real validation items log order, same-second, 10 s and
# 60 s shuffling were within noise, so the choice was made, by a rule fixed before the runs, on the shifted protocol
# (`evals.seqrec_ablation --shift`: each user's last two training items as validation and test, 5 seeds), where 10 s
# had the highest validation NDCG@10 (seen excluded), level with 60 s and above same-second and log order; 60 s
# fills more of the top 10 with seen items (docs/results/seqrec_ablation_shift.md). 10 s needs more epochs than
# log order. Training stops on validation (patience 10 epochs); the wall-clock cap is only a last guard, 6.5
# minutes, so that `make run` stays within 10 minutes on a slow or busy machine, and a model cut by it is reported
# (tools.seqrec.training_caveat: by `train`, in the app's log and on its page).
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "sasrec": {
        "patience": 10,
        "max_minutes": 6.5,
        "windows": "strided",
        "stride": 25,
        "batch_size": 64,
        "label_smoothing": 0.1,
        "future_targets": 2,
        "future_decay": 0.5,
        "shuffle_within_seconds": 10.0,
    },
    "gru4rec": {"lr": 3e-3, "patience": 10, "max_minutes": 8.0},
}
# ML-1M has ten times the training positions of ML-100K: a SASRec epoch takes about 80 s on one thread of this
# machine (GRU4Rec about 17 s), so the ML-100K guards would stop it after 5 epochs. Its guards are set so that
# `TALKREC_DATASET=ml-1m make run` is ready in under an hour; validation patience still ends training sooner
# when the model stops improving, and a model cut by the guard is reported as for ML-100K.
DATASET_TRAIN_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "ml-1m": {"sasrec": {"max_minutes": 35.0}, "gru4rec": {"max_minutes": 15.0}},
}


def default_configs(model: str, n_items: int, seed: int, dataset: str = "ml-100k") -> tuple[dict[str, Any], TrainConfig]:
    """The model config (as a dict) and train config used for `model` on `dataset` unless a caller overrides them."""
    config = build_model(model, {"n_items": n_items, **MODEL_DEFAULTS.get(model, {})}).cfg
    train = {**TRAIN_DEFAULTS.get(model, {}), **DATASET_TRAIN_DEFAULTS.get(dataset, {}).get(model, {})}
    return dataclasses.asdict(config), TrainConfig(seed=seed, **train)


@dataclass
class Trained:
    model: str
    module: nn.Module
    config: dict[str, Any]
    train_config: TrainConfig
    report: TrainReport
    split: SplitData
    popularity: np.ndarray

    def recommender(self) -> SeqRecommender:
        return SeqRecommender(self.module, self.model, self.split.index, self.popularity, int(self.config["max_len"]))

    def checkpoint(self, dataset: Dataset) -> Checkpoint:
        return Checkpoint(
            model=self.model,
            config=self.config,
            train_config=dataclasses.asdict(self.train_config),
            dataset=dataset.name,
            dataset_version=dataset.version,
            item_ids=self.split.index.item_ids,
            popularity=self.popularity,
            state_dict=self.module.state_dict(),
            report=dataclasses.asdict(self.report),
        )


def train_model(
    dataset: Dataset,
    model: str,
    seed: int,
    config: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
    split: SplitData | None = None,
    progress: bool = True,
) -> Trained:
    """Train on the train split, select the epoch on validation NDCG@10 (seen excluded)."""
    split = split or split_data(dataset)
    default_cfg, default_train = default_configs(model, split.index.n_items, seed, dataset.name)
    config = config or default_cfg
    train_config = train_config or default_train
    torch.manual_seed(seed)  # the initial weights depend on the seed too
    module = build_model(model, config)
    report = fit(module, split.train, split.valid, int(config["max_len"]), train_config, progress=progress, train_times=split.train_times)
    return Trained(model, module, config, train_config, report, split, popularity_counts(split.train, split.index.n_items))


def is_fresh(artifacts_dir: Path, dataset: Dataset, model: str, seed: int) -> bool:
    """True when a readable checkpoint exists for this dataset version and the current default configs."""
    path = checkpoint_path(artifacts_dir, dataset.name, model)
    try:
        ckpt = read_checkpoint(path, model)
    except MissingArtifact as exc:
        log.info("%s", exc)
        return False
    config, train_config = default_configs(model, len(dataset.catalog), seed, dataset.name)
    same = (ckpt.dataset, ckpt.dataset_version, ckpt.config, ckpt.train_config) == (
        dataset.name,
        dataset.version,
        config,
        dataclasses.asdict(train_config),
    )
    if not same:
        log.info("checkpoint %s is stale (dataset version or config changed)", path)
    return same
