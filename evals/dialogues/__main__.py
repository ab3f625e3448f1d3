"""`python -m evals.dialogues [FILES...] --policy planner|llm --backend embedded|openai|hf --out DIR`.

Runs the scripts (default: every evals/dialogues/scripts/*.yaml) through the agent and writes
DIR/dialogues.json and DIR/dialogues.md. Exit status 1 when a check fails, 2 on a script error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def default_files() -> list[Path]:
    return sorted(SCRIPTS.glob("*.yaml"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.dialogues", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="dialogue YAML files (default: evals/dialogues/scripts/*.yaml)")
    ap.add_argument("--policy", choices=["planner", "llm"], default=None, help="agent policy (default: the settings' policy)")
    ap.add_argument("--backend", choices=["embedded", "openai", "hf"], default=None, help="chat backend for --policy llm")
    ap.add_argument("--out", type=Path, default=Path("docs/results"), help="folder for dialogues.json and dialogues.md")
    ap.add_argument("--name", default="dialogues", help="file name stem of the reports")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from data.errors import TalkRecError
    from data.settings import Settings
    from evals.dialogues.report import write
    from evals.dialogues.runner import run_all, summarize
    from evals.dialogues.schema import ScriptError, load_files
    from evals.runmeta import meta
    from evals.wiring import pick_agent, services_for_evals

    try:
        dialogues = load_files(args.files or default_files())
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = Settings()
    try:
        services = services_for_evals(settings)
        agent = pick_agent(services, args.policy, args.backend)
        results = run_all(dialogues, agent, lambda u: services.new_session(user_id=u), services.catalog, services.lookup)
        summary = summarize(results, agent.policy if agent.policy == "planner" else f"llm/{args.backend or settings.backend}")
        write(results, summary, meta("evals.dialogues", dialogues=len(dialogues)), args.out, args.name)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TalkRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(
        f"{summary.dialogues} dialogues, {summary.expectations_passed}/{summary.expectations} expectations passed ({summary.pass_rate:.1%}), "
        f"{summary.catalog_failures} out-of-catalog turns; wrote {args.out / (args.name + '.json')} and .md"
    )
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
