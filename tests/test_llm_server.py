"""The OpenAI-compatible server (`python -m agents.llm.serve`) and the openai backend, over real HTTP on
127.0.0.1 with the real openai SDK and LangChain's ChatOpenAI (no patched clients)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from agents.llm.base import BackendUnavailable, Message, ToolSpec
from agents.llm.embedded import ensure_converted
from agents.llm.hf import HFBackend
from agents.llm.openai_backend import OpenAIBackend
from agents.llm.serve import build_app

REPO = Path(__file__).resolve().parent.parent
LOOKUP = ToolSpec("lookup_movie", "Look up a movie by title.", {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(url + "/models", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"server at {url} did not start in {timeout}s")


@pytest.fixture(scope="module")
def embedded_server(settings) -> Iterator[str]:
    """The real CLI in a subprocess, serving the embedded model."""
    ensure_converted(settings.artifacts_dir)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TALKREC_ARTIFACTS_DIR": str(settings.artifacts_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.llm.serve", "--backend", "embedded", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Script:
    def __init__(self, *outputs: str, delay_s: float = 0.0) -> None:
        self.outputs, self.prompts, self.delay_s = list(outputs), [], delay_s

    def __call__(self, prompt: str, max_tokens: int, temperature: float) -> Iterator[str]:
        self.prompts.append(prompt)
        time.sleep(self.delay_s)
        yield from re.findall(r"\S+\s*", self.outputs.pop(0))  # word pieces, spaces kept


@pytest.fixture
def scripted_server(settings):
    """The same FastAPI app in-process (uvicorn on a thread) over a backend whose generator is scripted."""
    servers = []

    def start(script: Script) -> str:
        backend = HFBackend(ensure_converted(settings.artifacts_dir), name="embedded", generator=script)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(build_app(backend, "talkrec-embedded"), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{port}/v1"
        wait_ready(url)
        return url

    yield start
    for s in servers:
        s.should_exit = True


def test_openai_sdk_chat_and_stream_against_the_embedded_model(embedded_server):
    import openai

    client = openai.OpenAI(base_url=embedded_server, api_key="unused", timeout=60)
    assert [m.id for m in client.models.list()] == ["talkrec-embedded"]
    resp = client.chat.completions.create(
        model="talkrec-embedded", messages=[{"role": "user", "content": "Name one famous movie."}], max_tokens=12, temperature=0
    )
    text = resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop" and isinstance(text, str) and len(text.strip()) > 0
    stream = client.chat.completions.create(
        model="talkrec-embedded", messages=[{"role": "user", "content": "Name one famous movie."}], max_tokens=12, temperature=0, stream=True
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1
    assert "".join(pieces).strip() == text.strip()  # greedy decoding: streaming gives the same reply


def test_openai_backend_and_chatopenai_against_the_embedded_model(embedded_server, monkeypatch):
    backend = OpenAIBackend("talkrec-embedded", base_url=embedded_server, timeout_s=60)
    reply = backend.chat([Message("user", "Say hello.")], max_tokens=8)
    assert reply.role == "assistant" and reply.content and not reply.tool_calls
    assert "".join(backend.stream([Message("user", "Say hello.")], max_tokens=8)).strip() == reply.content.strip()
    with pytest.raises(BackendUnavailable, match="embedded or hf backend"):
        backend.score(["a"], ["b"])
    chat = backend.as_langchain()
    assert chat.use_responses_api is False
    msg = chat.invoke("Say hello.", max_tokens=8)
    assert isinstance(msg, AIMessage) and msg.content.strip() == reply.content.strip()
    assert len(list(chat.stream("Say hello.", max_tokens=8))) > 1


def test_tool_call_round_trip_over_http_with_create_agent(scripted_server):
    script = Script('<tool_call> {"name": "lookup_movie", "arguments": {"title": "Heat"}} </tool_call>', "Heat (1995) is a crime thriller.")
    url = scripted_server(script)
    calls: list[str] = []

    @tool
    def lookup_movie(title: str) -> str:
        """Look up a movie by title."""
        calls.append(title)
        return "Heat (1995): Action, Crime, Thriller"

    chat = OpenAIBackend("talkrec-embedded", base_url=url, timeout_s=30).as_langchain()
    result = create_agent(chat, tools=[lookup_movie]).invoke({"messages": [{"role": "user", "content": "Tell me about Heat"}]})
    msgs = result["messages"]
    assert calls == ["Heat"]
    assert msgs[1].tool_calls[0]["args"] == {"title": "Heat"} and isinstance(msgs[2], ToolMessage)
    assert msgs[-1].content == "Heat (1995) is a crime thriller."
    assert '"name": "lookup_movie"' in script.prompts[0]  # the tools reached the template
    assert "Heat (1995): Action, Crime, Thriller" in script.prompts[1]  # the tool result reached the model


def test_openai_sdk_streams_tool_calls(scripted_server):
    import openai

    url = scripted_server(Script('<tool_call> {"name": "lookup_movie", "arguments": {"title": "Fargo"}} </tool_call>'))
    client = openai.OpenAI(base_url=url, api_key="unused")
    chunks = list(
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Fargo?"}], tools=[LOOKUP.to_openai()], stream=True)
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].function.name == "lookup_movie" and deltas[0].function.arguments == '{"title": "Fargo"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_malformed_tool_call_is_a_clear_http_error(scripted_server):
    import openai

    url = scripted_server(Script('<tool_call> {"name": "lookup_movie", "arguments": </tool_call>'))
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError, match="not valid JSON"):
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}], tools=[LOOKUP.to_openai()])


def test_backend_errors_name_the_fix(scripted_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    down = OpenAIBackend("m", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout_s=2, max_retries=0)
    with pytest.raises(BackendUnavailable, match=r"cannot reach .*start the server"):
        down.chat([Message("user", "hi")])
    slow = OpenAIBackend("m", base_url=scripted_server(Script("late", delay_s=3.0)), timeout_s=0.5, max_retries=0)
    with pytest.raises(BackendUnavailable, match="did not answer within"):
        slow.chat([Message("user", "hi")])
