"""Map free text to catalog items: exact, case/article/year-insensitive, then fuzzy.

Never guesses: when nothing is close enough the result is "not_found" with the closest suggestions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from data.catalog import ARTICLES, Catalog

_LEADING_ARTICLES = tuple(a.lower().rstrip("'") for a in ARTICLES if a not in ("I", "A"))
_YEAR_RE = re.compile(r"(?:^|\s|\()((?:18|19|20)\d{2})\)?\s*$")
_NUM_RE = re.compile(r"\b\d+\b")

# A fuzzy score at or above this is a match; below it we only suggest.
MATCH_THRESHOLD = 86.0
SUGGEST_THRESHOLD = 55.0

Status = Literal["exact", "fuzzy", "ambiguous", "not_found"]


def normalize(text: str) -> str:
    """Lowercase, strip accents and punctuation, drop one leading article."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    first, _, rest = text.partition(" ")
    if rest and (first in _LEADING_ARTICLES or first in {"a", "an"}):
        text = rest
    return text


def split_year(text: str) -> tuple[str, int | None]:
    """'Alien 1979' / 'Alien (1979)' -> ('Alien', 1979)."""
    m = _YEAR_RE.search(text.strip())
    if m and m.start(1) > 0:
        return text[: m.start()].strip(" ("), int(m.group(1))
    return text, None


@dataclass(frozen=True)
class Match:
    item_id: int
    title: str
    year: int | None
    score: float


@dataclass(frozen=True)
class LookupResult:
    query: str
    status: Status
    matches: list[Match] = field(default_factory=list)  # best first; one when unambiguous
    suggestions: list[Match] = field(default_factory=list)  # for not_found / ambiguous

    @property
    def found(self) -> bool:
        return self.status in ("exact", "fuzzy")

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.found else None


class TitleLookup:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._keys: list[str] = []
        self._key_items: list[int] = []
        self._exact: dict[str, list[int]] = defaultdict(list)
        for item in catalog:
            for key in self._variants(item.title):
                self._keys.append(key)
                self._key_items.append(item.item_id)
                if item.item_id not in self._exact[key]:
                    self._exact[key].append(item.item_id)

    @staticmethod
    def _variants(title: str) -> set[str]:
        """The title, the title without parenthesised alternates, and each alternate alone."""
        out = {normalize(title)}
        base = re.sub(r"\s*\(.*?\)", "", title).strip()
        if base:
            out.add(normalize(base))
        for alt in re.findall(r"\((.*?)\)", title):
            if len(alt) > 3 and not alt.lower().startswith("a.k.a"):
                out.add(normalize(alt))
            elif alt.lower().startswith("a.k.a"):
                out.add(normalize(alt[5:]))
        out.discard("")
        return out

    def _match(self, item_id: int, score: float) -> Match:
        it = self.catalog.get(item_id)
        return Match(item_id, it.title, it.year, round(score, 1))

    def exact_ids(self, text: str) -> list[int]:
        """Items whose normalised title (or alternate title) equals the text; a trailing year must agree."""
        body, year = split_year(text.strip())
        ids = self._exact.get(normalize(body), [])
        return [i for i in ids if year is None or self.catalog.get(i).year == year]

    def exact_id_of_year(self, title: str, year: int, slack: int = 1) -> int | None:
        """The item with exactly this title whose year is closest to `year`, at most `slack` years off (sources
        disagree on release years by one); None when there is none: never a film of that name from another time."""
        gaps = sorted((abs((self.catalog.get(i).year or 0) - year), i) for i in self.exact_ids(title))
        return gaps[0][1] if gaps and gaps[0][0] <= slack else None

    def lookup(self, text: str, limit: int = 5) -> LookupResult:
        query = text.strip()
        body, year = split_year(query)
        key = normalize(body)
        if not key:
            return LookupResult(query, "not_found")
        exact = self._exact.get(key, [])
        if year is not None:
            exact = [i for i in exact if self.catalog.get(i).year == year]
        if len(exact) == 1:
            return LookupResult(query, "exact", [self._match(exact[0], 100.0)])
        if len(exact) > 1:
            matches = [self._match(i, 100.0) for i in exact]
            return LookupResult(query, "ambiguous", matches, suggestions=matches)

        scored = self._fuzzy(key, year, limit)
        if scored and scored[0].score >= MATCH_THRESHOLD:
            top = scored[0]
            ties = [m for m in scored if m.score == top.score and normalize(m.title) == normalize(top.title)]
            if len(ties) > 1:
                return LookupResult(query, "ambiguous", ties, suggestions=ties)
            return LookupResult(query, "fuzzy", scored)
        return LookupResult(query, "not_found", suggestions=[m for m in scored if m.score >= SUGGEST_THRESHOLD][:3])

    def _fuzzy(self, key: str, year: int | None, limit: int) -> list[Match]:
        # Blend of whole-string and token-set similarity: token_set alone rates "terminator" a
        # perfect match for "terminator 2 judgment day"; ratio alone punishes subtitles too hard.
        hits = process.extract(key, self._keys, scorer=fuzz.WRatio, limit=limit * 6)
        best: dict[int, float] = {}
        qnums = set(_NUM_RE.findall(key))
        for cand, _, idx in hits:
            score = 0.5 * fuzz.ratio(key, cand) + 0.5 * fuzz.token_set_ratio(key, cand)
            if qnums - set(_NUM_RE.findall(cand)):
                score -= 25  # "terminator 2" must not match "the terminator"
            item_id = self._key_items[idx]
            it = self.catalog.get(item_id)
            # a number typed must be the film's ("terminator 2" is not The Terminator)
            main = _main_title_ratio(key, it.title) if not qnums - set(_NUM_RE.findall(cand)) else 0.0
            if len(key) >= 6 and main >= 90 and _SUBTITLE_RE.search(it.title) is None:
                # the film whose whole title that is ("toy storry": Toy Story) comes before any sequel sharing its main title
                score = max(score, 91.0 + 5.0 * main / 100.0)
            elif len(key) >= 6 and len(cand) > len(key) + 1 and main >= 90:
                # a title's main part before its subtitle ("terminator 2" of "Terminator 2: Judgment Day", typos allowed:
                # "terminater 2") is a strong signal, the same for every film sharing that main title, so the most-rated
                # of them wins ("kill bill": the more rated volume). Leading words that are not the whole main title are
                # not: "run along" is not "Run Along Little Doggie" (tests/test_lookup.py)
                score = max(score, 90.0 + 5.0 * main / 100.0)
            if year is not None:
                score += 5 if it.year == year else -15
            best[item_id] = max(best.get(item_id, 0.0), min(score, 99.0))
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], -self.catalog.get(kv[0]).n_ratings))
        return [self._match(i, s) for i, s in ranked[:limit]]


_SUBTITLE_RE = re.compile(r":|\s[-–]\s|\s\(")


def _main_title_ratio(key: str, title: str) -> float:
    """How closely `key` (normalised) spells the part of `title` before its subtitle or alternative title ("Terminator
    2" of "Terminator 2: Judgment Day", "Kolya" of "Kolya (Kolja)"), 0-100."""
    main = _SUBTITLE_RE.split(title, maxsplit=1)[0]
    return float(fuzz.ratio(key, normalize(main)))
