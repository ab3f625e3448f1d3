"""Genres, moods and years in a message: the exact filters a request carries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.lexicon import ALL_OF, GENRE_WORDS, MOODS, VIOLENCE_WORDS, VIOLENT, find_year_range
from agents.nlu.negation import is_listed, negation_scope, words_of

_PHRASES = sorted(GENRE_WORDS, key=lambda p: -len(p.split()))  # multi-word phrases first
_OLDER_RE = re.compile(r"\b(older|earlier|classics?|vintage|old(?:er)? ones?)\b", re.I)
_NEWER_RE = re.compile(r"\b(newer|more recent|recent|latest|modern)\b", re.I)


@dataclass
class Genres:
    any: list[str] = field(default_factory=list)  # at least one of these
    all: list[str] = field(default_factory=list)  # all of these ("romcom")
    none: list[str] = field(default_factory=list)  # none of these ("no horror")


def find_genres(text: str) -> Genres:
    """Genre words, negated ones ("no horror", "nothing violent") and moods ("something lighter"); a mood
    or violence word adds genres only when the message names none."""
    out = Genres()
    words = words_of(text)
    low = " " + " ".join(words) + " "
    negated = negation_scope(words, is_listed)

    used: set[int] = set()
    for phrase in _PHRASES:
        plen = len(phrase.split())
        for i in range(len(words) - plen + 1):
            if any(k in used for k in range(i, i + plen)) or " ".join(words[i : i + plen]) != phrase:
                continue
            used.update(range(i, i + plen))
            genres = GENRE_WORDS[phrase]
            if negated(i):
                out.none += [g for g in genres if g not in out.none]
            elif phrase in ALL_OF:
                out.all += [g for g in genres if g not in out.all]
            else:
                out.any += [g for g in genres if g not in out.any]
    # A genre the message names outranks a mood or violence word: "a light comedy" asks for comedies, not
    # for the light genres; the mood may still rule genres out ("light": no horror), but never a named one.
    named = out.any + out.all
    for i, w in enumerate(words):
        if w in VIOLENCE_WORDS:
            if negated(i):
                out.none += [g for g in VIOLENT if g not in out.none and g not in named]
            elif not named:
                out.any += [g for g in VIOLENT if g not in out.any]
    for mood, (want, avoid) in MOODS.items():
        if re.search(rf"\b{re.escape(mood)}\b", low):
            if not named:
                out.any += [g for g in want if g not in out.any and g not in out.none]
            out.none += [g for g in avoid if g not in out.none and g not in named]
            break
    # "I like comedies, but not the gross-out ones": a genre asked for and negated in one message is wanted (the
    # negation is about a kind of it)
    asked = set(out.any) | set(out.all)
    out.none = [g for g in out.none if g not in asked]
    return out


def _genre_key(name: str) -> str:
    """'Children's', 'Children' and 'childrens' share a key: catalogs spell the same genre differently."""
    key = re.sub(r"[^a-z]", "", name.lower())
    return key[:-1] if key.endswith("s") and len(key) > 4 else key


def to_catalog_genres(genres: Genres, catalog_genres: tuple[str, ...] | list[str]) -> Genres:
    """The lexicon speaks MovieLens-100K's genre names ("Children's"); other catalogs name them their own way
    ("Children" in ml-latest-small) or lack some. Map each to the catalog's spelling and drop what the catalog
    does not have, so a filter never names a genre the tools reject."""
    by_key = {_genre_key(g): g for g in catalog_genres}

    def mapped(names: list[str]) -> list[str]:
        return list(dict.fromkeys(by_key[k] for k in map(_genre_key, names) if k in by_key))

    return Genres(any=mapped(genres.any), all=mapped(genres.all), none=mapped(genres.none))


def find_years(text: str, latest: int | None = None) -> tuple[tuple[int | None, int | None] | None, str | None]:
    """An explicit range ("the 70s", "before 1980") or else a relative word ("older", "newer"): an
    explicit year outranks a relative word, so "older ones, before 1970" means before 1970. latest: the catalog's
    newest year (find_year_range)."""
    explicit = find_year_range(text, latest)
    if explicit is not None:
        return explicit, None
    if _OLDER_RE.search(text):
        return None, "older"
    if _NEWER_RE.search(text):
        return None, "newer"
    return None, None
