"""The last pass before a reply leaves the agent: every title in it must be a catalog item that a
tool put on the bus (or that the user named). Sentences naming anything else are removed."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from agents.state import Session
from data.lookup import TitleLookup

# "Some Title (1995)": how replies and most LLMs name a film.
# 160 characters: catalog titles run past 80 (ml-latest-small's longest has 151), and a match cut
# short inside one is not a title the lookup knows, so the sentence naming it was removed.
_TITLE_YEAR_RE = re.compile(r"([A-Z0-9\"'][^()\n;]{0,160}?)\s*\(((?:18|19|20)\d{2})\)")
# Names an LLM puts in straight quotes or bold; curly quotes are ours (the user's own words, quoted back).
_QUOTED_RE = re.compile(r"\"([^\"\n]{2,80})\"|\*\*([^*\n]{2,80})\*\*")
# Sentence ends: a period after a lowercase letter, digit or bracket ("L.A. Confidential" stays whole).
_SENTENCE_RE = re.compile(r"(?<=[a-z0-9)\]][.!?])\s+|(?<=[!?])\s+|\n")
# ... except after abbreviations that titles use ("Mr. Holland's Opus", "Dr. Strangelove", "Kramer vs. Kramer").
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "jr.", "sr.", "mt.", "no.", "vol.", "pt.")


@dataclass(frozen=True)
class GroundingReport:
    text: str
    removed: list[str]  # the names that were not allowed


def allowed_names(session: Session) -> set[int]:
    """Items a reply may name: the bus, everything shown, and the user's own items."""
    return (
        {c.item_id for c in session.bus}
        | {s.item_id for s in session.shown}
        | set(session.history)
        | set(session.liked)
        | set(session.disliked)
        | set(session.seen)
    )


def _allowed_name(name: str, lookup: TitleLookup, allowed: Collection[int], year: int | None = None) -> bool:
    query = f"{name} ({year})" if year else name
    ids = lookup.exact_ids(query.strip(" \"“”*'"))
    return any(i in allowed for i in ids)


def ground(text: str, lookup: TitleLookup, allowed: Collection[int]) -> GroundingReport:
    removed: list[str] = []
    kept: list[str] = []
    prev = ""
    for piece in _pieces(text):
        bad = _bad_names(piece, lookup, allowed)
        if bad and prev and not prev.endswith("\n") and not _bad_names(prev + piece, lookup, allowed):
            bad = []  # a title with its own "!" or "?" ("Hot Shots! Part Deux (1993)") was split in two
        prev = piece
        if bad:
            removed += bad
        else:
            kept.append(piece)
    out = "".join(kept)
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    return GroundingReport(out, removed)


def _bad_names(piece: str, lookup: TitleLookup, allowed: Collection[int]) -> list[str]:
    """Names in the piece that are not allowed catalog items."""
    bad = []
    for m in _TITLE_YEAR_RE.finditer(piece):
        name = re.sub(r"^(?:\d+\.\s*|and\s+|or\s+|like\s+)", "", m.group(1).strip(" -–—,")).strip()
        if not _allowed_name(name, lookup, allowed, int(m.group(2))):
            # the match may have swallowed leading words ("I suggest Heat (1995)"): try suffixes
            words = name.split()
            if not any(_allowed_name(" ".join(words[i:]), lookup, allowed, int(m.group(2))) for i in range(1, len(words))):
                bad.append(f"{name} ({m.group(2)})")
    for m in _QUOTED_RE.finditer(piece):
        name = (m.group(1) or m.group(2)).strip()
        if not _TITLE_YEAR_RE.search(name) and not _allowed_name(name, lookup, allowed) and len(name.split()) <= 8:
            bad.append(name)
    return bad


def _pieces(text: str) -> list[str]:
    """Split into sentences and lines, keeping the separators so the kept text reads as before."""
    out, last = [], 0
    for m in _SENTENCE_RE.finditer(text):
        if text[: m.start()].lower().endswith(_ABBREVIATIONS):
            continue
        out.append(text[last : m.end()])
        last = m.end()
    out.append(text[last:])
    return [p for p in out if p]
