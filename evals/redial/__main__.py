"""`python -m evals.redial FILE... --out DIR [--systems ...] [--llm-backends embedded] [--limit N]`

Replays real ReDial dialogues (the IARD/ReDial JSON layout of ../shared/data/redial-iard-dev.json) through TalkRec on
the configured dataset (TALKREC_DATASET, default ml-latest-small) and scores, at each recommender utterance naming new
catalog films, the top 50 of: popularity, SASRec and co-rating on the films the parser grounded, co-rating on the
films the annotators marked (an understanding oracle), the retriever on the seeker's words,
TalkRec's planner (`talkrec`) and the llm policy on each backend asked for. Writes DIR/redial[-DATASET].json,
DIR/redial[-DATASET].md (a fragment for docs/EVALS.md) and DIR/redial-points[-DATASET].jsonl (every scored point, for
reading failures).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

ALL_SYSTEMS = ("popularity", "recent", "sasrec", "corating", "oracle", "retriever", "talkrec", "llm")


def _top_label(catalog, ranking: list[int]) -> str:
    return catalog.get(ranking[0]).label if ranking else "-"


def failure_breakdown(result, catalog, name: str = "talkrec", k: int = 10, examples: int = 2) -> tuple[str, list[dict]]:
    """Recall@k of `name` by what the seeker's last message was understood as, with short examples of misses."""
    from evals.mdtable import md_table
    from evals.redial.metrics import Point, recall_at

    groups: dict[str, list] = defaultdict(list)
    for p in result.points:
        if name in p.rankings:
            groups[p.intent or "(no message yet)"].append(p)
    rows, data = [], []
    for intent, pts in sorted(groups.items(), key=lambda kv: -sum(len(p.targets) for p in kv[1])):
        r = recall_at([Point(tuple(p.rankings[name]), tuple(p.targets)) for p in pts], k)
        misses = [p for p in pts if not set(p.rankings[name][:k]) & set(p.targets)]
        ex = "; ".join(
            f"“{p.last_message[:70]}” → wanted {catalog.get(p.targets[0]).label}, top: {_top_label(catalog, p.rankings[name])}"
            for p in misses[:examples]
        )
        n_targets = sum(len(p.targets) for p in pts)
        rows.append([intent, len(pts), n_targets, round(r, 3), ex])
        data.append({"intent": intent, "points": len(pts), "targets": n_targets, f"recall@{k}": round(r, 4)})
    head = f"### Where `{name}` misses: recall@{k} by how the seeker's last message was understood"
    table = head + "\n\n" + md_table(["last message understood as", "points", "targets", f"R@{k}", "misses, for example"], rows)
    known_rows = []
    for label, test in (
        ("no film of the seeker's known", lambda p: p.known_films == 0),
        ("1-2 films known", lambda p: 1 <= p.known_films <= 2),
        ("3 or more films known", lambda p: p.known_films >= 3),
    ):
        pts = [p for p in result.points if name in p.rankings and test(p)]
        for cons in (False, True):
            sub = [p for p in pts if p.constrained == cons]
            if sub:
                r = recall_at([Point(tuple(p.rankings[name]), tuple(p.targets)) for p in sub], k)
                known_rows.append([label, "yes" if cons else "no", len(sub), sum(len(p.targets) for p in sub), round(r, 3)])
                data.append({"known": label, "filters": cons, "points": len(sub), f"recall@{k}": round(r, 4)})
    table += "\n\nBy what the session knew at that point (the seeker's films grounded so far; genre or year filters set):\n\n"
    table += md_table(["films known", "filters set", "points", "targets", f"R@{k}"], known_rows)
    return table, data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.redial", description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path, help="dialogue files in the ReDial/IARD JSON layout")
    ap.add_argument("--out", type=Path, required=True, help="folder for redial.json, redial.md and the points file")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS), help=f"comma-separated, of {', '.join(ALL_SYSTEMS)}")
    ap.add_argument("--llm-backends", default="embedded", help="backends for the llm policy row(s), comma-separated (embedded, openai, hf)")
    ap.add_argument("--limit", type=int, default=None, help="replay only the first N dialogues (a quick look)")
    ap.add_argument("--k", type=int, default=50, help="length of each ranking")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from tqdm import tqdm

    from data.errors import TalkRecError
    from data.settings import Settings
    from evals.redial.dialogues import MentionGrounder, load_dialogues
    from evals.redial.replay import FromPolicy, OnAnnotated, OnGrounded, Popularity, RecentPopular, Replayer, ReplayResult, RetrieverOnWords
    from evals.redial.report import markdown, summarize
    from evals.runmeta import meta, with_dataset
    from evals.wiring import pick_agent, services_for_evals

    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(ALL_SYSTEMS))
    if unknown:
        ap.error(f"unknown system(s) {unknown}; choose from {', '.join(ALL_SYSTEMS)}")
    try:
        dialogues = load_dialogues(args.files)
    except TalkRecError as exc:
        ap.error(str(exc))
    dialogues = dialogues[: args.limit] if args.limit else dialogues
    settings = Settings()
    services = services_for_evals(settings)
    catalog = services.catalog
    MentionGrounder(services.lookup).annotate(dialogues)

    planner = pick_agent(services, "planner")
    rankers = []
    if "popularity" in wanted:
        rankers.append(Popularity(catalog))
    if "recent" in wanted:
        rankers.append(RecentPopular(services.agent.tools.corating))
    if "sasrec" in wanted:
        rankers.append(OnGrounded("SASRec on grounded films", services.seqrec))
    if "corating" in wanted:
        rankers.append(OnGrounded("co-rating on grounded films", services.agent.tools.corating))
    if "oracle" in wanted:
        # the ceiling of better title understanding for this ranker: the annotators' films in place of the parser's
        rankers.append(OnAnnotated("co-rating on the annotated films (oracle)", services.agent.tools.corating))
    if "retriever" in wanted:
        rankers.append(RetrieverOnWords(services.retriever))
    if "talkrec" in wanted:
        rankers.append(FromPolicy("talkrec", lambda session, k: planner.decider.rank(planner.context, session, k)))
    notes: list[str] = []
    prior = services.agent.tools.corating.prior if services.agent.tools.corating is not None else None
    if prior is not None:
        mrr = ", ".join(f"{k} {v:.4f}" for k, v in prior.valid_mrr.items())
        notes.append(f"Popularity for a person who has named no film yet: {prior.describe()}; validation MRR by half-life in months: {mrr}.")
    results: dict[str, ReplayResult] = {}
    systems: dict[str, str] = {}
    runs = [("planner", planner, rankers)] if rankers else []
    if "llm" in wanted:
        for backend in [b.strip() for b in args.llm_backends.split(",") if b.strip()]:
            try:
                agent = pick_agent(services, "llm", backend)
            except TalkRecError as exc:
                notes.append(f"llm policy on {backend}: not run ({exc})")
                continue
            # the llm policy has no ranking of its own outside a turn: its candidate bus after the last turn is what it
            # would show from (tools it chose, in its order)
            runs.append((f"llm:{backend}", agent, [FromPolicy(f"llm policy ({backend})", lambda session, k: [c.item_id for c in session.bus][:k])]))
    for run_name, agent, run_rankers in runs:
        res = ReplayResult()
        replayer = Replayer(agent, catalog, run_rankers, k=args.k)
        for d in tqdm(dialogues, desc=f"replay {run_name}", unit="dialogue"):
            try:
                replayer.replay(d, res)
            except TalkRecError as exc:  # a turn the product could not answer is a finding, not a crash of the run
                res.errors.append(f"{d.dialogue_id}: {type(exc).__name__}: {exc}")
        results[run_name] = res
        systems |= {r.name: run_name for r in run_rankers}

    run_meta = meta("evals.redial", dataset=settings.dataset, notes=notes)
    run_meta["command"] = with_dataset(run_meta["command"], settings.dataset)
    summary = summarize(dialogues, results, systems, catalog.genres, run_meta)
    failures, breakdown = ("", [])
    if "planner" in results and "talkrec" in systems:
        failures, breakdown = failure_breakdown(results["planner"], catalog)
    summary["talkrec_by_last_intent"] = breakdown
    for run_name, res in results.items():
        if res.errors:
            summary.setdefault("errors", {})[run_name] = res.errors
    args.out.mkdir(parents=True, exist_ok=True)
    # the default dataset's report is plain redial.json (the yardstick); another dataset's carries its name
    default = Settings.model_fields["dataset"].default
    suffix = "" if settings.dataset == default else f"-{settings.dataset}"
    stem = f"redial{suffix}"
    (args.out / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(summary, failures + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")))
    with (args.out / f"redial-points{suffix}.jsonl").open("w") as fh:
        for run_name, res in results.items():
            for p in res.points:
                fh.write(json.dumps({"run": run_name, **asdict(p)}) + "\n")
    for name, f in summary["systems"].items():
        print(f"{name:>34}: R@1={f['recall@1']:.3f} R@10={f['recall@10']:.3f} R@50={f['recall@50']:.3f}")
    for n in notes:
        print(n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
