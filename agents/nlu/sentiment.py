"""Which of the films a message names it speaks against: "I adored Babe but couldn't stand Twister" likes one, not both."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agents.nlu.titles import TitleMention

# A clause ends at a sentence mark, a semicolon, or a contrast word: a verdict in one clause is not about a film named
# in the next ("adored Babe, but hated Twister").
_CLAUSE_END_RE = re.compile(r"[.!?;]+|\b(?:but|whereas|though|although|however|while|except|until|till)\b|,", re.I)
# A verdict against a film, before or after its name in the same clause.
_AGAINST_RE = re.compile(
    r"\b(?:hated?|hating|dislike[ds]?|(?:did|do)\s*n[o']?t\s+(?:really\s+)?(?:like|enjoy|love)|"
    r"not\s+(?:a\s+(?:big\s+|huge\s+)?fan\s+of|into|like)|"
    r"can'?t\s+stand|could\s*n'?t\s+stand|cannot\s+stand|awful|terrible|boring|dull|worst|overrated|disappointing|"
    r"(?:was|were|is)\s*n'?t\s+(?:that\s+|very\s+|too\s+)?(?:good|great|fun|funny)|not\s+(?:that\s+|very\s+)?(?:good|great|fun|funny)|"
    r"fell\s+asleep|walked\s+out)\b"
    r"|\bnot\s*$",  # "..., not Twister": the clause before the title ends in a bare "not"
    re.I,
)


def _clause_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The clause's words before and after the span [start, end)."""
    before = text[:start]
    cuts = list(_CLAUSE_END_RE.finditer(before))
    head = before[cuts[-1].end() :] if cuts else before
    after = text[end:]
    nxt = _CLAUSE_END_RE.search(after)
    tail = after[: nxt.start()] if nxt else after
    return head, tail


def films_spoken_against(text: str, mentions: Sequence[TitleMention]) -> list[int]:
    """The found films whose own clause holds a verdict against them; the others are favourites. A film whose name
    cannot be placed in the text is judged by the whole message, as before."""
    out: list[int] = []
    low = text.lower()
    pos = 0
    for m in mentions:
        if m.status != "found" or m.item_id is None:
            continue
        at = low.find(m.text.lower(), pos)
        if at < 0:
            at = low.find(m.text.lower())
        if at < 0:
            if _AGAINST_RE.search(text):
                out.append(m.item_id)
            continue
        pos = at + len(m.text)
        head, tail = _clause_around(text, at, at + len(m.text))
        if _AGAINST_RE.search(head.rstrip()) or _AGAINST_RE.search(tail):
            out.append(m.item_id)
    return list(dict.fromkeys(out))
