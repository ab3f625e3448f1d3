"""A real `python app.py` killed with SIGKILL in the middle of a turn loses at most that turn.

Two server processes in turn over one sessions file: the first is killed while it streams the third reply;
the second restores the first two turns, cards included, and the conversation goes on.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from evals.appserver import AppServer
from tests.test_app_api import CARDS, CHAT, text_of

KEY = -1  # respond's and resume's last API output: the tab's key in the sessions store
# resume's outputs are respond's without the cleared textbox in front
RESUME_CHAT, RESUME_CARDS = CHAT - 1, slice(CARDS.start - 1, CARDS.stop - 1)

pytestmark = pytest.mark.timeout(400)


def stored_turns(path: Path, key: str) -> int:
    """Turns saved for `key`, read straight from the file (read-only), with the file's integrity checked."""
    import json

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        row = conn.execute("SELECT state FROM tabs WHERE key = ?", (key,)).fetchone()
    finally:
        conn.close()
    return len(json.loads(row[0])["session"]["turns"]) if row else 0


def test_kill_9_mid_turn_loses_only_that_turn(tmp_path) -> None:
    from gradio_client import Client

    sessions = tmp_path / "sessions.sqlite"
    with AppServer(sessions_path=sessions, log_path=tmp_path / "first.log") as first:
        client = Client(first.url, verbose=False)
        client.predict("I loved Toy Story and Aladdin", api_name="/respond")
        out = client.predict("something scary from the 80s", api_name="/respond")
        key, cards, chat = out[KEY], list(out[CARDS]), out[CHAT]
        assert stored_turns(sessions, key) == 2
        job = client.submit("why the first one?", api_name="/respond")
        deadline = time.monotonic() + 30
        while not job.outputs() and time.monotonic() < deadline:  # the first streamed frame: the turn has begun
            time.sleep(0.005)
        assert job.outputs(), "the third turn never started"
        first.kill()  # SIGKILL: no clean-up of any kind
    assert stored_turns(sessions, key) == 2, "the interrupted turn is not half-saved (if 3, the kill came too late)"

    with AppServer(sessions_path=sessions, log_path=tmp_path / "second.log") as second:
        client = Client(second.url, verbose=False)
        back = client.predict(key, api_name="/resume")
        assert back[KEY] == key
        assert [text_of(m) for m in back[RESUME_CHAT]] == [text_of(m) for m in chat], "both finished turns are back, as shown"
        assert list(back[RESUME_CARDS]) == cards, "and so are the cards of the last list"
        users = [text_of(m) for m in back[RESUME_CHAT] if m["role"] == "user"]
        assert users == ["I loved Toy Story and Aladdin", "something scary from the 80s"]
        # the conversation goes on where it was: "the first one" is the restored first card
        first_card = cards[0].splitlines()[0].removeprefix("### ")
        again = client.predict("why the first one?", api_name="/respond")
        assert first_card in text_of(again[CHAT][-1])
        assert stored_turns(sessions, key) == 3
