"""CLI: `python -m agents.llm.tune` rec-tunes the embedded model for reranking (LoRA, agents/llm/lora.py) and
decides, on the validation split, whether the product should use it.

1. Tuning data from the train split (tools/reranker/tuning_data.py): one example per user, the user's last
   train item as the positive among 20 candidates, half with SASRec's head as negatives and half random.
2. One adapter per way of scoring (likelihood, yes/no), early-stopped on other users' train-split examples,
   saved under artifacts/models/<model>-rerank-lora/<dataset>/<method>/ with the dataset version.
3. The choice, on validation users (their validation item; never the test split): each order of SASRec's
   top 20 (what the agent reranks) is scored by NDCG@10 of the validation item over the full ranking (0 when
   SASRec's head misses it, whatever the order); the untuned model, each adapter, and each adapter fused
   with SASRec's order (weighted reciprocal-rank fusion, weight on a grid) are compared with SASRec's own
   order. The best is written to choice.json; the agent turns the reranker on only if it beats SASRec's order.

Re-running with the same dataset version and settings is a no-op (--force to retune).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from data.errors import TalkRecError
from data.settings import Settings

log = logging.getLogger(__name__)

CHOICE = "choice.json"
FUSION_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
RRF_K = 60
N_HEAD = 20


@dataclass(frozen=True)
class HeadCase:
    """A validation (or test) user: SASRec's top 20 for their history, and whether it holds their target."""

    user: int
    history: tuple[int, ...]
    target: int
    head: tuple[int, ...]  # SASRec's order

    @property
    def hit(self) -> bool:
        return self.target in self.head


def head_cases(dataset: Any, seqrec: Any, split: str, users: Sequence[int]) -> list[HeadCase]:
    seqs, targets = dataset.sequences(split), dataset.targets(split)
    out = []
    for u in users:
        history = [int(i) for i in seqs[u]]
        head = [int(i) for i, _ in seqrec.recommend(history, k=N_HEAD, exclude=set(history)).items]
        out.append(HeadCase(u, tuple(history), int(targets[u]), tuple(head)))
    return out


def ndcg10(order: Sequence[int], target: int) -> float:
    import math

    top = list(order)[:10]
    return 1 / math.log2(top.index(target) + 2) if target in top else 0.0


def fused(head: Sequence[int], scores: Sequence[float], weight: float) -> list[int]:
    """SASRec's order and the model's, fused by weighted reciprocal rank (weight 0: SASRec's order; 1: the model's)."""
    from tools.fusion import rrf_fuse

    if weight <= 0:
        return list(head)
    llm = [head[j] for j in sorted(range(len(head)), key=lambda j: -scores[j])]  # stable: ties keep SASRec's order
    return [i for i, _ in rrf_fuse([list(head), llm], k=RRF_K, weights=[1 - weight, weight])]


def scorer_for(backend: Any, method: str, calibrate: bool) -> Callable[[list[str], list[str]], list[float]]:
    from tools.reranker.likelihood import score_candidates
    from tools.reranker.yesno import score_yesno

    if method == "yesno":
        return lambda hist, titles: score_yesno(backend, hist, None, titles)
    return lambda hist, titles: score_candidates(backend, hist, None, titles, calibrate=calibrate).final()


def score_cases(cases: Sequence[HeadCase], label_of: Callable[[int], str], score: Callable, max_history: int, desc: str) -> tuple[list, float]:
    """Per case the model's scores of the head; and the median seconds per call."""
    from tqdm import tqdm

    out, secs = [], []
    for c in tqdm(cases, desc=desc, unit="user"):
        if not c.hit:  # every order of a head without the target scores 0: no need to ask the model
            out.append(None)
            continue
        t0 = time.perf_counter()
        out.append(score([label_of(i) for i in c.history][-max_history:], [label_of(i) for i in c.head]))
        secs.append(time.perf_counter() - t0)
    return out, (statistics.median(secs) if secs else 0.0)


def choose(cases: Sequence[HeadCase], scored: dict[str, list]) -> dict[str, Any]:
    """Validation NDCG@10 of every candidate order; the best (method, weight) and whether it beats SASRec's."""
    sasrec = statistics.fmean(ndcg10(c.head, c.target) for c in cases)
    rows = []
    for name, per_case in scored.items():
        for w in FUSION_WEIGHTS[1:]:
            vals = [ndcg10(fused(c.head, s, w), c.target) if s is not None else 0.0 for c, s in zip(cases, per_case, strict=True)]
            rows.append({"scorer": name, "weight": w, "ndcg10": statistics.fmean(vals)})
    best = max(rows, key=lambda r: r["ndcg10"])
    return {
        "users": len(cases),
        "head_hit_rate": statistics.fmean(c.hit for c in cases),
        "sasrec_ndcg10": sasrec,
        "grid": rows,
        "best": best,
        "wins": best["ndcg10"] > sasrec,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.llm.tune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="likelihood,yesno", help="comma list: likelihood, yesno")
    parser.add_argument("--tune-users", type=int, default=600, help="users whose last train item is a tuning example")
    parser.add_argument("--stop-users", type=int, default=60, help="other users, for early stopping")
    parser.add_argument("--valid-users", type=int, default=150, help="validation users for the choice")
    parser.add_argument("--max-minutes", type=float, default=None, help="time guard per adapter (default: TuneConfig's)")
    parser.add_argument("--force", action="store_true", help="retune even when adapters for this dataset version exist")
    parser.add_argument("--choose-only", action="store_true", help="keep the adapters, redo the validation choice")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    try:
        return run(settings, args)
    except TalkRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run(settings: Settings, args: argparse.Namespace) -> int:
    import torch

    from agents.llm.embedded import DEFAULT, require_converted
    from agents.llm.hf import HFBackend
    from agents.llm.lora import TuneConfig, adapter_dir, copy_backend_with, read_adapter_meta, save_adapter, tune
    from data.dataset import load_dataset
    from tools.reranker.tuning_data import build_examples, sasrec_head, split_users
    from tools.seqrec import load_seqrec

    torch.set_num_threads(settings.torch_threads)
    dataset = load_dataset(settings.artifacts_dir, settings.dataset)
    seqrec = load_seqrec(settings.artifacts_dir, dataset, "sasrec")
    methods = [m for m in args.methods.split(",") if m]
    root = adapter_dir(settings.artifacts_dir, DEFAULT.key, dataset.name, "x").parent
    choice_path = root / CHOICE
    wanted = {"methods": methods, "tune_users": args.tune_users, "stop_users": args.stop_users, "valid_users": args.valid_users}
    if not args.force and not args.choose_only and choice_path.is_file():
        old = json.loads(choice_path.read_text())
        if old.get("dataset_version") == dataset.version and old.get("request") == wanted:
            print(f"reranker adapters and choice are up to date: {choice_path}")
            return 0

    def label_of(i: int) -> str:
        return dataset.catalog.get(i).label

    backend = HFBackend(require_converted(settings.artifacts_dir), name="embedded", device="cpu", threads=settings.torch_threads)
    tune_users, stop_users = split_users(dataset, args.tune_users, args.stop_users, seed=settings.seed)
    head = sasrec_head(seqrec)
    train = build_examples(dataset, tune_users, head, seed=settings.seed)
    stop = build_examples(dataset, stop_users, head, seed=settings.seed + 1)
    log.info("tuning data: %d examples (%d users), early stopping: %d examples", len(train), len(tune_users), len(stop))
    # validation users: not among the tuning or stopping users
    taken = set(tune_users) | set(stop_users)
    valid_pool = [u for u in sorted(dataset.targets("valid")) if u not in taken]
    import random

    valid_users = sorted(random.Random(settings.seed).sample(valid_pool, min(args.valid_users, len(valid_pool))))
    cases = head_cases(dataset, seqrec, "valid", valid_users)
    config = TuneConfig(seed=settings.seed)
    scored: dict[str, list] = {}
    latency: dict[str, float] = {}
    scored["untuned likelihood (calibrated)"], latency["untuned likelihood (calibrated)"] = score_cases(
        cases, label_of, scorer_for(backend, "likelihood", True), config.max_history, "validation: untuned"
    )
    reports = {}
    for method in methods:
        path = adapter_dir(settings.artifacts_dir, DEFAULT.key, dataset.name, method)
        cfg = dataclasses.replace(config, method=method, **({"max_minutes": args.max_minutes} if args.max_minutes else {}))
        if args.choose_only:
            meta = read_adapter_meta(path, dataset.version)  # MissingArtifact names the fix
            tuned_backend = HFBackend(
                require_converted(settings.artifacts_dir), name="embedded-tuned", device="cpu", threads=settings.torch_threads, adapter=path
            )
            reports[method] = meta["report"]
        else:
            model, report = tune(backend, train, stop, label_of, cfg)
            extra = {"examples": {"train": len(train), "stop": len(stop), "train_users": len(tune_users), "stop_users": len(stop_users)}}
            save_adapter(model, path, dataset.version, cfg, report, extra)
            log.info(
                "%s adapter: best early-stopping MRR %.4f (untuned %.4f) after %d examples; %s",
                method,
                report.best_mrr,
                report.base_mrr,
                report.best_examples,
                path,
            )
            tuned_backend = copy_backend_with(backend, model)
            reports[method] = dataclasses.asdict(report)
        name = f"tuned {method}"
        scored[name], latency[name] = score_cases(
            cases, label_of, scorer_for(tuned_backend, method, False), config.max_history, f"validation: {name}"
        )
        if not args.choose_only:
            backend.use_model(model.unload())  # the base weights again, for the next method
    result = choose(cases, scored)
    decision = decide(result)
    choice = {
        "dataset": dataset.name,
        "dataset_version": dataset.version,
        "request": wanted,
        **decision,
        "validation": result,
        "latency_median_s": latency,
        "tuning": reports,
        "command": "python -m agents.llm.tune " + " ".join(sys.argv[1:]),
    }
    root.mkdir(parents=True, exist_ok=True)
    choice_path.write_text(json.dumps(choice, indent=2) + "\n")
    print(f"{verdict_line(result, decision)} Wrote {choice_path}")
    return 0


def decide(result: dict[str, Any]) -> dict[str, Any]:
    """What the product does with a validation result. The product runs adapters only, so the decision rests
    on the best tuned row (each way of scoring at its own best fusion weight): it is kept, and used only if
    it beats SASRec's order. An untuned order that wins is reported, never silently dropped."""
    tuned_rows = [r for r in result["grid"] if r["scorer"].startswith("tuned ")]
    kept = max(tuned_rows, key=lambda r: r["ndcg10"]) if tuned_rows else None
    use = kept is not None and kept["ndcg10"] > result["sasrec_ndcg10"]
    return {
        "method": kept["scorer"].removeprefix("tuned ") if use else None,
        "weight": kept["weight"] if use else None,
        "kept_method": kept["scorer"].removeprefix("tuned ") if kept else None,
        "kept_weight": kept["weight"] if kept else None,
        "use_in_product": use,
    }


def verdict_line(result: dict[str, Any], decision: dict[str, Any]) -> str:
    best, sasrec = result["best"], result["sasrec_ndcg10"]
    line = (
        f"validation ({result['users']} users, SASRec's head holds the item for {result['head_hit_rate']:.0%}): SASRec order NDCG@10 "
        f"{sasrec:.4f}; best overall {best['scorer']} at fusion weight {best['weight']}: {best['ndcg10']:.4f}."
    )
    kept = next((r for r in result["grid"] if r["scorer"] == f"tuned {decision['kept_method']}" and r["weight"] == decision["kept_weight"]), None)
    if kept is not None and kept is not best:
        line += f" Best tuned: {kept['scorer']} at fusion weight {kept['weight']}: {kept['ndcg10']:.4f}."
    if not decision["use_in_product"] and best["ndcg10"] > sasrec:
        line += " The untuned model beats SASRec's order here but the product reranks with a tuned adapter only; tune longer or on more users."
    return line + f" Product reranker: {'on' if decision['use_in_product'] else 'off'}."


if __name__ == "__main__":
    sys.exit(main())
