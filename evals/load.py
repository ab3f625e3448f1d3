"""Load test: simulated users chat at once with a real `python app.py` on 127.0.0.1 through gradio_client.

`python -m evals.load --users 50 --turns 6 [--limits 2 4 8 16]`

Each simulated user (the simulator's own users and words, evals/simulator/user.py) is its own API client,
so its own Gradio session and its own saved tab. Users start within a short ramp and pause between turns
(a seeded think time, as a person reading the reply would), all within bounded loops. For each queue
concurrency limit the script starts a fresh server, runs the same users, and measures per-turn latency
(first streamed frame and complete reply), errors, lost turns, throughput and the server's peak RSS. It
checks isolation on every reply: the chat holds exactly this user's messages, the profile only titles this
user named, the tab key is this user's alone; after the run, every saved tab holds only its own user's words.

Every turn has a deadline (--turn-deadline-s, 120 s) through its streamed frames as well as its result: a turn
with no final reply by then is counted as lost, not waited for, and that user stops there (a person would give
up). The load-generator processes are ended after the run's own deadline whatever their client threads do, so
the script always ends.

Writes docs/results/load.json and docs/results/load.md (--name changes the stem). Bounded in count and time;
loopback only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
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
TURN_DEADLINE_S = 120.0  # a turn with no final reply by then is lost: counted, not waited for
# how often a turn looks for its first streamed frame (then it waits on the result): gradio_client's own helper
# moves messages to the job every 50 ms, so polling faster adds no precision, only load-generator CPU
FIRST_FRAME_POLL_S = 0.05


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
    lost: bool = False  # no final reply within the deadline (error says which event it was)


@dataclass
class TurnOutcome:
    """One chat turn as an API client saw it: its outputs, or why there are none."""

    first_frame_s: float | None
    latency_s: float | None
    out: tuple | None = None
    error: str | None = None
    lost: bool = False
    refused: bool = False  # the server refused the turn ("queue full"): it never saw the message
    event_id: str | None = None


@dataclass
class RunResult:
    concurrency_limit: int
    users: int
    turns_per_user: int
    start_s: float
    wall_s: float
    turns: int  # turns sent (a user stops after a lost turn, and no turn starts after the run's cap)
    ok: int  # a complete reply, no failure message
    errors: int  # a reply that says something failed, or a turn the server or the client refused
    lost: int  # no final reply within the turn deadline
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


def run_turn(client, message: str, deadline_s: float = TURN_DEADLINE_S) -> TurnOutcome:
    """Send one message to /respond and wait for its reply, never past `deadline_s` from the send.

    Not `for frame in job`: gradio_client 2.7.2's Job.__next__ ends only on a FINISHED status from the stream,
    so a job that fails before any message (the server refusing it with "queue full", a dropped connection)
    leaves it polling forever every millisecond (docs/RELIABILITY.md). Here the job's own future says when it
    ended, and the deadline covers the first frame and the final reply alike."""
    t0 = time.perf_counter()
    end = t0 + deadline_s
    job = client.submit(message, api_name="/respond")
    finished = threading.Event()
    job.future.add_done_callback(lambda _f: finished.set())
    first: float | None = None
    while not finished.is_set():
        now = time.perf_counter()
        if first is None and job.outputs():
            first = now - t0
        if now >= end:
            event_id = job.communicator.event_id if job.communicator else None
            threading.Thread(target=_give_up, args=(job,), daemon=True).start()  # its POST may itself wait on a stuck server
            return TurnOutcome(first, None, error=f"no reply within {deadline_s:g} s (event {event_id})", lost=True, event_id=event_id)
        finished.wait(FIRST_FRAME_POLL_S if first is None else end - now)
    latency = time.perf_counter() - t0
    if first is None and job.outputs():
        first = latency
    event_id = job.communicator.event_id if job.communicator else None
    exc = job.future.exception()
    if exc is not None:  # refused (HTTP 503 "queue full"), cancelled, or the connection broke
        from gradio_client.utils import QueueError

        refused = isinstance(exc, QueueError)
        return TurnOutcome(first, None, error=f"{type(exc).__name__}: {str(exc)[:120]}", refused=refused, event_id=event_id)
    return TurnOutcome(first, latency, out=job.future.result(), event_id=event_id)


def _give_up(job) -> None:
    """Cancel a turn past its deadline (bounded by httpx's default 5 s timeout); a failure to cancel changes nothing."""
    try:
        job.cancel()
    except Exception:  # the load edge: the turn is already counted as lost
        log.debug("cancelling a lost turn failed", exc_info=True)


def run_user(url: str, plan: UserPlan, stop_at: float, deadline_s: float = TURN_DEADLINE_S) -> tuple[list[TurnRecord], str | None, list[str]]:
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
    try:
        for t, (msg, think) in enumerate(zip(plan.messages, plan.think_s, strict=True), start=1):
            if time.monotonic() > stop_at:
                break  # the run's cap: no new turn starts (not counted as a turn)
            said.append(msg)
            try:
                res = run_turn(client, msg, deadline_s)
            except Exception as exc:  # the load edge: count it and go on with this user's next turn
                log.warning("user %d turn %d failed", plan.user_id, t, exc_info=True)
                records.append(TurnRecord(plan.user_id, t, None, None, error=f"{type(exc).__name__}: {str(exc)[:120]}"))
                continue
            if res.lost:
                log.warning("user %d turn %d lost: %s", plan.user_id, t, res.error)
                records.append(TurnRecord(plan.user_id, t, res.first_frame_s, None, error=res.error, lost=True))
                break  # a person whose message is never answered stops there
            if res.out is None:
                log.warning("user %d turn %d failed: %s", plan.user_id, t, res.error)
                if res.refused:
                    said.pop()  # the server never saw it: the chat must not hold it
                records.append(TurnRecord(plan.user_id, t, res.first_frame_s, None, error=res.error))
                continue
            error, leak = check_reply(res.out, plan, said, key)
            key = key or res.out[KEY]
            records.append(TurnRecord(plan.user_id, t, res.first_frame_s, res.latency_s, error=error, leak=leak))
            time.sleep(think)
    finally:
        client.close()  # ends its heartbeat: the server sees this user leave
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


def run_group(
    url: str, plans: list[UserPlan], stop_at: float, deadline_s: float, on_user_done=lambda: None
) -> tuple[list[TurnRecord], dict[str, list[str]]]:
    """These users at once, each in its own thread; their turn records and {tab key: what its user said}.
    time.monotonic is system-wide, so stop_at means the same instant in every process."""
    records: list[TurnRecord] = []
    owners: dict[str, list[str]] = {}
    lock = threading.Lock()

    def one(plan: UserPlan) -> None:
        recs, key, said = run_user(url, plan, stop_at, deadline_s)
        with lock:
            records.extend(recs)
            if key:
                owners[key] = said
        on_user_done()

    pool = ThreadPoolExecutor(max_workers=len(plans))
    list(pool.map(one, plans))  # each user's turns have deadlines, so this ends
    pool.shutdown(wait=False)
    return records, owners


def _group_process(url: str, plans: list[UserPlan], stop_at: float, deadline_s: float, events) -> None:
    """A load-generator process: `events` (a multiprocessing queue) gets ("user",) per finished user, then
    ("done", records, owners). It ends with os._exit: the helper thread gradio_client keeps for a lost turn
    may never end, and must not hold the process, and so the run, open."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    code = 0
    try:
        records, owners = run_group(url, plans, stop_at, deadline_s, lambda: events.put(("user",)))
        events.put(("done", records, owners))
    except BaseException:  # the process's edge: the parent counts its users as lost
        logging.getLogger(__name__).exception("load-generator process failed")
        code = 1
    finally:
        events.close()
        events.join_thread()  # flush what was put before leaving
        os._exit(code)


def run_once(
    plans: list[UserPlan],
    limit: int,
    turns: int,
    workdir: Path,
    max_run_s: float,
    think: tuple[float, float],
    procs: int,
    deadline_s: float = TURN_DEADLINE_S,
) -> RunResult:
    """A fresh server at this limit; the users split over `procs` load-generator processes (one process of
    50 clients is itself CPU-bound on Python's lock, and its queueing would be counted as the server's)."""
    import multiprocessing as mp

    tag = f"{limit}-{think[0]:g}-{think[1]:g}"
    sessions = workdir / f"sessions-{tag}.sqlite"
    ctx = mp.get_context("spawn")  # the parent holds torch and the models; a fork of it would copy them
    groups = [plans[i::procs] for i in range(procs) if plans[i::procs]]
    # the last user starts within the ramp, and each of its turns ends by its deadline plus the think time
    think_max = max((max(p.think_s) for p in plans), default=0.0)
    ramp = max((p.start_delay_s for p in plans), default=0.0)
    run_deadline_s = min(max_run_s + deadline_s + think_max, ramp + turns * (deadline_s + think_max)) + 120.0  # + connect and cancel time
    with AppServer(sessions_path=sessions, log_path=workdir / f"app-{tag}.log", env={"TALKREC_CONCURRENCY_LIMIT": str(limit)}) as server:
        events = ctx.Queue()
        records: list[TurnRecord] = []
        owners: dict[str, list[str]] = {}
        bar = tqdm(total=len(plans), desc=f"load, {len(plans)} users, concurrency {limit}, think {think[0]:g}-{think[1]:g} s", unit="user")
        cpu0, client0 = server.cpu_seconds(), os.times()
        t0 = time.perf_counter()
        stop_at = time.monotonic() + max_run_s
        workers = [ctx.Process(target=_group_process, args=(server.url, g, stop_at, deadline_s, events), daemon=True) for g in groups]
        for w in workers:
            w.start()
        reported = 0
        give_up_at = time.monotonic() + run_deadline_s
        while reported < len(workers) and time.monotonic() < give_up_at:
            try:
                msg = events.get(timeout=1.0)
            except queue.Empty:
                if not any(w.is_alive() for w in workers) and events.empty():
                    break  # a process died without reporting
                continue
            if msg[0] == "user":
                bar.update(1)
            else:
                records += msg[1]
                owners.update(msg[2])
                reported += 1
        wall = time.perf_counter() - t0
        bar.close()
        cpu1 = server.cpu_seconds()
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                log.error("a load-generator process did not end; killing it")
                w.kill()
                w.join(timeout=10)
        client1 = os.times()  # the workers' CPU counts in os.times() once they are reaped
        rss = server.peak_rss_mib()
        start_s = server.start_s or float("nan")
    if reported < len(workers):  # never seen in practice since turns have deadlines; counted, not hidden
        seen = {r.user_id for r in records}
        for p in plans:
            if p.user_id not in seen:
                records.append(TurnRecord(p.user_id, 1, None, None, error="its load-generator process did not report", lost=True))
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
        turns=len(records),
        ok=len(ok),
        errors=sum(r.error is not None and not r.lost for r in records),
        lost=sum(r.lost for r in records),
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
    """The limit with the lowest p95 among runs without errors, lost turns or leaks (all runs if none is clean)."""
    clean = [r for r in results if r.errors == 0 and r.lost == 0 and r.leaks == 0 and r.store_leaks == 0] or results
    return min(clean, key=lambda r: (r.p95_s, r.p50_s))


def goal_met(r: dict) -> bool:
    return r["errors"] == 0 and r["lost"] == 0 and r["leaks"] == 0 and r["store_leaks"] == 0 and r["p95_s"] <= P95_GOAL_S


def render(report: dict) -> str:
    m = report["meta"]
    rows = [
        [
            r["concurrency_limit"],
            f"{r['think_s'][0]:g}-{r['think_s'][1]:g}",
            f"{r['turns']}/{r['users'] * r['turns_per_user']}",
            r["ok"],
            r["errors"],
            r["lost"],
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
        f"## Load: {report['users']} concurrent users against a real server",
        "",
        f"Command: `{m['command']}` ({m['date']}; {m['machine']}).",
        "",
        f"{report['users']} simulated users (the simulator's users and messages), each its own `gradio_client` session, "
        f"{report['turns']} turns each, starting within {report['ramp_s']:.0f} s and pausing between turns for a seeded time in the row's "
        "think range. Latency is from sending a message to the complete streamed reply; first frame is the first streamed update "
        "(so it includes the wait in Gradio's queue); \"turns 2+\" leaves out each user's first turn, when all of them connect "
        "within the ramp (the goal is judged on all turns). Every turn has a deadline of "
        f"{report.get('turn_deadline_s', TURN_DEADLINE_S):.0f} s through its streamed frames and its result: *lost* counts turns with no "
        "final reply by then (that user stops there), *errors* replies that say something failed and turns the server refused; *turns* "
        "is turns sent of turns planned. Policy: the deterministic planner on the embedded default. A fresh `python app.py` "
        "per row; server CPU is the server process's CPU time per completed turn; the load generator (all the clients) "
        f"runs on the same 2 cores in {report.get('procs', 1)} processes, and its CPU use is given in cores. Peak RSS is the server's. "
        "The machine is shared with other work, so latencies are noisy from run to run.",
        "",
        md_table(
            [
                "concurrency limit",
                "think s",
                "turns",
                "ok",
                "errors",
                "lost",
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
        "errors, no lost turns and no leaks).",
    ]
    for r in report["runs"]:
        if r["concurrency_limit"] != best["concurrency_limit"]:
            continue
        verdict = "**goal met**" if goal_met(r) else "**goal not met**"
        lines.append(
            f"- think {r['think_s'][0]:g}-{r['think_s'][1]:g} s: p95 {r['p95_s']:.2f} s against the goal of {P95_GOAL_S:.0f} s, "
            f"{r['errors']} errors, {r['lost']} lost, {r['leaks'] + r['store_leaks']} leaks: {verdict}."
        )
    for r in report["runs"]:
        if r["examples"]:
            lines += ["", f"Failures at limit {r['concurrency_limit']}: " + "; ".join(r["examples"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument(
        "--limits", type=int, nargs="+", default=[8], help="queue concurrency limits to compare (a fresh server each; 8: the app's default)"
    )
    ap.add_argument("--ramp-s", type=float, default=5.0, help="users start at random times within this window")
    ap.add_argument("--think-s", type=float, nargs=2, default=[1.0, 3.0], help="pause between a reply and the next message (limits compared here)")
    ap.add_argument(
        "--also-think-s", type=float, nargs=2, action="append", default=[], help="another pause range, run at the chosen limit only (repeatable)"
    )
    ap.add_argument("--procs", type=int, default=2, help="load-generator processes the users are split over")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--max-run-s", type=float, default=600.0, help="cap on one run's duration: no new turn starts after it")
    ap.add_argument("--turn-deadline-s", type=float, default=TURN_DEADLINE_S, help="a turn with no final reply by then is lost")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--name", default="load", help="file stem of the report (NAME.json, NAME.md) in --out")
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
            res = run_once(plans, limit, args.turns, Path(tmp), args.max_run_s, think, args.procs, args.turn_deadline_s)
            log.info(
                "limit %d: p50 %.2f s, p95 %.2f s, errors %d, lost %d, leaks %d",
                *(limit, res.p50_s, res.p95_s, res.errors, res.lost, res.leaks + res.store_leaks),
            )
            results.append(res)
        best = choose(results)
        for lo, hi in args.also_think_s:
            paced = with_think(plans, (lo, hi), args.seed)
            res = run_once(paced, best.concurrency_limit, args.turns, Path(tmp), args.max_run_s, (lo, hi), args.procs, args.turn_deadline_s)
            log.info("think %g-%g s: p50 %.2f s, p95 %.2f s, errors %d, lost %d", lo, hi, res.p50_s, res.p95_s, res.errors, res.lost)
            results.append(res)
    from data.settings import Settings
    from evals.runmeta import with_dataset

    run_meta = meta("evals.load")
    run_meta["command"] = with_dataset(run_meta["command"], Settings().dataset)  # what a reader must type
    report = {
        "meta": run_meta,
        "users": args.users,
        "turns": args.turns,
        "ramp_s": args.ramp_s,
        "think_s": list(think),
        "procs": args.procs,
        "turn_deadline_s": args.turn_deadline_s,
        "runs": [asdict(r) for r in results],
        "chosen": asdict(best),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(render(report))
    print(render(report))
    clean = all(r.errors == 0 and r.lost == 0 and r.leaks == 0 and r.store_leaks == 0 for r in results)
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
