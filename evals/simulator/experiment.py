"""One simulator run: sample users, script them, play every system, summarise."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.services import Services
from data.errors import TalkRecError
from evals.simulator.metrics import SessionRecord, Summary, summarize
from evals.simulator.runner import run_system
from evals.simulator.systems import AgentSystem, ChatRecStyle, RetrieverOnly, SasrecOnly, System
from evals.simulator.user import MAX_TURNS, UserScript, build_scripts, sample_users

log = logging.getLogger(__name__)


@dataclass
class SimulationResult:
    scripts: list[UserScript]
    summaries: list[Summary]
    sessions: dict[str, list[SessionRecord]]
    notes: list[str] = field(default_factory=list)


def chat_backends(services: Services) -> list[str]:
    """Configured backends that can drive the llm policy (tool calls): openai with a key/base_url, hf with a model/GPU."""
    from agents.llm.factory import available_backends

    return [b for b in available_backends(services.settings.hf_model) if b in ("openai", "hf")]


def build_systems(services: Services, k: int, chatrec: bool = True, llm: bool = True, tuned_reranker: Any = None) -> tuple[list[System], list[str]]:
    """Baselines first, TalkRec last; the llm policy only where a chat backend is configured. With a
    `tuned_reranker` (agents.tuned_reranker.load_kept_reranker), the planner runs twice: reranker off and on."""
    notes: list[str] = []
    systems: list[System] = [SasrecOnly(services.catalog, services.seqrec, k), RetrieverOnly(services.catalog, services.retriever, k)]
    if chatrec:
        systems.append(ChatRecStyle(services.catalog, services.retriever, services.backend("embedded"), k))
    if tuned_reranker is not None:
        systems.append(AgentSystem("TalkRec planner, reranker off", services.make_agent("planner", reranker=None)))
        label = f"TalkRec planner, tuned {tuned_reranker.method} reranker (w={tuned_reranker.weight:g})"
        systems.append(AgentSystem(label, services.make_agent("planner", reranker=tuned_reranker)))
        notes.append(f"{label}: the adapter and fusion weight the tuning kept on validation, whether or not the product uses it.")
        return systems, notes
    planner = services.agent if services.agent.policy == "planner" else services.make_agent("planner")
    systems.append(AgentSystem("TalkRec planner", planner))
    if llm:
        kinds = chat_backends(services)
        if not kinds:
            notes.append(
                "TalkRec llm policy not run: no chat backend that calls tools is configured (set OPENAI_API_KEY/OPENAI_BASE_URL or TALKREC_HF_MODEL)."
            )
        for kind in kinds[:1]:
            try:
                systems.append(AgentSystem(f"TalkRec llm ({kind})", services.make_agent("llm", kind)))
            except TalkRecError as exc:
                notes.append(f"TalkRec llm policy on {kind} not run: {exc}")
    return systems, notes


def simulate(
    services: Services,
    systems: Sequence[System],
    n_users: int,
    seed: int,
    k: int = 5,
    max_turns: int = MAX_TURNS,
    progress: bool = True,
    llm_user: str | None = None,
) -> SimulationResult:
    users = sample_users(services.dataset, n_users, seed)
    scripts = build_scripts(services.dataset, services.lookup, services.retriever.similarity, users, seed, max_turns)
    if llm_user:
        from evals.simulator.llm_user import rewrite_scripts

        scripts, stats = rewrite_scripts(scripts, services.backend(llm_user), services.catalog)
        log.warning("LLM user (%s): %d messages rewritten, %d kept scripted (%s)", llm_user, stats.rewritten, stats.kept_scripted, stats.reasons)
    sessions: dict[str, list[SessionRecord]] = {}
    summaries = []
    for system in systems:
        recs = run_system(system, scripts, services.catalog, services.lookup, k, max_turns, progress=progress)
        sessions[system.name] = recs
        summaries.append(summarize(system.name, recs, k, max_turns))
        log.info("%s: Hit@%d=%.3f AT@%d=%.2f", system.name, k, summaries[-1].hit, k, summaries[-1].at_k)
    return SimulationResult(scripts, summaries, sessions)
