"""The llm policy through LangChain's create_agent: a scripted chat model drives real tools; failures of
a real client fall back to the planner with a notice; hallucinated titles never reach the user."""

from __future__ import annotations

import socket
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import Field

from agents.agent import Agent
from agents.policies.llm import LLMPolicy


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, in order: the LangChain plumbing (tool binding, tool execution) is real."""

    script: list[AIMessage]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        msg = self.script.pop(0)
        return ChatResult(generations=[ChatGeneration(message=msg)])


def _slots(**args: Any) -> AIMessage:
    """The structured-output reply (a tool call named after the schema) that opens every llm turn."""
    return AIMessage("", tool_calls=[{"name": "Slots", "args": args, "id": "slots"}])


def _reasons(*entries: tuple[int, str]) -> AIMessage:
    """The structured-output reply with per-item reasons (asked once items are chosen); none given -> templates."""
    return AIMessage("", tool_calls=[{"name": "Reasons", "args": {"reasons": [{"number": n, "reason": r} for n, r in entries]}, "id": "why"}])


def _agent(services, chat_model) -> Agent:
    return services.make_agent("planner").with_policy(LLMPolicy(chat_model, "scripted"))


def test_llm_chooses_tool_and_its_invented_title_is_removed(services):
    model = ScriptedChatModel(
        script=[
            _slots(wish="space adventure"),
            AIMessage("", tool_calls=[{"name": "search_by_description", "args": {"description": "space adventure"}, "id": "c1"}]),
            AIMessage("Great choices below. You will also love The Matrix (1999), and **Hackers 2**. Enjoy the Sci-Fi!"),
            _reasons(),
        ]
    )
    agent = _agent(services, model)
    s = services.new_session()
    r = agent.turn(s, "a space adventure please")
    assert [st.tool for st in r.trace][:2] == ["llm_slots", "search_by_description"]
    assert len(r.items) == 5
    assert "Matrix" not in r.text and "Hackers" not in r.text
    assert "Great choices below." in r.text
    # the tool result the model saw held titles, not ids
    tool_msgs = [m for m in model.seen[-2] if m.type == "tool"]  # the last call is the reasons request
    assert tool_msgs and "items matching" in tool_msgs[0].content


def test_llm_explain_uses_evidence_and_drops_false_genre_claims(services):
    s = services.new_session()
    services.agent.turn(s, "I loved Heat and Fargo")
    first = s.last_shown()[0].item_id
    title = services.catalog.get(first).title
    false_genre = next(g for g in ("Musical", "Animation", "Western", "Documentary") if g not in services.catalog.get(first).genres)
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "explain_item", "args": {"title_or_position": "1"}, "id": "c1"}]),
            AIMessage(f"{title} fits your taste for tense films. It is also a lovely {false_genre}."),
        ]
    )
    r = _agent(services, model).turn(s, "why the first one?")
    assert "explain_item" in [st.tool for st in r.trace]
    assert false_genre not in r.text
    assert title in r.text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_backend_down_falls_back_to_planner_with_notice(services):
    # a real OpenAI client against a port where nothing listens
    down = ChatOpenAI(
        model="any", base_url=f"http://127.0.0.1:{_closed_port()}/v1", api_key="test", max_retries=0, timeout=3, use_responses_api=False
    )
    s = services.new_session()
    r = _agent(services, down).turn(s, "I loved Alien and Heat")
    assert r.fallback
    assert "The language model could not be reached, so I answered with the built-in planner." in r.text
    assert len(r.items) == 5
    assert any(st.fallback and "not reachable" in st.note for st in r.trace)
    assert "recommend_from_history" in [st.tool for st in r.trace]


def test_model_that_calls_no_tool_leaves_the_decision_to_the_planner(services):
    model = ScriptedChatModel(script=[_slots(liked_titles=["Alien"]), AIMessage("I recommend The Matrix (1999) and Inception (2010).")])
    s = services.new_session()
    r = _agent(services, model).turn(s, "I loved Alien")
    assert "Matrix" not in r.text and "Inception" not in r.text
    assert len(r.items) == 5 and any("planner decided" in st.note for st in r.trace)


def test_looping_model_prose_is_not_shown(services):
    s = services.new_session()
    services.agent.turn(s, "I loved Heat and Fargo")
    loop = "The first one is a comedy. " * 6
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "explain_item", "args": {"title_or_position": "1"}, "id": "c1"}]),
            AIMessage(loop),
        ]
    )
    r = _agent(services, model).turn(s, "why the first one?")
    assert "The first one is a comedy. The first one" not in r.text
    assert r.text.startswith("Why ")  # the evidence-based explanation answered instead


def test_structured_slots_add_what_the_lexicon_missed_and_are_grounded(services):
    # "cowpokes" is in no lexicon; the model's slots say Western. Its invented title does not ground.
    model = ScriptedChatModel(
        script=[
            _slots(genres_wanted=["Western", "Space Opera"], liked_titles=["The Matrix", "Unforgiven"], year_from=1950, year_to=1969),
            AIMessage("", tool_calls=[{"name": "recommend_from_history", "args": {}, "id": "c1"}]),
            AIMessage("Here you go."),
            _reasons(),
        ]
    )
    s = services.new_session()
    r = _agent(services, model).turn(s, "a picture about cowpokes, the old kind")
    slots = next(st for st in r.trace if st.tool == "llm_slots")
    assert slots.args["genres_wanted"] == ["Western"]
    assert "The Matrix" in slots.note and "Space Opera" in slots.note
    assert [services.catalog.get(i).title for i in s.history] == ["Unforgiven"]
    assert r.items and all("Western" in i.genres and 1950 <= i.year <= 1969 for i in r.items)


def test_a_genre_or_year_the_message_names_outranks_the_models_reading(services):
    # "a light comedy": the lexicon reads Comedy; a model that adds Crime and Drama must not widen the request,
    # and its invented years must not replace "older".
    model = ScriptedChatModel(
        script=[
            _slots(genres_wanted=["Crime", "Drama", "Comedy"], year_from=1990, year_to=1998),
            AIMessage("", tool_calls=[{"name": "search_by_description", "args": {"description": "light comedy"}, "id": "c1"}]),
            AIMessage("Here you go."),
            _reasons(),
        ]
    )
    s = services.new_session()
    r = _agent(services, model).turn(s, "I want a light comedy, older ones")
    slots = next(st for st in r.trace if st.tool == "llm_slots")
    assert "Crime" in slots.note and "years 1990-1998" in slots.note
    assert s.constraints.genres_any == ["Comedy"]
    assert r.items and all("Comedy" in i.genres for i in r.items)
    assert (s.constraints.year_min, s.constraints.year_max) != (1990, 1998), "the model's years did not replace 'older'"


def test_unusable_structured_output_keeps_the_lexicon_parse(services):
    model = ScriptedChatModel(
        script=[
            AIMessage("sure! here are the slots: westerns"),  # no tool call: nothing structured
            AIMessage("", tool_calls=[{"name": "recommend_from_history", "args": {}, "id": "c1"}]),
            AIMessage("Enjoy."),
            _reasons(),
        ]
    )
    s = services.new_session()
    r = _agent(services, model).turn(s, "I loved Heat, something from the 70s")
    assert any(st.tool == "llm_slots" and "kept the lexicon parse" in st.note for st in r.trace)
    assert r.items and all(1970 <= i.year <= 1979 for i in r.items)


def test_model_reasons_are_kept_when_true_and_replaced_when_not(services):
    s = services.new_session()
    services.agent.turn(s, "I loved Heat and Fargo")
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "recommend_from_history", "args": {}, "id": "c1"}]),
            AIMessage("Here are more picks."),
            _reasons(),
        ]
    )
    # first run: learn what the tools will show, so the scripted reasons can be about those films
    probe = services.new_session()
    services.agent.turn(probe, "I loved Heat and Fargo")
    r0 = _agent(services, model).turn(probe, "more from my favourites")
    first, second = r0.items[0], r0.items[1]
    wrong = next(g for g in ("Musical", "Animation", "Western", "Documentary", "Children's") if g not in second.genres)
    honest = f"A {first.genres[0].lower()} pick that suits what you like."
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "recommend_from_history", "args": {}, "id": "c1"}]),
            AIMessage("Here are more picks."),
            _reasons((1, honest), (2, f"A charming {wrong} for the whole family.")),
        ]
    )
    r = _agent(services, model).turn(s, "more from my favourites")
    assert [i.item_id for i in r.items][:2] == [first.item_id, second.item_id]
    assert r.items[0].reason == honest
    assert wrong not in r.items[1].reason and r.items[1].reason  # replaced by the template reason
    step = next(st for st in r.trace if st.tool == "llm_reasons")
    assert step.args["by_model"] == 1 and step.args["replaced"] >= 1
    assert wrong not in r.text


def test_feedback_is_recorded_in_code_and_never_sent_to_the_model(services):
    s = services.new_session()
    services.agent.turn(s, "I loved Heat and Fargo")
    third = s.last_shown()[2].item_id
    model = ScriptedChatModel(script=[])  # any call to the model would fail the test (empty script)
    r = _agent(services, model).turn(s, "seen the third one")
    assert third in s.seen
    assert model.seen == [] and r.intent == "feedback"


def test_embedded_llm_policy_makes_one_constrained_call_and_answers_from_tools(services):
    agent = services.make_agent("llm", "embedded")
    s = services.new_session()
    r = agent.turn(s, "I loved Alien and Heat, something lighter tonight?")
    step = next(st for st in r.trace if st.tool == "llm")
    assert len(step.args["tool_calls"]) == 1  # one call, then the tool's result is the answer (return_direct)
    assert set(step.args["tool_probabilities"]) == {
        "recommend_from_history",
        "search_by_description",
        "more_like",
        "rerank_candidates",
        "item_details",
        "explain_item",
    }
    assert not any(st.tool == "llm_slots" for st in r.trace)  # the lexicon parse serves the small model
    assert r.text  # whatever the model chose, the turn answers
    catalog_ids = {it.item_id for it in services.catalog}
    assert all(i.item_id in catalog_ids and i.item_id not in s.history for i in r.items)


def test_tool_arguments_naming_a_position_resolve_to_the_shown_item(services):
    s = services.new_session()
    services.agent.turn(s, "I loved Heat and Fargo")
    second = s.last_shown()[1]
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "explain_item", "args": {"title_or_position": "the second one"}, "id": "c1"}]),
            AIMessage(""),
        ]
    )
    r = _agent(services, model).turn(s, "why that one?")
    assert r.text.startswith(f"Why {services.catalog.get(second.item_id).title}")
    assert s.focus == second.item_id


def test_a_made_up_search_text_is_replaced_by_the_parsed_wish(services):
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "search_by_description", "args": {"description": "Films similar to one named film."}, "id": "c1"}]),
            AIMessage("Here you go."),
            _reasons(),
        ]
    )
    s = services.new_session()
    r = _agent(services, model).turn(s, "a gritty western about revenge")
    assert any(st.tool == "llm_arguments" and "parsed wish" in st.note for st in r.trace)
    search = next(st for st in r.trace if st.tool == "search_by_description")
    assert "revenge" in search.args["query"] and "similar" not in search.args["query"]
    assert r.items


def test_history_picks_with_no_history_are_the_popular_films_without_a_raw_notice(services):
    model = ScriptedChatModel(
        script=[
            _slots(),
            AIMessage("", tool_calls=[{"name": "recommend_from_history", "args": {}, "id": "c1"}]),
            AIMessage("Here you go."),
            _reasons(),
        ]
    )
    r = _agent(services, model).turn(services.new_session(), "what should I watch tonight?")
    assert len(r.items) == 5 and not r.notices
    assert "no history" not in r.text
