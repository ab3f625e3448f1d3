"""The repository as a Hugging Face Space: requirements.txt installs into a fresh venv, and `python app.py`
comes up with the network limited to loopback and answers a chat over the API.

Slow (a full dependency install: several minutes), so marked `slow`: `pytest -m slow tests/test_space.py`.
The network is cut with a private network namespace (`unshare -rn`, loopback only); the app uses the
artifacts `make prepare` built, as a Space does with a persistent /data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / "test-artifacts" / "space"


def _unshare_works() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30)
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -rn` (user + network namespaces) and `ip` to run offline"),
]

# Runs inside the namespace with the fresh venv's python: checks the network is gone, starts the app,
# waits for it, chats once through gradio_client, prints one JSON line.
CHECK = r"""
import json, os, socket, subprocess, sys, time, urllib.request
repo, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.settimeout(3)
try:
    s.connect(("1.1.1.1", 443)); net = "open"
except OSError:
    net = "blocked"
env = {k: v for k, v in os.environ.items() if k not in ("GRADIO_SERVER_NAME", "PYTHONPATH", "VIRTUAL_ENV")}
env["GRADIO_SERVER_PORT"] = str(port)
with open(log_path, "w") as log:
    app = subprocess.Popen([sys.executable, "app.py"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url, title, t0 = f"http://127.0.0.1:{port}/", None, time.time()
        while time.time() - t0 < 300 and app.poll() is None:
            try:
                title = json.load(urllib.request.urlopen(url + "config", timeout=5)).get("title")
            except OSError:
                title = None
            if title == "TalkRec":
                break
            time.sleep(1)
        up_s = round(time.time() - t0, 1)
        from gradio_client import Client
        out = Client(url, verbose=False).predict("I loved Toy Story and Aladdin", api_name="/respond")
        chat = out[1]
        text = lambda m: m["content"] if isinstance(m["content"], str) else "".join(p.get("text", "") for p in m["content"])
        print(json.dumps({"net": net, "title": title, "up_s": up_s, "reply": text(chat[-1]), "cards": [c for c in out[6:11] if c]}))
    finally:
        app.terminate()
        app.wait(timeout=30)
"""


def test_space_installs_from_requirements_and_answers_offline(tmp_path) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    venv = tmp_path / "venv"
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(py), "-m", "pip", "install", "--quiet"]
    with open(LOGS / "pip.log", "w") as log:
        # CPU torch first, as make does: the pin then keeps it (a bare resolve could pick a CUDA build)
        subprocess.run([*pip, "torch==2.13.0"], check=True, stdout=log, stderr=subprocess.STDOUT, timeout=1200)
        subprocess.run([*pip, "-r", str(REPO / "requirements.txt")], check=True, stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    script = tmp_path / "space_check.py"
    script.write_text(CHECK)
    port = 7800 + os.getpid() % 100  # a fresh namespace has every port free
    inner = f"ip link set lo up && exec {py} {script} {REPO} {port} {LOGS / 'app.log'}"
    done = subprocess.run(["unshare", "-rn", "sh", "-c", inner], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:] + (LOGS / "app.log").read_text()[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["net"] == "blocked", "the check must run without a network"
    assert result["title"] == "TalkRec", "the real app (not the first-start page) answered"
    assert len(result["cards"]) == 5
    for card in result["cards"]:
        assert card.splitlines()[0].removeprefix("### ") in result["reply"]
    (LOGS / "result.json").write_text(json.dumps(result, indent=2))
