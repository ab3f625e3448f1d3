"""`[TALKREC_DATASET=ml-1m] python -m evals.simulator [--users N] [--seed S] [--no-chatrec] [--out DIR]`: the simulator alone.

Writes DIR/simulator.json, DIR/simulator.md and docs/hit_by_turn.png (or --plot PATH); on another dataset than
ML-100K the names carry it (simulator-ml-1m.json, hit_by_turn-ml-1m.png).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.simulator", description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200, help="simulated test users (seeded sample)")
    ap.add_argument("--seed", type=int, default=None, help="sampling seed (default: the settings' seed)")
    ap.add_argument("--k", type=int, default=5, help="items that count for a hit")
    ap.add_argument("--turns", type=int, default=5, help="turn limit T")
    ap.add_argument("--no-chatrec", action="store_true", help="skip the Chat-Rec-style baseline (LLM reranking is the slow part)")
    ap.add_argument("--llm-user", choices=["openai", "hf", "embedded"], help="a chat backend rephrases the user's messages (same rules)")
    ap.add_argument(
        "--tuned-reranker",
        action="store_true",
        help="run the planner with the reranker off and with the rec-tuned one (python -m agents.llm.tune) on; "
        "writes simulator-reranker[-DATASET].{json,md}",
    )
    ap.add_argument("--out", type=Path, default=Path("docs/results"))
    ap.add_argument("--plot", type=Path, default=None, help="default: docs/hit_by_turn[-DATASET].png")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from data.settings import Settings
    from evals.runmeta import meta, result_stem, with_dataset
    from evals.simulator.experiment import build_systems, simulate
    from evals.simulator.report import plot, write
    from evals.wiring import services_for_evals

    settings = Settings()
    services = services_for_evals(settings)
    reranker = None
    if args.tuned_reranker:
        from agents.tuned_reranker import load_kept_reranker

        reranker = load_kept_reranker(settings.artifacts_dir, services.dataset, settings.torch_threads)
    systems, notes = build_systems(services, args.k, chatrec=not args.no_chatrec, llm=not args.tuned_reranker, tuned_reranker=reranker)
    suffix = "-reranker" if args.tuned_reranker else ""  # its own report: it does not replace the plain run
    res = simulate(services, systems, args.users, settings.seed if args.seed is None else args.seed, args.k, args.turns, llm_user=args.llm_user)
    run_meta = meta("evals.simulator", users=args.users, notes=notes, dataset=settings.dataset)
    run_meta["command"] = with_dataset(run_meta["command"], settings.dataset)
    write(res.summaries, res.sessions, res.scripts, run_meta, args.out, name=result_stem(f"simulator{suffix}", settings.dataset))
    plot(res.summaries, args.plot or Path(f"docs/{result_stem(f'hit_by_turn{suffix}', settings.dataset)}.png"), settings.dataset)
    for s in res.summaries:
        print(f"{s.system:>20}: Hit@{s.k}={s.hit:.3f}  AT@{s.k}={s.at_k:.2f}  out-of-catalog/turn={s.out_of_catalog_per_turn:.3f}")
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
