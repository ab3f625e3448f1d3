"""How far a negation reaches in a message: one rule for the genre filters and for the wish.

Both read the same words ("nothing scary, maybe a comedy about pirates"), so both must agree on which of them a
"no" or a "don't" covers; two rules would let the filters drop a genre while the wish still searched for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from agents.lexicon import GENRE_WORDS, NEGATORS, VIOLENCE_WORDS

# "want", "prefer", "rather" right after a negator are its own verb ("I don't want horror"); later they start a new wish
WISH_VERBS = frozenset({"want", "prefer", "rather"})
# Words a negation runs through without using up its reach: a list of what is negated and its glue
LIST_GLUE = frozenset({",", "or", "nor", "and", "a", "an", "the", "any", "movies", "movie", "films", "film", "flicks"})
_RESETS = frozenset({"but", "want", "prefer", "rather", "instead", ".", "maybe", "perhaps"})
_CONTINUES = frozenset({"or", "nor", "and", "neither"})
REACH = 3  # words a negator covers, not counting the list words and glue


def words_of(text: str) -> list[str]:
    """Lowercased words, with "," tokens and a "." token at every sentence end (".", "!", "?", ";", ":", an ellipsis):
    a negation never reaches into the next sentence."""
    low = " " + re.sub(r"[^\w'’\-éèñóáíöü.!?;:,]+", " ", text.lower().replace("’", "'")) + " "
    low = re.sub(r"[.!?;:]+(?=\s)|\.{2,}", " . ", low)
    low = re.sub(r",+", " , ", low)
    return low.split()


def is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def is_listed(word: str) -> bool:
    """A word that can stand in a list of negated things: a genre or a violence word ("no horror, gore or war")."""
    return word in GENRE_WORDS or word in VIOLENCE_WORDS


def negation_scope(words: Sequence[str], listed: Callable[[str], bool]) -> Callable[[int], bool]:
    """`negated(i)`: whether the word at position i is covered by a negator before it.

    listed(word): whether a word can stand in a list of negated things (a genre word): "no horror, thriller or war"
    negates all three. A negation ends at a sentence end, at "but", "instead", "maybe", "perhaps", at "what about" /
    "how about", at a wish verb that is not the negator's own, and at a comma that starts a new clause rather than
    going on with the list ("nothing scary, maybe a comedy"; "not into westerns, how about a war film").
    """
    negators = [i for i, w in enumerate(words) if is_negator(w)]
    resets = [i for i, w in enumerate(words) if w in _RESETS or (w == "about" and i and words[i - 1] in ("what", "how"))]
    resets += [
        i
        for i, w in enumerate(words)
        if w == "," and i + 1 < len(words) and not (listed(words[i + 1]) or words[i + 1] in _CONTINUES or is_negator(words[i + 1]))
    ]

    def negated(pos: int) -> bool:
        before = [n for n in negators if n < pos]
        if not before or pos in negators:
            return False
        n = before[-1]
        if any(n < r <= pos and not (words[r] in WISH_VERBS and r - n <= 2) for r in resets):
            return False
        between = [w for w in words[n + 1 : pos] if not listed(w) and w not in LIST_GLUE]
        return len(between) <= REACH

    return negated
