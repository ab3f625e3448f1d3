"""Assemble docs/RELIABILITY.md from the fragments the reliability scripts write to docs/results/.

`python -m evals.reliability`. No figure is typed here: each fragment carries the command that measured it.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("docs/results")
OUT = Path("docs/RELIABILITY.md")

# (fragment, the command that writes it), in reading order
FRAGMENTS = [
    ("restart", "python -m evals.restart"),
    ("load", "python -m evals.load --users 50 --turns 6 --limits 2 4 8 16"),
    ("faults", "python -m evals.faults"),
    ("fuzz", "python -m evals.fuzz"),
]

INTRO = """# TalkRec reliability

How TalkRec behaves when it restarts, under load, when a part fails and when its input is hostile. Every
section below was written by the script it names, against real parts (a real `python app.py`, a real Chroma
server, real artifacts), on this project's 2-core CPU machine. Regenerate a section by running its command,
then `python -m evals.reliability`. The same behaviours are tested in `make test` (tests/test_restart.py,
tests/test_store.py, tests/test_faults.py, tests/test_chroma_server.py, tests/test_fuzz_*.py).

**Saved conversations.** Each browser tab's state (profile, history, liked/disliked/seen, constraints, shown
items, turns, the chat as shown, settings) is saved server-side in SQLite (`sessions.sqlite` in the artifacts
folder, or `TALKREC_SESSIONS_PATH`; WAL mode, one transaction per finished turn) under an unguessable key the
page keeps in the browser's localStorage. Reloading the page or restarting the server brings the conversation
and the cards back; "Start over as a new user" begins a new key and leaves the old conversation saved. A file
this version cannot use (not SQLite, damaged, another program's, an older or newer schema) is renamed aside
(`sessions.sqlite.unusable-DATE`), never deleted, and a fresh store starts; the visitor is told.
"""


def assemble(results: Path = RESULTS) -> tuple[str, list[str]]:
    """The report's text and the fragments that are missing (each named with the command that writes it)."""
    parts = [INTRO.strip(), ""]
    missing = []
    for name, command in FRAGMENTS:
        path = results / f"{name}.md"
        if path.exists():
            parts += [path.read_text().strip(), ""]
        else:
            missing.append(name)
            parts += [f"## {name}", "", f"Not measured yet: run `{command}`.", ""]
    return "\n".join(parts).rstrip() + "\n", missing


def main() -> None:
    text, missing = assemble()
    OUT.write_text(text)
    print(f"wrote {OUT}" + (f"; missing fragments: {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
