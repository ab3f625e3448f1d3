"""Runs RecBole 1.2.1 models on its bundled ML-100K (or on TalkRec's extracted ML-1M atomic files, `--dataset
ml-1m --data-path artifacts/cache`) and writes recbole.{json,md} (recbole-ml-1m.{json,md}). Runs inside .peer-venv
(started by evals/peers/recbole.sh); it imports recbole, never TalkRec, so the two environments stay apart.

Config: RecBole's standard sequential protocol (leave-one-out by time, full ranking, CE loss over all
items), model defaults otherwise; early stopping on validation NDCG@10. With repeatable=True (the only
mode RecBole allows for sequential models) seen items stay in the ranking. `--max-minutes` stops training at
the first epoch boundary past the cap (a run on ML-1M takes hours on this CPU); the test figure is then the
best validation epoch's so far, marked as not converged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import recbole
import torch
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer, init_logger, init_seed


class TimeCap(Exception):
    """Raised at an epoch boundary once the wall-clock cap has passed."""


def run(
    model_name: str, epochs: int, stopping_step: int, workdir: Path, dataset_name: str, data_path: Path | None, max_minutes: float | None
) -> dict:
    config_dict = {
        "data_path": str(data_path) if data_path else os.path.join(os.path.dirname(recbole.__file__), "dataset_example"),
        "checkpoint_dir": str(workdir / "saved"),
        "use_gpu": False,
        "seed": 2020,
        "reproducibility": True,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
        "repeatable": True,
        "metrics": ["Hit", "NDCG", "MRR"],
        "topk": [5, 10, 20],
        "valid_metric": "NDCG@10",
        "train_neg_sample_args": None,  # CE over all items
        "epochs": epochs,
        "stopping_step": stopping_step,
        "show_progress": False,
    }
    if data_path:  # RecBole ships no field settings for a dataset it does not bundle; the order needs the timestamp
        config_dict["load_col"] = {"inter": ["user_id", "item_id", "timestamp"]}
    config = Config(model=model_name, dataset=dataset_name, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    # Time each training epoch (evaluation excluded) by wrapping the trainer's own epoch method.
    epoch_seconds: list[float] = []
    train_epoch = trainer._train_epoch

    def timed_epoch(*args, **kwargs):
        # The previous epoch has been validated (and saved when best) before the next one starts.
        if max_minutes is not None and time.perf_counter() - t0 > max_minutes * 60:
            raise TimeCap
        start = time.perf_counter()
        out = train_epoch(*args, **kwargs)
        epoch_seconds.append(time.perf_counter() - start)
        return out

    # And record each validation score with the wall time at which it was reached.
    valid_log: list[tuple[float, float]] = []
    valid_epoch = trainer._valid_epoch

    def logged_valid(*args, **kwargs):
        out = valid_epoch(*args, **kwargs)
        valid_log.append((float(out[0]), time.perf_counter() - t0))
        return out

    trainer._train_epoch = timed_epoch
    trainer._valid_epoch = logged_valid
    t0 = time.perf_counter()
    stopped_by_cap = False
    try:
        _, best_valid_result = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    except TimeCap:
        stopped_by_cap = True
        best_valid_result = {"ndcg@10": max(v for v, _ in valid_log)}
    fit_seconds = time.perf_counter() - t0
    test_result = trainer.evaluate(test_data, load_best_model=True, model_file=trainer.saved_model_file, show_progress=False)
    best = max(range(len(valid_log)), key=lambda i: valid_log[i][0]) if valid_log else -1
    return {
        "config": {
            k: config[k]
            for k in (
                "hidden_size",
                "n_layers",
                "n_heads",
                "embedding_size",
                "MAX_ITEM_LIST_LENGTH",
                "learning_rate",
                "train_batch_size",
                "dropout_prob",
                "hidden_dropout_prob",
            )
            if k in config
        },
        "epochs_run": len(epoch_seconds),
        "dataset": dataset_name,
        "converged": len(epoch_seconds) < epochs and not stopped_by_cap,  # stopped by early stopping, not by a cap
        "stopped_by": "time cap" if stopped_by_cap else ("epochs" if len(epoch_seconds) >= epochs else "early stopping"),
        "max_minutes": max_minutes,
        "best_epoch": best + 1,  # eval_step is 1: one validation per epoch
        "seconds_to_best": valid_log[best][1] if valid_log else fit_seconds,
        "valid_ndcg10_per_epoch": [v for v, _ in valid_log],
        "best_valid": {k: float(v) for k, v in best_valid_result.items()},
        "test": {k: float(v) for k, v in test_result.items()},
        "epoch_seconds_median": statistics.median(epoch_seconds) if epoch_seconds else 0.0,
        "epoch_seconds": epoch_seconds,
        "fit_seconds": fit_seconds,
        "peak_rss_mib_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def render(result: dict) -> str:
    rows = [
        "| model | epochs run | converged | test HR@10 | test NDCG@10 | test MRR@10 | s / epoch (median) | fit s | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in result["models"].items():
        t = r["test"]
        rows.append(
            f"| {name} | {r['epochs_run']} | {'yes' if r['converged'] else 'no'} | {t['hit@10']:.4f} | {t['ndcg@10']:.4f} | "
            f"{t['mrr@10']:.4f} | {r['epoch_seconds_median']:.1f} | {r['fit_seconds']:.0f} | {r['peak_rss_mib_so_far']:.0f} |"
        )
    commands = sorted({f"`{r['command']}` ({r['date']}; {r['machine']})" for r in result["models"].values()})
    return "\n".join(
        [
            f"## RecBole 1.2.1 peer run ({result.get('dataset', 'ml-100k').upper()}, full ranking, seen items left in)",
            "",
            *rows,
            "",
            "Produced by: " + "; ".join(commands) + ".",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["SASRec", "GRU4Rec"])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--stopping-step", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    parser.add_argument("--dataset", default="ml-100k", help="ml-100k (RecBole's bundled copy) or a dataset folder under --data-path")
    parser.add_argument("--data-path", type=Path, default=None, help="folder holding <dataset>/<dataset>.inter etc.")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop at the first epoch boundary past this")
    args = parser.parse_args()
    data_path = args.data_path.resolve() if args.data_path else None
    torch.set_num_threads(args.threads)
    workdir = Path(".peer-venv") / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)  # RecBole writes log/ and saved/ into the working directory
    out = args.out if args.out.is_absolute() else Path("../..") / args.out
    command = (
        f"MODELS='{' '.join(args.models)}' EPOCHS={args.epochs} STOPPING_STEP={args.stopping_step} THREADS={args.threads} "
        f"OUT={args.out} DATASET={args.dataset} MAX_MINUTES={args.max_minutes or ''} evals/peers/recbole.sh"
    )
    # Each model's figures are written as soon as it finishes and merged with those already in the file, so a
    # long run cut short keeps what it measured and the two models may come from separate runs.
    stem = "recbole" if args.dataset == "ml-100k" else f"recbole-{args.dataset}"
    json_path = out / f"{stem}.json"
    result = json.loads(json_path.read_text()) if json_path.exists() else {"models": {}}
    result.update({"recbole": recbole.__version__, "torch": torch.__version__, "dataset": args.dataset})
    for name in args.models:
        model_result = run(name, args.epochs, args.stopping_step, Path.cwd(), args.dataset, data_path, args.max_minutes)
        model_result.update(
            {
                "command": command,
                "machine": f"2-core CPU machine, shared with other work; {platform.machine()}, {os.cpu_count()} CPUs, {args.threads} torch thread(s)",
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            }
        )
        result["models"][name.lower()] = model_result
        out.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n")
        (out / f"{stem}.md").write_text(render(result))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
