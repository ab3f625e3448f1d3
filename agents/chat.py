"""Terminal chat: `python -m agents.chat [--user ID] [--policy planner|llm] [--backend ...] [--once "message"]`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict

from agents.services import build_services
from data.errors import TalkRecError
from data.settings import Settings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--user", type=int, help="start from this dataset user's history")
    ap.add_argument("--policy", choices=["planner", "llm"])
    ap.add_argument("--backend", choices=["embedded", "openai", "hf"])
    ap.add_argument("--once", metavar="MESSAGE", help="answer one message and print the reply as JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("policy", args.policy), ("backend", args.backend)) if v}
    try:
        services = build_services(Settings(**overrides))
        session = services.new_session(args.user)
    except TalkRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.once is not None:
        reply = services.agent.turn(session, args.once)
        print(
            json.dumps(
                {
                    "text": reply.text,
                    "intent": reply.intent,
                    "items": [asdict(i) for i in reply.items],
                    "trace": [asdict(s) for s in reply.trace],
                    "fallback": reply.fallback,
                },
                indent=2,
            )
        )
        return 0
    print("TalkRec — type a message, or 'quit'.")
    while True:
        try:
            msg = input("you> ")
        except EOFError:
            return 0
        if msg.strip().lower() in {"quit", "exit"}:
            return 0
        reply = services.agent.turn(session, msg)
        print(f"talkrec> {reply.text}\n")


if __name__ == "__main__":
    raise SystemExit(main())
