"""Checkpoint files: weights + model config + train config + dataset version, and their validation."""

from __future__ import annotations

import dataclasses
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from data.errors import MissingArtifact
from tools.seqrec.gru4rec import GRU4Rec, GRU4RecConfig
from tools.seqrec.sasrec import SASRec, SASRecConfig

FORMAT_VERSION = 1
MODELS: dict[str, tuple[type, type]] = {"sasrec": (SASRec, SASRecConfig), "gru4rec": (GRU4Rec, GRU4RecConfig)}


def checkpoint_path(artifacts_dir: Path, dataset_name: str, model: str) -> Path:
    return Path(artifacts_dir) / "models" / "seqrec" / dataset_name / f"{model}.pt"


def train_command(model: str) -> str:
    return f"python -m tools.seqrec.train --model {model}"


def build_model(model: str, config: dict[str, Any]) -> nn.Module:
    if model not in MODELS:
        raise MissingArtifact(f"unknown sequential model {model!r}; use one of {', '.join(MODELS)}")
    module_cls, config_cls = MODELS[model]
    return module_cls(config_cls(**config))


@dataclass
class Checkpoint:
    model: str  # "sasrec" | "gru4rec"
    config: dict[str, Any]  # the model's config dataclass as a dict
    train_config: dict[str, Any]
    dataset: str
    dataset_version: str
    item_ids: np.ndarray  # model index i is catalog id item_ids[i - 1]
    popularity: np.ndarray  # (n_items + 1,) train-split counts per model index
    state_dict: dict[str, torch.Tensor]
    report: dict[str, Any] = field(default_factory=dict)  # the TrainReport as a dict

    def to_payload(self) -> dict[str, Any]:
        payload = dataclasses.asdict(self) | {"format_version": FORMAT_VERSION}
        payload["item_ids"] = torch.from_numpy(self.item_ids.astype(np.int64))
        payload["popularity"] = torch.from_numpy(self.popularity.astype(np.float64))
        payload["state_dict"] = self.state_dict
        return payload


def save_checkpoint(path: Path, ckpt: Checkpoint) -> None:
    """Write atomically, so an interrupted run never leaves a half-written checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(ckpt.to_payload(), tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path, model: str) -> Checkpoint:
    """Read and sanity-check a checkpoint file; any problem is a MissingArtifact that says to retrain."""
    retrain = f"retrain it: run `{train_command(model)}`"
    if not path.is_file():
        raise MissingArtifact(f"no {model} checkpoint at {path}; run `{train_command(model)}`")
    try:
        # weights_only: a checkpoint is data (tensors, numbers, strings), never code to unpickle.
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise MissingArtifact(f"checkpoint {path} is corrupt or unreadable ({type(exc).__name__}); {retrain}") from exc
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise MissingArtifact(f"checkpoint {path} has an unknown format; {retrain}")
    try:
        ckpt = Checkpoint(
            model=str(payload["model"]),
            config=dict(payload["config"]),
            train_config=dict(payload["train_config"]),
            dataset=str(payload["dataset"]),
            dataset_version=str(payload["dataset_version"]),
            item_ids=payload["item_ids"].numpy(),
            popularity=payload["popularity"].numpy(),
            state_dict=dict(payload["state_dict"]),
            report=dict(payload.get("report", {})),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise MissingArtifact(f"checkpoint {path} lacks field {exc}; {retrain}") from exc
    if ckpt.model != model:
        raise MissingArtifact(f"checkpoint {path} holds a {ckpt.model} model, not {model}; {retrain}")
    return ckpt


def load_model(ckpt: Checkpoint, path: Path) -> nn.Module:
    """The checkpoint's module with its weights, in eval mode."""
    retrain = f"retrain it: run `{train_command(ckpt.model)}`"
    try:
        module = build_model(ckpt.model, ckpt.config)
        module.load_state_dict(ckpt.state_dict)
    except (TypeError, RuntimeError) as exc:
        raise MissingArtifact(f"checkpoint {path} does not match the {ckpt.model} model code ({type(exc).__name__}); {retrain}") from exc
    return module.eval()
