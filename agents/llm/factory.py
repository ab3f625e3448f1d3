"""Build a chat backend by kind. Called at the edges (app wiring, evals, CLIs), which also pass the
settings; the environment is read here only for the OpenAI key and base_url, as the SDK expects."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from agents.llm.base import ChatBackend
from data.errors import InvalidInput

Kind = Literal["embedded", "openai", "hf"]
KINDS: tuple[str, ...] = ("embedded", "openai", "hf")


def make_backend(
    kind: Kind,
    *,
    artifacts_dir: Path,
    hf_model: str | None = None,
    openai_model: str = "gpt-4o-mini",
    timeout_s: float = 60.0,
    threads: int | None = 1,
) -> ChatBackend:
    if kind == "embedded":
        from agents.llm.embedded import require_converted
        from agents.llm.hf import HFBackend

        # The 135M model answers free tool-call prompts with prose (measured): its calls are constrained.
        return HFBackend(require_converted(artifacts_dir), name="embedded", device="cpu", threads=threads, constrained_tools=True)
    if kind == "hf":
        from agents.llm.hf import HFBackend

        if not hf_model:
            raise InvalidInput("the hf backend needs a model name or path; set TALKREC_HF_MODEL (or pass --model)")
        return HFBackend(hf_model, name="hf", device="auto", threads=threads)
    if kind == "openai":
        from agents.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(openai_model, api_key=os.environ.get("OPENAI_API_KEY"), base_url=os.environ.get("OPENAI_BASE_URL"), timeout_s=timeout_s)
    raise InvalidInput(f"unknown backend {kind!r}; choose one of {KINDS}")


def available_backends(hf_model: str | None = None) -> list[str]:
    """Backends that can work here: embedded always; openai with a key or base_url; hf with a model or a GPU."""
    kinds = ["embedded"]
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        kinds.append("openai")
    if hf_model or _cuda():
        kinds.append("hf")
    return kinds


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
