"""Conversations that survive a page reload and a server restart: one SQLite file of browser tabs.

Each tab is a row keyed by an unguessable id that the page keeps in the browser (gr.BrowserState); the row
holds the tab's whole state as JSON (the Session, the chat as shown, the settings). A turn is saved in one
transaction once it has finished, so a crash in the middle of a turn (even `kill -9`) loses at most that
turn. The file is in WAL mode: readers never wait for the writer, and a crash leaves it consistent.

A file this version cannot use (not SQLite, damaged, another application's, an older or newer schema) is
never deleted: it is renamed aside next to the original and a fresh store starts, with a warning in the log
and a notice for the visitor whose conversation could not be restored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from data.errors import TalkRecError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# PRAGMA application_id marks the file as TalkRec's ("TRec"), so another program's SQLite file is not mistaken for ours.
APPLICATION_ID = 0x54526563
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")  # secrets.token_urlsafe(24)

SCHEMA = """
CREATE TABLE tabs (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,      -- the tab as JSON (app.controller.tab_to_dict)
    created REAL NOT NULL,    -- unix seconds
    updated REAL NOT NULL
);
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(TalkRecError):
    """The sessions file cannot be written (disk full, read-only folder): the conversation goes on unsaved."""


class UnusableStore(TalkRecError):
    """The sessions file exists but this version cannot use it; it is set aside and a fresh one started."""


def new_key() -> str:
    """An unguessable tab id (192 random bits): whoever holds it can resume that conversation."""
    return secrets.token_urlsafe(24)


def valid_key(key: object) -> bool:
    return isinstance(key, str) and bool(KEY_PATTERN.match(key))


class SessionStore:
    """Saved tabs in one SQLite file; safe to share between Gradio's worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.set_aside: Path | None = None  # where an unusable earlier file went, if one did
        self.reason: str | None = None  # why it was set aside
        self._lock = threading.Lock()
        self._conn = self._open()

    # -- opening -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the sessions file {self.path} ({exc}); set TALKREC_SESSIONS_PATH to a writable file") from exc

    def _open(self) -> sqlite3.Connection:
        conn = self._connect()
        try:
            self._check_or_init(conn)
            return conn
        except (sqlite3.DatabaseError, UnusableStore) as exc:
            conn.close()
            if not self.path.exists():  # nothing to set aside: the folder itself is the problem
                raise StoreError(f"cannot create the sessions file {self.path} ({exc}); set TALKREC_SESSIONS_PATH to a writable file") from exc
            self.reason = str(exc)
        self.set_aside = self._move_aside()
        log.warning("the sessions file %s could not be used (%s); it was kept at %s and a fresh one started", self.path, self.reason, self.set_aside)
        conn = self._connect()
        self._check_or_init(conn)
        return conn

    def _check_or_init(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]  # raises DatabaseError on a non-SQLite file
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id == 0 and version == 0 and not tables:  # a new, empty file
            conn.executescript(f"BEGIN; {SCHEMA} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        elif app_id != APPLICATION_ID:
            raise UnusableStore("it is not a TalkRec sessions file")
        elif version != SCHEMA_VERSION:
            older = "an older" if version < SCHEMA_VERSION else "a newer"
            raise UnusableStore(f"it was written by {older} TalkRec (schema {version}; this version reads schema {SCHEMA_VERSION})")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise UnusableStore(f"it is damaged ({check})")
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a crash of this process (WAL); only a power cut may lose the last turn.
        conn.execute("PRAGMA synchronous=NORMAL")

    def _move_aside(self) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.unusable-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.unusable-{stamp}-{n}")
            n += 1
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                part.rename(Path(str(target) + suffix))
        return target

    @property
    def notice(self) -> str:
        """What to tell a visitor whose saved conversation was in a file that had to be set aside."""
        if self.set_aside is None:
            return ""
        return (
            f"Your earlier conversation could not be restored: the saved-conversations file could not be read ({self.reason}). "
            f"It was kept at {self.set_aside.name}; you are starting fresh."
        )

    # -- rows ----------------------------------------------------------------------------------
    def save(self, key: str, state: dict[str, Any]) -> None:
        """Write a tab in one transaction (insert or replace)."""
        if not valid_key(key):
            raise StoreError(f"refusing to save under a malformed key {key[:40]!r}")
        text = json.dumps(state, ensure_ascii=False)
        now = time.time()
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.execute(
                        "INSERT INTO tabs (key, state, created, updated) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                        (key, text, now, now),
                    )
                except sqlite3.Error:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"could not save the conversation to {self.path} ({exc}); check free disk space and the folder's permissions") from exc

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved tab, or None when there is none under that key (or the key is malformed)."""
        if not valid_key(key):
            return None
        with self._lock:
            row = self._conn.execute("SELECT state FROM tabs WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            state = json.loads(row[0])
        except json.JSONDecodeError as exc:
            raise UnusableStore(f"the saved conversation {key[:6]}… is not valid JSON ({exc})") from exc
        if not isinstance(state, dict):
            raise UnusableStore(f"the saved conversation {key[:6]}… is not a JSON object")
        return state

    def keys(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT key FROM tabs ORDER BY created")]

    def secret(self) -> str:
        """The key that encrypts the tab id in the browser's localStorage; kept here so a restart can still read it."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE name = 'browser_secret'").fetchone()
            if row is not None:
                return row[0]
            value = secrets.token_urlsafe(32)
            self._conn.execute("INSERT INTO meta (name, value) VALUES ('browser_secret', ?)", (value,))
            return value

    def close(self) -> None:
        with self._lock:
            self._conn.close()
