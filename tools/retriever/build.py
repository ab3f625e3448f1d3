"""Build (or confirm) the retriever index for the configured dataset: `python -m tools.retriever.build` (part of make prepare)."""

from __future__ import annotations

import argparse
import logging
import time

from data.dataset import load_dataset
from data.errors import TalkRecError
from data.settings import Settings
from tools.retriever.retriever import open_retriever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="dataset name (default: TALKREC_DATASET or ml-latest-small)")
    parser.add_argument("--device", default="cpu", help="torch device for embedding (cpu, cuda)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(**({"dataset": args.dataset} if args.dataset else {}))
    import torch

    torch.set_num_threads(settings.torch_threads)
    t0 = time.perf_counter()
    try:
        dataset = load_dataset(settings.artifacts_dir, settings.dataset)
        retriever = open_retriever(settings.artifacts_dir, dataset, settings.chroma_host, settings.chroma_port, device=args.device, build=True)
    except TalkRecError as exc:
        raise SystemExit(f"error: {exc}") from exc
    info = retriever.info
    state = f"built in {info.build_s:.1f} s" if info.built_now else "already current"
    print(
        f"retriever index {info.collection} at {info.location}: {info.n_items} items, dataset version {info.dataset_version}, {state} "
        f"({time.perf_counter() - t0:.1f} s total)"
    )


if __name__ == "__main__":
    main()
