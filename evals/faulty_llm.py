"""A small misbehaving OpenAI-compatible server on 127.0.0.1, for fault injection (evals.faults, tests).

`FaultyLLM` answers /v1/chat/completions in one of several modes, switchable while it runs:
- "ok": a valid reply the way a capable model would give it: the structured-output requests of the llm
  policy (slots, per-item reasons) get schema-valid JSON, a request offering TalkRec's tools gets one
  tool call (search_by_description with the user's own words), and the request after a tool result gets
  two plain sentences;
- "http500": every request is answered HTTP 500 with an OpenAI-style error body;
- "hang": the answer waits `hang_s` (longer than the client's timeout) before it is sent;
- "malformed_tool_json": like "ok", but the tool call's arguments are cut-off JSON;
- "wrong_tool_args": like "ok", but the tool call's arguments are valid JSON with the wrong field names;
- "refused": the listening socket is closed, so connections are refused; switching back to another
  mode listens again on the same port.

Bounded by construction: it binds only 127.0.0.1, it stops itself after `max_life_s`, a hanging answer
ends as soon as the server stops, and every handler thread is a daemon.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

MODES = ("ok", "http500", "hang", "malformed_tool_json", "wrong_tool_args", "refused")
HOST = "127.0.0.1"
MODEL_ID = "faulty-llm"
FINAL_TEXT = "Here are a few films from the catalog that fit what you asked for. The list shows why each one was picked."
REASON_TEXT = "It fits what you asked for and the films you told me you like."


class FaultyLLM:
    """`with FaultyLLM() as llm: llm.base_url ...; llm.mode = "http500"`. `requests` counts what was answered."""

    def __init__(self, mode: str = "ok", *, hang_s: float = 5.0, max_life_s: float = 900.0, port: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        self.hang_s = hang_s
        self.max_life_s = max_life_s
        self.requests: list[dict[str, str]] = []  # {"mode": ..., "kind": ...} per answered request
        self._mode = mode
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._deadline: threading.Timer | None = None
        self._connections: set[Any] = set()  # open client sockets: a stopped server drops kept-alive ones too

    # -- life cycle ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._port}/v1"

    def start(self) -> FaultyLLM:
        self._stopped.clear()
        self._deadline = threading.Timer(self.max_life_s, self.stop)
        self._deadline.daemon = True
        self._deadline.start()
        if self._mode != "refused":
            self._listen()
        return self

    def stop(self) -> None:
        self._stopped.set()  # releases hanging answers
        self._close()
        if self._deadline is not None:
            self._deadline.cancel()

    def __enter__(self) -> FaultyLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        with self._lock:
            self._mode = mode
        if mode == "refused":
            self._close()
        elif self._httpd is None and not self._stopped.is_set():
            self._listen()

    def _listen(self) -> None:
        with self._lock:
            if self._httpd is not None:
                return
            httpd = ThreadingHTTPServer((HOST, self._port), _handler_class(self))
            httpd.daemon_threads = True
            self._port = httpd.server_address[1]
            self._httpd = httpd
            self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="faulty-llm")
            self._thread.start()

    def _close(self) -> None:
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()  # nothing listens on the port any more: new connections are refused
        with self._lock:
            open_connections, self._connections = list(self._connections), set()
        for conn in open_connections:  # and the kept-alive ones break, as when a real server process stops
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("faulty-llm: a client socket was already closed")
        if thread is not None:
            thread.join(timeout=5)

    # -- answers ------------------------------------------------------------------------------------
    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one chat-completions request in the current mode."""
        mode = self._mode
        kind = request_kind(body)
        self.requests.append({"mode": mode, "kind": kind})
        if mode == "http500":
            return 500, {"error": {"message": "injected fault: internal server error", "type": "server_error", "code": "internal_error"}}
        if mode == "hang":
            self._stopped.wait(self.hang_s)
        if kind == "structured":
            return 200, _completion(content=json.dumps(structured_answer(body)))
        if kind == "structured_tool":
            name = body["tools"][0]["function"]["name"]
            return 200, _completion(tool_calls=[_call(name, json.dumps(structured_answer(body)))])
        if kind == "after_tool":
            return 200, _completion(content=FINAL_TEXT)
        if kind == "tools":
            args: Any = {"description": user_request(body)}
            if mode == "malformed_tool_json":
                args = json.dumps(args)[: len(json.dumps(args)) // 2]  # cut off mid-string: not JSON
            elif mode == "wrong_tool_args":
                args = json.dumps({"query_text": args["description"], "limit": "five"})
            else:
                args = json.dumps(args)
            return 200, _completion(tool_calls=[_call("search_by_description", args)])
        return 200, _completion(content=FINAL_TEXT)


def request_kind(body: dict[str, Any]) -> str:
    """structured (response_format json_schema), structured_tool (one schema offered as a tool), tools
    (the agent's tools, no result yet), after_tool (a tool result is the last message), or plain."""
    messages = body.get("messages") or []
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return "structured"
    tools = body.get("tools") or []
    names = [t.get("function", {}).get("name", "") for t in tools]
    if len(names) == 1 and names[0][:1].isupper():  # pydantic schemas (Slots, Reasons) as a forced tool
        return "structured_tool"
    if messages and messages[-1].get("role") == "tool":
        return "after_tool"
    return "tools" if tools else "plain"


def _schema_name(body: dict[str, Any]) -> str:
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return str(rf.get("json_schema", {}).get("name", ""))
    return str(body["tools"][0]["function"]["name"])


def structured_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Schema-valid JSON for the llm policy's two structured requests: the slots (empty: the lexicon parse
    stands) and one reason per numbered item."""
    if _schema_name(body) == "Reasons":
        text = _text(body["messages"][-1])
        m = re.search(r"Write exactly (\d+) reasons", text)
        n = int(m.group(1)) if m else 0
        return {"reasons": [{"number": i, "reason": REASON_TEXT} for i in range(1, n + 1)]}
    return {"liked_titles": [], "genres_wanted": [], "genres_excluded": [], "year_from": None, "year_to": None, "wish": ""}


def user_request(body: dict[str, Any]) -> str:
    """The last user message without the policy's appended "[context: ...]" note."""
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    text = _text(users[-1]) if users else ""
    return text.split("\n\n[context:", 1)[0].strip()


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _call(name: str, arguments: str) -> dict[str, Any]:
    return {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function", "function": {"name": name, "arguments": arguments}}


def _completion(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _handler_class(server: FaultyLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._lock:
                server._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("faulty-llm: " + format, *args)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                log.debug("faulty-llm: the client hung up before the answer (a timed-out request)")

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "faults"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
                return
            self._send(*server.answer(body))

    return Handler
