"""Candidate-ranking benchmark of the LLM reranker: `python -m evals.rerank [--users 200]`.

For each sampled test user (ML-100K leave-one-out by time), 20 candidates = the held-out test item + 19
negatives, in two settings: random unseen negatives, and SASRec's top-19 non-target items (hard
negatives). Orders compared: SASRec's, a random order, and the embedded model's list-wise and
likelihood reranking (calibrated and not), the yes/no verbalizer, and with `--tuned` the rec-tuned adapters
(`python -m agents.llm.tune`) alone and fused with SASRec's order at the weight chosen on validation. The LLM
methods get the candidates in a random order, so they cannot lean on SASRec's. Metrics: NDCG@10 and HR@1 over
20 candidates (sampled metrics, labelled so), per-call latency, and in the sasrec-top19 setting the product's
own figure: NDCG@10 over the full ranking after reordering SASRec's top 20 (0 for a user whose target SASRec's
top 20 misses, whatever the order). Writes docs/results/rerank.json and rerank.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data.dataset import Dataset
from tools.metrics import hr_at_k, ndcg_at_k

N_CANDIDATES = 20
METHODS = ("sasrec", "random", "likelihood", "listwise", "yesno", "tuned")
SETTINGS = ("random", "sasrec-top19")
RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
log = logging.getLogger(__name__)


@dataclass
class Case:
    user: int
    history: list[int]
    target: int
    candidates: list[int]  # target + negatives, in a random order (the prior order the LLM methods see)
    in_head: bool | None = None  # sasrec-top19: whether the target is in SASRec's own top 20 (the product's head)


@dataclass
class MethodStats:
    ndcg10: list[float] = field(default_factory=list)
    hr1: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)
    product_ndcg10: list[float] = field(default_factory=list)  # full ranking after reordering SASRec's head

    def add(self, ranked: Sequence[int], target: int, latency: float | None = None, in_head: bool | None = None) -> None:
        self.ndcg10.append(ndcg_at_k(ranked, target, 10))
        self.hr1.append(hr_at_k(ranked, target, 1))
        if latency is not None:
            self.latency_s.append(latency)
        if in_head is not None:
            self.product_ndcg10.append(self.ndcg10[-1] if in_head else 0.0)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "users": len(self.ndcg10),
            "ndcg@10_sampled20": round(statistics.fmean(self.ndcg10), 4),
            "hr@1_sampled20": round(statistics.fmean(self.hr1), 4),
        }
        if self.product_ndcg10:
            out["ndcg@10_full_after_head"] = round(statistics.fmean(self.product_ndcg10), 4)
        if self.latency_s:
            lat = sorted(self.latency_s)
            out["latency_p50_s"] = round(lat[len(lat) // 2], 3)
            out["latency_mean_s"] = round(statistics.fmean(lat), 3)
        if self.notes:
            out["notes"] = self.notes
        return out


def sample_users(ds: Dataset, n: int, seed: int) -> list[int]:
    users = sorted(ds.targets("test"))
    return sorted(random.Random(seed).sample(users, min(n, len(users))))


def build_cases(
    ds: Dataset, users: Sequence[int], negatives: Callable[[int, list[int], int], list[int]], seed: int, seqrec: Any | None = None
) -> list[Case]:
    """With `seqrec` (the sasrec-top19 setting) each case records whether the target is in SASRec's top 20."""
    seqs, targets = ds.sequences("test"), ds.targets("test")
    rng = random.Random(seed)
    cases = []
    for u in users:
        history = [int(i) for i in seqs[u]]
        target = int(targets[u])
        cands = [target, *negatives(u, history, target)]
        assert len(set(cands)) == N_CANDIDATES, "negatives must be 19 distinct non-target items"
        rng.shuffle(cands)
        in_head = None
        if seqrec is not None:
            in_head = target in {int(i) for i, _ in seqrec.recommend(history, k=N_CANDIDATES, exclude=set(history)).items}
        cases.append(Case(u, history, target, cands, in_head))
    return cases


def random_negatives(ds: Dataset, seed: int) -> Callable[[int, list[int], int], list[int]]:
    rng = random.Random(seed)
    all_items = sorted(int(i) for i in ds.catalog.frame["item_id"])

    def pick(user: int, history: list[int], target: int) -> list[int]:
        seen = {int(i) for i in ds.histories[user]}
        out: list[int] = []
        while len(out) < N_CANDIDATES - 1:
            i = rng.choice(all_items)
            if i not in seen and i != target and i not in out:
                out.append(i)
        return out

    return pick


def sasrec_negatives(seqrec: Any) -> Callable[[int, list[int], int], list[int]]:
    def pick(user: int, history: list[int], target: int) -> list[int]:
        top = [int(i) for i, _ in seqrec.recommend(history, k=N_CANDIDATES, exclude=set(history)).items]
        return [i for i in top if i != target][: N_CANDIDATES - 1]

    return pick


def sasrec_order(seqrec: Any, case: Case) -> list[int]:
    res = seqrec.recommend(case.history, k=N_CANDIDATES, exclude=set(case.history) - set(case.candidates), allowed=set(case.candidates))
    ranked = [int(i) for i, _ in res.items]
    return ranked + [i for i in case.candidates if i not in ranked]


def run_setting(
    name: str,
    cases: list[Case],
    ds: Dataset,
    backend: Any,
    seqrec: Any | None,
    listwise_users: int,
    bootstrap: int,
    seed: int,
    methods: Sequence[str] = METHODS,
    tuned: dict[str, tuple[Any, float]] | None = None,
) -> dict[str, Any]:
    """`tuned`: per tuned method ("likelihood", "yesno"), its backend and the fusion weight chosen on validation."""
    from agents.llm.tune import fused
    from tools.reranker import rerank
    from tools.reranker.core import MAX_HISTORY
    from tools.reranker.likelihood import score_candidates
    from tools.reranker.yesno import score_yesno

    def title(i: int) -> str:
        return ds.catalog.get(i).label

    keys = ["sasrec", "random", "likelihood", "likelihood-calibrated", "listwise", "yesno"]
    keys += [f"{p}-{m}" for m in (tuned or {}) for p in ("tuned", "fused")]
    stats = {k: MethodStats() for k in keys}
    rng = random.Random(seed)
    for n, case in enumerate(tqdm(cases, desc=f"rerank [{name}]")):
        sas = None
        if seqrec is not None and ("sasrec" in methods or tuned):  # the fused rows need SASRec's order too
            t0 = time.perf_counter()
            sas = sasrec_order(seqrec, case)
            if "sasrec" in methods:
                stats["sasrec"].add(sas, case.target, time.perf_counter() - t0, case.in_head)
        shuffled = list(case.candidates)
        rng.shuffle(shuffled)
        if "random" in methods:
            stats["random"].add(shuffled, case.target)
        hist_titles = [title(i) for i in case.history][-MAX_HISTORY:]
        cand_titles = [title(i) for i in case.candidates]
        if "likelihood" in methods:
            # One scoring call yields both orders: calibration only adds the content-free half of the batch.
            t0 = time.perf_counter()
            scores = score_candidates(backend, hist_titles, None, cand_titles, calibrate=True)
            latency = time.perf_counter() - t0
            for key, vals in (("likelihood", scores.raw), ("likelihood-calibrated", scores.final())):
                ranked = [case.candidates[j] for j in sorted(range(N_CANDIDATES), key=lambda j, v=vals: -v[j])]
                stats[key].add(ranked, case.target, latency, case.in_head)
        if "yesno" in methods:
            t0 = time.perf_counter()
            vals = score_yesno(backend, hist_titles, None, cand_titles)
            ranked = [case.candidates[j] for j in sorted(range(N_CANDIDATES), key=lambda j, v=vals: -v[j])]
            stats["yesno"].add(ranked, case.target, time.perf_counter() - t0, case.in_head)
        for method, (tuned_backend, weight) in (tuned or {}).items():
            t0 = time.perf_counter()
            if method == "yesno":
                vals = score_yesno(tuned_backend, hist_titles, None, cand_titles)
            else:
                vals = score_candidates(tuned_backend, hist_titles, None, cand_titles, calibrate=False).raw
            latency = time.perf_counter() - t0
            ranked = [case.candidates[j] for j in sorted(range(N_CANDIDATES), key=lambda j, v=vals: -v[j])]
            stats[f"tuned-{method}"].add(ranked, case.target, latency, case.in_head)
            if sas is not None:
                by_id = dict(zip(case.candidates, vals, strict=True))
                stats[f"fused-{method}"].add(fused(sas, [by_id[i] for i in sas], weight), case.target, latency, case.in_head)
        if "listwise" in methods and n < listwise_users:
            res = rerank(
                hist_titles, None, list(zip(case.candidates, cand_titles, strict=True)), backend, method="listwise", bootstrap=bootstrap, seed=seed
            )
            stats["listwise"].add(res.ids, case.target, res.elapsed_s, case.in_head)
            for note in res.notes:
                key = note.split(" ", 2)[-1] if note.startswith("dropped") else "placements kept in prior order"
                count = int(note.split(" ")[1]) if note.startswith("dropped") else int(note.split(" ")[0])
                stats["listwise"].notes[key] = stats["listwise"].notes.get(key, 0) + count
    return {k: v.summary() for k, v in stats.items() if v.ndcg10}


def merge_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Fold a partial run into an earlier one on the same users (e.g. SASRec rows added once its checkpoint exists)."""
    same = ("dataset_version", "users", "seed", "model")
    if any(old.get(k) != new.get(k) for k in same):
        raise SystemExit(f"cannot merge: the earlier run differs in one of {same}; rerun without --merge")
    merged = dict(old)
    merged["settings"] = {k: dict(v) for k, v in old["settings"].items()}
    for setting, methods in new["settings"].items():
        merged["settings"].setdefault(setting, {}).update(methods)
    merged["notes"] = [n for n in old["notes"] if "--no-sasrec" not in n or "--no-sasrec" in " ".join(new["commands"])]
    merged["notes"] += [n for n in new["notes"] if n not in merged["notes"]]
    # a command run again replaces the rows it made before, so it is listed once, at its latest place
    earlier = old.get("commands", [old["command"]] if "command" in old else [])
    merged["commands"] = [c for c in earlier if c not in new["commands"]] + new["commands"]
    merged["date"] = new["date"]
    return merged


METHOD_LABELS = {
    "sasrec": "SASRec order",
    "random": "random order",
    "likelihood": "embedded LM likelihood (uncalibrated)",
    "likelihood-calibrated": "embedded LM likelihood (calibrated)",
    "listwise": "embedded LM list-wise",
    "yesno": "embedded LM yes/no (untuned)",
    "tuned-likelihood": "rec-tuned LM likelihood",
    "tuned-yesno": "rec-tuned LM yes/no",
    "fused-likelihood": "rec-tuned LM likelihood fused with SASRec",
    "fused-yesno": "rec-tuned LM yes/no fused with SASRec",
}


def verdicts(report: dict[str, Any]) -> list[str]:
    """One computed sentence per setting: does the best LLM order beat SASRec's (and random)?"""
    out = []
    for setting, methods in report["settings"].items():
        full = max(m["users"] for m in methods.values())
        # Only methods run on every user are compared; a small list-wise sample is reported, not ranked.
        llm = {k: v for k, v in methods.items() if k not in ("sasrec", "random") and v["users"] == full}
        if "listwise" in methods and methods["listwise"]["users"] < full:
            lw = methods["listwise"]
            notes = lw.get("notes", {})
            out.append(
                f"{setting} negatives, list-wise on {lw['users']} users only (too few to rank against the others): "
                + ", ".join(f"{v} {k}" for k, v in notes.items())
                + f" (of {lw['users'] * N_CANDIDATES} placements)."
            )
        if not llm:
            continue
        best_key = max(llm, key=lambda k: llm[k]["ndcg@10_sampled20"])
        best = llm[best_key]["ndcg@10_sampled20"]
        parts = [f"{setting} negatives: best LLM order is {METHOD_LABELS[best_key]} at NDCG@10 {best:.4f}"]
        if "sasrec" in methods:
            sas = methods["sasrec"]["ndcg@10_sampled20"]
            parts.append(f"{'above' if best > sas else 'below'} SASRec's {sas:.4f}")
        if "random" in methods:
            rnd = methods["random"]["ndcg@10_sampled20"]
            parts.append(f"{'above' if best > rnd else 'not above'} random order's {rnd:.4f}")
        out.append(", ".join(parts) + ".")
        product = {k: v["ndcg@10_full_after_head"] for k, v in methods.items() if "ndcg@10_full_after_head" in v and v["users"] == full}
        if "sasrec" in product and len(product) > 1:
            top = max((k for k in product if k != "sasrec"), key=lambda k: product[k])
            verdict = "above" if product[top] > product["sasrec"] else "not above"
            out.append(
                f"{setting}, full ranking after reordering SASRec's top 20 (the product): best reorder is {METHOD_LABELS[top]} at "
                f"{product[top]:.4f}, {verdict} SASRec's own order at {product['sasrec']:.4f}."
            )
    return out


def write_markdown(report: dict[str, Any], path: Path) -> None:
    lines = [
        "### LLM reranker: candidate ranking (20 candidates = held-out test item + 19 negatives)",
        "",
        f"Dataset {report['dataset']}, {report['users']} sampled test users (seed {report['seed']}); "
        "metrics are sampled (over 20 candidates), not full ranking. The LLM methods see the candidates in random order. "
        f"Model: {report['model']}. Latency: one rerank call per user "
        "(likelihood: one batched scoring call with calibration, 20 + 20 continuations; list-wise: one generation).",
        "",
        "| negatives | method | users | NDCG@10 (sampled 20) | HR@1 (sampled 20) | NDCG@10, full ranking after reordering SASRec's top 20 "
        "| p50 latency (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for setting, methods in report["settings"].items():
        for key in [k for k in METHOD_LABELS if k in methods]:
            m = methods[key]
            lat = m.get("latency_p50_s", "")
            full = f"{m['ndcg@10_full_after_head']:.4f}" if "ndcg@10_full_after_head" in m else ""
            lines.append(
                f"| {setting} | {METHOD_LABELS[key]} | {m['users']} | {m['ndcg@10_sampled20']:.4f} | {m['hr@1_sampled20']:.4f} | {full} | {lat} |"
            )
    explain = []
    if "sasrec-top19" in report["settings"]:
        explain.append(
            "In the sasrec-top19 setting the negatives are SASRec's own top-ranked non-targets, so by construction SASRec's order puts "
            "the target last unless the target is in its top 20: the setting asks whether a reranker can recover targets SASRec missed. "
            "The full-ranking column is what the product gets: the agent reorders SASRec's top 20, so a user whose target is not "
            "in it scores 0 under every order, and for the others the 20 candidates are exactly SASRec's top 20."
        )
    if "random" in report["settings"]:
        explain.append(
            "The random-order row is the same in both settings: the target's position in a random shuffle does not depend on the negatives."
        )
    lines += ["", *[f"- {n}" for n in report["notes"] + explain], *[f"- {v}" for v in verdicts(report)], ""]
    lines += ["Commands (in order):", "", *[f"    {c}" for c in report["commands"]], "", f"Machine: {report['machine']}. Date: {report['date']}.", ""]
    path.write_text("\n".join(lines))


def load_tuned(settings: Any, ds: Dataset) -> tuple[dict[str, tuple[Any, float]], list[str]]:
    """The adapters `python -m agents.llm.tune` saved for this dataset version, each with the fusion weight that
    was best for it on validation (choice.json); never chosen here, on the test users. Only the adapter kept on
    validation (likelihood or yes/no) is loaded."""
    from agents.llm.embedded import DEFAULT, require_converted
    from agents.llm.hf import HFBackend
    from agents.llm.lora import adapter_dir, read_adapter_meta
    from agents.llm.tune import CHOICE

    root = adapter_dir(settings.artifacts_dir, DEFAULT.key, ds.name, "x").parent
    choice_path = root / CHOICE
    if not choice_path.is_file():
        raise SystemExit(f"no {choice_path}: run `python -m agents.llm.tune` first")
    choice = json.loads(choice_path.read_text())
    if choice.get("dataset_version") != ds.version:
        raise SystemExit(f"{choice_path} is for another dataset version: rerun `python -m agents.llm.tune`")
    out, notes = {}, []
    # only the way of scoring kept on validation is tested (each costs ~1.5-4 s a user on this CPU)
    for method in [choice["kept_method"]] if choice.get("kept_method") else []:
        path = adapter_dir(settings.artifacts_dir, DEFAULT.key, ds.name, method)
        meta = read_adapter_meta(path, ds.version)
        grid = [r for r in choice["validation"]["grid"] if r["scorer"] == f"tuned {method}"]
        best = max(grid, key=lambda r: r["ndcg10"])
        backend = HFBackend(require_converted(settings.artifacts_dir), name=f"tuned-{method}", device="cpu", threads=1, adapter=path)
        out[method] = (backend, best["weight"])
        rep = meta["report"]
        notes.append(
            f"rec-tuned {method}: {meta['examples']['train']} tuning examples ({meta['examples']['train_users']} users' last train item), "
            f"stopped by {rep['stopped_by']} after {rep['examples_seen']} examples, best early-stopping MRR {rep['best_mrr']:.3f} "
            f"(untuned {rep['base_mrr']:.3f}) at {rep['best_examples']} examples, {rep['train_seconds'] / 60:.1f} min; fusion weight "
            f"{best['weight']} chosen on {choice['validation']['users']} validation users (validation NDCG@10 {best['ndcg10']:.4f} vs "
            f"SASRec's {choice['validation']['sasrec_ndcg10']:.4f})."
        )
    return out, notes


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agents.llm.factory import make_backend
    from data.dataset import load_dataset
    from data.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--listwise-users", type=int, default=30, help="list-wise generation is slow on CPU: run it on the first N users only")
    parser.add_argument("--bootstrap", type=int, default=0, help="extra shuffled list-wise passes per user")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sasrec", action="store_true", help="skip SASRec (its order and the hard-negative setting)")
    parser.add_argument("--backend", default="embedded", choices=("embedded", "hf"))
    parser.add_argument("--model", default=None, help="hf model (for --backend hf)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma list of negative settings: {', '.join(SETTINGS)}")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma list of methods: {', '.join(METHODS)}")
    parser.add_argument(
        "--merge", action="store_true", help="update rerank.json from an earlier run with the same users/seed instead of replacing it"
    )
    parser.add_argument("--render", action="store_true", help="only rewrite rerank.md from rerank.json")
    args = parser.parse_args(argv)
    from evals.runmeta import result_stem

    settings = Settings()
    stem = result_stem("rerank", settings.dataset)  # rerank-ml-1m.{json,md} on ML-1M
    if args.render:
        write_markdown(json.loads((args.out / f"{stem}.json").read_text()), args.out / f"{stem}.md")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ds = load_dataset(settings.artifacts_dir, settings.dataset)
    backend = make_backend(args.backend, artifacts_dir=settings.artifacts_dir, hf_model=args.model, threads=1)
    methods = [m for m in args.methods.split(",") if m]
    wanted = [w for w in args.settings.split(",") if w]
    unknown = sorted(set(methods) - set(METHODS)) + sorted(set(wanted) - set(SETTINGS))
    if unknown:
        parser.error(f"unknown methods/settings {unknown}")
    if {"likelihood", "listwise", "yesno"} & set(methods):
        backend.setup()
    tuned, tuned_notes = load_tuned(settings, ds) if "tuned" in methods else ({}, [])
    notes = []
    seqrec = None
    if args.no_sasrec:
        notes.append("SASRec was skipped (--no-sasrec): no SASRec order and no hard-negative setting in this run.")
    else:
        from tools.seqrec import load_seqrec

        seqrec = load_seqrec(settings.artifacts_dir, ds, "sasrec")
    users = sample_users(ds, args.users, args.seed)
    settings_out: dict[str, Any] = {}
    if "random" in wanted:
        cases = build_cases(ds, users, random_negatives(ds, args.seed), args.seed)
        settings_out["random"] = run_setting("random", cases, ds, backend, seqrec, args.listwise_users, args.bootstrap, args.seed, methods, tuned)
    if seqrec is not None and "sasrec-top19" in wanted:
        cases = build_cases(ds, users, sasrec_negatives(seqrec), args.seed, seqrec=seqrec)
        settings_out["sasrec-top19"] = run_setting(
            "sasrec-top19", cases, ds, backend, seqrec, args.listwise_users, args.bootstrap, args.seed, methods, tuned
        )
    if tuned:
        notes += tuned_notes
    if "listwise" in methods:
        notes.append(f"List-wise ran on the first {min(args.listwise_users, len(users))} users of each setting (generation is slow on this CPU).")
    command = (
        ("" if ds.name == "ml-100k" else f"TALKREC_DATASET={ds.name} ")
        + "python -m evals.rerank "
        + " ".join(argv if argv is not None else sys.argv[1:])
    )
    report = {
        "benchmark": "rerank",
        "dataset": ds.name,
        "dataset_version": ds.version,
        "users": len(users),
        "seed": args.seed,
        "model": f"{backend.name}: {Path(backend.model_ref).name}",
        "torch_threads": 1,
        "settings": settings_out,
        "notes": notes,
        "commands": [command],
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, shared with other jobs (timings are noisy)",
        "date": date.today().isoformat(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge and (args.out / f"{stem}.json").is_file():
        report = merge_reports(json.loads((args.out / f"{stem}.json").read_text()), report)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, args.out / f"{stem}.md")
    print(json.dumps(settings_out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
