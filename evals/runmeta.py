"""What every evaluation report states about how it was produced: command, machine, date, versions."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from collections.abc import Sequence

MACHINE_NOTE = "shared, busy 2-core CPU machine (other jobs ran at the same time; timings are indicative)"


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
        "machine": f"{MACHINE_NOTE}; {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **extra,
    }
