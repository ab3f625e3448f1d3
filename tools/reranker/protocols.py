"""What the reranker needs from an LLM backend, as structural Protocols (tools never import agents;
agents.llm's backends satisfy these by shape)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass
class PromptMessage:
    """A chat message as backends read it: a role and text."""

    role: str
    content: str


class Reply(Protocol):
    content: str


@runtime_checkable
class ChatModel(Protocol):
    name: str

    def chat(self, messages: Sequence[Any], tools: Sequence[Any] = (), max_tokens: int = 256, temperature: float = 0.0) -> Reply: ...


@runtime_checkable
class ScoringModel(Protocol):
    name: str
    supports_scoring: bool

    def score(self, prompts: Sequence[str], continuations: Sequence[str], normalise: bool = True) -> list[float]: ...
