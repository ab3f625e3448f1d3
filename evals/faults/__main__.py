"""`python -m evals.faults [--skip-llm] [--skip-chroma] [--skip-startup] [--no-recover]`: inject every fault, record what the
user sees, write docs/results/faults.{json,md}; exits 1 when a case fails its expectations."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents.services import build_services
from data.settings import Settings
from evals.faults.llm import FAULT, HEALTHY, LLM_FAULTS, RECOVERED, run_llm_fault
from evals.faults.startup import STARTUP_FAULTS, run_startup_fault
from evals.faulty_llm import FaultyLLM
from evals.mdtable import md_table
from evals.runmeta import meta as runmeta

OUT = Path("docs/results")
# Words of the session checks' problems (evals.faults.conversation, llm, chroma): any of them means something was lost.
SESSION_WORDS = ("lost", "not logged", "not remembered", "not kept", "not added")
# Short, so the hang case costs seconds; the server hangs well past it.
LLM_TIMEOUT_S = 2.0
HANG_S = 10.0
LLM_PAUSE_S = 3.0  # short, so the run shows the model asked again after its pause (the product's default is 30 s)

log = logging.getLogger("evals.faults")


def run_llm_cases(settings: Settings) -> list[dict[str, Any]]:
    with FaultyLLM(hang_s=HANG_S) as llm:
        # The openai backend reads its server from the environment, as a user would configure it.
        os.environ["OPENAI_BASE_URL"] = llm.base_url
        os.environ["OPENAI_API_KEY"] = "faults-not-a-real-key"
        services = build_services(settings.model_copy(update={"llm_timeout_s": LLM_TIMEOUT_S, "llm_pause_s": LLM_PAUSE_S}), prepare_missing=False)
        agent = services.make_agent("llm", "openai")
        out = []
        for fault in LLM_FAULTS:
            log.info("llm fault %s", fault.name)
            out.append(run_llm_fault(agent, services.new_session, llm, fault).to_dict())
        return out


def run_chroma_case(settings: Settings, workdir: Path) -> dict[str, Any]:
    from evals.faults.chroma import run_chroma_fault

    log.info("chroma server fault")
    return run_chroma_fault(settings, workdir).to_dict()


def render(report: dict[str, Any]) -> str:
    m = report["meta"]
    lines = [
        "## Fault injection",
        "",
        f"`{m['command']}` ({m['machine']}; {m['date']}). Each fault is injected into the real services "
        "(`build_services(Settings())`) while a conversation runs, on one session: a healthy turn, the fault turn, "
        "then a turn with the part back. *Recovered*: that last turn works with no notice (for the LLM cases, the "
        "model chose the tools again). *Session intact*: nothing the session held was lost, the failing turn was "
        "logged and its items remembered as shown, and what the user said in it (a title, a genre, a decade) was kept.",
        "",
        f"LLM cases: the llm policy on the openai backend, pointed at a misbehaving OpenAI-compatible server on 127.0.0.1 "
        f"(`evals/faulty_llm.py`), client timeout {report['llm_timeout_s']:.0f} s; turns: “{HEALTHY}”, then “{FAULT}”, "
        f"then “{RECOVERED}”.",
        "",
    ]
    rows = []
    for c in report["runtime"]:
        fault_turn = next((t for t in c["turns"] if t["phase"] == "fault"), None)
        last = c["turns"][-1] if c["turns"] else None
        if fault_turn is None:
            rows.append([c["name"], c["what"], "(not run)", "", "", "", "no"])
            continue
        seen = fault_turn["reply_head"].splitlines()
        quote = next((line for line in seen[len(fault_turn["notices"]) :] if line.strip()), "")[:90]
        recovered = last is not None and last["phase"] == "recovered" and not last["problems"]
        intact = not any(word in p for p in fault_turn["problems"] for word in SESSION_WORDS)
        rows.append(
            [
                c["name"],
                c["what"],
                f"“{quote}” ({len(fault_turn['items'])} items, {fault_turn['latency_ms'] / 1000:.1f} s)",
                " ".join(fault_turn["notices"]) or "(none)",
                "yes" if recovered else "no",
                "yes" if intact else "no",
                "yes" if c["ok"] else "no: " + "; ".join(c["problems"]),
            ]
        )
    lines.append(md_table(["fault", "what", "what the user saw", "notice", "recovered", "session intact", "passes"], rows))
    hang = next((c for c in report["runtime"] if c["name"] == "llm_hang" and len(c["turns"]) > 1), None)
    if hang is not None:
        waited = hang["turns"][1]["latency_ms"] / 1000
        lines += [
            "",
            f"A hanging server cost {waited:.1f} s with a {report['llm_timeout_s']:.0f} s timeout: the openai client tries twice "
            "(max_retries=1), so the first turn after a hang costs about two times `TALKREC_LLM_TIMEOUT_S`. After that the model is "
            f"paused: for `TALKREC_LLM_PAUSE_S` ({report.get('llm_pause_s', LLM_PAUSE_S):.0f} s in this run, 30 s by default) turns go "
            "straight to the planner with a notice saying when the model is tried again, and then it is asked again by itself.",
        ]
    if report["startup"]:
        lines += [
            "",
            "### Start-up artifacts",
            "",
            "A copy of the prepared artifacts with one part damaged; `build_services(settings, prepare_missing=False)`, as "
            "`app/main.py`'s `start_services` calls it first. A `MissingArtifact` makes `start_services` prepare what is "
            "missing behind a progress page; *repair* is that second step (`build_services(prepare_missing=True)` and one "
            "turn), run where it takes seconds (the checkpoint cases would retrain SASRec, about 5 minutes, and are not run here). "
            "`$ARTIFACTS` stands for the temporary copy.",
            "",
        ]
        rows = []
        for c in report["startup"]:
            rec = c.get("recovery")
            if rec is None:
                repair = "not run"
            elif rec["ok"]:
                repair = f"yes, {rec['seconds']:.0f} s"
            elif rec["names_fix"] and rec["error"].split(":", 1)[0] == c["error_type"]:
                repair = "no: stops at the same error (the app stops with its message)"
            else:
                repair = f"no: {rec['error']}"
            passes = "yes" if c["ok"] else "no: " + "; ".join(c["problems"])
            rows.append([c["name"], c["what"], c["error_type"] or "(none)", c["message"][:300], repair, passes])
        lines.append(md_table(["case", "damage", "error", "message", "repair", "passes"], rows))
    failed = [c["name"] for c in report["runtime"] + report["startup"] if not c["ok"]]
    n_cases = len(report["runtime"]) + len(report["startup"])
    lines += ["", f"{len(failed)} of {n_cases} cases fail their expectations" + (f": {', '.join(failed)}." if failed else ".")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-llm", action="store_true", help="leave out the LLM backend cases")
    parser.add_argument("--skip-chroma", action="store_true", help="leave out the Chroma server case")
    parser.add_argument("--skip-startup", action="store_true", help="leave out the start-up artifact cases")
    parser.add_argument("--no-recover", action="store_true", help="start-up cases: do not run start_services' repair step")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    report: dict[str, Any] = {
        "meta": runmeta("evals.faults"),
        "llm_timeout_s": LLM_TIMEOUT_S,
        "llm_pause_s": LLM_PAUSE_S,
        "runtime": [],
        "startup": [],
    }
    report["runtime"] = [] if args.skip_llm else run_llm_cases(settings)
    with tempfile.TemporaryDirectory(prefix="talkrec-faults-") as tmp:
        if not args.skip_chroma:
            report["runtime"].append(run_chroma_case(settings, Path(tmp)))
        if not args.skip_startup:
            for fault in STARTUP_FAULTS:
                log.info("start-up fault %s", fault.name)
                report["startup"].append(run_startup_fault(settings, fault, Path(tmp), recover=not args.no_recover))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "faults.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "faults.md").write_text(render(report))
    failed = [c["name"] for c in report["runtime"] + report["startup"] if not c["ok"]]
    print(f"wrote {args.out / 'faults.md'}: {len(failed)} failing case(s) {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
