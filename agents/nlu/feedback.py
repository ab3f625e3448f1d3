"""Feedback on shown items: seen, liked, disliked ("none of these", "loved the second one")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents.state import Session

if TYPE_CHECKING:
    from agents.nlu.parsed import Parsed

SEEN_RE = re.compile(
    r"\b(seen (?:it|that|this|them|those|the|all)|already (?:seen|watched)|watched (?:it|that|this|them)|i'?ve seen|have seen|"
    r"saw (?:it|that|this|them))\b",
    re.I,
)
DISLIKE_RE = re.compile(
    r"\b(none of (?:these|them|those)|not these|nope|not (?:that|this) one|not for me|don'?t like|didn'?t like|hated?|dislike|"
    r"no thanks|not interested|"
    r"not (?:the|#)|not into|boring|meh|skip)\b",
    re.I,
)
LIKE_FB_RE = re.compile(
    r"\b(loved (?:it|that|this)|love (?:it|that|this)|liked (?:it|that|this)|like (?:it|that one|this one)|(?:loved|liked) the \w+ one|"
    r"great pick|perfect|sounds good|nice one|good one)\b",
    re.I,
)
REJECT_ALL_RE = re.compile(r"\b(none of (?:these|them|those)|not these|not any of (?:these|them)|no thanks|not for me|nope|neither)\b", re.I)


def find_feedback(text: str, p: Parsed, session: Session) -> str | None:
    """Seen, liked or disliked, when the message judges what was shown (or the film in focus); else None."""
    if SEEN_RE.search(text):
        return "seen"
    if LIKE_FB_RE.search(text) and (p.refs or session.focus is not None or session.shown) and not p.mentions:
        return "liked"
    # "I don't like horror" excludes a genre, not the list; "None of these. Something dark." rejects the list
    if DISLIKE_RE.search(text) and (p.refs or session.shown) and (not p.genres_none or REJECT_ALL_RE.search(text)):
        return "disliked"
    return None
