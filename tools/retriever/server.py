"""A real Chroma server (`chroma run` from the chromadb package) on loopback, as a child process.

For tests, fault scripts and benchmarks that need the retriever behind a server:

    with ChromaServer(Path("artifacts/chroma-server"), port=8123) as srv:
        open_retriever(artifacts_dir, dataset, chroma_host=srv.host, chroma_port=srv.port)
        srv.stop()   # the server goes away mid-conversation
        srv.start()  # same data folder, same port: the index is back

The server's output goes to `chroma-server.log` inside the data folder, never to the console. pause() and
resume() freeze and thaw the process (SIGSTOP / SIGCONT): a server that accepts connections but never answers.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from data.errors import BackendUnavailable, MissingArtifact

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # loopback only: this helper never exposes the index to the network


def chroma_binary() -> Path:
    """The `chroma` CLI installed next to this interpreter (the venv's own, not one found on PATH)."""
    path = Path(sys.executable).parent / "chroma"
    if not path.is_file():
        raise MissingArtifact(f"no `chroma` command at {path}; install the requirements into this environment (`make install`), chromadb ships it")
    return path


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether nothing listens on the port (connections of a stopped server left in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


class ChromaServer:
    """`chroma run --path PATH --host 127.0.0.1 --port PORT`; `start()` waits until /heartbeat answers.

    `stop()` and `start()` may be called any number of times; the data folder and port stay the same, so
    a stopped server comes back with the index it had. Use it as a context manager (`with ChromaServer(...)`)
    or call start() and stop() yourself."""

    def __init__(self, path: Path, port: int | None = None, start_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.host = HOST
        self.port = port if port is not None else free_port()
        self.start_timeout_s = start_timeout_s
        self.log_path = self.path / "chroma-server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ChromaServer:
        """Start the server (a no-op when it is already running) and wait for its heartbeat."""
        if self.running:
            return self
        chroma = chroma_binary()
        if not port_is_free(self.port):  # else the heartbeat below could come from whatever holds the port
            raise BackendUnavailable(f"port {self.port} on {self.host} is already in use; stop what listens there or pick another port")
        self.path.mkdir(parents=True, exist_ok=True)
        cmd = [str(chroma), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)]
        log.info("starting %s (log: %s)", " ".join(cmd), self.log_path)
        with open(self.log_path, "ab") as out:  # the child keeps its own handle
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_for_heartbeat()
        return self

    def stop(self, timeout_s: float = 20.0) -> None:
        """Terminate the server and wait for it to exit (killed if it does not within timeout_s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        if self._paused:
            self.resume(proc)  # a stopped process would not act on SIGTERM
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("chroma server on port %d ignored SIGTERM for %.0f s; killing it", self.port, timeout_s)
            proc.kill()
            proc.wait(timeout=10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted by the kernel, nothing answers."""
        if not self.running:
            raise BackendUnavailable(f"the Chroma server on port {self.port} is not running; start() it before pause()")
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        """Thaw a paused server (SIGCONT)."""
        proc = proc or self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
        self._paused = False

    def _wait_for_heartbeat(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        url = f"{self.url}/api/v2/heartbeat"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as exc:  # not listening yet: retried until the deadline
                last = str(exc)
            assert self._proc is not None
            exited = self._proc.poll()
            if exited is not None or time.monotonic() > deadline:
                self.stop()
                why = f"exited with status {exited}" if exited is not None else f"did not answer {url} within {self.start_timeout_s:.0f} s ({last})"
                raise BackendUnavailable(
                    f"the Chroma server on port {self.port} {why}; read {self.log_path} (a port already in use or an "
                    f"unwritable {self.path} are the usual causes), then pick another port or folder"
                )
            time.sleep(0.2)

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
