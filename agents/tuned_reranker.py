"""The rec-tuned reranker in the product: on only where `python -m agents.llm.tune` found, on validation users,
that reordering SASRec's top 20 with it beats SASRec's own order (choice.json). Otherwise the agent keeps
SASRec's order, as it did before tuning existed; a choice made for another dataset version is reported.

The reranker scores the head with the kept adapter (likelihood or yes/no) and fuses that order with the head's
own by weighted reciprocal rank, at the weight chosen on validation."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.dataset import Dataset
from data.errors import MissingArtifact

log = logging.getLogger(__name__)

TUNE_COMMAND = "python -m agents.llm.tune"


@dataclass
class TunedReranker:
    """callable(history_titles, request, candidates[(id, title)]) -> RerankResult, as the Toolbox expects."""

    backend: Any
    method: str
    weight: float

    def __call__(self, history_titles: Sequence[str], request: str | None, candidates: Sequence[tuple[int, str]]) -> Any:
        from agents.llm.tune import fused
        from tools.reranker.likelihood import score_candidates
        from tools.reranker.result import RerankResult
        from tools.reranker.yesno import score_yesno

        t0 = time.perf_counter()
        ids = [int(i) for i, _ in candidates]
        titles = [t for _, t in candidates]
        hist = list(history_titles)[-10:]
        if self.method == "yesno":
            scores = score_yesno(self.backend, hist, request, titles)
        else:
            scores = score_candidates(self.backend, hist, request, titles, calibrate=False).raw
        order = fused(ids, scores, self.weight)
        n = len(order)
        return RerankResult(
            [(i, float(n - r)) for r, i in enumerate(order)],
            method=f"tuned {self.method}, fused with the prior order at weight {self.weight}",
            elapsed_s=time.perf_counter() - t0,
        )


def choice_path(artifacts_dir: Path, dataset_name: str) -> Path:
    from agents.llm.embedded import DEFAULT
    from agents.llm.lora import adapter_dir
    from agents.llm.tune import CHOICE

    return adapter_dir(artifacts_dir, DEFAULT.key, dataset_name, "x").parent / CHOICE


def read_choice(path: Path, dataset: Dataset) -> dict[str, Any]:
    """The tuning's choice.json for this dataset version; MissingArtifact naming the fix when it is missing,
    unreadable or was made for another version (the tune command then retunes without --force)."""
    try:
        choice = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MissingArtifact(f"its decision file {path} is unreadable ({exc}); run `{TUNE_COMMAND}`") from exc
    if choice.get("dataset_version") != dataset.version:
        raise MissingArtifact(f"it was chosen for another version of {dataset.name}; run `{TUNE_COMMAND}`")
    return choice


def load_tuned_reranker(artifacts_dir: Path, dataset: Dataset, threads: int | None = 1) -> tuple[TunedReranker | None, list[str]]:
    """(the reranker or None, notices for the visitor)."""
    path = choice_path(artifacts_dir, dataset.name)
    if not path.is_file():
        return None, []
    try:
        choice = read_choice(path, dataset)
    except MissingArtifact as exc:
        return None, [f"The tuned reranker is off: {exc}. Showing SASRec's order meanwhile."]
    if not choice.get("use_in_product"):
        log.info("tuned reranker off: it did not beat SASRec's order on validation (%s)", path)
        return None, []
    try:
        return open_reranker(artifacts_dir, dataset, choice["method"], float(choice["weight"]), threads), []
    except MissingArtifact as exc:
        return None, [f"The tuned reranker is not ready ({exc}); showing SASRec's order until it is."]


def open_reranker(artifacts_dir: Path, dataset: Dataset, method: str, weight: float, threads: int | None = 1) -> TunedReranker:
    """The embedded model with `method`'s adapter merged; MissingArtifact (naming the fix) when the adapter is
    missing or was tuned on another dataset version."""
    from agents.llm.embedded import DEFAULT, require_converted
    from agents.llm.hf import HFBackend
    from agents.llm.lora import adapter_dir, read_adapter_meta

    adapter = adapter_dir(artifacts_dir, DEFAULT.key, dataset.name, method)
    read_adapter_meta(adapter, dataset.version)
    backend = HFBackend(require_converted(artifacts_dir), name=f"tuned-{method}", device="cpu", threads=threads, adapter=adapter)
    return TunedReranker(backend, method, weight)


def load_kept_reranker(artifacts_dir: Path, dataset: Dataset, threads: int | None = 1) -> TunedReranker:
    """For evaluations that run the agent with the reranker on whatever the product decided: the adapter and
    fusion weight the tuning kept as its best on validation (choice.json's kept_method, kept_weight)."""
    path = choice_path(artifacts_dir, dataset.name)
    choice = read_choice(path, dataset)
    if not choice.get("kept_method"):
        raise MissingArtifact(f"the tuning choice at {path} kept no adapter; run `{TUNE_COMMAND} --force`")
    return open_reranker(artifacts_dir, dataset, choice["kept_method"], float(choice["kept_weight"]), threads)
