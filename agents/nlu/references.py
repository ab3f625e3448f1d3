"""References to shown items: "the second one", "#3", "the last one", "it", "none of these"."""

from __future__ import annotations

import re

from agents.lexicon import find_ordinals
from agents.nlu.feedback import DISLIKE_RE, REJECT_ALL_RE, SEEN_RE
from agents.state import Session

_PRONOUN_REF_RE = re.compile(r"\b(it|that|this|that one|this one)\b", re.I)
_ALL_REF_RE = re.compile(r"\b(them|all|those|these|all of them|every one|each one|everything)\b", re.I)
# "all of them apart from the second": the whole list but the films named after the exception word
_EXCEPT_RE = re.compile(r"\b(?:except(?:\s+for)?|apart\s+from|other\s+than|besides|but\s+not|save\s+for)\b", re.I)


def find_refs(text: str, session: Session) -> list[int]:
    """Item ids the message points at: ordinals into the last list, the whole list when it is judged
    ("seen them all", "none of these"), else the film in focus for "it" / "that one"."""
    shown = session.last_shown()
    refs = []
    cut = _EXCEPT_RE.search(text)
    if shown and cut and _ALL_REF_RE.search(text[: cut.start()]):
        left_out = {
            shown[n - 1].item_id if n > 0 else shown[-1].item_id
            for n in find_ordinals(text[cut.end() :], len(shown))
            if 1 <= n <= len(shown) or n == -1
        }
        if left_out:
            return [s.item_id for s in shown if s.item_id not in left_out]
    for n in find_ordinals(text, len(shown)):
        if shown and (1 <= n <= len(shown) or n == -1):
            refs.append(shown[n - 1].item_id if n > 0 else shown[-1].item_id)
    if not refs and shown and (REJECT_ALL_RE.search(text) or (_ALL_REF_RE.search(text) and (SEEN_RE.search(text) or DISLIKE_RE.search(text)))):
        refs = [s.item_id for s in shown]
    if not refs and session.focus is not None and _PRONOUN_REF_RE.search(text):
        refs = [session.focus]
    return refs
