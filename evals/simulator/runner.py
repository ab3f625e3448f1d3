"""Play each simulated user against each system: same users, same messages, same turn limit."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tqdm import tqdm

from data.catalog import Catalog
from data.lookup import TitleLookup
from evals.catalog_check import out_of_catalog
from evals.simulator.metrics import SessionRecord, TurnRecord
from evals.simulator.systems import System
from evals.simulator.user import UserScript

log = logging.getLogger(__name__)


def run_session(system: System, script: UserScript, catalog: Catalog, lookup: TitleLookup, k: int, max_turns: int) -> SessionRecord:
    """Turn 1 is the opening; after a miss the user says the next follow-up; a hit in the top k ends it."""
    conv = system.start(script.user_id, script.profile)
    turns: list[TurnRecord] = []
    for n in range(1, max_turns + 1):
        message = script.message(n)
        shown = system.turn(conv, message)
        bad = out_of_catalog(shown.item_ids, shown.text, catalog, lookup)
        turns.append(TurnRecord(message, list(shown.item_ids), shown.latency_ms, list(shown.tools), bad))
        if script.target in shown.item_ids[:k]:
            break
    return SessionRecord(script.user_id, script.target, turns)


def run_system(
    system: System, scripts: Sequence[UserScript], catalog: Catalog, lookup: TitleLookup, k: int, max_turns: int, progress: bool = True
) -> list[SessionRecord]:
    out = []
    for script in tqdm(scripts, desc=system.name, unit="user", disable=not progress, leave=False):
        out.append(run_session(system, script, catalog, lookup, k, max_turns))
    return out
