"""The restart test: a real `python app.py` is killed with SIGKILL in the middle of a turn, then started again.

`python -m evals.restart` writes docs/results/restart.json and .md; tests/test_restart.py runs the same
scenario and asserts on it. Two turns finish, the third is under way (its first frame has arrived) when
the server is killed; the sessions file is then checked straight from disk, a second server starts on it,
and the same key resumes the conversation, which goes on with a fourth message.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evals.appserver import KEY, RESPOND_CARDS, RESPOND_CHAT, RESUME_CARDS, RESUME_CHAT, AppServer, text_of
from evals.mdtable import md_table
from evals.runmeta import meta

log = logging.getLogger(__name__)

OUT_DIR = Path("docs/results")
TURNS = ("I loved Toy Story and Aladdin", "something scary from the 80s")
INTERRUPTED = "why the first one?"


@dataclass
class RestartResult:
    turns_finished_before_kill: int
    saved_before_kill: int  # turns in the file right after the kill, read from disk
    file_check: str  # PRAGMA quick_check after the kill
    killed_mid_turn: bool  # the killed turn had streamed its first frame and was not saved
    restart_s: float  # second server: start to serving the real app
    restored_turns: int
    restored_chat_equal: bool  # the chat as the user saw it before the kill
    restored_cards_equal: bool
    continued: bool  # "why the first one?" after the restart explains the restored first card
    saved_after: int
    notes: list[str] = field(default_factory=list)


def saved_turns(path: Path, key: str) -> tuple[int, str]:
    """(turns saved under key, PRAGMA quick_check), read-only from disk."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        row = conn.execute("SELECT state FROM tabs WHERE key = ?", (key,)).fetchone()
    finally:
        conn.close()
    return (len(json.loads(row[0])["session"]["turns"]) if row else 0), check


def kill_mid_turn(workdir: Path) -> RestartResult:
    from gradio_client import Client

    sessions = workdir / "sessions.sqlite"
    notes: list[str] = []
    with AppServer(sessions_path=sessions, log_path=workdir / "first.log") as first:
        client = Client(first.url, verbose=False)
        out = None
        for text in TURNS:
            out = client.predict(text, api_name="/respond")
        assert out is not None
        key, cards, chat = out[KEY], list(out[RESPOND_CARDS]), [text_of(m) for m in out[RESPOND_CHAT]]
        job = client.submit(INTERRUPTED, api_name="/respond")
        deadline = time.monotonic() + 30
        while not job.outputs() and time.monotonic() < deadline:  # the first streamed frame: the turn is under way
            time.sleep(0.005)
        started = bool(job.outputs())
        first.kill()
    saved_before, check = saved_turns(sessions, key)
    killed_mid_turn = started and saved_before == len(TURNS)
    if not started:
        notes.append("the interrupted turn had not begun when the server was killed")

    with AppServer(sessions_path=sessions, log_path=workdir / "second.log") as second:
        client = Client(second.url, verbose=False)
        back = client.predict(key, api_name="/resume")
        restored_chat = [text_of(m) for m in back[RESUME_CHAT]]
        restored_cards = list(back[RESUME_CARDS])
        first_card = cards[0].splitlines()[0].removeprefix("### ") if cards and cards[0] else ""
        again = client.predict(INTERRUPTED, api_name="/respond")
        continued = bool(first_card) and first_card in text_of(again[RESPOND_CHAT][-1])
        restart_s = second.start_s or float("nan")
    saved_after, _ = saved_turns(sessions, key)
    return RestartResult(
        turns_finished_before_kill=len(TURNS),
        saved_before_kill=saved_before,
        file_check=check,
        killed_mid_turn=killed_mid_turn,
        restart_s=round(restart_s, 1),
        restored_turns=sum(1 for m in back[RESUME_CHAT] if m["role"] == "user"),
        restored_chat_equal=restored_chat == chat,
        restored_cards_equal=restored_cards == cards,
        continued=continued,
        saved_after=saved_after,
        notes=notes,
    )


def passed(r: RestartResult) -> bool:
    return (
        r.killed_mid_turn
        and r.file_check == "ok"
        and r.restored_turns == r.turns_finished_before_kill
        and r.restored_chat_equal
        and r.restored_cards_equal
        and r.continued
        and r.saved_after == r.turns_finished_before_kill + 1
    )


def render(report: dict) -> str:
    r = report["result"]
    m = report["meta"]
    yn = {True: "yes", False: "**no**"}
    rows = [
        ["turns finished before the kill", r["turns_finished_before_kill"]],
        ["the killed turn had begun (first frame streamed) and was not saved", yn[r["killed_mid_turn"]]],
        ["turns in the file right after SIGKILL", r["saved_before_kill"]],
        ["file integrity after SIGKILL (`PRAGMA quick_check`)", r["file_check"]],
        ["second server ready after (s)", f"{r['restart_s']:.1f}"],
        ["turns restored under the same key", r["restored_turns"]],
        ["chat restored exactly as shown", yn[r["restored_chat_equal"]]],
        ["cards restored exactly as shown", yn[r["restored_cards_equal"]]],
        ["next turn refers to the restored cards (“why the first one?”)", yn[r["continued"]]],
        ["turns saved after that turn", r["saved_after"]],
    ]
    verdict = "**passed**: SIGKILL mid-turn lost only that turn" if report["passed"] else "**failed**"
    lines = [
        "## Restart: SIGKILL in the middle of a turn",
        "",
        f"Command: `{m['command']}` ({m['date']}; {m['machine']}). The same scenario runs in `make test` (tests/test_restart.py).",
        "",
        f"A real `python app.py`; an API client says {', '.join(f'“{t}”' for t in TURNS)}, then “{INTERRUPTED}”, and the server is killed "
        "with SIGKILL as soon as that turn's first frame arrives. A second server starts on the same sessions file and the client resumes "
        "with its key.",
        "",
        md_table(["check", "result"], rows),
        "",
        f"Result: {verdict}.",
    ]
    if r["notes"]:
        lines += ["", "Notes: " + "; ".join(r["notes"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="talkrec-restart-") as tmp:
        result = kill_mid_turn(Path(tmp))
    report = {"meta": meta("evals.restart"), "result": asdict(result), "passed": passed(result)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "restart.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "restart.md").write_text(render(report))
    print(render(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
