"""`python -m agents.llm.prepare`: convert the packaged embedded model once (fast no-op afterwards)."""

from __future__ import annotations

import argparse
import logging
import os
import time


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agents.llm.embedded import ensure_converted
    from data.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifacts-dir", default=None, help="default: TALKREC_ARTIFACTS_DIR or ./artifacts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    artifacts = Settings().artifacts_dir if args.artifacts_dir is None else args.artifacts_dir
    start = time.perf_counter()
    path = ensure_converted(artifacts)
    print(f"embedded model ready at {path} ({time.perf_counter() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
