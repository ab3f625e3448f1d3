"""A LangChain chat model over our HF backend, with tool calling.

LangChain's ChatHuggingFace drops tools for a local pipeline, so this class supplies `bind_tools`:
tools go through the tokenizer's chat template (or our Hermes-format fallback) and tool calls are
parsed back into `AIMessage.tool_calls`, so `langchain.agents.create_agent` runs on a local model
exactly as on ChatOpenAI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from agents.llm.base import MalformedOutput, Message, ToolCall, ToolSpec


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def from_langchain(messages: Sequence[BaseMessage]) -> list[Message]:
    """LangChain messages -> our Messages (system, user, assistant with tool calls, tool results)."""
    out = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append(Message("system", _text(m.content)))
        elif isinstance(m, HumanMessage):
            out.append(Message("user", _text(m.content)))
        elif isinstance(m, AIMessage):
            calls = [ToolCall(id=tc.get("id") or "", name=tc["name"], arguments=dict(tc.get("args") or {})) for tc in m.tool_calls]
            out.append(Message("assistant", _text(m.content), tool_calls=calls))
        elif isinstance(m, ToolMessage):
            out.append(Message("tool", _text(m.content), tool_call_id=m.tool_call_id))
        else:
            raise MalformedOutput(f"message type {m.type!r} is not supported by HFChatModel; use system/human/ai/tool messages")
    return out


def tool_specs(tools: Sequence[dict] | None) -> list[ToolSpec]:
    """OpenAI-format tool dicts (what bind_tools stores) -> ToolSpecs."""
    specs = []
    for t in tools or []:
        fn = t.get("function", t)
        specs.append(
            ToolSpec(name=fn["name"], description=fn.get("description", ""), parameters=fn.get("parameters", {"type": "object", "properties": {}}))
        )
    return specs


def _lc_calls(calls: Sequence[ToolCall]) -> list[dict]:
    return [{"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"} for c in calls]


def _cut_at_stop(text: str, stop: list[str] | None) -> str:
    for s in stop or []:
        if s and s in text:
            text = text[: text.index(s)]
    return text


class HFChatModel(BaseChatModel):
    """LangChain chat model backed by agents.llm.hf.HFBackend (or anything with its chat/stream methods)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    backend: Any
    max_tokens: int = 256
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return f"talkrec-{getattr(self.backend, 'name', 'hf')}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"backend": getattr(self.backend, "name", "hf"), "model": getattr(self.backend, "model_ref", None)}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable:
        # tool_choice is accepted for create_agent's sake; a local model cannot be forced to call a tool.
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self.backend.chat(
            from_langchain(messages),
            tools=tool_specs(kwargs.get("tools")),
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            temperature=kwargs.get("temperature", self.temperature),
        )
        message = AIMessage(
            content=_cut_at_stop(reply.content, stop),
            tool_calls=_lc_calls(reply.tool_calls),
            response_metadata=dict(getattr(reply, "meta", {}) or {}),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if kwargs.get("tools"):
            # A tool call is only known once the whole reply is parsed: emit it as one chunk.
            result = self._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
            msg = result.generations[0].message
            chunks = [
                {"name": tc["name"], "args": json.dumps(tc["args"]), "id": tc["id"], "index": i, "type": "tool_call_chunk"}
                for i, tc in enumerate(msg.tool_calls)
            ]
            yield ChatGenerationChunk(message=AIMessageChunk(content=msg.content, tool_call_chunks=chunks))
            return
        seen = ""
        for piece in self.backend.stream(from_langchain(messages), max_tokens=kwargs.get("max_tokens", self.max_tokens)):
            if stop and any(s in seen + piece for s in stop):
                piece = _cut_at_stop(seen + piece, stop)[len(seen) :]
                if piece:
                    yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
                return
            seen += piece
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
