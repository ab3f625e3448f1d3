"""Write a dialogue run as JSON (everything: replies, traces, every check) and markdown (summary, failures)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from evals.dialogues.runner import DialogueResult, RunSummary
from evals.mdtable import md_table

REPLY_CHARS = 240


def to_json(results: Sequence[DialogueResult], summary: RunSummary, meta: dict) -> dict:
    return {
        "meta": meta,
        "summary": {**asdict(summary), "pass_rate": round(summary.pass_rate, 4)},
        "dialogues": [{**asdict(r), "passed": r.passed} for r in results],
    }


def failures(results: Sequence[DialogueResult]) -> list[tuple[DialogueResult, int, str, str, str, str]]:
    """(dialogue, turn, user message, check, detail, reply) for every failed check."""
    out = []
    for r in results:
        for t in r.turns:
            for c in t.checks:
                if not c.passed:
                    out.append((r, t.turn, t.say, c.name, c.detail, t.reply))
    return out


def _short(text: str, n: int = REPLY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def to_markdown(results: Sequence[DialogueResult], summary: RunSummary, meta: dict, heading: str = "##") -> str:
    lines = [f"{heading} Scripted dialogues ({summary.policy})", ""]
    lines.append(
        md_table(
            [
                "dialogues",
                "passed",
                "expectations",
                "passed",
                "pass rate",
                "turns",
                "out-of-catalog turns",
                "turns with unnamed items",
                "p50 ms",
                "p95 ms",
            ],
            [
                [
                    summary.dialogues,
                    summary.dialogues_passed,
                    summary.expectations,
                    summary.expectations_passed,
                    f"{summary.pass_rate:.1%}",
                    summary.turns,
                    summary.catalog_failures,
                    summary.unnamed_item_turns,
                    f"{summary.latency_ms_p50:.0f}",
                    f"{summary.latency_ms_p95:.0f}",
                ]
            ],
        )
    )
    fails = failures(results)
    lines += [
        "",
        "Always checked on every turn, apart from the scripted expectations: `in_catalog` (every shown id is a catalog item and every "
        '"Title (Year)" in the text resolves to one) and `items_named` (the text names every shown item).',
        "",
        f"Failed checks ({len(fails)}):" if fails else "No check failed.",
        "",
    ]
    if fails:
        rows = [[f"`{r.id}`", t, _short(say, 90), c, _short(detail, 200), _short(reply, 160)] for r, t, say, c, detail, reply in fails]
        lines += [md_table(["dialogue", "turn", "user says", "check", "what was seen", "reply"], rows), ""]
    rows = [[f"`{r.id}`", r.description, len(r.turns), len(r.expectations()), "pass" if r.passed else "FAIL"] for r in results]
    lines += [
        "<details><summary>All dialogues</summary>",
        "",
        md_table(["dialogue", "covers", "turns", "expectations", "result"], rows),
        "",
        "</details>",
        "",
    ]
    lines += [f"Command: `{meta.get('command', '')}`; {meta.get('machine', '')}; {meta.get('date', '')}.", ""]
    return "\n".join(lines)


def write(results: Sequence[DialogueResult], summary: RunSummary, meta: dict, out_dir: Path, name: str = "dialogues") -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    jpath, mpath = out_dir / f"{name}.json", out_dir / f"{name}.md"
    jpath.write_text(json.dumps(to_json(results, summary, meta), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    mpath.write_text(to_markdown(results, summary, meta), encoding="utf-8")
    return jpath, mpath
