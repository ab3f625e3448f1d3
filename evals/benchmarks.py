"""Assemble docs/BENCHMARKS.md from the fragments the benchmark scripts write to docs/results/*.md.

`python -m evals.benchmarks`. No figure is typed here: each fragment carries its own command.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("docs/results")
ORDER = [
    "seqrec",
    "seqrec_ablation",
    "seqrec_ablation_shift",
    "recbole",
    "retrieval",
    "rerank",
    "llm_models",
    "gpu_check",
    "agent_latency",
    "tool_choice",
]


def main() -> None:
    parts = [
        "# TalkRec benchmarks",
        "",
        "Every table below was written by the script named in its section, on this project's 2-core CPU "
        "machine unless it says otherwise. Regenerate a section by running its command, then `python -m evals.benchmarks`.",
        "",
    ]
    names = [n for n in ORDER if (RESULTS / f"{n}.md").is_file()]
    names += sorted(p.stem for p in RESULTS.glob("*.md") if p.stem not in ORDER and p.stem not in ("dialogues", "simulator"))
    for name in names:
        parts += [(RESULTS / f"{name}.md").read_text().strip(), ""]
    Path("docs/BENCHMARKS.md").write_text("\n".join(parts).rstrip() + "\n")
    print(f"wrote docs/BENCHMARKS.md from {len(names)} fragments: {', '.join(names)}")


if __name__ == "__main__":
    main()
