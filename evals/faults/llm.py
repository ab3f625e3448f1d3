"""LLM backend faults: the llm policy on the openai backend, pointed at the misbehaving server.

Per fault, one session: a healthy turn, the fault turn, then a turn with the server healthy again.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass

from agents.agent import Agent
from agents.policies.llm import LLMPolicy
from evals.faults.conversation import CaseResult, healthy_problems, run_turn, session_problems
from evals.faulty_llm import FaultyLLM

# with years: on ml-latest-small a bare title can match two films, and the healthy turn must not ask which one
HEALTHY = "I loved Alien (1979) and Heat (1995)"
# New information in the failing turn: a title for the profile, a genre and a decade for the constraints.
FAULT = "I also loved Fargo; something funny from the 80s"
RECOVERED = "now a thriller please"
PAUSED = "something from the 70s instead"
FAULT_TITLE = "Fargo"
FAULT_GENRE = "Comedy"
FAULT_YEARS = (1980, 1989)


@dataclass(frozen=True)
class LLMFault:
    name: str
    mode: str  # evals.faulty_llm mode during the fault turn
    what: str  # the fault, in words
    trace_pattern: str  # the fallback trace step must say this (regex, case-insensitive)
    notice_pattern: str  # the notice the user reads must say this


UNUSABLE_CALL = r"tool call I could not use"
LLM_FAULTS = (
    LLMFault("llm_refused", "refused", "OpenAI-compatible server stopped: connection refused", r"not reachable|connect", r"could not be reached"),
    LLMFault("llm_hang", "hang", "server takes the request, never answers in time", r"did not answer|timed out", r"not answer in time"),
    LLMFault("llm_http500", "http500", "server answers HTTP 500", r"500", r"error \(HTTP 500\)"),
    LLMFault("llm_malformed_tool_json", "malformed_tool_json", "tool call arguments: cut-off JSON", r"not valid JSON", UNUSABLE_CALL),
    LLMFault("llm_wrong_tool_args", "wrong_tool_args", "tool call arguments: wrong names", r"arguments rejected", UNUSABLE_CALL),
)


def run_llm_fault(agent: Agent, new_session, llm: FaultyLLM, fault: LLMFault) -> CaseResult:
    """`agent`: the llm policy on the openai backend at llm.base_url; `new_session()` a fresh Session."""
    catalog = agent.catalog
    session = new_session()
    result = CaseResult(fault.name, "llm backend", fault.what, [])

    llm.mode = "ok"
    rec, _ = run_turn(agent, session, HEALTHY, "healthy")
    rec.problems = healthy_problems(rec, want_llm=True)
    result.turns.append(rec.to_dict())

    kept = copy.deepcopy(session)
    llm.mode = fault.mode
    n_requests = len(llm.requests)
    try:
        rec, reply = run_turn(agent, session, FAULT, "fault")
    finally:
        llm.mode = "ok"
    if fault.mode != "refused" and len(llm.requests) == n_requests:
        rec.problems.append("the faulty server was never asked: the fault was not injected")
    if not rec.items:
        rec.problems.append("no catalog items in the reply")
    if not any(re.search(fault.notice_pattern, n, re.I) for n in rec.notices):
        rec.problems.append(f"no notice matching {fault.notice_pattern!r}: {rec.notices}")
    if not any(re.search(fault.trace_pattern, s["note"], re.I) for s in rec.fallback_steps):
        rec.problems.append(f"no fallback trace step matching {fault.trace_pattern!r}: {rec.fallback_steps}")
    rec.problems += session_problems(rec, reply, session, kept, catalog)
    fargo = [i for i in session.history if catalog.get(i).title == FAULT_TITLE]
    if not fargo:
        rec.problems.append(f"the failing turn's title {FAULT_TITLE!r} was not added to the profile")
    if FAULT_GENRE not in session.constraints.genres_any or (session.constraints.year_min, session.constraints.year_max) != FAULT_YEARS:
        rec.problems.append(f"the failing turn's constraints were not kept: {session.constraints}")
    off = [it.label for it in reply.items if FAULT_GENRE not in it.genres or not (FAULT_YEARS[0] <= (it.year or 0) <= FAULT_YEARS[1])]
    if off:
        rec.problems.append(f"items outside {FAULT_GENRE} {FAULT_YEARS}: {off}")
    result.turns.append(rec.to_dict())

    pause_s = agent.decider.pause_s if isinstance(agent.decider, LLMPolicy) else 0.0  # how long a timed-out model rests
    if fault.mode == "hang" and pause_s > 0:
        # after a timeout the model is paused: the next turn goes straight to the planner, without asking it
        kept = copy.deepcopy(session)
        n_requests = len(llm.requests)
        rec, reply = run_turn(agent, session, PAUSED, "paused")
        if len(llm.requests) != n_requests:
            rec.problems.append("the paused model was asked anyway")
        if not rec.items:
            rec.problems.append("no catalog items in the reply")
        if not any(re.search(r"try it again in \d+ s", n) for n in rec.notices):
            rec.problems.append(f"no notice that the model is paused: {rec.notices}")
        rec.problems += session_problems(rec, reply, session, kept, catalog)
        result.turns.append(rec.to_dict())
        time.sleep(pause_s)  # then it is tried again by itself

    kept = copy.deepcopy(session)
    rec, reply = run_turn(agent, session, RECOVERED, "recovered")
    rec.problems = healthy_problems(rec, want_llm=True) + session_problems(rec, reply, session, kept, catalog)
    result.turns.append(rec.to_dict())
    result.problems = [f"{t['phase']}: {p}" for t in result.turns for p in t["problems"]]
    return result
