"""Real dialogues in the IARD/ReDial JSON layout, and their film mentions grounded to the catalog.

A dialogue is `{"conversation_id", "conversation": [{"participant": "USER"|"AGENT", "utterance", "dialogue_acts":
[{"intent", "slot_values": [[SLOT, value, ...], ...]}]}], "metadata": {"accepted_recommendations": [...]}}`. Films
appear in the text as "Title (Year)" (ReDial's movie ids, rendered). A mention is grounded to a catalog item by its
title and year; a mention the catalog lacks is counted, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from data.errors import DataFormatError
from data.lookup import TitleLookup, normalize

_YEAR_RE = re.compile(r"\((?:18|19|20)\d\d\)")
# A title starts at one of these words at most before its "(Year)".
MAX_TITLE_WORDS = 12


@dataclass(frozen=True)
class Mention:
    """One "Title (Year)" in an utterance; item_id is None when the catalog does not hold it."""

    text: str
    year: int
    item_id: int | None


@dataclass
class Utterance:
    role: str  # "seeker" or "recommender"
    text: str
    title_slots: list[str] = field(default_factory=list)
    genre_slots: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


@dataclass
class Dialogue:
    dialogue_id: str
    utterances: list[Utterance]
    accepted: list[str]  # titles (no year) the seeker accepted


def _slots(acts: Sequence[dict], name: str) -> list[str]:
    out: list[str] = []
    for act in acts or []:
        for row in act.get("slot_values") or []:
            if row and row[0] == name and len(row) > 1 and isinstance(row[1], str) and row[1].strip():
                out.append(row[1].strip())
    return out


def load_dialogues(paths: Sequence[Path]) -> list[Dialogue]:
    """Read one or more files of dialogues; a file in another layout stops with a message naming the file."""
    dialogues: list[Dialogue] = []
    for path in paths:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"{path}: cannot read it as JSON ({exc}); give a file in the ReDial/IARD layout") from exc
        if not isinstance(raw, list):
            raise DataFormatError(f"{path}: expected a JSON list of dialogues, got {type(raw).__name__}")
        for n, d in enumerate(raw):
            try:
                utts = [
                    Utterance(
                        "seeker" if u["participant"] == "USER" else "recommender",
                        str(u["utterance"]),
                        _slots(u.get("dialogue_acts", []), "TITLE"),
                        _slots(u.get("dialogue_acts", []), "GENRE"),
                    )
                    for u in d["conversation"]
                ]
            except (KeyError, TypeError) as exc:
                raise DataFormatError(f"{path}: dialogue {n} lacks {exc} (each needs conversation[].participant and .utterance)") from exc
            accepted = [str(t) for t in (d.get("metadata") or {}).get("accepted_recommendations") or []]
            dialogues.append(Dialogue(str(d.get("conversation_id", f"{Path(path).stem}-{n}")), utts, accepted))
    return dialogues


class MentionGrounder:
    """Finds the "Title (Year)" mentions of an utterance and grounds each to one catalog item.

    Where the title begins is unknown (the text is "... Title (Year) ..."), so the annotated TITLE slots are tried
    first, then the longest run of words before "(Year)" that is a catalog title of that year (a year off by one is
    accepted: sources disagree on release years). Nothing here is fuzzy: a near miss is not a mention of that film.
    """

    def __init__(self, lookup: TitleLookup) -> None:
        self.lookup = lookup

    def find(self, text: str, slots: Sequence[str] = ()) -> list[Mention]:
        out: list[Mention] = []
        start = 0
        for m in _YEAR_RE.finditer(text):
            year = int(m.group(0)[1:-1])
            before = text[start : m.start()].rstrip()
            start = m.end()
            found: Mention | None = None
            for slot in sorted(slots, key=len, reverse=True):
                if normalize(slot) and (" " + normalize(before)).endswith(" " + normalize(slot)):
                    found = Mention(slot, year, self.lookup.exact_id_of_year(slot, year))
                    if found.item_id is not None:
                        break
            if found is None or found.item_id is None:
                words = before.split()[-MAX_TITLE_WORDS:]
                for n in range(len(words), 0, -1):
                    span = " ".join(words[-n:]).lstrip("\"'“(")
                    item = self.lookup.exact_id_of_year(span, year) if span else None
                    if item is not None:
                        found = Mention(span, year, item)
                        break
            if found is None:
                found = Mention(" ".join(before.split()[-3:]), year, None)
            out.append(found)
        return out

    def annotate(self, dialogues: Sequence[Dialogue]) -> None:
        for d in dialogues:
            for u in d.utterances:
                u.mentions = self.find(u.text, u.title_slots)


def is_accepted(title: str, accepted: Sequence[str]) -> bool:
    """The seeker accepted this film: its title equals one of the accepted titles, ignoring case, articles, year."""
    key = normalize(re.sub(r"\s*\((?:18|19|20)\d\d\)\s*$", "", title))
    return any(key == normalize(a) for a in accepted)
