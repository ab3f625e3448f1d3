"""Constrained tool calls for small local models.

Asked for a tool call in free text, the embedded 135M model answers with prose, or with JSON naming
tools that do not exist (measured in the LLM backends issue). Here the model still makes every choice,
but inside a fixed frame: the reply is forced into `<tool_call>{"name": ..., "arguments": {...}}`, the
name is the bound tool the model finds most probable at that point, and each required argument is
generated greedily inside its JSON string up to the closing quote. The call is therefore always well
formed and names a real tool; what it asks for is the model's own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from agents.llm.base import MalformedOutput, RawTextModel, ToolCall, ToolSpec
from agents.llm.chat_format import new_call_id

# Where the model's reply starts when it calls a tool (the Hermes / Qwen format our prompts describe).
CALL_OPENING = '<tool_call>\n{"name": "'


@dataclass
class ConstrainedCall:
    call: ToolCall
    name_probs: dict[str, float]  # the model's probability of each tool, renormalised over the bound tools


def fillable(tool: ToolSpec) -> bool:
    """Whether constrained decoding can write this tool's call: every required argument is a string."""
    props = tool.parameters.get("properties", {})
    return all(props.get(name, {}).get("type", "string") == "string" for name in tool.parameters.get("required", []))


def name_logprobs(backend: RawTextModel, prompt: str, tools: Sequence[ToolSpec]) -> list[float]:
    """The model's log-probability of calling each tool next, after `prompt`."""
    # Total (not per-token) log-probability: each name is one whole option; the closing quote makes
    # "more_like" and a longer name sharing its start different options.
    return backend.score([prompt + CALL_OPENING] * len(tools), [t.name + '"' for t in tools], normalise=False)


def decide_call(backend: RawTextModel, prompt: str, tools: Sequence[ToolSpec], max_arg_tokens: int = 16) -> ConstrainedCall:
    """One tool call, decoded under constraint from `prompt` (a rendered chat prompt ending with the
    assistant's turn). The name is the most probable one, uncalibrated: subtracting a content-free prior
    made the 135M model's choice worse on labelled requests (docs/results/tool_choice.md).
    Only string arguments can be generated; a tool with other required types raises."""
    if not tools:
        raise ValueError("decide_call needs at least one tool; bind tools first")
    head = prompt + CALL_OPENING
    logps = name_logprobs(backend, prompt, tools)
    top = max(logps)
    z = sum(math.exp(v - top) for v in logps)
    probs = {t.name: math.exp(v - top) / z for t, v in zip(tools, logps, strict=True)}
    best = tools[logps.index(top)]
    if not fillable(best):
        raise MalformedOutput(
            f"tool {best.name!r} needs a non-string argument; constrained decoding fills string arguments only, "
            "so use a backend with free tool calls (openai / a larger hf model) for this tool"
        )
    text = head + best.name + '", "arguments": {'
    args: dict[str, str] = {}
    for i, name in enumerate(best.parameters.get("required", [])):
        text += (", " if i else "") + json.dumps(name) + ': "'
        value = backend.complete(text, max_tokens=max_arg_tokens, stop_at='"').replace("\\", "").strip()
        args[name] = value
        text += value + '"'
    return ConstrainedCall(ToolCall(id=new_call_id(), name=best.name, arguments=args), probs)
