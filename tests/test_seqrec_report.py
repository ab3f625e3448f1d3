"""The seqrec benchmark's seed summary: only runs of the very configuration reported count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.seqrec import seed_spread

CONFIG = {"n_items": 1682, "max_len": 50, "norm": "post"}
TRAIN = {"windows": "strided", "stride": 25, "seed": 2020, "max_minutes": 4.0}


def _run(seed: int, left_in: float, **train: object) -> dict:
    return {"seed": seed, "config": CONFIG, "train_config": {**TRAIN, "seed": seed, "max_minutes": None, **train}, "test": {"left_in": left_in}}


def test_seed_spread_uses_only_matching_runs_and_judges_the_mean(tmp_path: Path):
    path = tmp_path / "seqrec_ablation.json"
    runs = [_run(2020, 0.060), _run(2021, 0.070), _run(2022, 0.080), _run(2020, 0.5, windows="all")]
    path.write_text(json.dumps({"runs": runs}))
    models = {"sasrec": {"config": CONFIG, "train_config": TRAIN}}
    spread = seed_spread(models, {"sasrec": {"test_ndcg10": 0.0609}}, path)
    assert spread is not None
    assert spread["seeds"] == [2020, 2021, 2022]  # the "all" windows run is another configuration
    assert spread["mean"] == pytest.approx(0.070) and spread["sd"] == pytest.approx(0.010)
    assert spread["ratio"] == pytest.approx(0.070 / 0.0609) and spread["met"] is True  # 0.070 >= 1.10 x 0.0609
    lower = seed_spread(models, {"sasrec": {"test_ndcg10": 0.0640}}, path)
    assert lower is not None and lower["met"] is False
    assert seed_spread(models, {"sasrec": {"test_ndcg10": 0.0609}}, tmp_path / "missing.json") is None
