"""How well a local model chooses the agent's tool: `python -m evals.tool_choice [--backend embedded]`.

Each labelled request (evals/data/tool_choice.json) is rendered exactly as the llm policy renders it
(system prompt, the policy's own tool list) and the model's probability of calling each tool is read
off, as the constrained decoder does (agents/llm/constrained.py), both raw and calibrated against a
content-free request. Accuracy = the most probable tool is one that suits the request; chance is the
expected accuracy of a uniform pick. Writes docs/results/tool_choice.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from agents.llm.base import Message
from agents.llm.constrained import name_logprobs
from agents.llm.langchain_chat import tool_specs
from agents.policies.llm import SYSTEM_PROMPT, LLMPolicy
from agents.services import build_services
from data.settings import Settings
from evals.runmeta import meta as runmeta

DATA = Path(__file__).resolve().parent / "data" / "tool_choice.json"
OUT = Path("docs/results")


def accuracy(picks: list[str], labels: list[list[str]]) -> float:
    return sum(p in ok for p, ok in zip(picks, labels, strict=True)) / len(labels)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="embedded", choices=["embedded", "hf"], help="a local backend (probabilities are read from it)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    import torch

    torch.set_num_threads(settings.torch_threads)
    services = build_services(settings)
    backend = services.backend(args.backend)
    agent = services.make_agent("planner")
    specs = tool_specs(LLMPolicy(backend.as_langchain(), backend.name).tool_specs(agent.context, services.new_session(None)))
    names = [t.name for t in specs]
    requests = json.loads(DATA.read_text())["requests"]
    texts, labels = [r[0] for r in requests], [r[1] for r in requests]

    def logps(text: str) -> list[float]:
        return name_logprobs(backend, backend.render([Message("system", SYSTEM_PROMPT), Message("user", text)], specs), specs)

    prior = logps("N/A")
    raw, cal = [], []
    for text in tqdm(texts, desc="requests"):
        lp = logps(text)
        raw.append(names[lp.index(max(lp))])
        c = [a - b for a, b in zip(lp, prior, strict=True)]
        cal.append(names[c.index(max(c))])
    constant = max(names, key=lambda n: accuracy([n] * len(labels), labels))
    chance = sum(len(set(ok) & set(names)) / len(names) for ok in labels) / len(labels)
    result = {
        "meta": runmeta("evals.tool_choice"),
        "backend": args.backend,
        "model": backend.model_ref,
        "requests": len(texts),
        "accuracy_raw": round(accuracy(raw, labels), 3),
        "accuracy_calibrated": round(accuracy(cal, labels), 3),
        "chance": round(chance, 3),
        "best_constant_pick": {"tool": constant, "accuracy": round(accuracy([constant] * len(labels), labels), 3)},
        "picks_raw": dict(Counter(raw)),
        "picks_calibrated": dict(Counter(cal)),
        "per_request": [{"request": t, "suits": ok, "raw": r, "calibrated": c} for t, ok, r, c in zip(texts, labels, raw, cal, strict=True)],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tool_choice.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["meta"]
    lines = [
        "## Tool choice by the local model",
        "",
        f"Command: `{m['command']}` ({m['date']}, {m['machine']}). Backend {args.backend} ({Path(backend.model_ref).name}); "
        f"{len(texts)} labelled requests (evals/data/tool_choice.json), {len(names)} tools.",
        "",
        "| choice | accuracy | most frequent picks |",
        "|---|---|---|",
        f"| raw probability | {result['accuracy_raw']:.3f} | {', '.join(f'{k} {v}' for k, v in Counter(raw).most_common(3))} |",
        f"| calibrated (content-free prior subtracted) | {result['accuracy_calibrated']:.3f} | "
        f"{', '.join(f'{k} {v}' for k, v in Counter(cal).most_common(3))} |",
        f"| uniform random pick (expected) | {chance:.3f} | |",
        f"| always {constant} | {result['best_constant_pick']['accuracy']:.3f} | |",
        "",
        "Accuracy: the most probable tool suits the request. The constrained decoder uses the raw probability ("
        + ("the better row here" if result["accuracy_raw"] >= result["accuracy_calibrated"] else "calibration scored higher in this run")
        + "). The deterministic planner is the default on the embedded backend because the model's choice is this close to chance.",
    ]
    (OUT / "tool_choice.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
