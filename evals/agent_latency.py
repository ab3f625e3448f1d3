"""Turn latency of the agent: 100 scripted turns per policy on the embedded backend.

`[TALKREC_DATASET=ml-1m] python -m evals.agent_latency [--turns 100]` writes docs/results/agent_latency.{json,md}
(agent_latency-ml-1m.{json,md} on ML-1M).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from agents.services import build_services
from data.errors import TalkRecError
from data.settings import Settings
from evals.runmeta import meta as runmeta
from evals.runmeta import result_stem, with_dataset

# Five-turn conversations that touch every intent; repeated (with other users) to reach --turns.
SCRIPTS = [
    ["I loved Alien and Heat, something lighter tonight?", "why the second one?", "more like the first one", "older", "seen the third one"],
    ["a slow sci-fi from the 70s", "no horror", "what year is Star Wars?", "more like the second one", "not the first"],
    ["recommend me something", "in the 90s", "why the first?", "something funny", "thanks!"],
    ["I liked godfathr and terminator 2", "nothing violent", "more please", "why the third one?", "a romcom"],
]
OUT = Path("docs/results")
# Which tools suit a request of each parsed intent (recommend/refine: history, description, or both fused).
FITTING_TOOLS = {
    "recommend": {"recommend_from_history", "search_by_description"},
    "refine": {"recommend_from_history", "search_by_description"},
    "more_like": {"more_like"},
    "explain": {"explain_item"},
    "item_info": {"item_details"},
}


def llm_calls(reply) -> list[str] | None:
    """Tool names the model called this turn; None when the turn never reached the model."""
    steps = [s for s in reply.trace if s.tool == "llm" and "tool_calls" in s.args]
    return [c.split("(", 1)[0] for c in steps[0].args["tool_calls"]] if steps else None


def run(policy: str, services, n_turns: int, users: list[int | None]) -> dict:
    agent = services.make_agent(policy, "embedded")
    # One untimed turn first: loading the model and reading the fixed system prompt happen once per process.
    t0 = time.perf_counter()
    agent.turn(services.new_session(None), "recommend me something")
    warmup_ms = round((time.perf_counter() - t0) * 1000, 1)
    lat: list[float] = []
    fallbacks = 0
    fits = asked = 0
    bar = tqdm(total=n_turns, desc=f"{policy} turns")
    i = 0
    while len(lat) < n_turns:
        session = services.new_session(users[i % len(users)])
        for msg in SCRIPTS[i % len(SCRIPTS)]:
            if len(lat) >= n_turns:
                break
            intent = agent.parser.parse(msg, session).intent
            t0 = time.perf_counter()
            reply = agent.turn(session, msg)
            lat.append((time.perf_counter() - t0) * 1000)
            fallbacks += int(reply.fallback or any("planner decided" in s.note for s in reply.trace))
            calls = llm_calls(reply)
            if calls is not None:
                asked += 1
                fits += int(bool(calls) and calls[0] in FITTING_TOOLS.get(intent, set()))
            bar.update(1)
        i += 1
    bar.close()
    arr = np.array(lat)
    return {
        "policy": policy,
        "backend": "embedded",
        "turns": len(lat),
        "p50_ms": round(float(np.percentile(arr, 50)), 1),
        "p95_ms": round(float(np.percentile(arr, 95)), 1),
        "max_ms": round(float(arr.max()), 1),
        "turns_decided_by_planner_after_llm": fallbacks,
        "turns_sent_to_llm": asked,
        "warmup_turn_ms": warmup_ms,
        "llm_first_call_fits_request": fits,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--llm-turns", type=int, default=None, help="turns for the llm policy (default: --turns); it is slow on CPU")
    ap.add_argument("--policies", default="planner,llm")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    import torch

    torch.set_num_threads(settings.torch_threads)
    services = build_services(settings)
    users: list[int | None] = [None, 1, 42, 300, 777]
    rows = []
    for policy in args.policies.split(","):
        try:
            n = args.llm_turns if policy == "llm" and args.llm_turns else args.turns
            rows.append(run(policy, services, n, users))
        except TalkRecError as exc:
            rows.append({"policy": policy, "backend": "embedded", "error": str(exc)})
    meta = runmeta("evals.agent_latency", targets={"p50_ms": 1500, "p95_ms": 4000}, dataset=settings.dataset)
    meta["command"] = with_dataset(meta["command"], settings.dataset)
    stem = result_stem("agent_latency", settings.dataset)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    lines = [
        f"## Agent turn latency ({settings.dataset.upper()})",
        "",
        f"Command: `{meta['command']}` ({meta['date']}, {meta['machine']}). Targets: p50 ≤ 1.5 s, p95 ≤ 4 s.",
        "",
        "| policy | backend | turns | p50 ms | p95 ms | max ms | turns the planner decided | model's first tool fits the request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['policy']} | {r['backend']} | error: {r['error']} | | | | |")
        else:
            fit = f"{r['llm_first_call_fits_request']} / {r['turns_sent_to_llm']}" if r["turns_sent_to_llm"] else "n/a (no model)"
            lines.append(
                f"| {r['policy']} | {r['backend']} | {r['turns']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | "
                f"{r['turns_decided_by_planner_after_llm']} | {fit} |"
            )
    lines += [
        "",
        "On the embedded backend the llm policy makes one constrained tool call per turn (agents/llm/constrained.py: the "
        "model picks its most probable tool and writes its string arguments; templates write the reply). Greetings "
        'and feedback never reach the model. "Turns the planner decided": the model\'s call gave no answer (an argument that '
        'names no film), so the planner answered. "Fits the request": the model\'s first tool is one that suits the parsed '
        "intent (recommend/refine: history or description search; more-like; explain; item details).",
    ]
    (OUT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
