"""What the `make run` training guard costs on a dataset: one long SASRec run, read at the guard.

`[TALKREC_DATASET=ml-100k] python -m evals.guard_cost [--model sasrec] [--cap-minutes 45]` trains the product's
model with the product's config but a wall-clock cap far above its guard, and reports the validation NDCG@10 curve:
where the product guard cuts training (the best validation NDCG@10 reached within the guard's minutes of training)
against the best of the long run. Writes docs/results/guard_cost-<dataset>.{json,md}. Validation only: no test data
is read. Timings depend on the machine's load, which the report states.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from data.dataset import load_dataset
from data.settings import REPO_ROOT, Settings
from evals.mdtable import md_table
from evals.runmeta import meta, with_dataset
from tools.seqrec.pipeline import default_configs, train_model

RESULTS = REPO_ROOT / "docs" / "results"


def read_at_guard(epoch_seconds: list[float], valid: list[float], train_seconds: float, guard_minutes: float) -> dict:
    """The best validation NDCG@10 among the epochs that end within the guard. Epoch times exclude evaluation, so
    they are scaled up to the run's wall time (evaluation included) before comparing with the guard."""
    if not epoch_seconds:
        return {"epochs": 0, "best_epoch": 0, "valid_ndcg@10": 0.0}
    scale = train_seconds / max(sum(epoch_seconds), 1e-9)
    elapsed, inside = 0.0, 0
    for secs in epoch_seconds:
        elapsed += secs * scale
        if elapsed > guard_minutes * 60:
            break
        inside += 1
    if inside == 0:
        return {"epochs": 0, "best_epoch": 0, "valid_ndcg@10": 0.0}
    best = max(range(inside), key=lambda i: valid[i])
    return {"epochs": inside, "best_epoch": best + 1, "valid_ndcg@10": round(valid[best], 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.guard_cost", description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["sasrec", "gru4rec"], default="sasrec")
    ap.add_argument("--cap-minutes", type=float, default=45.0, help="wall-clock cap of the long run")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    import torch

    torch.set_num_threads(settings.torch_threads)
    ds = load_dataset(settings.artifacts_dir, settings.dataset)
    run_meta = meta("evals.guard_cost", dataset=ds.name)  # before training: the machine's load at the start
    run_meta["command"] = with_dataset(run_meta["command"], ds.name)
    config, product = default_configs(args.model, len(ds.catalog), settings.seed, ds.name)
    long = dataclasses.replace(product, max_minutes=args.cap_minutes)
    trained = train_model(ds, args.model, settings.seed, config=config, train_config=long)
    rep = trained.report
    at_guard = read_at_guard(rep.epoch_seconds, rep.valid_ndcg10, rep.train_seconds, product.max_minutes or float("inf"))
    result = {
        "meta": run_meta,
        "model": args.model,
        "guard_minutes": product.max_minutes,
        "cap_minutes": args.cap_minutes,
        "long_run": {
            "epochs": rep.epochs_run,
            "stopped_by": rep.stopped_by,
            "best_epoch": rep.best_epoch,
            "valid_ndcg@10": round(rep.best_valid.get("ndcg@10", 0.0), 4),
            "minutes_to_best": round(rep.seconds_to_best / 60, 1),
            "minutes": round(rep.train_seconds / 60, 1),
            "seconds_per_epoch": round(sum(rep.epoch_seconds) / max(len(rep.epoch_seconds), 1), 1),
        },
        "at_guard": at_guard,
        "valid_ndcg10_curve": [round(v, 4) for v in rep.valid_ndcg10],
    }
    lr = result["long_run"]
    share = at_guard["valid_ndcg@10"] / lr["valid_ndcg@10"] if lr["valid_ndcg@10"] else 0.0
    result["share_of_best_at_guard"] = round(share, 3)
    md = "\n".join(
        [
            f"## What the training guard costs: {args.model} on {ds.name}",
            "",
            f"Command: `{run_meta['command']}` ({run_meta['date']}; {run_meta['machine']}).",
            "",
            md_table(
                ["run", "epochs", "best epoch", "validation NDCG@10", "minutes"],
                [
                    [
                        f"the product's guard ({product.max_minutes} min)",
                        at_guard["epochs"],
                        at_guard["best_epoch"],
                        at_guard["valid_ndcg@10"],
                        product.max_minutes,
                    ],
                    [
                        f"long run (cap {args.cap_minutes:g} min, stopped by {lr['stopped_by']})",
                        lr["epochs"],
                        lr["best_epoch"],
                        lr["valid_ndcg@10"],
                        lr["minutes"],
                    ],
                ],
            ),
            "",
            f"At the guard the model reaches {share:.0%} of the long run's best validation NDCG@10 "
            f"({lr['seconds_per_epoch']} s per training epoch in this run).",
            "",
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"guard_cost-{ds.name}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
