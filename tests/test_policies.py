"""The policy interface on real ML-100K tools: the planner's ranking without a message, and a third policy
plugged into the Agent with nothing but the interface."""

from __future__ import annotations

import copy

import pytest

from agents.context import Context
from agents.nlu import Parsed
from agents.policies.planner import PlannerPolicy
from agents.reply import Reply
from agents.state import Session, TraceStep
from agents.toolbox import POOL


@pytest.mark.parametrize(
    "message, tools",
    [
        ("I loved Alien and Heat", ["recommend_from_history"]),
        ("a funny adventure from the 80s", ["recommend_from_history"]),  # filters alone: the most-rated that fit
        ("a funny adventure about pirates from the 80s", ["search_by_description"]),
        ("I loved Alien and Heat, a heist with a clever twist", ["recommend_from_history", "search_by_description", "fuse"]),
    ],
)
def test_planner_rank_is_what_a_recommendation_turn_would_show_now(services, message, tools):
    agent, planner = services.agent, PlannerPolicy()
    s = services.new_session()
    first = agent.turn(s, message)
    assert [st.tool for st in first.trace] == [*tools, "explain_items"]
    before = s.to_json()
    ranked = planner.rank(agent.context, s)
    assert s.to_json() == before, "ranking leaves the session as it was"
    assert len(ranked) == len(set(ranked)) and agent.k < len(ranked) <= POOL  # fewer where filters leave fewer
    assert not set(ranked) & s.blocked(), "profile, disliked, seen and shown items are excluded"
    assert planner.rank(agent.context, s, k=3) == ranked[:3]
    # a turn that changes nothing in the state takes the same path: it shows the head of the ranking
    trace: list[TraceStep] = []
    reply = planner.turn(agent.context, copy.deepcopy(s), Parsed(intent="refine", text=""), trace)
    assert [it.item_id for it in reply.items] == ranked[: agent.k]
    assert [st.tool for st in trace] == [*tools, "explain_items"]


def test_planner_rank_for_a_new_user_is_the_popular_films(services):
    ranked = PlannerPolicy().rank(services.agent.context, Session(), k=10)
    assert len(ranked) == 10 and all(i in services.catalog for i in ranked)


class EchoPolicy:
    """A third policy in a dozen lines: it names the first title of the message and calls no tool."""

    name = "echo"

    def turn(self, ctx: Context, session: Session, parsed: Parsed, trace: list[TraceStep], *, clarify: bool = False) -> Reply:
        trace.append(TraceStep("echo", {"titles": len(parsed.titles)}, 0.0, len(parsed.titles), 0))
        said = ctx.catalog.get(parsed.titles[0]).label if parsed.titles else "nothing I know"
        return Reply(f"You said {said}.", intent=parsed.intent)


def test_a_third_policy_needs_only_the_interface(services):
    agent = services.agent.with_policy(EchoPolicy())
    assert agent.policy == "echo" and services.agent.policy == "planner"
    s = services.new_session()
    r = agent.turn(s, "I loved Alien and Nonexistentfilmxyz")
    assert r.text.endswith("You said Alien (1979).")
    assert "couldn't find" in r.text  # the Agent's own notice for a title it could not ground
    assert [st.tool for st in r.trace] == ["echo"] and len(s.turns) == 1
