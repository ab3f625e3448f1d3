"""The one interface every policy implements.

A policy receives the parsed message and the session, calls tools, and returns the reply; the Agent around it
understands the message before, and adds notices and remembers the turn after (agents/agent.py). What a policy
is lent to work with is a `Context` (agents/context.py).
"""

from __future__ import annotations

from typing import Protocol

from agents.context import Context
from agents.nlu import Parsed
from agents.reply import Reply
from agents.state import Session, TraceStep


class Policy(Protocol):
    name: str  # what the settings, the UI and the reports call it: "planner", "llm"

    def turn(self, ctx: Context, session: Session, parsed: Parsed, trace: list[TraceStep], *, clarify: bool = False) -> Reply:
        """Decide and act for one parsed message: call tools (each appends its step to `trace`), update the
        session's state, and return the reply, already grounded. `clarify`: a title in the message was
        ambiguous and is asked back in a notice. A policy that relies on something that can fail (a language
        model) answers its failures itself, e.g. by handing the turn to the planner with a notice."""
        ...
