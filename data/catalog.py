"""The catalog: one row per item with a display title, year, genres and its text "sentence"."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from data.errors import InvalidInput

# Trailing articles MovieLens moves behind a comma ("Usual Suspects, The").
ARTICLES = ("The", "A", "An", "Les", "La", "Le", "L'", "Il", "El", "Das", "Der", "Die", "Los", "Las", "Lo", "I", "Un", "Une", "Det", "Den")
_ARTICLE_RE = re.compile(r"^(?P<body>.+?), (?P<art>" + "|".join(re.escape(a) for a in ARTICLES) + r")(?P<rest>(?: \(.*\))?)$")
UNTITLED = "Untitled item"
_YEAR_SUFFIX_RE = re.compile(r"\s*\((\d{4})\)\s*$")


def display_title(raw: str) -> tuple[str, int | None]:
    """'Usual Suspects, The (1995)' -> ('The Usual Suspects', 1995). The year is None if absent."""
    title = raw.strip()
    year = None
    m = _YEAR_SUFFIX_RE.search(title)
    if m:
        year = int(m.group(1))
        title = title[: m.start()].rstrip()
    m = _ARTICLE_RE.match(title)
    if m:
        art = m.group("art")
        joiner = "" if art.endswith("'") else " "
        title = f"{art}{joiner}{m.group('body')}{m.group('rest')}"
    return title, year


def item_sentence(title: str, year: int | None, genres: Sequence[str], extra: dict[str, str] | None = None) -> str:
    """Key-value item text (the Recformer idea) shared by the retriever, prompts and explanations."""
    parts = [f"title: {title}"]
    if year is not None:
        parts.append(f"year: {year}")
    if genres:
        parts.append(f"genres: {', '.join(genres)}")
    for key, value in (extra or {}).items():
        parts.append(f"{key}: {value}")
    return " | ".join(parts)


def sentence_field(sentence: str, key: str) -> str | None:
    """One value read back from an item sentence (item_sentence's inverse for one key); None when absent."""
    prefix = f"{key}: "
    for part in sentence.split(" | "):
        if part.startswith(prefix):
            return part[len(prefix) :]
    return None


@dataclass(frozen=True)
class Item:
    item_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    sentence: str
    n_ratings: int

    @cached_property
    def tags(self) -> tuple[str, ...]:
        """Users' free-text tags as the sentence carries them (`tags: time travel, dark comedy`); () when none. Read
        once per item: the tag filter reads every item's tags on each turn."""
        value = sentence_field(self.sentence, "tags")
        return tuple(t for t in value.split(", ") if t) if value else ()

    @property
    def label(self) -> str:
        """'Heat (1995)': how replies name an item."""
        return f"{self.title} ({self.year})" if self.year else self.title


class Catalog:
    """Read-only view over the items frame with fast id access."""

    def __init__(self, items: pd.DataFrame) -> None:
        self.frame = items.reset_index(drop=True)
        self._by_id: dict[int, Item] = {}
        for row in self.frame.itertuples(index=False):
            year = None if pd.isna(row.year) else int(row.year)
            self._by_id[int(row.item_id)] = Item(int(row.item_id), str(row.title), year, tuple(row.genres), str(row.sentence), int(row.n_ratings))
        self.genres: tuple[str, ...] = tuple(sorted({g for it in self._by_id.values() for g in it.genres}))
        # items the source gave no title (ML-100K #267): kept for training, never recommended
        self.untitled: frozenset[int] = frozenset(i for i, it in self._by_id.items() if it.title.startswith(UNTITLED))
        years = [it.year for it in self._by_id.values() if it.year is not None]
        self.year_range: tuple[int, int] = (min(years), max(years)) if years else (0, 0)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def __iter__(self):
        return iter(self._by_id.values())

    @property
    def ids(self) -> list[int]:
        return list(self._by_id)

    def get(self, item_id: int) -> Item:
        try:
            return self._by_id[int(item_id)]
        except KeyError as exc:
            raise InvalidInput(f"item {item_id} is not in the catalog; use an id from the catalog") from exc

    def items(self, ids: Iterable[int]) -> list[Item]:
        return [self.get(i) for i in ids]

    def check_genres(self, genres: Iterable[str]) -> list[str]:
        """Canonical genre names (case-insensitive); unknown ones raise with the list of valid genres."""
        canon = {g.lower(): g for g in self.genres}
        out = []
        for g in genres:
            key = g.strip().lower()
            if key not in canon:
                raise InvalidInput(f"unknown genre {g!r}; genres in this catalog: {', '.join(self.genres)}")
            out.append(canon[key])
        return out
