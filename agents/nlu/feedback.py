"""Feedback on shown items: seen, liked, disliked ("none of these", "loved the second one")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents.state import Session

if TYPE_CHECKING:
    from agents.nlu.parsed import Parsed

SEEN_RE = re.compile(
    r"\b(seen (?:it|that|this|them|those|the|all)|already (?:seen|watched)|watched (?:it|that|this|them|the|all|both|every|each)|"
    r"i'?ve seen|have seen|"
    r"saw (?:it|that|this|them|the|both|all))\b",
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
    r"enjoyed (?:it|that|this)|(?:it|that|this) (?:was|is) (?:great|good|awesome|amazing|fun)|"
    r"great pick|perfect|nice one|good one|"
    # accepting a suggestion: "that one sounds great", "I'll give that a try", "will watch it tonight"
    r"sounds? (?:good|great|interesting|fun|awesome|cool|amazing|perfect|nice|intriguing)|"
    r"(?:i'?ll|i will|gonna|going to|will) (?:check|watch|see|try|give) (?:it|that|this|them|those)|"
    r"check (?:it|that|this|them) out|add (?:it|that|this) to my (?:list|watchlist))\b",
    re.I,
)
# "I have never caught it", "have not caught that one yet", "didn't get to see it": seeing, negated. Such a message says
# the film is new to the person, which is no "seen" (that would drop it from every later list).
NOT_SEEN_RE = re.compile(
    r"\b(?:(?:have|has|had|did|do)\s*n[o']?t|never|not|yet\s+to)"
    r"(?:\s+(?:yet|ever|even|really|actually|got(?:ten)?\s+(?:to|round\s+to|around\s+to)|had\s+(?:a\s+)?(?:chance|time)\s+to|"
    r"managed\s+to|been\s+able\s+to|gotten\s+to|get\s+to))*"
    r"\s+(?:seen|saw|see|seeing|watched|watch|watching|caught|catch|catching)\b",
    re.I,
)
# "I did not like it", "didnt enjoy that one": liking, negated, which LIKE_FB_RE's "like it" would read as a vote for
NOT_LIKED_RE = re.compile(r"\b(?:did|do|does)\s*n[o']?t\s+(?:really\s+|much\s+|particularly\s+)?(?:like|love|enjoy|care\s+for)\b", re.I)
REJECT_ALL_RE = re.compile(r"\b(none of (?:these|them|those)|not these|not any of (?:these|them)|no thanks|not for me|nope|neither)\b", re.I)


_SEEN_AND_LIKED_RE = re.compile(
    r"\b(?:seen|saw|watched)\b[^.!?]{0,30}\b(?:lov(?:ed|e)|lik(?:ed|e)|enjoy(?:ed)?|great|awesome|amazing|fav(?:ou)?rite)\b(?! (?:horror|the))"
    # the verdict first: "the second one was great but I've seen it"
    r"|\b(?:was|is)\s+(?:really\s+|so\s+)?(?:great|awesome|amazing|excellent|brilliant|fantastic)\b[^.!?]{0,30}\b(?:seen|saw|watched)\b",
    re.I,
)
_SEEN_AND_DISLIKED_RE = re.compile(
    r"\b(?:seen|saw|watched)\b[^.!?]{0,30}\b(?:hated?|(?:did ?n[o']?t|didn't|not) (?:like|enjoy|love)|boring|awful|terrible|bad)\b", re.I
)


def says_not_seen(text: str) -> bool:
    """Whether the message says a film is new to the person ("have never caught it")."""
    return bool(NOT_SEEN_RE.search(text.replace("’", "'")))


def find_feedback(text: str, p: Parsed, session: Session) -> str | None:
    """Seen, liked or disliked, when the message judges what was shown (or the film in focus); else None. Seeing
    negated ("have never caught it") is no "seen"; the rest of the message may still like or reject the film."""
    text = NOT_SEEN_RE.sub(" ", text.replace("’", "'"))
    if SEEN_RE.search(text):
        # "seen it and loved it" is a vote for the film, "seen it, hated it" one against: both are more than "seen"
        if _SEEN_AND_DISLIKED_RE.search(text):  # first: "did not like it" holds "like"
            return "disliked"
        if _SEEN_AND_LIKED_RE.search(text):
            return "liked"
        return "seen"
    if NOT_LIKED_RE.search(text) and (p.refs or session.focus is not None or session.shown) and not p.genres_none:
        return "disliked"
    if LIKE_FB_RE.search(text) and (p.refs or session.focus is not None or session.shown) and not p.mentions:
        return "liked"
    # "I don't like horror" excludes a genre, not the list; "None of these. Something dark." rejects the list
    if DISLIKE_RE.search(text) and (p.refs or session.shown) and (not p.genres_none or REJECT_ALL_RE.search(text)):
        return "disliked"
    return None
