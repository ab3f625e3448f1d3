"""A real `python app.py` in its own process on 127.0.0.1, for the load test, the fault script and the restart test.

Loopback only, on a free port; start-up waits until the real app (not the first-start progress page)
answers; `kill()` is SIGKILL, as a crash would be; leaving the `with` block always ends the process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from data.errors import TalkRecError
from data.settings import REPO_ROOT
from tools.retriever.server import free_port

APP_TITLE = "TalkRec"


class AppServerError(TalkRecError):
    """The app process did not come up (its log says why)."""


# The app's API outputs as gradio_client returns them (gr.State and layout columns are not part of them).
# respond: the cleared textbox, chat, favourites, profile, notice, "no cards" note, the 5 cards, ..., the tab key last;
# resume (the page's load event): the same without the textbox in front.
RESPOND_CHAT, RESPOND_FAVOURITES, RESPOND_CARDS = 1, 2, slice(6, 11)
RESUME_CHAT, RESUME_CARDS = 0, slice(5, 10)
KEY = -1


def text_of(message: dict[str, Any]) -> str:
    """A chat message's text; gradio_client returns content as a string or a list of typed parts."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


class AppServer:
    def __init__(
        self,
        *,
        sessions_path: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        start_timeout_s: float = 240.0,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = Path(log_path)
        self.start_timeout_s = start_timeout_s
        self.env = {
            **os.environ,
            "TALKREC_HOST": "127.0.0.1",
            "TALKREC_PORT": str(self.port),
            "TALKREC_SESSIONS_PATH": str(sessions_path),
            **(env or {}),
        }
        for var in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "SPACE_ID"):  # they would override the address
            self.env.pop(var, None)
        self.proc: subprocess.Popen | None = None
        self.start_s: float | None = None

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.perf_counter()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AppServerError(f"app.py exited with code {self.proc.returncode} during start-up; see {self.log_path}")
            if self._title() == APP_TITLE:
                self.start_s = time.perf_counter() - t0
                return
            time.sleep(0.5)
        self.stop()
        raise AppServerError(f"app.py did not answer on {self.url} within {self.start_timeout_s:.0f} s; see {self.log_path}")

    def _title(self) -> str | None:
        try:
            with urllib.request.urlopen(self.url + "config", timeout=2) as r:
                return json.loads(r.read()).get("title")
        except (urllib.error.URLError, OSError, ValueError):
            return None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "start() first"
        return self.proc.pid

    def peak_rss_mib(self) -> float | None:
        """The process's peak resident memory so far (Linux /proc VmHWM), in MiB."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server process has used so far, from /proc/PID/stat."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no handler runs, nothing is flushed."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
