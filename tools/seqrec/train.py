"""CLI: `python -m tools.seqrec.train --model sasrec|gru4rec [--if-stale]` trains on the current dataset
(Settings: artifacts_dir, dataset, seed, torch_threads) and writes the checkpoint the agent loads."""

from __future__ import annotations

import argparse
import logging
import sys

import torch

from data.dataset import load_dataset
from data.errors import TalkRecError
from data.settings import Settings
from tools.seqrec.checkpoint import MODELS, checkpoint_path, save_checkpoint
from tools.seqrec.pipeline import is_fresh, train_model
from tools.seqrec.recommender import training_caveat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.seqrec.train", description=__doc__)
    parser.add_argument("--model", choices=sorted(MODELS), default=None, help="default: Settings.seqrec_model")
    parser.add_argument("--if-stale", action="store_true", help="do nothing if a checkpoint for this dataset version and config exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    model = args.model or settings.seqrec_model
    torch.set_num_threads(settings.torch_threads)
    try:
        dataset = load_dataset(settings.artifacts_dir, settings.dataset)
        path = checkpoint_path(settings.artifacts_dir, dataset.name, model)
        if args.if_stale and is_fresh(settings.artifacts_dir, dataset, model, settings.seed):
            print(f"{model} checkpoint is up to date: {path}")
            return 0
        trained = train_model(dataset, model, settings.seed)
        save_checkpoint(path, trained.checkpoint(dataset))
    except TalkRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    r = trained.report
    print(
        f"{model}: best epoch {r.best_epoch}/{r.epochs_run} ({r.stopped_by}), valid NDCG@10 {r.best_valid.get('ndcg@10', 0):.4f}, "
        f"{r.train_seconds:.0f} s; wrote {path}"
    )
    caveat = training_caveat(trained.checkpoint(dataset).report, model)
    if caveat:
        print(f"warning: {caveat}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
