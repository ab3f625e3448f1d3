"""Tool calls on local models: chat-template rendering, parsing back, and LangChain create_agent over
our HFChatModel. The generator is scripted (a 135M model cannot be relied on to emit tool calls); the
tokenizer, template, parser and LangChain plumbing are the real ones."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from agents.llm.base import MalformedOutput, Message, ToolCall, ToolSpec
from agents.llm.chat_format import parse_tool_calls, render_prompt, template_supports_tools
from agents.llm.embedded import ensure_converted
from agents.llm.factory import available_backends, make_backend
from agents.llm.hf import HFBackend

LOOKUP = ToolSpec(
    "lookup_movie", "Look up a movie in the catalog by title.", {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
)


@pytest.fixture(scope="module")
def model_dir(settings):
    return ensure_converted(settings.artifacts_dir)


class Script:
    """A generator that replays canned model outputs and records the prompts it was given."""

    def __init__(self, *outputs: str) -> None:
        self.outputs = list(outputs)
        self.prompts: list[str] = []

    def __call__(self, prompt: str, max_tokens: int, temperature: float) -> Iterator[str]:
        self.prompts.append(prompt)
        text = self.outputs.pop(0)
        # Stream it in small pieces, as the model-driven generator does.
        for i in range(0, len(text), 7):
            yield text[i : i + 7]


def test_parse_hermes_blocks_lists_and_bare_json():
    content, calls = parse_tool_calls('Sure.\n<tool_call>\n{"name": "lookup_movie", "arguments": {"title": "Heat"}}\n</tool_call>', [LOOKUP])
    assert content == "Sure."
    assert [(c.name, c.arguments) for c in calls] == [("lookup_movie", {"title": "Heat"})]
    assert calls[0].id.startswith("call_")
    # A list in one block (SmolLM2-1.7B style) and arguments as a JSON string (OpenAI style).
    text = (
        '<tool_call>[{"name": "lookup_movie", "arguments": "{\\"title\\": \\"Fargo\\"}"}, '
        '{"name": "lookup_movie", "arguments": {"title": "Heat"}}]</tool_call>'
    )
    _, calls = parse_tool_calls(text, [LOOKUP])
    assert [c.arguments["title"] for c in calls] == ["Fargo", "Heat"]
    # Llama 3.x style: the whole reply is one JSON object with "parameters".
    _, calls = parse_tool_calls('{"name": "lookup_movie", "parameters": {"title": "Heat"}}', [LOOKUP])
    assert calls[0].arguments == {"title": "Heat"}
    # Plain text stays plain text.
    assert parse_tool_calls("Heat is a 1995 crime film.", [LOOKUP]) == ("Heat is a 1995 crime film.", [])


def test_malformed_or_unknown_tool_calls_raise_with_a_fix():
    with pytest.raises(MalformedOutput, match=r"not valid JSON.*stronger model"):
        parse_tool_calls('<tool_call>{"name": "lookup_movie", "arguments": {"title": </tool_call>', [LOOKUP])
    with pytest.raises(MalformedOutput, match="unknown tool 'delete_everything'"):
        parse_tool_calls('<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>', [LOOKUP])


def test_fallback_rendering_round_trips_through_the_parser(model_dir):
    backend = HFBackend(model_dir, generator=Script())
    tok = backend.tokenizer
    assert not template_supports_tools(tok)  # SmolLM2's template has no tools: our Hermes fallback applies
    call = ToolCall("call_1", "lookup_movie", {"title": "Heat"})
    convo = [
        Message("user", "Tell me about Heat"),
        Message("assistant", "", tool_calls=[call]),
        Message("tool", "Heat (1995)", tool_call_id="call_1"),
    ]
    prompt = render_prompt(tok, convo, [LOOKUP])
    assert '"name": "lookup_movie"' in prompt and "<tools>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    # The assistant turn as the template rendered it parses back to the same call.
    turn = prompt.split("<|im_start|>assistant\n")[1].split("<|im_end|>")[0]
    _, calls = parse_tool_calls(turn, [LOOKUP])
    assert [(c.name, c.arguments) for c in calls] == [("lookup_movie", {"title": "Heat"})]
    assert "<tool_response>\nHeat (1995)\n</tool_response>" in prompt


def test_native_tool_template_gets_tools_and_structured_calls(model_dir):
    backend = HFBackend(model_dir, generator=Script())
    tok = backend.tokenizer
    # A small tool-aware template of our own (the shape Qwen/Hermes templates have).
    tok.chat_template = (
        "{% if tools %}TOOLS:{% for t in tools %} {{ t.function.name }}{% endfor %}\n{% endif %}"
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}"
        "{% for c in m.tool_calls or [] %}<call>{{ c.function.name }} {{ c.function.arguments | tojson }}</call>{% endfor %}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    assert template_supports_tools(tok)
    call = ToolCall("c1", "lookup_movie", {"title": "Heat"})
    prompt = render_prompt(tok, [Message("user", "hi"), Message("assistant", "", tool_calls=[call])], [LOOKUP])
    assert prompt.startswith("TOOLS: lookup_movie")
    assert '<call>lookup_movie {"title": "Heat"}</call>' in prompt


def test_create_agent_runs_a_tool_round_trip_on_hfchatmodel(model_dir):
    script = Script('<tool_call>\n{"name": "lookup_movie", "arguments": {"title": "Heat"}}\n</tool_call>', "Heat (1995) is a crime thriller.")
    backend = HFBackend(model_dir, name="embedded", generator=script)
    seen: list[str] = []

    @tool
    def lookup_movie(title: str) -> str:
        """Look up a movie in the catalog by title."""
        seen.append(title)
        return json.dumps({"title": "Heat", "year": 1995, "genres": ["Action", "Crime", "Thriller"]})

    agent = create_agent(backend.as_langchain(), tools=[lookup_movie], system_prompt="You recommend movies.")
    result = agent.invoke({"messages": [HumanMessage("Tell me about Heat")]})
    msgs = result["messages"]
    assert seen == ["Heat"]
    assert isinstance(msgs[1], AIMessage) and msgs[1].tool_calls[0]["name"] == "lookup_movie"
    assert isinstance(msgs[2], ToolMessage) and msgs[2].tool_call_id == msgs[1].tool_calls[0]["id"]
    assert msgs[-1].content == "Heat (1995) is a crime thriller."
    # The tools were described in the first prompt; the tool result reached the model in the second.
    assert '"name": "lookup_movie"' in script.prompts[0] and "You recommend movies." in script.prompts[0]
    assert '"genres": ["Action", "Crime", "Thriller"]' in script.prompts[1]


def test_hfchatmodel_streams_text_and_tool_calls(model_dir):
    backend = HFBackend(
        model_dir, generator=Script("Hello there, movie fan.", '<tool_call>{"name": "lookup_movie", "arguments": {"title": "Fargo"}}</tool_call>')
    )
    chat = backend.as_langchain()
    pieces = [c.content for c in chat.stream("hi")]
    assert len(pieces) > 1 and "".join(pieces) == "Hello there, movie fan."
    spec = {"type": "function", "function": LOOKUP.to_openai()["function"]}
    chunks = list(chat.bind_tools([spec]).stream("tell me about Fargo"))
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert merged.tool_calls[0]["name"] == "lookup_movie" and merged.tool_calls[0]["args"] == {"title": "Fargo"}


def test_factory_capabilities(monkeypatch, settings, model_dir):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    kinds = available_backends()
    assert kinds[0] == "embedded" and "openai" not in kinds
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert "openai" in available_backends()
    assert "hf" in available_backends(hf_model=str(model_dir))
    emb = make_backend("embedded", artifacts_dir=settings.artifacts_dir)
    assert (emb.name, emb.supports_tools, emb.supports_scoring) == ("embedded", True, True)
