"""Chroma server fault: a real `chroma run` holds the index; it is stopped mid-conversation, then started again.

The planner agent answers while the server is down (seqrec or popularity, with a notice), and the
retriever works again, with no notice, once the same server is back on the same port and folder.
"""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path

from agents.services import build_services
from data.settings import Settings
from evals.faults.conversation import CaseResult, healthy_problems, run_turn, session_problems

HEALTHY = "a funny adventure from the 80s about pirates"  # a wish: the retriever answers
# Favourites and a wish in words: the planner fuses seqrec with the retriever, so the search is needed.
FAULT = "I also loved Fargo; a heist with a clever twist"
RECOVERED = "something romantic in Paris"
RETRIEVER_TOOLS = ("search_by_description", "more_like")
NOTICE_PATTERN = r"search|retriev|index|description"
TRACE_PATTERN = r"chroma|retriever|index"


def _retriever_used(trace_tools: list[str]) -> bool:
    return any(t in RETRIEVER_TOOLS for t in trace_tools)


def run_chroma_fault(settings: Settings, workdir: Path) -> CaseResult:
    """Start a Chroma server in workdir, build the index into it, converse, stop it, converse, start it, converse."""
    from tools.retriever.server import ChromaServer

    result = CaseResult("chroma_server_stopped", "retriever (Chroma server)", "the Chroma server is stopped mid-conversation, then started again", [])
    with ChromaServer(workdir / "chroma-server") as server:
        t0 = time.perf_counter()
        services = build_services(settings.model_copy(update={"chroma_host": server.host, "chroma_port": server.port}), progress=lambda msg: None)
        result.extra["index_into_server_s"] = round(time.perf_counter() - t0, 1)
        agent, session = services.agent, services.new_session()

        rec, reply = run_turn(agent, session, HEALTHY, "healthy")
        rec.problems = healthy_problems(rec, want_llm=False)
        if not _retriever_used([s.tool for s in reply.trace]):
            rec.problems.append(f"the retriever was not used: {[s.tool for s in reply.trace]}")
        result.turns.append(rec.to_dict())

        server.stop()
        kept = copy.deepcopy(session)
        rec, reply = run_turn(agent, session, FAULT, "fault")
        if not rec.items:
            rec.problems.append("no catalog items in the reply")
        if not any(re.search(NOTICE_PATTERN, n, re.I) for n in rec.notices):
            rec.problems.append(f"no notice about the search being down: {rec.notices}")
        if not any(re.search(TRACE_PATTERN, s["note"], re.I) for s in rec.fallback_steps):
            rec.problems.append(f"no fallback trace step naming the retriever: {rec.fallback_steps}")
        rec.problems += session_problems(rec, reply, session, kept, services.catalog)
        if not any(services.catalog.get(i).title == "Fargo" for i in session.history):
            rec.problems.append("the failing turn's title 'Fargo' was not added to the profile")
        result.extra["sources_while_down"] = sorted({it.source for it in reply.items})
        result.turns.append(rec.to_dict())

        t0 = time.perf_counter()
        server.start()
        result.extra["restart_s"] = round(time.perf_counter() - t0, 1)
        kept = copy.deepcopy(session)
        rec, reply = run_turn(agent, session, RECOVERED, "recovered")
        rec.problems = healthy_problems(rec, want_llm=False) + session_problems(rec, reply, session, kept, services.catalog)
        if not _retriever_used([s.tool for s in reply.trace]):
            rec.problems.append(f"the retriever was not used after the restart: {[s.tool for s in reply.trace]}")
        result.turns.append(rec.to_dict())
    result.problems = [f"{t['phase']}: {p}" for t in result.turns for p in t["problems"]]
    return result
