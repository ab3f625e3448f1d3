"""The optional LLM-driven user: a chat backend says the scripted user's messages in its own words.

Same rules as the scripted user, enforced in code: the target's title is never said, the titles and
attributes the scripted message reveals are kept, nothing else is revealed. A rewrite that breaks a rule
is replaced by the scripted message (and counted). Rewrites are made once, before any system plays, so
every system still hears exactly the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from agents.llm.base import ChatBackend, Message
from data.catalog import Catalog
from data.errors import TalkRecError
from data.lookup import normalize
from evals.simulator.user import UserScript

PROMPT = (
    "You are a person chatting with a film recommender. Say the following in your own words, as one or two short, casual "
    "sentences. Keep every film title exactly as written, mention no other film, and add no new wishes:\n\n{message}"
)


@dataclass
class RewriteStats:
    rewritten: int = 0
    kept_scripted: int = 0  # a rewrite broke a rule (or the backend failed): the scripted message was used
    reasons: dict[str, int] | None = None

    def note(self, reason: str) -> None:
        self.kept_scripted += 1
        self.reasons = self.reasons or {}
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def check_rewrite(original: str, rewrite: str, target_title: str, titles_in_original: Sequence[str]) -> str | None:
    """None when the rewrite keeps the rules, else the rule it breaks."""
    text = rewrite.strip()
    if not text or len(text) > 400:
        return "empty or too long"
    norm = normalize(text)
    if normalize(target_title) and re.search(rf"\b{re.escape(normalize(target_title))}\b", norm):
        return "named the target"
    if any(normalize(t) not in norm for t in titles_in_original):
        return "dropped a title"
    if "none of these" in original.lower() and not re.search(r"\b(none|not|no|nothing|neither)\b", text.lower()):
        return "dropped the rejection"
    return None


def rewrite_scripts(scripts: Sequence[UserScript], backend: ChatBackend, catalog: Catalog) -> tuple[list[UserScript], RewriteStats]:
    stats = RewriteStats()
    out = []
    for sc in scripts:
        target = catalog.get(sc.target).title
        named = [catalog.get(i).title for i in sc.profile]

        def say(message: str, target: str = target, named: list[str] = named) -> str:
            titles = [t for t in named if t in message]
            try:
                reply = backend.chat([Message("user", PROMPT.format(message=message))], max_tokens=80).content
            except TalkRecError as exc:
                stats.note(f"backend error: {type(exc).__name__}")
                return message
            broken = check_rewrite(message, reply, target, titles)
            if broken:
                stats.note(broken)
                return message
            stats.rewritten += 1
            return reply.strip()

        out.append(replace(sc, opening=say(sc.opening), follow_ups=tuple(say(m) for m in sc.follow_ups)))
    return out, stats
