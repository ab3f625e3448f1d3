"""Start-up faults: build_services over a damaged copy of the artifacts.

Each case copies the prepared artifacts into a temporary folder, damages one part, and calls
build_services(settings, prepare_missing=False), as app/main.py's start_services does first. It must fail
with a named TalkRecError whose message names the fix. start_services then prepares what is missing
behind a progress page, but only for MissingArtifact; `recover=True` runs that second step
(build_services(prepare_missing=True)) for the cases where it is quick, and one turn afterwards. A repair
that stops at a named error naming the fix is recorded (the app then stops with that message); one that
crashes with any other error fails the case.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agents.services import build_services
from data.errors import MissingArtifact, TalkRecError
from data.prepare import dataset_dir
from data.settings import Settings
from evals.faults.llm import HEALTHY
from tools.retriever.index import chroma_path, collection_name
from tools.seqrec.checkpoint import checkpoint_path

ARTIFACTS = "$ARTIFACTS"
# A message names its fix when it gives a command to run.
FIX_RE = re.compile(r"run `[^`]+`|make prepare")
START_SERVICES_PREPARES = "start_services prepares what is missing behind the progress page (build_services(prepare_missing=True))"
START_SERVICES_FAILS = "start_services re-raises it: the app does not start and the log shows the message"


@dataclass(frozen=True)
class StartupFault:
    name: str
    part: str  # "checkpoint", "index", "dataset"
    what: str
    damage: Callable[[Path, Settings], None]
    cheap_recovery: bool  # build_services(prepare_missing=True) takes seconds (no SASRec retraining)


def artifact_parts(settings: Settings) -> list[Path]:
    """What build_services reads, relative to the artifacts folder: the dataset, the source cache (so a
    re-prepare needs no download), the checkpoint, the index and its embedding cache."""
    root = settings.artifacts_dir
    parts = [
        dataset_dir(root, settings.dataset),
        root / "cache",
        checkpoint_path(root, settings.dataset, settings.seqrec_model),
        chroma_path(root),
        root / "embeddings",
    ]
    return [p.relative_to(root) for p in parts if p.exists()]


def copy_artifacts(settings: Settings, dest: Path) -> Settings:
    """A copy of the prepared artifacts under dest; the settings pointing at it."""
    for rel in artifact_parts(settings):
        src, dst = settings.artifacts_dir / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return settings.model_copy(update={"artifacts_dir": dest})


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _ckpt(root: Path, s: Settings) -> Path:
    return checkpoint_path(root, s.dataset, s.seqrec_model)


def _edit_checkpoint(root: Path, s: Settings, edit: Callable[[dict[str, Any]], None]) -> None:
    path = _ckpt(root, s)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    edit(payload)
    torch.save(payload, path)


def _other_version(payload: dict[str, Any]) -> None:
    payload["dataset_version"] = "0123456789abcdef-p1"  # trained on another preparation of the data


def _other_catalog(payload: dict[str, Any]) -> None:
    # trained on a catalog with one item fewer: ids, popularity, config and weights all agree with each other
    n = len(payload["item_ids"]) - 1
    payload["item_ids"] = payload["item_ids"][:n]
    payload["popularity"] = payload["popularity"][: n + 1]
    payload["config"] = {**payload["config"], "n_items": n}
    payload["state_dict"] = {k: (v[: n + 1] if v.ndim and v.shape[0] == n + 2 else v) for k, v in payload["state_dict"].items()}


def _other_shapes(payload: dict[str, Any]) -> None:
    payload["config"] = {**payload["config"], "hidden": int(payload["config"].get("hidden", 64)) * 2}


def _dataset_file(root: Path, s: Settings, name: str) -> Path:
    return dataset_dir(root, s.dataset) / name


def _edit_meta(root: Path, s: Settings, edit: Callable[[dict[str, Any]], None]) -> None:
    path = _dataset_file(root, s, "meta.json")
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def _older_format(meta: dict[str, Any]) -> None:
    digest = meta["version"].rsplit("-p", 1)[0]
    meta["version"] = f"{digest}-p0"  # prepared by an earlier version of data.prepare


def _index_other_version(root: Path, s: Settings) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(chroma_path(root)), settings=ChromaSettings(anonymized_telemetry=False))
    col = client.get_collection(collection_name(s.dataset))
    col.modify(metadata={**(col.metadata or {}), "dataset_version": "0123456789abcdef-p1"})
    del col, client


def _truncate_segments(root: Path) -> None:
    for f in chroma_path(root).glob("*/*.bin"):
        _truncate(f)


def _index_sqlite(root: Path) -> Path:
    return chroma_path(root) / "chroma.sqlite3"


STARTUP_FAULTS: tuple[StartupFault, ...] = (
    StartupFault("checkpoint_missing", "checkpoint", "SASRec checkpoint file deleted", lambda r, s: _ckpt(r, s).unlink(), False),
    StartupFault("checkpoint_truncated", "checkpoint", "SASRec checkpoint cut in half", lambda r, s: _truncate(_ckpt(r, s)), False),
    StartupFault(
        "checkpoint_other_dataset_version",
        "checkpoint",
        "checkpoint trained on another version of the dataset",
        lambda r, s: _edit_checkpoint(r, s, _other_version),
        False,
    ),
    StartupFault(
        "checkpoint_other_catalog",
        "checkpoint",
        "checkpoint trained on a catalog with one item fewer (n_items - 1)",
        lambda r, s: _edit_checkpoint(r, s, _other_catalog),
        False,
    ),
    StartupFault(
        "checkpoint_other_shapes",
        "checkpoint",
        "checkpoint whose config does not match its weights (hidden size doubled)",
        lambda r, s: _edit_checkpoint(r, s, _other_shapes),
        False,
    ),
    StartupFault("index_missing", "index", "Chroma index folder deleted", lambda r, s: shutil.rmtree(chroma_path(r)), True),
    StartupFault("index_truncated", "index", "Chroma's sqlite file cut in half", lambda r, s: _truncate(_index_sqlite(r)), True),
    StartupFault("index_segment_truncated", "index", "the HNSW segment files (*.bin) cut in half", lambda r, s: _truncate_segments(r), True),
    StartupFault("index_other_dataset_version", "index", "index built for another version of the dataset", _index_other_version, True),
    StartupFault("dataset_missing", "dataset", "prepared dataset folder deleted", lambda r, s: shutil.rmtree(dataset_dir(r, s.dataset)), True),
    StartupFault(
        "dataset_file_missing", "dataset", "items.parquet deleted (meta.json kept)", lambda r, s: _dataset_file(r, s, "items.parquet").unlink(), True
    ),
    StartupFault(
        "dataset_file_truncated",
        "dataset",
        "interactions.parquet cut in half",
        lambda r, s: _truncate(_dataset_file(r, s, "interactions.parquet")),
        True,
    ),
    StartupFault("dataset_meta_truncated", "dataset", "meta.json cut in half", lambda r, s: _truncate(_dataset_file(r, s, "meta.json")), True),
    StartupFault(
        "dataset_version_mismatch",
        "dataset",
        "dataset prepared by an older data.prepare format (version suffix -p0)",
        lambda r, s: _edit_meta(r, s, _older_format),
        True,
    ),
)


def run_startup_fault(settings: Settings, fault: StartupFault, workdir: Path, recover: bool) -> dict[str, Any]:
    """Damage a fresh copy of the artifacts, start the services on it, record what happened."""
    case_dir = workdir / fault.name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_settings = copy_artifacts(settings, case_dir)
    fault.damage(case_dir, case_settings)
    out: dict[str, Any] = {"name": fault.name, "part": fault.part, "what": fault.what, "problems": []}
    t0 = time.perf_counter()
    try:
        services = build_services(case_settings, prepare_missing=False)
    except TalkRecError as exc:
        out.update(error_type=type(exc).__name__, message=str(exc), names_fix=bool(FIX_RE.search(str(exc))))
        if not out["names_fix"]:
            out["problems"].append("the message does not name a command that fixes it")
        prepares = isinstance(exc, MissingArtifact)
        out["start_services"] = START_SERVICES_PREPARES if prepares else START_SERVICES_FAILS
        if not prepares:
            out["problems"].append(f"{type(exc).__name__} is not a MissingArtifact, so the app does not repair it by itself")
    except Exception as exc:  # noqa: BLE001 (the point of the case: any other type is the bug being looked for)
        out.update(error_type=type(exc).__name__, message=str(exc)[:300], names_fix=False, start_services=START_SERVICES_FAILS)
        out["problems"].append(f"raw {type(exc).__name__}, not a TalkRecError")
    else:
        out.update(error_type=None, message="", names_fix=False, start_services="starts normally")
        out["problems"].append("the damaged artifact was not detected at start-up")
        if fault.part == "index":
            out["search_overlap"] = _search_overlap(settings, services)
            out["message"] = (
                f"no error; the top {SEARCH_K} for “{SEARCH_TEXT}” share {out['search_overlap']} of {SEARCH_K} items with the intact index"
            )
    out["detect_s"] = round(time.perf_counter() - t0, 2)
    out["recovery"] = _recover(case_settings) if recover and fault.cheap_recovery and not out["problems"] else None
    # the temporary folder stands for the artifacts folder in what is recorded
    out["message"] = out["message"].replace(str(case_dir), ARTIFACTS)
    if out["recovery"] is not None:
        out["recovery"]["error"] = out["recovery"]["error"].replace(str(case_dir), ARTIFACTS)
    if out["recovery"] is not None and not out["recovery"]["ok"] and not out["recovery"]["names_fix"]:
        # a repair may stop at the same named error (the app then stops with that message); a raw crash is a bug
        out["problems"].append(f"start_services' repair crashed: {out['recovery']['error']}")
    out["ok"] = not out["problems"]
    shutil.rmtree(case_dir, ignore_errors=True)
    return out


SEARCH_TEXT = "a slow story about space travel"
SEARCH_K = 10


def _search_overlap(settings: Settings, damaged) -> int:
    """How many of the damaged index's top results for one search the intact index also returns."""
    from tools.retriever import open_retriever

    intact = open_retriever(settings.artifacts_dir, damaged.dataset, settings.chroma_host, settings.chroma_port, build=False)
    return len(set(damaged.retriever.search(SEARCH_TEXT, k=SEARCH_K).ids) & set(intact.search(SEARCH_TEXT, k=SEARCH_K).ids))


def _recover(case_settings: Settings) -> dict[str, Any]:
    """What start_services does next: build_services(prepare_missing=True), then one turn."""
    t0 = time.perf_counter()
    try:
        services = build_services(case_settings, prepare_missing=True, progress=lambda msg: None)
        reply = services.agent.turn(services.new_session(), HEALTHY)
    except TalkRecError as exc:
        named = bool(FIX_RE.search(str(exc)))
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "names_fix": named, "seconds": round(time.perf_counter() - t0, 1)}
    except Exception as exc:  # noqa: BLE001 (a repair that dies on any other error is the finding, recorded with its type)
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}", "names_fix": False, "seconds": round(time.perf_counter() - t0, 1)}
    ok = len(reply.items) > 0 and not reply.fallback
    return {
        "ok": ok,
        "names_fix": False,
        "error": "" if ok else "the turn after the repair gave no items or fell back",
        "seconds": round(time.perf_counter() - t0, 1),
        "items": len(reply.items),
    }
