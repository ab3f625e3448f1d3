"""A real `python app.py` killed with SIGKILL in the middle of a turn loses at most that turn.

Two server processes in turn over one sessions file (evals/restart.py): the first is killed while it
streams the third reply; the second restores the first two turns, cards included, and the conversation
goes on. Each check below is one way persistence could fail.
"""

from __future__ import annotations

import pytest

from evals.restart import kill_mid_turn, passed

pytestmark = pytest.mark.timeout(400)


def test_kill_9_mid_turn_loses_only_that_turn(tmp_path) -> None:
    r = kill_mid_turn(tmp_path)
    assert r.saved_before_kill == 2, "both finished turns were on disk before the kill"
    assert r.killed_mid_turn, "the third turn had begun and was not half-saved (if it was saved, the kill came too late)"
    assert r.file_check == "ok", "SIGKILL left the SQLite file intact"
    assert r.restored_turns == 2 and r.restored_chat_equal, "the chat comes back exactly as the user saw it"
    assert r.restored_cards_equal, "and so do the cards of the last list"
    assert r.continued, "“why the first one?” after the restart explains the restored first card"
    assert r.saved_after == 3
    assert passed(r)
