"""Messages -> prompt text through the tokenizer's chat template, and model text -> tool calls.

Templates that know tools (Qwen2.5, Llama 3.1, SmolLM3, Hermes ...) get `tools=` and structured tool
calls. Templates that do not (SmolLM2's) get the tools described in a system message in the Hermes
format (`<tool_call>{json}</tool_call>`), which is also the first format the parser reads back.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from agents.llm.base import MalformedOutput, Message, ToolCall, ToolSpec

# A minimal ChatML template for tokenizers that ship none (base models).
CHATML_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_TOOL_BLOCK_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$")


def template_supports_tools(tokenizer: Any) -> bool:
    template = tokenizer.chat_template or ""
    if isinstance(template, dict):  # some tokenizers ship named templates
        template = " ".join(template.values())
    return "tools" in template


def tools_system_text(tools: Sequence[ToolSpec]) -> str:
    """Tool descriptions for templates without tool support, in the Hermes function-calling format."""
    specs = "\n".join(json.dumps(t.to_openai()["function"]) for t in tools)
    return (
        "You may call functions to answer. Available functions:\n<tools>\n"
        f"{specs}\n</tools>\n"
        "To call a function, reply with exactly one block per call:\n"
        '<tool_call>\n{"name": "<function-name>", "arguments": {<arguments as JSON>}}\n</tool_call>'
    )


def _call_to_template(call: ToolCall) -> dict:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _call_to_text(call: ToolCall) -> str:
    return "<tool_call>\n" + json.dumps({"name": call.name, "arguments": call.arguments}) + "\n</tool_call>"


def to_template_messages(messages: Sequence[Message], tools: Sequence[ToolSpec], native_tools: bool) -> list[dict]:
    """Our messages as the dicts chat templates read; tool traffic in text form when the template has no tool support."""
    out: list[dict] = []
    for m in messages:
        if native_tools:
            d: dict = {"role": m.role, "content": m.content}
            if m.tool_calls:
                d["tool_calls"] = [_call_to_template(c) for c in m.tool_calls]
            if m.tool_call_id:
                d["tool_call_id"] = m.tool_call_id
            out.append(d)
        elif m.role == "tool":
            out.append({"role": "user", "content": f"<tool_response>\n{m.content}\n</tool_response>"})
        elif m.tool_calls:
            text = "\n".join([m.content, *(_call_to_text(c) for c in m.tool_calls)]).strip()
            out.append({"role": "assistant", "content": text})
        else:
            out.append({"role": m.role, "content": m.content})
    if tools and not native_tools:
        extra = tools_system_text(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + "\n\n" + extra}
        else:
            out.insert(0, {"role": "system", "content": extra})
    return out


def render_prompt(tokenizer: Any, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> str:
    """The full prompt text, ending with the assistant generation prompt."""
    native = bool(tools) and template_supports_tools(tokenizer)
    convo = to_template_messages(messages, tools, native)
    kwargs: dict = {"tokenize": False, "add_generation_prompt": True}
    if native:
        kwargs["tools"] = [t.to_openai() for t in tools]
    if not tokenizer.chat_template:
        kwargs["chat_template"] = CHATML_TEMPLATE
    return tokenizer.apply_chat_template(convo, **kwargs)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:16]}"


def _calls_from_json(payload: Any, known: set[str], raw: str) -> list[ToolCall]:
    entries = payload if isinstance(payload, list) else [payload]
    calls = []
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            raise MalformedOutput(f"tool call {raw[:120]!r} has no function name; the model must emit {{'name': ..., 'arguments': {{...}}}}")
        if known and entry["name"] not in known:
            raise MalformedOutput(
                f"the model called unknown tool {entry['name']!r} (known: {sorted(known)}); use a stronger model or the planner policy"
            )
        args = entry.get("arguments", entry.get("parameters", {}))
        if isinstance(args, str):  # OpenAI-style arguments as a JSON string
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as err:
                raise MalformedOutput(f"arguments of tool call {entry['name']!r} are not JSON ({err}); use a stronger model") from err
        if not isinstance(args, dict):
            raise MalformedOutput(f"arguments of tool call {entry['name']!r} are not an object: {args!r}")
        calls.append(ToolCall(id=new_call_id(), name=str(entry["name"]), arguments=args))
    return calls


def _loads(body: str) -> Any:
    return json.loads(_FENCE_RE.sub("", body.strip()))


def parse_tool_calls(text: str, tools: Sequence[ToolSpec] = ()) -> tuple[str, list[ToolCall]]:
    """Split model output into (plain content, tool calls).

    Reads Hermes/Qwen `<tool_call>{...}</tool_call>` blocks (one call or a list per block), and a reply
    that is nothing but a JSON call object (Llama 3.x style). Raises MalformedOutput when the model
    clearly tried to call a tool but the call cannot be read.
    """
    known = {t.name for t in tools}
    blocks = _TOOL_BLOCK_RE.findall(text)
    if blocks:
        calls: list[ToolCall] = []
        for body in blocks:
            try:
                payload = _loads(body)
            except json.JSONDecodeError as err:
                raise MalformedOutput(
                    f"the model emitted a <tool_call> block that is not valid JSON ({err}): {body.strip()[:160]!r}; "
                    "use a stronger model (TALKREC_HF_MODEL / the openai backend) or the planner policy"
                ) from err
            calls.extend(_calls_from_json(payload, known, body))
        return _TOOL_BLOCK_RE.sub("", text).strip(), calls
    stripped = text.strip()
    if known and stripped.startswith(("{", "```")):
        try:
            payload = _loads(stripped)
        except json.JSONDecodeError:
            return stripped, []
        if isinstance(payload, dict) and payload.get("name") in known:
            return "", _calls_from_json(payload, known, stripped)
    return stripped, []
