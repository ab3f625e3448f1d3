"""The parser: one message in, intent plus slots out (see agents/nlu/__init__.py)."""

from __future__ import annotations

from agents.nlu.constraints import find_genres, find_years, to_catalog_genres
from agents.nlu.intent import asks_for_films, find_intent, speaks_of_self, wants_more
from agents.nlu.parsed import Parsed
from agents.nlu.references import find_refs
from agents.nlu.titles import TitleFinder
from agents.nlu.wish import find_wish
from agents.state import Session
from data.lookup import TitleLookup

MAX_MESSAGE_CHARS = 2000


class Parser:
    def __init__(self, lookup: TitleLookup, vocabulary: frozenset[str] | None = None) -> None:
        """vocabulary: known words (the embedding model's word list); a wish made only of unknown words
        ("asdkjh qwezzx") is treated as not understood instead of being sent to the retriever."""
        self.lookup = lookup
        self.vocabulary = vocabulary
        self.title_finder = TitleFinder(lookup)

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
        genres = to_catalog_genres(find_genres(rest), self.lookup.catalog.genres)
        p.genres_any, p.genres_all, p.genres_none = genres.any, genres.all, genres.none
        p.year_range, p.relative_year = find_years(rest)
        p.refs = find_refs(text, session)
        p.wants_more = wants_more(rest)
        p.wish = find_wish(rest)
        if self.vocabulary is not None and p.wish and not any(w in self.vocabulary for w in p.wish.split()):
            p.wish = ""
        if p.wish and speaks_of_self(text) and not (asks_for_films(text) or p.genres_any or p.genres_all or p.genres_none or p.year_range):
            # "Well I tried, I was so lost": talk about oneself that neither asks for films nor sets a filter
            # describes no film, and its leftover words would send the retriever after titles that share them
            p.wish = ""
        p.intent = find_intent(text, p, session)
        if p.intent == "chitchat":
            # an out-of-scope or instruction-like message: names in it that are not films are not echoed back
            p.mentions = [m for m in p.mentions if m.status == "found"]
        return p
