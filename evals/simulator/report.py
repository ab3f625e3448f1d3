"""Simulator results as JSON (every session) and markdown (one table per metric family), plus the plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from evals.mdtable import md_table
from evals.simulator.metrics import SessionRecord, Summary
from evals.simulator.user import UserScript


def to_json(summaries: Sequence[Summary], sessions: dict[str, list[SessionRecord]], scripts: Sequence[UserScript], meta: dict) -> dict:
    return {
        "meta": meta,
        "summaries": [asdict(s) for s in summaries],
        "users": [asdict(s) for s in scripts],
        "sessions": {name: [asdict(s) for s in recs] for name, recs in sessions.items()},
    }


def to_markdown(summaries: Sequence[Summary], meta: dict, heading: str = "##") -> str:
    if not summaries:
        return f"{heading} User simulator\n\nNo system was run.\n"
    k, t = summaries[0].k, summaries[0].max_turns
    dataset = meta.get("dataset", "ml-100k").upper()
    lines = [f"{heading} User simulator ({dataset}, Hit@{k} within {t} turns, {summaries[0].users} users)", ""]
    lines.append(
        md_table(
            ["system", f"Hit@{k} within {t}", f"AT@{k} (fail = {t + 1})", "out-of-catalog / turn", "repeated items", "turns", "p50 ms", "p95 ms"],
            [
                [
                    s.system,
                    f"{s.hit:.3f}",
                    f"{s.at_k:.2f}",
                    f"{s.out_of_catalog_per_turn:.3f}",
                    f"{s.repeated_item_rate:.3f}",
                    s.turns,
                    f"{s.latency_p50_ms:.0f}",
                    f"{s.latency_p95_ms:.0f}",
                ]
                for s in summaries
            ],
        )
    )
    lines += ["", f"Hit@{k} by turn (cumulative):", ""]
    lines.append(md_table(["system", *[f"turn {n}" for n in range(1, t + 1)]], [[s.system, *[f"{h:.3f}" for h in s.hit_by_turn]] for s in summaries]))
    lines += ["", "Tool use (fraction of turns using each tool):", ""]
    lines.append(md_table(["system", "tools"], [[s.system, ", ".join(f"{n} {v:.2f}" for n, v in s.tools.items()) or "none"] for s in summaries]))
    lines += ["", f"Command: `{meta.get('command', '')}`; {meta.get('machine', '')}; {meta.get('date', '')}.", ""]
    return "\n".join(lines)


def plot(summaries: Sequence[Summary], path: Path, dataset: str = "ml-100k") -> Path:
    """Hit@k by turn, one line per system (matplotlib, Agg: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    n = max((s.users for s in summaries), default=0)
    for s in summaries:
        turns = list(range(1, len(s.hit_by_turn) + 1))
        # a system run on fewer users (the slow LLM baseline) is drawn dashed and says so
        label, style = (s.system, "-") if s.users == n else (f"{s.system} ({s.users} users)", "--")
        ax.plot(turns, s.hit_by_turn, style, marker="o", label=label)
    if summaries:
        k = summaries[0].k
        ax.set_title(f"Hit@{k} within t turns ({n} simulated {dataset.upper()} users)")
        ax.set_ylabel(f"Hit@{k} (cumulative)")
        ax.set_xticks(range(1, summaries[0].max_turns + 1))
    ax.set_xlabel("turn")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write(
    summaries: Sequence[Summary],
    sessions: dict[str, list[SessionRecord]],
    scripts: Sequence[UserScript],
    meta: dict,
    out_dir: Path,
    name: str = "simulator",
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    jpath, mpath = out_dir / f"{name}.json", out_dir / f"{name}.md"
    jpath.write_text(json.dumps(to_json(summaries, sessions, scripts, meta), ensure_ascii=False) + "\n", encoding="utf-8")
    mpath.write_text(to_markdown(summaries, meta), encoding="utf-8")
    return jpath, mpath
