"""Figures of a ReDial replay: recall per system, catalog coverage, grounding, latency; JSON and a markdown fragment."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from agents.nlu.constraints import find_genres, to_catalog_genres
from evals.mdtable import md_table
from evals.redial.dialogues import Dialogue
from evals.redial.metrics import Point, percentile, precision_recall, recall_at
from evals.redial.replay import ReplayResult

KS = (1, 10, 50)
# A copy of the team's reference sheet (../shared/reference/crs-redial.md) ships with the project, so a clone
# anywhere (CI, a Space) writes the same side-by-side table.
PUBLISHED = Path(__file__).resolve().parents[1] / "data" / "crs-redial.md"


def system_figures(result: ReplayResult, name: str) -> dict:
    pts = [Point(tuple(p.rankings[name]), tuple(p.targets)) for p in result.points if name in p.rankings]
    acc = [Point(tuple(p.rankings[name]), tuple(p.accepted)) for p in result.points if name in p.rankings and p.accepted]
    out: dict = {f"recall@{k}": round(recall_at(pts, k), 4) for k in KS}
    out |= {f"accepted_recall@{k}": round(recall_at(acc, k), 4) for k in KS}
    out["points"] = len(pts)
    out["targets"] = sum(len(p.targets) for p in pts)
    out["accepted_targets"] = sum(len(p.targets) for p in acc)
    return out


def genre_pairs(result: ReplayResult, catalog_genres: Sequence[str]) -> tuple[list[tuple[set, set]], int]:
    """(predicted, gold) catalog genres per message; gold GENRE slot values are read with the same lexicon the
    parser uses, one value at a time (so context, negation and phrasing in the message are what is tested).
    Returns the pairs and how many gold values named no catalog genre (left out of precision and recall)."""
    pairs, unmapped = [], 0
    for t in result.turns:
        gold: set[str] = set()
        for value in t.gold_genre_values:
            g = to_catalog_genres(find_genres(value), tuple(catalog_genres))
            names = set(g.any) | set(g.all) | set(g.none)
            if not names:
                unmapped += 1
            gold |= names
        pairs.append((set(t.predicted_genres), gold))
    return pairs, unmapped


def mention_counts(dialogues: Sequence[Dialogue]) -> dict:
    mentions = [m for d in dialogues for u in d.utterances for m in u.mentions]
    films = {(m.text.lower(), m.year) for m in mentions}
    missing = {(m.text.lower(), m.year) for m in mentions if m.item_id is None}
    return {
        "mentions": len(mentions),
        "not_in_catalog": sum(m.item_id is None for m in mentions),
        "films": len(films),
        "films_not_in_catalog": len(missing),
    }


def summarize(
    dialogues: Sequence[Dialogue], results: dict[str, ReplayResult], systems: dict[str, str], catalog_genres: Sequence[str], meta: dict
) -> dict:
    """systems: system name -> the replay (agent) it was scored in."""
    main = results.get("planner") or next(iter(results.values()))
    title_pr = precision_recall([(t.predicted_titles, t.gold_titles) for t in main.turns])
    pairs, unmapped = genre_pairs(main, catalog_genres)
    genre_pr = precision_recall(pairs)
    out = {
        "meta": meta,
        "dialogues": len(dialogues),
        "targets": sum(len(p.targets) for p in main.points),
        "accepted_targets": sum(len(p.accepted) for p in main.points),
        "points": len(main.points),
        **mention_counts(dialogues),
        "grounding": {
            "titles": {"precision": round(title_pr[0], 4), "recall": round(title_pr[1], 4), "gold": sum(len(t.gold_titles) for t in main.turns)},
            "genres": {
                "precision": round(genre_pr[0], 4),
                "recall": round(genre_pr[1], 4),
                "gold": sum(len(g) for _, g in pairs),
                "unmapped_values": unmapped,
            },
        },
        "systems": {},
    }
    for name, replay in systems.items():
        res = results[replay]
        figs = system_figures(res, name)
        lat = [t.latency_ms for t in res.turns]
        if name in ("talkrec", "talkrec-llm") or name.startswith("llm"):
            figs["turn_ms_p50"] = round(percentile(lat, 50), 1)
            figs["turn_ms_p95"] = round(percentile(lat, 95), 1)
        figs["errors"] = len(res.errors)
        out["systems"][name] = figs
    return out


def _published_tables() -> str:
    """The published figures, copied from evals/data/crs-redial.md with their sources (never typed here)."""
    if not PUBLISHED.is_file():
        return f"(published figures not found at {PUBLISHED})"
    text = PUBLISHED.read_text(encoding="utf-8")
    tables = re.findall(r"(?:^[^\n]*\n)?(?:^\|.*\|\n?)+", text, flags=re.M)
    return "\n\n".join(t.strip() for t in tables)


def markdown(summary: dict, failures: str = "") -> str:
    m = summary["meta"]
    rows = []
    for name, f in summary["systems"].items():
        lat = f"{f['turn_ms_p50']:.0f} / {f['turn_ms_p95']:.0f}" if "turn_ms_p50" in f else "-"
        rows.append(
            [name, f["recall@1"], f["recall@10"], f["recall@50"], f["accepted_recall@1"], f["accepted_recall@10"], f["accepted_recall@50"], lat]
        )
    g = summary["grounding"]
    lines = [
        f"## Real dialogues: ReDial (IARD subset) replayed on {m['dataset']}",
        "",
        f"Command: `{m['command']}` ({m['date']}; {m['machine']}).",
        "",
        f"{summary['dialogues']} dialogues; {summary['mentions']} film mentions, {summary['not_in_catalog']} of them "
        f"({summary['not_in_catalog'] / max(1, summary['mentions']):.0%}) not in the catalog ({summary['films_not_in_catalog']} of "
        f"{summary['films']} distinct films). Scored at {summary['points']} recommender utterances that name catalog films "
        f"not named before: {summary['targets']} target films, {summary['accepted_targets']} of them accepted by the seeker. "
        "Each system ranks its top 50 from the state at that point, films named before excluded; recall@k = share of the "
        "targets in the top k.",
        "",
        md_table(["system", "R@1", "R@10", "R@50", "accepted R@1", "accepted R@10", "accepted R@50", "turn ms p50 / p95"], rows),
        "",
        f"Understanding the seeker (in-catalog films and genres the annotators marked, {g['titles']['gold']} title and "
        f"{g['genres']['gold']} genre labels; {g['genres']['unmapped_values']} genre values name no catalog genre and are left out):",
        "",
        md_table(
            ["slot", "precision", "recall"],
            [
                ["TITLE (films the parser grounded)", g["titles"]["precision"], g["titles"]["recall"]],
                ["GENRE", g["genres"]["precision"], g["genres"]["recall"]],
            ],
        ),
        "",
    ]
    goal = summary["systems"].get("talkrec")
    if goal:
        met10, met50 = goal["recall@10"] >= 0.25, goal["recall@50"] >= 0.45
        lines += [
            f"Goal for the planner (`talkrec`): R@10 >= 0.25 ({'met' if met10 else 'not met'}: {goal['recall@10']:.3f}) and "
            f"R@50 >= 0.45 ({'met' if met50 else 'not met'}: {goal['recall@50']:.3f}).",
            "",
        ]
    if failures:
        lines += [failures, ""]
    lines += [
        "### Published ReDial figures (other settings: not a like-for-like comparison)",
        "",
        "Copied from the project's reference sheet with their sources. Their catalog is ReDial's ~6.3k DBpedia-linked films "
        "and the full ReDial test set (1,342 dialogues); ours is the MovieLens catalog above and the IARD subset of ReDial "
        "(development dialogues). Our targets drop films named before in the dialogue (the dedup setting), and films "
        "outside our catalog cannot be targets at all.",
        "",
        _published_tables(),
        "",
    ]
    return "\n".join(lines)
