"""Run scripted dialogues through an Agent and check every turn.

The agent is driven exactly as the app drives it (Agent.turn on a Session); nothing is mocked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.agent import Agent
from agents.reply import ReplyItem
from agents.state import Session
from data.catalog import Catalog
from data.errors import InvalidInput
from data.lookup import TitleLookup
from evals.dialogues.checks import ALWAYS, CHECKS, CheckResult, ScriptTitleError, TurnContext
from evals.dialogues.schema import Dialogue, ScriptError
from evals.simulator.metrics import percentile

log = logging.getLogger(__name__)

ALWAYS_NAMES = {c.__name__ for c in ALWAYS}
SessionFactory = Callable[[int | None], Session]
SHOWN_SAY = 300  # characters of a user message kept in the report


@dataclass
class TurnResult:
    turn: int
    say: str
    reply: str
    intent: str
    items: list[str]
    tools: list[str]
    notices: list[str]
    latency_ms: float
    checks: list[CheckResult]
    trace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass
class DialogueResult:
    id: str
    file: str
    line: int
    description: str
    turns: list[TurnResult]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)

    def expectations(self) -> list[CheckResult]:
        return [c for t in self.turns for c in t.checks if c.name not in ALWAYS_NAMES]

    def always_checks(self, name: str) -> list[CheckResult]:
        return [c for t in self.turns for c in t.checks if c.name == name]


@dataclass
class RunSummary:
    policy: str
    dialogues: int
    dialogues_passed: int
    expectations: int
    expectations_passed: int
    catalog_checks: int
    catalog_failures: int  # turns naming or showing something outside the catalog
    unnamed_item_turns: int  # turns whose text does not name every shown item
    turns: int
    latency_ms_p50: float
    latency_ms_p95: float

    @property
    def pass_rate(self) -> float:
        return self.expectations_passed / self.expectations if self.expectations else 1.0


def _setup(d: Dialogue, session: Session, ctx_lookup: Callable[[str], int]) -> None:
    for t in d.setup.favourites:
        session.add_history(ctx_lookup(t))
    for t in d.setup.disliked:
        session.mark(ctx_lookup(t), "disliked")
    for t in d.setup.seen:
        session.mark(ctx_lookup(t), "seen")


def run_dialogue(d: Dialogue, agent: Agent, new_session: SessionFactory, catalog: Catalog, lookup: TitleLookup) -> DialogueResult:
    """Play one dialogue; a script problem (unknown title or genre) raises ScriptError with its line."""
    session = new_session(d.user)
    probe = TurnContext(reply=None, session=session, previous_items=[], catalog=catalog, lookup=lookup)  # type: ignore[arg-type]
    try:
        _setup(d, session, probe.resolve)
    except ScriptTitleError as exc:
        raise ScriptError(f"{d.file}:{d.line}: dialogue {d.id!r} setup: {exc}") from None
    previous: list[ReplyItem] = []
    results: list[TurnResult] = []
    for n, turn in enumerate(d.turns, start=1):
        reply = agent.turn(session, turn.say)
        ctx = TurnContext(reply, session, previous, catalog, lookup, tools=[s.tool for s in reply.trace])
        checks = [check(ctx) for check in ALWAYS]
        for name, value in turn.expect.items():
            try:
                checks.append(CHECKS[name].run(ctx, value))
            except (ScriptTitleError, InvalidInput) as exc:
                raise ScriptError(f"{d.file}:{turn.line}: dialogue {d.id!r} turn {n}: expect.{name}: {exc}") from None
        results.append(
            TurnResult(
                turn=n,
                say=turn.say if len(turn.say) <= SHOWN_SAY else turn.say[:SHOWN_SAY] + f"... ({len(turn.say):,} characters)",
                reply=reply.text,
                intent=reply.intent,
                items=[f"{i.title} ({i.year})" if i.year else i.title for i in reply.items],
                tools=ctx.tools,
                notices=list(reply.notices),
                latency_ms=reply.latency_ms,
                checks=checks,
                trace=[asdict(s) for s in reply.trace],
            )
        )
        if reply.items:
            previous = list(reply.items)
    return DialogueResult(d.id, d.file, d.line, d.description, results)


def summarize(results: Sequence[DialogueResult], policy: str) -> RunSummary:
    exp = [c for r in results for c in r.expectations()]
    cat = [c for r in results for c in r.always_checks("in_catalog")]
    named = [c for r in results for c in r.always_checks("items_named")]
    lat = [t.latency_ms for r in results for t in r.turns]
    return RunSummary(
        policy=policy,
        dialogues=len(results),
        dialogues_passed=sum(r.passed for r in results),
        expectations=len(exp),
        expectations_passed=sum(c.passed for c in exp),
        catalog_checks=len(cat),
        catalog_failures=sum(not c.passed for c in cat),
        unnamed_item_turns=sum(not c.passed for c in named),
        turns=len(lat),
        latency_ms_p50=round(percentile(lat, 0.5), 1),
        latency_ms_p95=round(percentile(lat, 0.95), 1),
    )


def run_all(
    dialogues: Sequence[Dialogue],
    agent: Agent,
    new_session: SessionFactory,
    catalog: Catalog,
    lookup: TitleLookup,
    progress: Callable[[str], None] | None = None,
) -> list[DialogueResult]:
    out = []
    for d in dialogues:
        if progress:
            progress(d.id)
        out.append(run_dialogue(d, agent, new_session, catalog, lookup))
    return out
