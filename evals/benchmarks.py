"""Assemble docs/BENCHMARKS.md from the fragments the benchmark scripts write to docs/results/*.md.

`python -m evals.benchmarks`. No figure is typed here: each fragment carries its own command.
"""

from __future__ import annotations

from pathlib import Path

from evals.run import fragments


def main() -> None:
    parts = [
        "# TalkRec benchmarks",
        "",
        "Every table below was written by the script named in its section, on this project's 2-core CPU "
        "machine unless it says otherwise. Regenerate a section by running its command, then `python -m evals.benchmarks`.",
        "",
    ]
    frags = fragments()  # the same fragments, in the same order, as docs/EVALS.md gathers
    for _, text in frags:
        parts += [text.strip(), ""]
    Path("docs/BENCHMARKS.md").write_text("\n".join(parts).rstrip() + "\n")
    print(f"wrote docs/BENCHMARKS.md from {len(frags)} fragments: {', '.join(name for name, _ in frags)}")


if __name__ == "__main__":
    main()
