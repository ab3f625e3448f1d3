"""The one typed settings object. Read only at the edges (CLIs, app, evals)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob TalkRec has; environment variables use the TALKREC_ prefix."""

    model_config = SettingsConfigDict(env_prefix="TALKREC_", extra="forbid")

    # Where prepared data, indexes and checkpoints live (never committed).
    artifacts_dir: Path = REPO_ROOT / "artifacts"
    # "ml-latest-small" (default: it knows the 2000s-2010s films people name), "ml-100k", "ml-1m", or "custom"
    # with one of the two custom sources below.
    dataset: str = "ml-latest-small"
    # A RecBole atomic dataset folder (NAME.inter, NAME.item) for dataset="custom".
    custom_atomic_dir: Path | None = None
    # Or two CSV files for dataset="custom".
    custom_interactions_csv: Path | None = None
    custom_items_csv: Path | None = None

    seed: int = 2020
    seqrec_model: Literal["sasrec", "gru4rec"] = "sasrec"
    # one thread: on a busy 2-core machine two threads contend and run slower (measured in the seqrec benchmark)
    torch_threads: int = Field(default=1, ge=1)

    chroma_host: str | None = None
    chroma_port: int = 8000

    policy: Literal["planner", "llm"] = "planner"
    backend: Literal["embedded", "openai", "hf"] = "embedded"
    hf_model: str | None = None
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 60.0
    # After the model times out, the planner answers without asking it for this long (then it is tried again).
    llm_pause_s: float = Field(default=30.0, ge=0.0)
    top_k: int = Field(default=5, ge=1, le=20)

    host: str = "127.0.0.1"
    port: int = 7860
    # Chat turns the server runs at once; more wait in Gradio's queue. 8 had the lowest p95 of 4, 8 and 16
    # with 50 users (`python -m evals.load`, docs/RELIABILITY.md): a streamed turn partly waits between
    # frames, so a slot is not a busy core, and past 8 the turns only contend for the same two cores.
    concurrency_limit: int = Field(default=8, ge=1, le=64)
    # Chat turns that may wait in Gradio's queue; past it a turn is refused (HTTP 503) and never answered. 512 keeps
    # every turn of 120 users on one 2-core server (`python -m evals.load --users 120`, docs/RELIABILITY.md).
    queue_size: int = Field(default=512, ge=16, le=100_000)
    # The app's saved conversations (SQLite); default: sessions.sqlite in the artifacts folder.
    sessions_path: Path | None = None

    def sessions_file(self) -> Path:
        return self.sessions_path or self.artifacts_dir / "sessions.sqlite"
