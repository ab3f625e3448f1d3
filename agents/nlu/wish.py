"""The wish: the content words of a message that no slot took, sent to the retriever as text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.lexicon import AUDIENCE_RE, CHAT_WORDS, GENRE_WORDS, MOODS, NEGATORS, QUANTITY_RE, VIOLENCE_WORDS, WATCHING_WORDS, strip_year_phrases
from agents.nlu.negation import is_listed, is_negator, negation_scope, words_of
from agents.nlu.titles import FILLER, SEPARATORS, SOFT_STOPS

# Words that carry no content of their own (requests, fillers, time words, relative-year words).
_STOP = (
    FILLER
    | SOFT_STOPS
    | SEPARATORS
    | {
        "recommend",
        "recommendation",
        "recommendations",
        "suggestion",
        "suggestions",
        "want",
        "wanna",
        "need",
        "looking",
        "look",
        "like",
        "liked",
        "love",
        "loved",
        "enjoyed",
        "tonight",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "hey",
        "good",
        "great",
        "nice",
        "kind",
        "sort",
        "type",
        "of",
        "an",
        "a",
        "to",
        "on",
        "at",
        "and",
        "or",
        "am",
        "be",
        "do",
        "did",
        "have",
        "has",
        "had",
        "should",
        "let's",
        "lets",
        "ok",
        "okay",
        "yes",
        "no",
        "not",
        "other",
        "another",
        "else",
        "again",
        "some",
        "new",
        "watch",
        "see",
        "seen",
        "mood",
        "feel",
        "feeling",
        "older",
        "newer",
        "recent",
        "earlier",
        "classic",
        "classics",
        "modern",
        "latest",
        "vintage",
        "something",
        "favourites",
        "favorites",
        "favourite",
        "favorite",
        "give",
        "show",
        "tell",
        "what",
        "how",
        "why",
        "with",
        "without",
        "by",
        "i'd",
        "i've",
        "we're",
        "next",
        "really",
        "today",
        "evening",
        "night",
        "weekend",
        "tomorrow",
        "watching",
        "suggest",
        "us",
        "our",
        "your",
        "there",
        "here",
        "best",
        "top",
        "few",
        "couple",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "several",
        "dozen",
        "picks",
        "pick",
        "options",
        "others",
        "alternatives",
        "different",
        "ones",
        "bitte",
        "make",  # "make it lighter"
        "made",  # "made before 1960": the year is a filter, the verb no wish
        "released",
        "genre",  # "any genre", "a good genre film": the genre itself travels as a filter
        "genres",
    }
)


# "don't", "i'm", "you'd", "they've": a contraction is never the content of a wish
_CONTRACTION_RE = re.compile(r"n't$|'(?:m|s|d|ll|ve|re)$")


# a genre phrase's place in the message: it still continues a negated list ("no horror or gore, but pirates")
_GENRE_SLOT = "__genre__"


# words of a verdict on a film rather than a description of one
_VERDICT_WORDS = frozenset(
    "bad worse worst terrible awful horrible boring dull stupid annoying lame overrated underrated too good better best great "
    "awesome amazing excellent brilliant obvious predictable interesting ok okay meh".split()
)
_SKIP = _STOP | CHAT_WORDS | WATCHING_WORDS | set(NEGATORS) | set(MOODS) | set(VIOLENCE_WORDS)
_PHRASE_SLOT = "__phrase{}__"


def tag_phrases(tags: Iterable[str]) -> frozenset[str]:
    """The catalog's user tags a wish keeps whole: two or more plain words, one at least not a chat or request word
    ("dark comedy", "time travel"; not "must see"). Their words alone would be lost ("dark" is a mood, "comedy" a
    genre filter) or searched apart; whole, they meet the retriever's tag channel (tools/retriever/tags.py). Left out:
    a tag the genre lexicon already reads as a filter ("film noir"), and one holding a verdict, a negation or a
    contraction ("bad acting", "too long", "didn't get it"): what a person thought of a film, not what a film is, and
    "I can't stand bad acting" must not go looking for the films tagged so."""
    out = set()
    for tag in tags:
        words = tag.split()
        plain = re.fullmatch(r"[a-z][a-z0-9 -]*[a-z0-9]", tag) is not None  # no apostrophe: no contraction
        describes = any(w not in _STOP and w not in CHAT_WORDS for w in words)
        judged = any(w in _VERDICT_WORDS for w in words)
        if len(words) >= 2 and plain and describes and not judged and tag not in GENRE_WORDS and not any(is_negator(w) for w in words):
            out.add(tag)
    return frozenset(out)


def find_wish(rest: str, phrases: frozenset[str] = frozenset()) -> str:
    """The wish alone (read_wish)."""
    return read_wish(rest, phrases)[0]


def read_wish(rest: str, phrases: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """Content words for the retriever, from the message with its titles removed. Genre, mood and
    negation words are left out: they travel as exact filters, and "no horror" embedded as text would
    pull horror in. So are year expressions: "before 1970" is a filter, and "before" alone is no wish; and where to
    watch ("on DVD"), which describes no film (the parser has already taken out chat idioms like "right up my alley").
    `phrases` (the catalog's tag phrases, tag_phrases) are kept whole where the message says them; the negated ones
    ("no adam sandler please") are returned apart, as what to leave out. Returns (wish, negated phrases)."""
    low = AUDIENCE_RE.sub(" ", QUANTITY_RE.sub(" ", strip_year_phrases(rest))).lower()
    kept: list[str] = []
    for phrase in sorted((ph for ph in phrases if ph in low), key=len, reverse=True):
        low, n = re.subn(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", f" {_PHRASE_SLOT.format(len(kept))} ", low)
        if n:
            kept.append(phrase)
    for phrase in sorted(GENRE_WORDS, key=len, reverse=True):
        low = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", f" {_GENRE_SLOT} ", low)
    tokens = words_of(low)
    slots = {_PHRASE_SLOT.format(n): ph for n, ph in enumerate(kept)}
    negated = negation_scope(tokens, lambda w: w == _GENRE_SLOT or w in slots or is_listed(w))
    words = [w.strip("'-") for i, w in enumerate(tokens) if w != _GENRE_SLOT and not is_negator(w) and not negated(i)]
    ruled_out = [slots[w] for i, w in enumerate(tokens) if w in slots and negated(i)]
    content = [
        slots.get(w, w)
        for w in words
        if w in slots
        or (
            w not in _SKIP
            and re.search(r"\w", w)
            and w.replace("'", "") not in _SKIP
            and not _CONTRACTION_RE.search(w)
            and not re.fullmatch(r"\d+s?|'?\d0'?s", w)
            and len(w) > 1
        )
    ]
    return " ".join(content), list(dict.fromkeys(ruled_out))
