"""The chat-backend interface: messages, tool specs, tool calls, and the named errors backends raise."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from data.errors import BackendUnavailable, TalkRecError

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

__all__ = ["BackendUnavailable", "ChatBackend", "MalformedOutput", "Message", "RawTextModel", "ToolCall", "ToolSpec", "as_message"]

ROLES = ("system", "user", "assistant", "tool")


class MalformedOutput(TalkRecError, ValueError):
    """Model output that cannot be parsed into what was asked (tool-call JSON, a ranked list)."""


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict


@dataclass
class Message:
    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    meta: dict = field(default_factory=dict)  # backend details worth tracing (e.g. a constrained call's tool probabilities)


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments object

    def to_openai(self) -> dict:
        """The OpenAI / chat-template `tools=` entry for this tool."""
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


@runtime_checkable
class ChatBackend(Protocol):
    name: str
    supports_tools: bool
    supports_scoring: bool

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), max_tokens: int = 256, temperature: float = 0.0) -> Message: ...

    def stream(self, messages: Sequence[Message], max_tokens: int = 256) -> Iterator[str]: ...

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]: ...

    def as_langchain(self) -> BaseChatModel: ...


class RawTextModel(Protocol):
    """A local model driven on raw prompt text rather than chat messages: what constrained decoding
    (agents/llm/constrained.py) needs. HFBackend implements it."""

    def score(self, prompts: Sequence[str], continuations: Sequence[str], normalise: bool = True) -> list[float]: ...

    def complete(self, prompt: str, max_tokens: int = 32, stop_at: str | None = None) -> str: ...


def as_message(obj: Any) -> Message:
    """Accept our Message or any object with role/content (tools define their own tiny message type so
    they never import agents); tool calls and ids are read when present."""
    if isinstance(obj, Message):
        return obj
    role = getattr(obj, "role", None)
    if role not in ROLES:
        raise MalformedOutput(f"message role {role!r} is not one of {ROLES}; build messages with agents.llm.Message")
    return Message(
        role=role,
        content=str(getattr(obj, "content", "") or ""),
        tool_calls=list(getattr(obj, "tool_calls", None) or []),
        tool_call_id=getattr(obj, "tool_call_id", None),
    )
