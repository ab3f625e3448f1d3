"""`python -m agents.llm.serve --backend embedded|hf [--model PATH] --port N`: an OpenAI-compatible HTTP
server (/v1/models, /v1/chat/completions with tools and SSE streaming) for a local model, so any
OpenAI client (the SDK, LangChain's ChatOpenAI, other tools) can use it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from agents.llm.base import BackendUnavailable, ChatBackend, MalformedOutput, Message, ToolCall, ToolSpec
from data.errors import InvalidInput

log = logging.getLogger(__name__)


class ChatRequest(BaseModel):
    # Clients send many optional OpenAI fields (n, seed, stream_options, ...); unknown ones are ignored.
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False


def _content(value: Any) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return "".join(p.get("text", "") for p in value if isinstance(p, dict) and p.get("type") == "text")


def parse_messages(raw: list[dict[str, Any]]) -> list[Message]:
    out = []
    for m in raw:
        role = m.get("role")
        if role == "developer":  # newer OpenAI clients call the system role "developer"
            role = "system"
        if role not in ("system", "user", "assistant", "tool"):
            raise InvalidInput(f"message role {role!r} is not supported; use system, user, assistant or tool")
        calls = []
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function", {})
            args = fn.get("arguments") or "{}"
            calls.append(ToolCall(id=tc.get("id", ""), name=fn.get("name", ""), arguments=json.loads(args) if isinstance(args, str) else args))
        out.append(Message(role=role, content=_content(m.get("content")), tool_calls=calls, tool_call_id=m.get("tool_call_id")))
    return out


def parse_tools(raw: list[dict[str, Any]] | None) -> list[ToolSpec]:
    specs = []
    for t in raw or []:
        fn = t.get("function", t)
        specs.append(ToolSpec(fn["name"], fn.get("description", ""), fn.get("parameters") or {"type": "object", "properties": {}}))
    return specs


def _wire_calls(calls: list[ToolCall], with_index: bool = False) -> list[dict]:
    out = []
    for i, c in enumerate(calls):
        d: dict = {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
        if with_index:
            d["index"] = i
        out.append(d)
    return out


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"message": message, "type": kind, "code": kind}})


def build_app(backend: ChatBackend, model_id: str) -> FastAPI:
    app = FastAPI(title="TalkRec OpenAI-compatible server")
    created = int(time.time())

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "created": created, "owned_by": "talkrec"}]}

    # A plain `def`: generation blocks, so FastAPI runs it in its thread pool; the backend serialises model use.
    @app.post("/v1/chat/completions", response_model=None)
    def chat_completions(req: ChatRequest) -> JSONResponse | StreamingResponse:
        try:
            messages = parse_messages(req.messages)
            tools = parse_tools(req.tools)
        except (InvalidInput, json.JSONDecodeError, KeyError) as err:
            return _error(400, "invalid_request_error", f"bad request: {err}")
        max_tokens = req.max_completion_tokens or req.max_tokens or 256
        temperature = req.temperature or 0.0
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        base = {"id": cid, "created": int(time.time()), "model": model_id}
        if req.stream and not tools:
            return StreamingResponse(_sse_text(backend, messages, max_tokens, base), media_type="text/event-stream")
        try:
            reply = backend.chat(messages, tools=tools, max_tokens=max_tokens, temperature=temperature)
        except MalformedOutput as err:
            return _error(422, "malformed_output", str(err))
        except BackendUnavailable as err:
            return _error(503, "backend_unavailable", str(err))
        finish = "tool_calls" if reply.tool_calls else "stop"
        if req.stream:  # with tools the reply must be parsed whole first, then it is sent as one delta
            return StreamingResponse(_sse_whole(reply, finish, base), media_type="text/event-stream")
        message: dict = {"role": "assistant", "content": reply.content or None}
        if reply.tool_calls:
            message["tool_calls"] = _wire_calls(reply.tool_calls)
        return JSONResponse({**base, "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": finish}]})

    return app


def _event(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _chunk(base: dict, delta: dict, finish: str | None = None) -> str:
    return _event({**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def _sse_text(backend: ChatBackend, messages: list[Message], max_tokens: int, base: dict) -> Iterator[str]:
    yield _chunk(base, {"role": "assistant", "content": ""})
    try:
        for piece in backend.stream(messages, max_tokens=max_tokens):
            yield _chunk(base, {"content": piece})
    except BackendUnavailable as err:
        # Headers are already sent: report the failure in-band, as OpenAI-compatible servers do.
        yield _event({"error": {"message": str(err), "type": "backend_unavailable"}})
        return
    yield _chunk(base, {}, "stop")
    yield "data: [DONE]\n\n"


def _sse_whole(reply: Message, finish: str, base: dict) -> Iterator[str]:
    delta: dict = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        delta["tool_calls"] = _wire_calls(reply.tool_calls, with_index=True)
    yield _chunk(base, delta)
    yield _chunk(base, {}, finish)
    yield "data: [DONE]\n\n"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import uvicorn

    from agents.llm.factory import make_backend
    from data.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("embedded", "hf"), default="embedded")
    parser.add_argument("--model", default=None, help="hf model name or local path (hf backend)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--artifacts-dir", default=None, help="default: TALKREC_ARTIFACTS_DIR or ./artifacts")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for generation")
    parser.add_argument("--no-preload", action="store_true", help="load the model on the first request instead of at start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    artifacts = settings.artifacts_dir if args.artifacts_dir is None else args.artifacts_dir
    backend = make_backend(args.backend, artifacts_dir=artifacts, hf_model=args.model or settings.hf_model, threads=args.threads)
    if not args.no_preload and hasattr(backend, "setup"):
        backend.setup()
    model_id = f"talkrec-{args.backend}" if args.backend == "embedded" else str(args.model or settings.hf_model)
    print(f"serving {model_id} at http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(build_app(backend, model_id), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
