"""A small real run of both harnesses through the real agent on ML-100K (a few seconds once services are up)."""

from __future__ import annotations

import json

from evals.dialogues.__main__ import default_files
from evals.dialogues.report import write
from evals.dialogues.runner import run_all, summarize
from evals.dialogues.schema import load_files
from evals.simulator.experiment import simulate
from evals.simulator.systems import AgentSystem, RetrieverOnly, SasrecOnly

PICK = {"fav-two-titles", "why-second", "chat-hello"}


def test_three_dialogues_through_the_real_agent(services, tmp_path):
    dialogues = [d for d in load_files(default_files()) if d.id in PICK]
    assert {d.id for d in dialogues} == PICK
    results = run_all(dialogues, services.agent, lambda u: services.new_session(user_id=u), services.catalog, services.lookup)
    summary = summarize(results, "planner")
    assert summary.dialogues == 3 and summary.turns == 4
    assert summary.catalog_failures == 0  # every title the agent named is a catalog title
    by_id = {r.id: r for r in results}
    first = by_id["fav-two-titles"].turns[0]
    assert "recommend_from_history" in first.tools and len(first.items) == 5
    assert all(c.passed for c in by_id["chat-hello"].turns[0].checks)
    jpath, mpath = write(results, summary, {"command": "pytest"}, tmp_path)
    data = json.loads(jpath.read_text())
    assert data["summary"]["expectations"] == summary.expectations
    assert "Scripted dialogues" in mpath.read_text()


def test_two_simulated_users_same_messages_for_every_system(services):
    k, turns = 5, 5
    systems = [
        SasrecOnly(services.catalog, services.seqrec, k),
        RetrieverOnly(services.catalog, services.retriever, k),
        AgentSystem("TalkRec planner", services.agent),
    ]
    res = simulate(services, systems, n_users=2, seed=7, k=k, max_turns=turns, progress=False)
    assert [s.users for s in res.summaries] == [2, 2, 2]
    for script in res.scripts:
        expected = [script.message(n) for n in range(1, turns + 1)]
        for name, recs in res.sessions.items():
            rec = next(r for r in recs if r.user_id == script.user_id)
            assert [t.message for t in rec.turns] == expected[: len(rec.turns)], name
            shown = [i for t in rec.turns for i in t.shown]
            assert len(shown) == len(set(shown)), f"{name} repeated an item"
            assert not set(shown) & set(script.profile), f"{name} showed a profile item"
            assert all(t.out_of_catalog == [] for t in rec.turns)
            assert all(len(t.shown) <= k for t in rec.turns)
    planner = res.summaries[-1]
    assert planner.tools and planner.latency_p50_ms > 0
