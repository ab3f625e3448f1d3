"""Faults injected into a running agent, on real parts: a misbehaving OpenAI-compatible server on 127.0.0.1
(evals/faulty_llm.py) behind the real openai SDK and LangChain, the real ML-100K services, and damaged copies
of the real artifacts. The Chroma server stopped mid-conversation is tested in tests/test_chroma_server.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents.agent import Agent
from agents.llm.openai_backend import OpenAIBackend
from agents.policies.llm import LLMPolicy
from evals.faults.llm import FAULT_TITLE, LLM_FAULTS, LLMFault, run_llm_fault
from evals.faults.startup import FIX_RE, STARTUP_FAULTS, StartupFault, run_startup_fault
from evals.faulty_llm import FaultyLLM

# Short: the hang case waits (retries + 1) timeouts before the planner answers.
TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def llm() -> Iterator[FaultyLLM]:
    with FaultyLLM(hang_s=4 * TIMEOUT_S, max_life_s=300) as server:
        yield server


@pytest.fixture(scope="module")
def llm_agent(services, llm: FaultyLLM) -> Agent:
    """The llm policy as services.make_agent("llm", "openai") builds it, on a backend pointed at the faulty
    server (built here so the session-wide services keep their own backend cache)."""
    backend = OpenAIBackend("faulty-llm", base_url=llm.base_url, timeout_s=TIMEOUT_S)
    # the product pauses a timed-out model for 30 s; the hang case waits this out
    return services.make_agent("planner").with_policy(LLMPolicy(backend.as_langchain(), backend.name, pause_s=1.0))


def test_faulty_server_refuses_and_comes_back_on_the_same_port(llm: FaultyLLM):
    url = llm.base_url
    with httpx.Client(timeout=2) as client:  # one kept-alive connection, as the openai SDK holds one
        assert client.get(url + "/models").status_code == 200
        llm.mode = "refused"
        try:
            with pytest.raises(httpx.TransportError):
                client.get(url + "/models")
            with pytest.raises(httpx.ConnectError):
                httpx.get(url + "/models", timeout=2)
        finally:
            llm.mode = "ok"
        assert llm.base_url == url
        assert client.get(url + "/models").status_code == 200


@pytest.mark.parametrize("fault", LLM_FAULTS, ids=[f.name for f in LLM_FAULTS])
def test_llm_fault_ends_in_a_planner_reply_with_a_notice_and_recovers(services, llm_agent: Agent, llm: FaultyLLM, fault: LLMFault):
    result = run_llm_fault(llm_agent, services.new_session, llm, fault)
    healthy, failed, *paused, recovered = result.turns
    assert result.ok, result.problems
    # the fault turn: five catalog items from the planner, a notice saying what failed, a fallback step in the trace
    assert len(failed["items"]) == 5 and not failed["used_llm"]
    assert failed["notices"][0].startswith("The language model ") and failed["notices"][0].endswith("so I answered with the built-in planner.")
    assert failed["reply_head"].startswith(failed["notices"][0])
    assert [s["tool"] for s in failed["fallback_steps"]] == ["llm"]
    # nothing lost: the title said in the failing turn is in the profile, the turn and its items are remembered
    assert failed["after"]["history"] == failed["before"]["history"] + 1
    assert failed["after"]["turns"] == failed["before"]["turns"] + 1
    assert failed["after"]["shown"] == failed["before"]["shown"] + 5
    # the server is back: the model chooses the tools again, no notice
    assert healthy["used_llm"] and recovered["used_llm"]
    assert not recovered["notices"] and not recovered["fallback_steps"]
    if fault.mode == "hang":
        # the openai client retries a timed-out request once: a hang costs two timeouts, not the server's hang
        assert 2 * TIMEOUT_S <= failed["latency_ms"] / 1000 < 2 * TIMEOUT_S + 3.0
        # then the model is paused: the next turn is the planner's at once, saying so, without asking the server
        [pause] = paused
        assert pause["latency_ms"] / 1000 < TIMEOUT_S and not pause["used_llm"] and len(pause["items"]) == 5
        assert "I will try it again in" in pause["notices"][0]
    else:
        assert not paused


def test_llm_fault_turn_keeps_the_users_new_title(services, llm_agent: Agent, llm: FaultyLLM):
    fault = next(f for f in LLM_FAULTS if f.mode == "http500")
    session = services.new_session()
    llm.mode = fault.mode
    try:
        reply = llm_agent.turn(session, f"I also loved {FAULT_TITLE}; something funny from the 80s")
    finally:
        llm.mode = "ok"
    assert [services.catalog.get(i).title for i in session.history] == [FAULT_TITLE]
    assert reply.fallback and "HTTP 500" in reply.notices[0]
    assert all("Comedy" in it.genres and 1980 <= (it.year or 0) <= 1989 for it in reply.items)
    assert session.turns[-1].item_ids == [it.item_id for it in reply.items]


# Chroma opens an index whose HNSW segment files are cut in half without an error and then answers searches
# with other neighbours (found by evals.faults); ensure_index's self-check finds it.
@pytest.mark.parametrize("fault", STARTUP_FAULTS, ids=[f.name for f in STARTUP_FAULTS])
def test_damaged_artifact_at_startup_is_a_missing_artifact_naming_the_fix(settings, tmp_path: Path, fault: StartupFault):
    out = run_startup_fault(settings, fault, tmp_path, recover=False)
    assert out["error_type"] == "MissingArtifact", out
    assert FIX_RE.search(out["message"]), out["message"]
    assert out["ok"], out["problems"]


@pytest.mark.parametrize("name", ["dataset_file_truncated", "dataset_meta_truncated"])
def test_start_services_repairs_a_damaged_dataset(settings, tmp_path: Path, name: str):
    """What start_services does after the MissingArtifact: build_services(prepare_missing=True) prepares the
    dataset again (a damaged folder is not taken as up to date), and a turn works."""
    fault = next(f for f in STARTUP_FAULTS if f.name == name)
    out = run_startup_fault(settings, fault, tmp_path, recover=True)
    assert out["recovery"] is not None and out["recovery"]["ok"], out
    assert out["recovery"]["items"] == 5


def test_a_damaged_index_is_named_again_on_the_repair_attempt(settings, tmp_path: Path):
    """start_services' second open of a damaged index stops at the same named error (it used to be chromadb's
    AttributeError from the failed first open it had cached)."""
    fault = next(f for f in STARTUP_FAULTS if f.name == "index_truncated")
    out = run_startup_fault(settings, fault, tmp_path, recover=True)
    assert out["error_type"] == "MissingArtifact" and "is damaged" in out["message"]
    assert out["recovery"] is not None and not out["recovery"]["ok"]
    assert out["recovery"]["error"].startswith("MissingArtifact: the retriever index at") and out["recovery"]["names_fix"]
