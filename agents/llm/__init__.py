"""Chat backends behind one small interface: openai-compatible, local transformers, embedded default."""

from agents.llm.base import BackendUnavailable, ChatBackend, MalformedOutput, Message, ToolCall, ToolSpec

__all__ = ["BackendUnavailable", "ChatBackend", "MalformedOutput", "Message", "ToolCall", "ToolSpec"]
