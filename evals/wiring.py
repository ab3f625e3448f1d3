"""The evaluations' edge: services from Settings, and the agent for a requested policy and backend."""

from __future__ import annotations

import logging

from agents.agent import Agent
from agents.services import Services, build_services
from data.settings import Settings

log = logging.getLogger(__name__)


def services_for_evals(settings: Settings) -> Services:
    """The same composition root as the app; prepares what is missing (dataset, SASRec, index)."""
    return build_services(settings, prepare_missing=True)


def pick_agent(services: Services, policy: str | None = None, backend: str | None = None) -> Agent:
    """planner: the deterministic planner; llm: the LangChain tool-calling policy on `backend`
    (raises MissingArtifact / BackendUnavailable when that backend cannot call tools here)."""
    policy = policy or services.settings.policy
    if policy == "planner":
        return services.agent if services.agent.policy == "planner" else services.make_agent("planner")
    return services.make_agent("llm", backend or services.settings.backend)
