"""What every evaluation report states about how it was produced: command, machine, date, versions."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from collections.abc import Sequence


def machine_note() -> str:
    """The machine and how busy it was when the run started (timings depend on it)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()}-core CPU machine, 1-minute load average {load:.1f} at the start"


def meta(module: str | None = None, command: Sequence[str] | None = None, **extra: object) -> dict:
    """`module`: report the command as `python -m module ARGS` (what a reader should type)."""
    if command is not None:
        argv = list(command)
    elif module:
        argv = ["python", "-m", module, *sys.argv[1:]]
    else:
        argv = ["python", *sys.argv]
    return {
        "command": " ".join(shlex.quote(a) for a in argv),
        "machine": f"{machine_note()}; {platform.machine()}, Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **extra,
    }


def with_dataset(command: str, dataset: str) -> str:
    """The command as a reader must type it: a dataset other than the default is chosen by TALKREC_DATASET."""
    from data.settings import Settings

    return command if dataset == Settings.model_fields["dataset"].default else f"TALKREC_DATASET={dataset} {command}"


def result_stem(base: str, dataset: str) -> str:
    """File stem under docs/results for a report on `dataset`: the ML-100K reports keep their plain names
    (`seqrec`), others carry the dataset (`seqrec-ml-1m`), so runs on two datasets never overwrite each other."""
    return base if dataset == "ml-100k" else f"{base}-{dataset}"
