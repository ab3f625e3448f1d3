"""The wish: the content words of a message that no slot took, sent to the retriever as text."""

from __future__ import annotations

import re

from agents.lexicon import CHAT_WORDS, GENRE_WORDS, MOODS, NEGATORS, VIOLENCE_WORDS, WATCHING_WORDS, strip_year_phrases
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
        "five",
        "three",
        "ten",
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


def find_wish(rest: str) -> str:
    """Content words for the retriever, from the message with its titles removed. Genre, mood and
    negation words are left out: they travel as exact filters, and "no horror" embedded as text would
    pull horror in. So are year expressions: "before 1970" is a filter, and "before" alone is no wish; and where to
    watch ("on DVD"), which describes no film (the parser has already taken out chat idioms like "right up my alley")."""
    low = strip_year_phrases(rest).lower()
    for phrase in sorted(GENRE_WORDS, key=len, reverse=True):
        low = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", f" {_GENRE_SLOT} ", low)
    tokens = words_of(low)
    negated = negation_scope(tokens, lambda w: w == _GENRE_SLOT or is_listed(w))
    words = [w.strip("'-") for i, w in enumerate(tokens) if w != _GENRE_SLOT and not is_negator(w) and not negated(i)]
    skip = _STOP | CHAT_WORDS | WATCHING_WORDS | set(NEGATORS) | set(MOODS) | set(VIOLENCE_WORDS)
    content = [
        w
        for w in words
        if w not in skip
        and re.search(r"\w", w)
        and w.replace("'", "") not in skip
        and not _CONTRACTION_RE.search(w)
        and not re.fullmatch(r"\d+s?|'?\d0'?s", w)
        and len(w) > 1
    ]
    return " ".join(content)
