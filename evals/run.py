"""`python -m evals.run [--quick] [--users N]`: every evaluation in one command, written to docs/EVALS.md.

Runs the scripted dialogues and the user simulator (TalkRec and the baselines on the same users and the
same messages), gathers the offline tool fragments other scripts left in docs/results/ (seqrec,
retrieval, rerank, ...), and writes docs/EVALS.md with the Hit@k-by-turn plot docs/hit_by_turn.png.
Nothing in the report is typed by hand: every number comes from this run or from a fragment that
names its own command.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

DOCS = Path("docs")
RESULTS = DOCS / "results"
PLOT = DOCS / "hit_by_turn.png"
# docs/EVALS.md and docs/BENCHMARKS.md both gather the fragments in this order; others follow, sorted by name
FRAGMENTS = [
    "seqrec",
    "seqrec_ablation",
    "seqrec_ablation_shift",
    "recbole",
    "retrieval",
    "retrieval-ml-latest-small",
    "rerank",
    "simulator-reranker",
    "llm_models",
    "gpu_check",
    "agent_latency",
    "tool_choice",
    # MovieLens-1M (TALKREC_DATASET=ml-1m; see the README)
    "seqrec-ml-1m",
    "recbole-ml-1m",
    "retrieval-ml-1m",
    "agent_latency-ml-1m",
    "simulator-ml-1m",
]
OWN = {"dialogues", "dialogues_llm", "simulator"}
FULL_USERS, QUICK_USERS = 200, 20
# The Chat-Rec baseline asks the embedded model for a list-wise ranking on every turn: ~15 s a call on
# this 2-core machine, so it runs on the first N of the sampled users (all systems are also reported on
# exactly that subset).
FULL_CHATREC_USERS, QUICK_CHATREC_USERS = 8, 2

log = logging.getLogger("evals.run")


def shift_headings(markdown: str, top: int) -> str:
    """Re-level a fragment's headings so its highest becomes `top` (outside code fences)."""
    lines = markdown.strip().splitlines()
    fence = False
    levels = []
    for ln in lines:
        if ln.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^(#+)\s", ln)):
            levels.append(len(m.group(1)))
    if not levels:
        return "\n".join(lines)
    delta = top - min(levels)
    out, fence = [], False
    for ln in lines:
        if ln.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^(#+)(\s.*)$", ln)):
            ln = "#" * max(1, len(m.group(1)) + delta) + m.group(2)
        out.append(ln)
    return "\n".join(out)


def fragments(results: Path = RESULTS) -> list[tuple[str, str]]:
    """The benchmark fragments; the reliability ones go to docs/RELIABILITY.md (evals.reliability) instead."""
    from evals.reliability import FRAGMENTS as RELIABILITY

    skip = OWN | {name for name, _ in RELIABILITY}
    names = [n for n in FRAGMENTS if (results / f"{n}.md").is_file()]
    names += sorted(p.stem for p in results.glob("*.md") if p.stem not in FRAGMENTS and p.stem not in skip)
    return [(n, (results / f"{n}.md").read_text(encoding="utf-8")) for n in names]


def verdicts(sim, subset, dlg_summary) -> list[str]:
    """The issue's targets, checked on this run's numbers."""
    out = []
    by = {s.system: s for s in sim.summaries}
    planner = by.get("TalkRec planner")
    if planner:
        for s in sim.summaries:
            if s.system.startswith("TalkRec"):
                continue
            ref = planner
            if s.users != planner.users and subset:
                ref = next((x for x in subset if x.system == "TalkRec planner"), planner)
            beats = ref.hit > s.hit and ref.at_k < s.at_k
            out.append(
                f"- TalkRec planner vs {s.system} ({s.users} users): Hit@{s.k} {ref.hit:.3f} vs {s.hit:.3f}, "
                f"AT@{s.k} {ref.at_k:.2f} vs {s.at_k:.2f}: **{'beats it' if beats else 'does NOT beat it'}** on both."
            )
        bad = sum(s.out_of_catalog_per_turn * s.turns for s in sim.summaries if s.system.startswith("TalkRec"))
        out.append(f"- Out-of-catalog titles in TalkRec's simulator turns: **{round(bad)}**.")
    if dlg_summary is not None:
        ok = dlg_summary.pass_rate >= 0.95
        out.append(
            f"- Scripted expectations passed: **{dlg_summary.expectations_passed}/{dlg_summary.expectations} "
            f"({dlg_summary.pass_rate:.1%})**, target >= 95%: {'met' if ok else 'NOT met'}; out-of-catalog turns in the dialogues: "
            f"**{dlg_summary.catalog_failures}**."
        )
    return out


def write_evals_md(
    path: Path,
    meta: dict,
    sim,
    subset,
    subset_users: int,
    dlg_md: Sequence[str],
    dlg_summary,
    frags: Sequence[tuple[str, str]],
    timings: dict[str, float],
    notes: Sequence[str],
) -> None:
    from evals.simulator.report import to_markdown

    k, t = (sim.summaries[0].k, sim.summaries[0].max_turns) if sim.summaries else (5, 5)
    parts = [
        "# TalkRec evaluations",
        "",
        f"Written by `{meta['command']}` on {meta['date']} ({meta['machine']}). Regenerate with `python -m evals.run` "
        "(wall times below, under Run time) or `python -m evals.run --quick`."
        " Raw results: docs/results/simulator.json, docs/results/dialogues.json.",
        "",
        "## Targets",
        "",
        *verdicts(sim, subset, dlg_summary),
        "",
        "## User simulator",
        "",
        f"Protocol (InteRecAgent's, offline and seeded): {sim.summaries[0].users if sim.summaries else 0} ML-100K test users sampled "
        f"with seed {meta.get('seed')}. Each user's target is their held-out **test** item; their profile is the rest of their "
        "history (training items plus the validation item, the same input the leave-one-out protocol gives SASRec). "
        "Turn 1 names their three most recent favourites (rated 4+) and asks for one of the target's genres; after each miss the "
        'user says "None of these." and reveals one more attribute: the target\'s decade, another of its genres, then '
        '"something like <the profile film closest to the target>" (item-vector cosine). The target\'s title is never said. '
        f"A session ends at a hit (target among the {k} items shown) or after {t} turns; AT@{k} counts a failure as {t + 1}. "
        "Every system hears the same messages and never shows a profile item or an item it already showed.",
        "",
        "Systems: **SASRec only** (the profile, words ignored); **retriever only** (MiniLM/Chroma search with the whole "
        "dialogue text, profile ignored); **Chat-Rec style** (retrieve 20 by the dialogue text, the embedded SmolLM2-135M "
        "ranks them list-wise given the last 15 profile titles); **TalkRec planner** (the agent as the app runs it); "
        "**TalkRec llm** only when a tool-calling chat backend is configured.",
        "",
        shift_headings(to_markdown(sim.summaries, meta), 3),
        "",
        f"![Hit@{k} by turn](hit_by_turn.png)",
        "",
    ]
    if subset:
        parts += [
            f"### All systems on the Chat-Rec users (the first {subset_users} sampled users)",
            "",
            "The list-wise LLM baseline is slow on CPU, so it ran on this subset; every system's numbers on exactly these users:",
            "",
            shift_headings(to_markdown(subset, meta), 4).split("\n\nCommand:")[0],
            "",
        ]
    parts += [*(f"- {n}" for n in notes), ""] if notes else []
    parts += ["## Scripted dialogues", "", "Format and checks: evals/dialogues/README.md; scripts: evals/dialogues/scripts/.", ""]
    parts += [shift_headings(m, 3) + "\n" for m in dlg_md]
    parts += fragments_section(frags)
    parts += ["## Run time", "", *(f"- {name}: {sec:.0f} s" for name, sec in timings.items()), ""]
    path.write_text("\n".join(parts).rstrip() + "\n", encoding="utf-8")


FRAGMENTS_HEAD = "## Offline tool evaluations"


def fragments_section(frags: Sequence[tuple[str, str]]) -> list[str]:
    if not frags:
        return [FRAGMENTS_HEAD, "", "No fragments in docs/results/ yet (run the tools' benchmark scripts).", ""]
    parts = [FRAGMENTS_HEAD, "", "Fragments written by each tool's own benchmark script (its command is in the fragment).", ""]
    return parts + [shift_headings(text, 3) + "\n" for _, text in frags]


def refresh_fragments(path: Path) -> None:
    """Replace the fragments section of an EVALS.md that evals.run wrote with the fragments as they are now
    (after a benchmark script reran), leaving the dialogue and simulator sections of that run as they were."""
    text = path.read_text(encoding="utf-8")
    if FRAGMENTS_HEAD not in text or "\n## Run time" not in text:
        raise ValueError(f"{path} was not written by evals.run (no '{FRAGMENTS_HEAD}' and '## Run time' sections); run `python -m evals.run`")
    head, rest = text.split(FRAGMENTS_HEAD, 1)
    tail = rest[rest.index("\n## Run time") + 1 :]
    path.write_text(head + "\n".join(fragments_section(fragments())) + "\n" + tail, encoding="utf-8")


def subset_summaries(sim, users: Sequence[int]):
    from evals.simulator.metrics import summarize

    keep = set(users)
    out = []
    for s in sim.summaries:
        recs = [r for r in sim.sessions[s.system] if r.user_id in keep]
        out.append(summarize(s.system, recs, s.k, s.max_turns))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_USERS} users, {QUICK_CHATREC_USERS} for Chat-Rec (under 5 minutes)")
    ap.add_argument("--users", type=int, default=None, help=f"simulated users (default {FULL_USERS}, --quick {QUICK_USERS})")
    ap.add_argument("--chatrec-users", type=int, default=None, help="users for the Chat-Rec baseline (0: skip it)")
    ap.add_argument("--seed", type=int, default=None, help="user sampling seed (default: the settings' seed)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--out", type=Path, default=DOCS / "EVALS.md")
    ap.add_argument(
        "--fragments-only",
        action="store_true",
        help="run nothing: refresh the offline-evaluation fragments in an existing EVALS.md (after a benchmark script reran)",
    )
    args = ap.parse_args(argv)
    if args.fragments_only:
        try:
            refresh_fragments(args.out)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"refreshed the fragments in {args.out}")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from data.settings import Settings
    from evals.dialogues.__main__ import default_files
    from evals.dialogues.report import to_markdown as dlg_markdown
    from evals.dialogues.report import write as write_dialogues
    from evals.dialogues.runner import run_all, summarize
    from evals.dialogues.schema import load_files
    from evals.runmeta import meta
    from evals.simulator.experiment import build_systems, chat_backends, simulate
    from evals.simulator.report import plot
    from evals.simulator.report import write as write_sim
    from evals.simulator.runner import run_system
    from evals.simulator.systems import ChatRecStyle
    from evals.wiring import pick_agent, services_for_evals

    # The ML-100K report: its dataset unless TALKREC_DATASET names another (the app's default is ml-latest-small).
    settings = Settings() if "TALKREC_DATASET" in os.environ else Settings(dataset="ml-100k")
    if settings.dataset != "ml-100k":
        # the dialogue scripts name ML-100K users and items; EVALS.md is the ML-100K report
        print(
            f"evals.run is the ML-100K report (its dialogue scripts name ML-100K users and items); on {settings.dataset} run "
            f"`TALKREC_DATASET={settings.dataset} python -m evals.simulator --no-chatrec`, then `python -m evals.run` (ML-100K) or "
            "`python -m evals.benchmarks` to gather its fragment",
            file=sys.stderr,
        )
        return 2
    seed = settings.seed if args.seed is None else args.seed
    n_users = args.users or (QUICK_USERS if args.quick else FULL_USERS)
    n_chatrec = args.chatrec_users if args.chatrec_users is not None else (QUICK_CHATREC_USERS if args.quick else FULL_CHATREC_USERS)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    services = services_for_evals(settings)
    timings["loading (dataset, SASRec, index)"] = time.perf_counter() - t0
    run_meta = meta("evals.run", seed=seed, users=n_users, chatrec_users=n_chatrec, quick=args.quick)

    # 1. scripted dialogues, planner (and the llm policy where a backend that calls tools is configured)
    t0 = time.perf_counter()
    dialogues = load_files(default_files())
    dlg_md: list[str] = []
    agent = pick_agent(services, "planner")
    results = run_all(dialogues, agent, lambda u: services.new_session(user_id=u), services.catalog, services.lookup)
    dlg_summary = summarize(results, "planner")
    write_dialogues(results, dlg_summary, run_meta, RESULTS, "dialogues")
    dlg_md.append(dlg_markdown(results, dlg_summary, run_meta))
    notes: list[str] = []
    for kind in chat_backends(services)[:1]:
        llm_agent = pick_agent(services, "llm", kind)
        res_llm = run_all(dialogues, llm_agent, lambda u: services.new_session(user_id=u), services.catalog, services.lookup)
        s_llm = summarize(res_llm, f"llm/{kind}")
        write_dialogues(res_llm, s_llm, run_meta, RESULTS, "dialogues_llm")
        dlg_md.append(dlg_markdown(res_llm, s_llm, run_meta))
    timings[f"scripted dialogues ({len(dialogues)})"] = time.perf_counter() - t0
    print(f"dialogues: {dlg_summary.expectations_passed}/{dlg_summary.expectations} expectations passed", flush=True)

    # 2. the simulator: fast systems on every user, Chat-Rec on the first n_chatrec of the same users
    t0 = time.perf_counter()
    systems, sys_notes = build_systems(services, args.k, chatrec=False)
    notes += sys_notes
    sim = simulate(services, systems, n_users, seed, args.k, args.turns)
    timings[f"simulator, {len(systems)} systems x {n_users} users"] = time.perf_counter() - t0
    subset = []
    if n_chatrec > 0:
        t0 = time.perf_counter()
        chatrec = ChatRecStyle(services.catalog, services.retriever, services.backend("embedded"), args.k)
        scripts = sim.scripts[:n_chatrec]
        recs = run_system(chatrec, scripts, services.catalog, services.lookup, args.k, args.turns)
        from evals.simulator.metrics import summarize as sim_summarize

        sim.sessions[chatrec.name] = recs
        sim.summaries.insert(2, sim_summarize(chatrec.name, recs, args.k, args.turns))
        subset = subset_summaries(sim, [s.user_id for s in scripts])
        timings[f"Chat-Rec baseline, {len(scripts)} users"] = time.perf_counter() - t0
    write_sim(sim.summaries, sim.sessions, sim.scripts, {**run_meta, "notes": notes}, RESULTS)
    plot(sim.summaries, PLOT)
    for s in sim.summaries:
        print(f"{s.system:>22} ({s.users} users): Hit@{s.k}={s.hit:.3f}  AT@{s.k}={s.at_k:.2f}", flush=True)

    frags = fragments()
    timings["total"] = sum(timings.values())
    write_evals_md(args.out, run_meta, sim, subset, n_chatrec, dlg_md, dlg_summary, frags, timings, notes)
    print(f"wrote {args.out}, {PLOT}, {RESULTS}/dialogues.* and {RESULTS}/simulator.* in {timings['total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
