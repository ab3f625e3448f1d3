"""OpenAI-compatible backend (the `openai` SDK): OpenAI itself, vLLM, Ollama, a llama.cpp server, or
TalkRec's own `python -m agents.llm.serve`. The key and base_url come from the caller (the factory
reads them from the environment, never from files)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import openai

from agents.llm.base import BackendUnavailable, MalformedOutput, Message, ToolCall, ToolSpec, as_message

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

# Local servers ignore the key but the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"


def to_openai_messages(messages: Sequence[Any]) -> list[dict]:
    out = []
    for raw in messages:
        m = as_message(raw)
        d: dict = {"role": m.role, "content": m.content}
        if m.tool_calls:
            d["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}} for c in m.tool_calls
            ]
        if m.role == "tool":
            d["tool_call_id"] = m.tool_call_id or ""
        out.append(d)
    return out


class OpenAIBackend:
    supports_tools = True
    supports_scoring = False

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 1,  # one retry for a blip; more multiplies a hung server's timeout (the agent then pauses it)
        name: str = "openai",
    ) -> None:
        if not api_key and not base_url:
            raise BackendUnavailable(
                "the openai backend needs OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (a local OpenAI-compatible server); set one"
            )
        self.name = name
        self.model = model
        self.api_key = api_key or PLACEHOLDER_KEY
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.client = openai.OpenAI(api_key=self.api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)

    def _where(self) -> str:
        return self.base_url or "api.openai.com"

    def _call(self, **kwargs: Any) -> Any:
        try:
            return self.client.chat.completions.create(model=self.model, **kwargs)
        except openai.APITimeoutError as err:
            raise BackendUnavailable(
                f"{self._where()} did not answer within {self.timeout_s:.0f}s; raise TALKREC_LLM_TIMEOUT_S or check the server"
            ) from err
        except openai.APIConnectionError as err:
            raise BackendUnavailable(f"cannot reach {self._where()} ({err}); start the server or fix OPENAI_BASE_URL") from err
        except openai.AuthenticationError as err:
            raise BackendUnavailable(f"{self._where()} rejected the API key; set a valid OPENAI_API_KEY") from err
        except openai.NotFoundError as err:
            raise BackendUnavailable(f"{self._where()} has no model {self.model!r}; set TALKREC_OPENAI_MODEL to one it serves") from err
        except openai.APIStatusError as err:
            raise BackendUnavailable(f"{self._where()} answered HTTP {err.status_code}: {err.message}; check the server and the model") from err

    def chat(self, messages: Sequence[Any], tools: Sequence[ToolSpec] = (), max_tokens: int = 256, temperature: float = 0.0) -> Message:
        kwargs: dict = {"messages": to_openai_messages(messages), "max_tokens": max_tokens, "temperature": temperature}
        if tools:
            kwargs["tools"] = [t.to_openai() for t in tools]
        resp = self._call(**kwargs)
        if not resp.choices:
            raise MalformedOutput(f"{self._where()} returned no choices; check the server logs")
        msg = resp.choices[0].message
        calls = []
        for tc in msg.tool_calls or []:
            try:
                args = json.loads(tc.function.arguments or "{}")
            except json.JSONDecodeError as err:
                raise MalformedOutput(
                    f"tool call {tc.function.name!r} has arguments that are not JSON: {tc.function.arguments[:120]!r}; use a stronger model"
                ) from err
            calls.append(ToolCall(id=tc.id, name=tc.function.name, arguments=args))
        return Message(role="assistant", content=msg.content or "", tool_calls=calls)

    def stream(self, messages: Sequence[Any], max_tokens: int = 256) -> Iterator[str]:
        chunks = self._call(messages=to_openai_messages(messages), max_tokens=max_tokens, temperature=0.0, stream=True)
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except (openai.APIConnectionError, openai.APITimeoutError) as err:
            raise BackendUnavailable(f"the stream from {self._where()} broke off ({err}); retry or check the server") from err

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        raise BackendUnavailable(
            "the openai backend cannot score given continuations (chat APIs expose no prompt log-probs); "
            "use the embedded or hf backend for likelihood reranking, or method='listwise'"
        )

    def as_langchain(self) -> ChatOpenAI:
        from langchain_openai import ChatOpenAI

        # use_responses_api=False: local OpenAI-compatible servers only speak /v1/chat/completions.
        return ChatOpenAI(
            model=self.model,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            temperature=0.0,
            use_responses_api=False,
        )
