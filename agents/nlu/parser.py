"""The parser: one message in, intent plus slots out (see agents/nlu/__init__.py)."""

from __future__ import annotations

import re
from functools import cached_property

from agents.lexicon import CHAT_IDIOM_RE, find_year_range
from agents.nlu.constraints import find_genres, find_years, to_catalog_genres
from agents.nlu.intent import asks_about_shown, asks_for_films, asks_info, find_intent, is_pleasantry, speaks_of_self, wants_more
from agents.nlu.parsed import Parsed
from agents.nlu.references import find_refs
from agents.nlu.sentiment import films_spoken_against
from agents.nlu.titles import TitleFinder
from agents.nlu.wish import read_wish, tag_phrases
from agents.state import Session
from data.lookup import TitleLookup

MAX_MESSAGE_CHARS = 2000


_SENTENCE_END_RE = re.compile(r"(\.{2,}|[.!?;]+(?:\s+|$))")


def _sentences(text: str) -> list[str]:
    """The sentences of a message, each with its end mark: a "?" says the sentence asks for something."""
    parts = _SENTENCE_END_RE.split(text)
    return [(body + end).strip() for body, end in zip(parts[::2], [*parts[1::2], ""], strict=True) if body.strip()]


def _describes_films(sentence: str) -> bool:
    """Whether a sentence's leftover words may describe the films wanted: it asks for films, sets a genre or a year,
    or does not talk about the speaker. "Well I tried, I was so lost" and "I've had a long day" describe no film,
    and their words would send the retriever after titles that share them."""
    if asks_for_films(sentence):
        return True
    # social talk and a question about the film on the table describe no wanted film, whoever they speak of
    if is_pleasantry(sentence) or asks_about_shown(sentence):
        return False
    if not speaks_of_self(sentence):
        return True
    g = find_genres(sentence)
    return bool(g.any or g.all or g.none or find_year_range(sentence))


class Parser:
    def __init__(self, lookup: TitleLookup, vocabulary: frozenset[str] | None = None) -> None:
        """vocabulary: known words (the embedding model's word list); a wish made only of unknown words
        ("asdkjh qwezzx") is treated as not understood instead of being sent to the retriever."""
        self.lookup = lookup
        self.vocabulary = vocabulary
        self.title_finder = TitleFinder(lookup)

    @cached_property
    def phrases(self) -> frozenset[str]:
        """The catalog's multi-word user tags ("dark comedy"), kept whole in the wish where a message says them; read
        on the first parse, not when the parser is made."""
        return tag_phrases(t for it in self.lookup.catalog for t in it.tags)

    def parse(self, message: str, session: Session) -> Parsed:
        text = (message or "").strip()
        truncated = len(text) > MAX_MESSAGE_CHARS
        text = text[:MAX_MESSAGE_CHARS]
        p = Parsed(intent="empty", text=text, truncated=truncated)
        if not text:
            return p
        mentions, rest = self.title_finder.find(text)
        p.mentions = mentions
        p.titles = [m.item_id for m in mentions if m.status == "found" and m.item_id is not None]
        p.titles = list(dict.fromkeys(p.titles))
        p.against = films_spoken_against(text, mentions)
        genres = to_catalog_genres(find_genres(rest), self.lookup.catalog.genres)
        p.genres_any, p.genres_all, p.genres_none = genres.any, genres.all, genres.none
        p.year_range, p.relative_year = find_years(rest, self.lookup.catalog.year_range[1])
        p.refs = find_refs(text, session)
        p.wants_more = wants_more(rest)
        # chat idioms go first: "right up my alley" neither describes a film nor makes a sentence talk of the speaker
        described = CHAT_IDIOM_RE.sub(" ", rest)
        p.wish, p.tags_none = read_wish(" ".join(s for s in _sentences(described) if _describes_films(s)), self.phrases)
        # a hyphenated word counts by its parts ("sea-faring"): the model's word list holds "sea"
        if self.vocabulary is not None and p.wish and not any(part in self.vocabulary for w in p.wish.split() for part in (w, *w.split("-"))):
            p.wish = ""
        p.intent = find_intent(text, p, session)
        if p.intent in ("item_info", "explain") and len(p.refs) > 1 and not p.titles:
            # "seen the first three. The fourth looks good, what's it about?": the film asked about is the one the
            # question's own sentence points at
            asked = [s for s in _sentences(text) if asks_about_shown(s) or asks_info(s)]
            near = find_refs(asked[-1], session) if asked else []
            p.refs = [r for r in near if r in p.refs] + [r for r in p.refs if r not in near]
        if p.intent == "chitchat":
            # an out-of-scope or instruction-like message: names in it that are not films are not echoed back
            p.mentions = [m for m in p.mentions if m.status == "found"]
        return p
