"""Saved conversations: a tab round-trips through SQLite, and a file this version cannot use is set aside, never lost."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app import views
from app.controller import Controller, TabState, tab_to_dict
from app.store import SCHEMA_VERSION, SessionStore, StoreError, new_key, valid_key


@pytest.fixture()
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions.sqlite")


@pytest.fixture()
def ctl(services, store) -> Controller:
    return Controller(services, ["embedded"], stream_delay_s=0.0, store=store)


def chat(ctl: Controller, tab: TabState, text: str) -> TabState:
    for state in ctl.respond(text, tab):
        tab = state
    return tab


def test_a_finished_turn_is_saved_and_a_new_page_load_restores_it(ctl, store) -> None:
    tab = chat(ctl, ctl.resume(None, None), "I loved Toy Story and Aladdin")
    tab = chat(ctl, tab, "something scary from the 80s")
    ctl.feedback(0, "liked", tab)
    ctl.save(tab)
    assert store.keys() == [tab.key]
    # a fresh Controller over a fresh connection to the same file: what a restarted server sees
    again = Controller(ctl.services, ["embedded"], stream_delay_s=0.0, store=SessionStore(store.path))
    back = again.resume(tab.key, None)
    assert back.key == tab.key and "restored" in back.notice
    assert back.session.to_json() == tab.session.to_json()
    assert back.messages == tab.messages
    assert [c.item_id for c in views.cards(back.session, ctl.catalog)] == [c.item_id for c in views.cards(tab.session, ctl.catalog)]
    assert back.session.liked == tab.session.liked and len(back.session.turns) == 2
    # and the restored conversation goes on: "why the first one?" explains the restored first card
    first = views.cards(back.session, ctl.catalog)[0]
    back = chat(again, back, "why the first one?")
    assert first.label in back.messages[-1]["content"]


def test_an_unknown_or_malformed_key_gets_a_fresh_tab(ctl) -> None:
    for key in ("", None, new_key(), "x" * 32 + "'; DROP TABLE tabs; --", "../../etc/passwd"):
        tab = ctl.resume(key, None)
        assert tab.messages == [] and tab.session.history == [] and valid_key(tab.key)
        assert tab.key != key


def test_start_over_gets_a_new_key_and_keeps_the_earlier_conversation(ctl, store) -> None:
    tab = chat(ctl, ctl.resume(None, None), "I loved Alien and Heat")
    fresh = ctl.save(ctl.new_user(tab))
    assert fresh.key != tab.key and fresh.messages == []
    assert set(store.keys()) == {tab.key, fresh.key}
    assert ctl.resume(tab.key, None).session.history == tab.session.history


def test_reset_keeps_the_key(ctl) -> None:
    tab = chat(ctl, ctl.resume(None, None), "I loved Alien and Heat")
    assert ctl.reset(tab).key == tab.key


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (lambda p: p.write_bytes(b"this is not a database\x00" * 200), "not a database"),
        (lambda p: _sqlite(p, "CREATE TABLE notes (x)", app_id=0, version=0), "not a TalkRec sessions file"),
        (lambda p: _sqlite(p, "CREATE TABLE tabs (key TEXT)", app_id=0x54526563, version=0), "older TalkRec"),
        (lambda p: _sqlite(p, "CREATE TABLE tabs (key TEXT)", app_id=0x54526563, version=SCHEMA_VERSION + 1), "newer TalkRec"),
    ],
    ids=["garbage", "another-app", "old-schema", "newer-schema"],
)
def test_an_unusable_file_is_set_aside_with_a_message_and_a_fresh_store_starts(tmp_path, make_bad, reason) -> None:
    path = tmp_path / "sessions.sqlite"
    make_bad(path)
    before = path.read_bytes()
    store = SessionStore(path)
    assert store.set_aside is not None and store.set_aside.exists(), "the bad file is kept"
    assert store.set_aside.read_bytes() == before, "kept byte for byte"
    assert reason in store.reason and store.set_aside.name in store.notice
    key = new_key()
    store.save(key, {"format": 1})
    assert SessionStore(path).load(key) == {"format": 1}, "the fresh store works and is reopened without complaint"


def test_a_truncated_file_is_set_aside(tmp_path) -> None:
    path = tmp_path / "sessions.sqlite"
    store = SessionStore(path)
    for _ in range(50):
        store.save(new_key(), {"format": 1, "pad": "x" * 5000})
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    reopened = SessionStore(path)
    assert reopened.set_aside is not None and reopened.set_aside.stat().st_size == len(data) // 3
    assert reopened.keys() == []


def test_a_row_this_version_cannot_read_is_kept_and_the_visitor_told(ctl, store) -> None:
    key = new_key()
    store.save(key, {"format": 99, "session": {}})
    tab = ctl.resume(key, None)
    assert tab.key != key and "could not be restored" in tab.notice and "format" in tab.notice
    assert store.load(key) == {"format": 99, "session": {}}, "the unreadable row is left as it was"


def test_a_conversation_from_another_dataset_is_kept_but_not_shown_as_this_catalogs_films(ctl, store) -> None:
    tab = chat(ctl, ctl.resume(None, None), "I loved Toy Story and Aladdin")
    ctl.save(tab)
    saved = store.load(tab.key)
    assert saved["dataset"] == f"{ctl.services.dataset.name}@{ctl.services.dataset.version}"
    # the same row as a server on ML-1M would find it: item ids there are other films
    store.save(tab.key, {**saved, "dataset": "ml-1m@0123456789abcdef-p1"})
    fresh = ctl.resume(tab.key, None)
    assert fresh.key != tab.key and fresh.session.history == [] and not fresh.messages
    assert "ml-1m@0123456789abcdef-p1" in fresh.notice and "TALKREC_DATASET=ml-1m" in fresh.notice
    assert store.load(tab.key)["dataset"] == "ml-1m@0123456789abcdef-p1", "the other dataset's row is left as it was"
    # a row saved before the dataset was recorded is still restored
    store.save(tab.key, {k: v for k, v in saved.items() if k != "dataset"})
    assert ctl.resume(tab.key, None).messages == tab.messages


def test_a_visitor_whose_file_was_set_aside_is_told(services, tmp_path) -> None:
    path = tmp_path / "sessions.sqlite"
    path.write_bytes(b"garbage" * 100)
    ctl = Controller(services, ["embedded"], stream_delay_s=0.0, store=SessionStore(path))
    tab = ctl.resume(new_key(), None)
    assert "could not be restored" in tab.notice and ".unusable-" in tab.notice


def test_saving_under_a_malformed_key_is_refused(store) -> None:
    with pytest.raises(StoreError, match="malformed key"):
        store.save("short", {})
    assert store.load("short") is None


def test_an_unwritable_location_says_how_to_fix_it(tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="TALKREC_SESSIONS_PATH"):
        SessionStore(blocker / "sessions.sqlite")


def test_a_failed_save_is_said_in_the_notice_and_the_turn_goes_on(ctl, store) -> None:
    store.close()  # every write now fails, as with a vanished disk
    tab = chat(ctl, ctl.resume(None, None), "I loved Toy Story")
    assert "could not be saved" in tab.notice
    assert tab.messages[-1]["role"] == "assistant" and len(tab.session.turns) == 1


def test_concurrent_saves_from_many_threads_all_land(store, services) -> None:
    tabs = [TabState(services.new_session()) for _ in range(16)]

    def write(t: TabState) -> None:
        for i in range(10):
            t.notice = f"step {i}"
            store.save(t.key, tab_to_dict(t))

    threads = [threading.Thread(target=write, args=(t,)) for t in tabs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(store.keys()) == sorted(t.key for t in tabs)
    assert all(store.load(t.key)["notice"] == "step 9" for t in tabs)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


def _sqlite(path: Path, ddl: str, *, app_id: int, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(ddl)
    conn.execute(f"PRAGMA application_id={app_id}")
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()
