"""Load test: simulated users chat at once with a real `python app.py` on 127.0.0.1 through gradio_client.

`python -m evals.load --users 50 --turns 6 [--limits 2 4 8 16]`

Each simulated user (the simulator's own users and words, evals/simulator/user.py) is its own API client,
so its own Gradio session and its own saved tab. Users start within a short ramp and pause between turns
(a seeded think time, as a person reading the reply would), all within bounded loops. For each queue
concurrency limit the script starts a fresh server, runs the same users, and measures per-turn latency
(first streamed frame and complete reply), errors, throughput and the server's peak RSS. It checks
isolation on every reply: the chat holds exactly this user's messages, the profile only titles this user
named, the tab key is this user's alone; after the run, every saved tab holds only its own user's words.

Writes docs/results/load.json and docs/results/load.md. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm.auto import tqdm

from evals.appserver import KEY, RESPOND_CHAT, RESPOND_FAVOURITES, AppServer, text_of
from evals.mdtable import md_table
from evals.runmeta import meta

log = logging.getLogger(__name__)

OUT_DIR = Path("docs/results")
FAILURE_MARKERS = ("Sorry, something went wrong", "Sorry, I couldn't do that")
P95_GOAL_S = 2.0


@dataclass
class UserPlan:
    user_id: int
    messages: list[str]
    allowed_titles: set[str]  # every catalog label this user names: the only titles their profile may show
    start_delay_s: float
    think_s: list[float]


@dataclass
class TurnRecord:
    user_id: int
    turn: int
    first_frame_s: float | None
    latency_s: float | None
    error: str | None = None
    leak: str | None = None


@dataclass
class RunResult:
    concurrency_limit: int
    users: int
    turns_per_user: int
    start_s: float
    wall_s: float
    turns_ok: int
    errors: int
    leaks: int
    p50_s: float
    p95_s: float
    p95_later_s: float  # turns 2.. of each user: the arrival burst (connecting, first turn) left out
    max_s: float
    first_frame_p50_s: float
    first_frame_p95_s: float
    throughput_turns_per_s: float
    peak_rss_mib: float | None
    think_s: tuple[float, float]
    server_cpu_ms_per_turn: float | None  # the server process's CPU time over the run, per completed turn
    client_cpu_share: float | None  # the load generator's CPU over the run, in cores (it shares the machine)
    stored_tabs: int
    store_leaks: int
    examples: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def with_think(plans: list[UserPlan], think: tuple[float, float], seed: int) -> list[UserPlan]:
    """The same users and words with think times drawn (seeded) from another range."""
    rng = random.Random(f"{seed}:{think}")
    return [replace(p, think_s=[rng.uniform(*think) for _ in p.messages]) for p in plans]


def make_plans(n_users: int, turns: int, seed: int, ramp_s: float, think: tuple[float, float]) -> list[UserPlan]:
    """The simulator's users and words (every message said, hit or not: this is load, not quality)."""
    from agents.services import build_services
    from data.settings import Settings
    from evals.simulator.user import build_scripts, sample_users

    services = build_services(Settings(), prepare_missing=False)
    users = sample_users(services.dataset, n_users, seed)
    scripts = build_scripts(services.dataset, services.lookup, services.retriever.similarity, users, seed, max_turns=turns)
    rng = random.Random(seed)
    plans = []
    for s in scripts:
        msgs = [s.message(t) for t in range(1, turns + 1)]
        allowed = {services.catalog.get(i).label for i in s.profile}  # the user's favourites and "like X" come from here
        plans.append(UserPlan(s.user_id, msgs, allowed, rng.uniform(0, ramp_s), [rng.uniform(*think) for _ in msgs]))
    return plans


def check_reply(out: tuple, plan: UserPlan, said: list[str], key: str | None) -> tuple[str | None, str | None]:
    """(error, leak) for one reply; None where all is well."""
    chat = out[RESPOND_CHAT]
    reply = text_of(chat[-1]) if chat else ""
    error = None
    if not chat or chat[-1]["role"] != "assistant" or not reply.strip():
        error = "no reply"
    elif any(m in reply for m in FAILURE_MARKERS):
        error = reply[:120]
    users = [text_of(m) for m in chat if m["role"] == "user"]
    if users != said:
        return error, f"chat holds other messages: {users[-2:]!r}"
    favs = {label for label, _ in out[RESPOND_FAVOURITES]["choices"]}
    if not favs <= plan.allowed_titles:
        return error, f"profile shows titles this user never named: {sorted(favs - plan.allowed_titles)[:3]}"
    if key is not None and out[KEY] != key:
        return error, "the tab key changed mid-conversation"
    return error, None


def run_user(url: str, plan: UserPlan, stop_at: float) -> tuple[list[TurnRecord], str | None, list[str]]:
    """One simulated user's whole conversation; returns its turn records, its tab key and what it said."""
    from gradio_client import Client

    time.sleep(plan.start_delay_s)
    records: list[TurnRecord] = []
    said: list[str] = []
    key: str | None = None
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # the load edge: any failure to connect is an error to count, never a crash of the run
        log.warning("user %d could not connect", plan.user_id, exc_info=True)
        return [TurnRecord(plan.user_id, 1, None, None, error=f"connect: {type(exc).__name__}: {exc}")], None, said
    for t, (msg, think) in enumerate(zip(plan.messages, plan.think_s, strict=True), start=1):
        if time.monotonic() > stop_at:
            records.append(TurnRecord(plan.user_id, t, None, None, error="run time cap reached"))
            break
        said.append(msg)
        t0 = time.perf_counter()
        first: float | None = None
        try:
            job = client.submit(msg, api_name="/respond")
            for _ in job:  # streamed frames
                if first is None:
                    first = time.perf_counter() - t0
            out = job.result(timeout=120)
            latency = time.perf_counter() - t0
        except Exception as exc:  # the load edge: count it and go on with this user's next turn
            log.warning("user %d turn %d failed", plan.user_id, t, exc_info=True)
            records.append(TurnRecord(plan.user_id, t, first, None, error=f"{type(exc).__name__}: {str(exc)[:120]}"))
            continue
        error, leak = check_reply(out, plan, said, key)
        key = key or out[KEY]
        records.append(TurnRecord(plan.user_id, t, first, latency, error=error, leak=leak))
        time.sleep(think)
    return records, key, said


def store_leaks(sessions: Path, owners: dict[str, list[str]]) -> tuple[int, int]:
    """(saved tabs, tabs whose saved chat is not exactly their own user's words)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{sessions}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT key, state FROM tabs").fetchall()
    finally:
        conn.close()
    leaks = 0
    for key, state in rows:
        if key not in owners:
            continue
        users = [text_of(m) for m in json.loads(state)["messages"] if m["role"] == "user"]
        leaks += users != owners[key]
    return len(rows), leaks


def run_group(url: str, plans: list[UserPlan], stop_at: float, progress) -> tuple[list[TurnRecord], dict[str, list[str]]]:
    """One load-generator process: its users, each in its own thread. `progress` (a queue) gets one item per
    finished user. time.monotonic is system-wide, so stop_at means the same instant in every process."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    records: list[TurnRecord] = []
    owners: dict[str, list[str]] = {}
    lock = threading.Lock()

    def one(plan: UserPlan) -> None:
        recs, key, said = run_user(url, plan, stop_at)
        with lock:
            records.extend(recs)
            if key:
                owners[key] = said
        progress.put(1)

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        list(pool.map(one, plans))
    return records, owners


def run_once(plans: list[UserPlan], limit: int, turns: int, workdir: Path, max_run_s: float, think: tuple[float, float], procs: int) -> RunResult:
    """A fresh server at this limit; the users split over `procs` load-generator processes (one process of
    50 clients is itself CPU-bound on Python's lock, and its queueing would be counted as the server's)."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    tag = f"{limit}-{think[0]:g}-{think[1]:g}"
    sessions = workdir / f"sessions-{tag}.sqlite"
    ctx = mp.get_context("spawn")  # the parent holds torch and the models; a fork of it would copy them
    groups = [plans[i::procs] for i in range(procs) if plans[i::procs]]
    with (
        AppServer(sessions_path=sessions, log_path=workdir / f"app-{tag}.log", env={"TALKREC_CONCURRENCY_LIMIT": str(limit)}) as server,
        ProcessPoolExecutor(max_workers=len(groups), mp_context=ctx) as pool,
        ctx.Manager() as manager,
    ):
        progress = manager.Queue()
        records: list[TurnRecord] = []
        owners: dict[str, list[str]] = {}
        bar = tqdm(total=len(plans), desc=f"load, concurrency {limit}, think {think[0]:g}-{think[1]:g} s", unit="user")
        cpu0, client0 = server.cpu_seconds(), os.times()
        t0 = time.perf_counter()
        stop_at = time.monotonic() + max_run_s
        futures = [pool.submit(run_group, server.url, g, stop_at, progress) for g in groups]
        done = 0
        while done < len(plans):
            done += progress.get(timeout=max_run_s + 300)
            bar.update(1)
        for f in futures:
            recs, own = f.result()
            records += recs
            owners.update(own)
        wall = time.perf_counter() - t0
        bar.close()
        cpu1 = server.cpu_seconds()
        pool.shutdown(wait=True)  # the workers' CPU is counted in os.times() once they are reaped
        client1 = os.times()
        rss = server.peak_rss_mib()
        start_s = server.start_s or float("nan")
    n_tabs, n_store_leaks = store_leaks(sessions, owners)
    ok = [r for r in records if r.error is None and r.latency_s is not None]
    lat = [r.latency_s for r in ok]
    firsts = [r.first_frame_s for r in ok if r.first_frame_s is not None]
    bad = [r for r in records if r.error or r.leak]
    return RunResult(
        concurrency_limit=limit,
        users=len(plans),
        turns_per_user=turns,
        start_s=round(start_s, 1),
        wall_s=round(wall, 1),
        turns_ok=len(ok),
        errors=sum(r.error is not None for r in records),
        leaks=sum(r.leak is not None for r in records),
        p50_s=round(percentile(lat, 50), 3),
        p95_s=round(percentile(lat, 95), 3),
        p95_later_s=round(percentile([r.latency_s for r in ok if r.turn > 1], 95), 3),
        max_s=round(max(lat), 3) if lat else float("nan"),
        first_frame_p50_s=round(percentile(firsts, 50), 3),
        first_frame_p95_s=round(percentile(firsts, 95), 3),
        throughput_turns_per_s=round(len(ok) / wall, 2) if wall else 0.0,
        peak_rss_mib=round(rss, 0) if rss else None,
        think_s=think,
        server_cpu_ms_per_turn=round((cpu1 - cpu0) * 1000 / len(ok), 1) if ok and cpu0 is not None and cpu1 is not None else None,
        client_cpu_share=round((_cpu(client1) - _cpu(client0)) / wall, 2) if wall else None,
        stored_tabs=n_tabs,
        store_leaks=n_store_leaks,
        examples=[f"user {r.user_id} turn {r.turn}: {r.error or r.leak}" for r in bad[:5]],
    )


def _cpu(t: os.times_result) -> float:
    """This process's and its reaped children's CPU seconds."""
    return t.user + t.system + t.children_user + t.children_system


def choose(results: list[RunResult]) -> RunResult:
    """The limit with the lowest p95 among runs without errors or leaks (all runs if none is clean)."""
    clean = [r for r in results if r.errors == 0 and r.leaks == 0 and r.store_leaks == 0] or results
    return min(clean, key=lambda r: (r.p95_s, r.p50_s))


def goal_met(r: dict) -> bool:
    return r["errors"] == 0 and r["leaks"] == 0 and r["store_leaks"] == 0 and r["p95_s"] <= P95_GOAL_S


def render(report: dict) -> str:
    m = report["meta"]
    rows = [
        [
            r["concurrency_limit"],
            f"{r['think_s'][0]:g}-{r['think_s'][1]:g}",
            f"{r['turns_ok']}/{r['users'] * r['turns_per_user']}",
            r["errors"],
            r["leaks"] + r["store_leaks"],
            f"{r['p50_s']:.2f}",
            f"{r['p95_s']:.2f}",
            f"{r['p95_later_s']:.2f}",
            f"{r['max_s']:.2f}",
            f"{r['first_frame_p95_s']:.2f}",
            f"{r['throughput_turns_per_s']:.1f}",
            f"{r['server_cpu_ms_per_turn']:.0f}" if r.get("server_cpu_ms_per_turn") else "n/a",
            f"{r['client_cpu_share']:.2f}" if r.get("client_cpu_share") is not None else "n/a",
            f"{r['peak_rss_mib']:.0f}" if r["peak_rss_mib"] else "n/a",
        ]
        for r in report["runs"]
    ]
    best = report["chosen"]
    think = report["think_s"]
    lines = [
        "## Load: concurrent users against a real server",
        "",
        f"Command: `{m['command']}` ({m['date']}; {m['machine']}).",
        "",
        f"{report['users']} simulated users (the simulator's users and messages), each its own `gradio_client` session, "
        f"{report['turns']} turns each, starting within {report['ramp_s']:.0f} s and pausing between turns for a seeded time in the row's "
        "think range. Latency is from sending a message to the complete streamed reply; first frame is the first streamed update "
        "(so it includes the wait in Gradio's queue); \"turns 2+\" leaves out each user's first turn, when all of them connect "
        "within the ramp (the goal is judged on all turns). Policy: the deterministic planner on the embedded default. A fresh `python app.py` "
        "per row; server CPU is the server process's CPU time per completed turn; the load generator (all the clients, one process) "
        f"runs on the same 2 cores in {report.get('procs', 1)} processes, and its CPU use is given in cores. Peak RSS is the server's.",
        "",
        md_table(
            [
                "concurrency limit",
                "think s",
                "turns ok",
                "errors",
                "leaks",
                "p50 s",
                "p95 s",
                "p95 s, turns 2+",
                "max s",
                "first frame p95 s",
                "turns/s",
                "server CPU ms/turn",
                "client cores",
                "peak RSS MiB",
            ],
            rows,
        ),
        "",
        f"Isolation checks on every reply: the chat holds exactly the user's own messages, the profile only titles that user named, the tab key "
        f"never changes; after each run, every saved tab holds only its own user's messages ({best['stored_tabs']} tabs saved in the chosen run).",
        "",
        f"**Chosen: concurrency limit {best['concurrency_limit']}** (the lowest p95 with think {think[0]:g}-{think[1]:g} s among runs with no "
        "errors and no leaks).",
    ]
    for r in report["runs"]:
        if r["concurrency_limit"] != best["concurrency_limit"]:
            continue
        verdict = "**goal met**" if goal_met(r) else "**goal not met**"
        lines.append(
            f"- think {r['think_s'][0]:g}-{r['think_s'][1]:g} s: p95 {r['p95_s']:.2f} s against the goal of {P95_GOAL_S:.0f} s, "
            f"{r['errors']} errors, {r['leaks'] + r['store_leaks']} leaks: {verdict}."
        )
    for r in report["runs"]:
        if r["examples"]:
            lines += ["", f"Failures at limit {r['concurrency_limit']}: " + "; ".join(r["examples"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--limits", type=int, nargs="+", default=[4], help="queue concurrency limits to compare (a fresh server each)")
    ap.add_argument("--ramp-s", type=float, default=5.0, help="users start at random times within this window")
    ap.add_argument("--think-s", type=float, nargs=2, default=[1.0, 3.0], help="pause between a reply and the next message (limits compared here)")
    ap.add_argument(
        "--also-think-s", type=float, nargs=2, action="append", default=[], help="another pause range, run at the chosen limit only (repeatable)"
    )
    ap.add_argument("--procs", type=int, default=2, help="load-generator processes the users are split over")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--max-run-s", type=float, default=600.0, help="cap on one run's duration: no new turn starts after it")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the progress bar
    if not 1 <= args.users <= 200 or not 1 <= args.turns <= 20:
        ap.error("--users must be 1-200 and --turns 1-20 (a bounded test)")
    think = (args.think_s[0], args.think_s[1])
    plans = make_plans(args.users, args.turns, args.seed, args.ramp_s, think)
    results = []
    with tempfile.TemporaryDirectory(prefix="talkrec-load-") as tmp:
        for limit in args.limits:
            res = run_once(plans, limit, args.turns, Path(tmp), args.max_run_s, think, args.procs)
            log.info("limit %d: p50 %.2f s, p95 %.2f s, errors %d, leaks %d", limit, res.p50_s, res.p95_s, res.errors, res.leaks + res.store_leaks)
            results.append(res)
        best = choose(results)
        for lo, hi in args.also_think_s:
            paced = with_think(plans, (lo, hi), args.seed)
            res = run_once(paced, best.concurrency_limit, args.turns, Path(tmp), args.max_run_s, (lo, hi), args.procs)
            log.info("think %g-%g s: p50 %.2f s, p95 %.2f s, errors %d", lo, hi, res.p50_s, res.p95_s, res.errors)
            results.append(res)
    report = {
        "meta": meta("evals.load"),
        "users": args.users,
        "turns": args.turns,
        "ramp_s": args.ramp_s,
        "think_s": list(think),
        "procs": args.procs,
        "runs": [asdict(r) for r in results],
        "chosen": asdict(best),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "load.md").write_text(render(report))
    print(render(report))
    clean = all(r.errors == 0 and r.leaks == 0 and r.store_leaks == 0 for r in results)
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
