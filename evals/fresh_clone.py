"""What a new user gets: the README's commands in a fresh clone, timed, with the model they train.

`python -m evals.fresh_clone [--test]` clones the committed HEAD into a temporary folder and runs
`make prepare` there (what `make run` does before it serves), then, with --test, `make test`. It records
the wall time of each, SASRec's training outcome as `tools.seqrec.train` prints it (best epoch, epochs run,
what stopped it, validation NDCG@10, seconds), and the test summary. Writes docs/results/fresh_clone.{json,md}.
Run it on a quiet machine: the figures are the set-up time and the model a user of this machine kind gets.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import tempfile
import time
from pathlib import Path

from data.settings import REPO_ROOT
from evals.mdtable import md_table
from evals.runmeta import meta

log = logging.getLogger(__name__)

OUT_DIR = REPO_ROOT / "docs" / "results"
TRAIN_LINE = re.compile(r"sasrec: best epoch (?P<best>\d+)/(?P<run>\d+) \((?P<stopped>\w+)\), valid NDCG@10 (?P<ndcg>[\d.]+), (?P<seconds>\d+) s")
PYTEST_LINE = re.compile(r"=+ (?P<summary>\d+ passed.*?) in (?P<seconds>[\d.]+)s")
READY_GOAL_S = 600  # `make run` ready within 10 minutes on this machine kind


def run_step(cmd: list[str], cwd: Path, log_path: Path) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    with log_path.open("w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    return proc.returncode, time.perf_counter() - t0, log_path.read_text(errors="replace")


def parse_training(text: str) -> dict | None:
    m = TRAIN_LINE.search(text)
    if not m:
        return None
    return {
        "best_epoch": int(m["best"]),
        "epochs_run": int(m["run"]),
        "stopped_by": m["stopped"],
        "valid_ndcg10": float(m["ndcg"]),
        "train_s": int(m["seconds"]),
    }


def render(report: dict) -> str:
    m = report["meta"]
    rows = [["`make prepare`", f"{report['prepare_s']:.0f}", "ok" if report["prepare_rc"] == 0 else f"exit {report['prepare_rc']}"]]
    if "test_s" in report:
        rows.append(["`make test`", f"{report['test_s']:.0f}", report.get("test_summary") or f"exit {report['test_rc']}"])
    lines = [
        "## A fresh clone: set-up time and the model it trains",
        "",
        f"Command: `{m['command']}` ({m['date']}; {m['machine']}); commit {report['commit']}.",
        "",
        md_table(["step", "seconds", "result"], rows),
        "",
    ]
    t = report.get("training")
    if t:
        per_epoch = t["train_s"] / max(t["epochs_run"], 1)
        lines.append(
            f"SASRec in the fresh clone: best epoch {t['best_epoch']} of {t['epochs_run']}, stopped by {t['stopped_by']}, validation "
            f"NDCG@10 {t['valid_ndcg10']:.4f} (seen excluded), {t['train_s']} s of training ({per_epoch:.1f} s per epoch, evaluation included)."
        )
    else:
        lines.append("SASRec's training line was not found in the log (the checkpoint may have been current already).")
    ready = report["prepare_s"] <= READY_GOAL_S
    lines += [
        "",
        f"`make run` serves once `make prepare` is done and the app has loaded (seconds more): {report['prepare_s']:.0f} s against the goal of "
        f"{READY_GOAL_S} s: " + ("**met**." if ready else "**not met**."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test", action="store_true", help="also run `make test` in the clone")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    report: dict = {"meta": meta("evals.fresh_clone"), "commit": commit}
    with tempfile.TemporaryDirectory(prefix="talkrec-clone-") as tmp:
        clone = Path(tmp) / "talkrec"
        subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
        log.info("make prepare in %s", clone)
        rc, secs, text = run_step(["make", "prepare"], clone, Path(tmp) / "prepare.log")
        report.update(prepare_rc=rc, prepare_s=round(secs, 1), training=parse_training(text))
        if args.test and rc == 0:
            log.info("make test in %s", clone)
            rc, secs, text = run_step(["make", "test"], clone, Path(tmp) / "test.log")
            m = PYTEST_LINE.search(text)
            report.update(test_rc=rc, test_s=round(secs, 1), test_summary=m["summary"] if m else None)
            if rc != 0:
                log.error("make test failed; the end of its log:\n%s", text[-4000:])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fresh_clone.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "fresh_clone.md").write_text(render(report))
    print(render(report))
    return 0 if report["prepare_rc"] == 0 and report.get("test_rc", 0) == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
