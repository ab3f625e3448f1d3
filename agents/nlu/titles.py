"""Titles in a message, grounded to catalog ids: after a cue ("I loved ..."), in quotes, capitalised,
or typed on their own. Unknown titles are reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.lexicon import CHAT_WORDS, GENRE_WORDS, QUANTITY_RE
from data.lookup import Match, TitleLookup

TOKEN_RE = re.compile(r"[\w'’:\-.&/*!]+|,", re.U)
SEPARATORS = {",", "and", "or", "&", "plus", "also", "both", "as", "well"}
# Words that end a title phrase after a cue ("I loved Heat *but* ...").
SOFT_STOPS = {
    "but",
    "something",
    "anything",
    "so",
    "now",
    "tonight",
    "please",
    "can",
    "could",
    "would",
    "what",
    "which",
    "any",
    "recommend",
    "suggest",
    "for",
    "because",
    "since",
    "give",
    "show",
    "find",
    "i",
    "i'm",
    "im",
    "we",
    "my",
    "me",
    "is",
    "are",
    "was",
    "were",
    "too",
    "a",
    "lot",
    "very",
    "much",
    "more",
    "less",
    "with",
    "in",
    "from",
    "that",
    "this",
    "it",
    "if",
    "then",
    "maybe",
    "just",
}
_ARTICLES = frozenset({"a", "an", "the", "some"})
_CUE_RE = re.compile(
    r"\b(loved|love|liked|like|enjoyed|enjoy|adore|adored|favou?rites?(?:\s+(?:are|is|were|include))?|fan of|watched|seen|saw"
    r"|similar to|such as|why|about|is|was|than|re-?watch(?:ed)?)\s+",
    re.I,
)
_ABOUT_ASKS_RE = re.compile(r"\b(?:tell\s+me|talk|know|info(?:rmation)?|what|how|details)\W*(?:\w+\W+){0,2}$", re.I)
_STRONG_CUES = {
    "loved",
    "liked",
    "enjoyed",
    "adore",
    "adored",
    "favorite",
    "favourite",
    "favorites",
    "favourites",
    "fan of",
    "watched",
    "seen",
    "saw",
    "similar to",
    "why",
    # not "about": "a western about revenge" names a topic; a title after it is still found, an unknown word stays in the wish
    "like",
    "love",
}
FILLER = {
    "something",
    "anything",
    "movie",
    "movies",
    "film",
    "films",
    "it",
    "that",
    "this",
    "them",
    "those",
    "these",
    "one",
    "ones",
    "more",
    "some",
    "stuff",
    "things",
    "everything",
    "all",
    "the",
    "first",
    "second",
    "third",
    "last",
    "you",
    "me",
    "to",
    "watch",
}
_COMMON_SINGLE = {
    "i",
    "a",
    "the",
    "something",
    "anything",
    "any",
    "why",
    "what",
    "who",
    "how",
    "more",
    "please",
    "thanks",
    "hi",
    "hello",
    "recommend",
    "give",
    "show",
    "tell",
    "not",
    "no",
    "yes",
    "ok",
    "okay",
    "seen",
    "loved",
    "like",
    "nothing",
    "fear",
    "speed",
    "mother",
    "crash",
    "heavy",
    "touch",
    "kids",
    "jack",
    "ghost",
    "wolf",
    "solo",
    "naked",
    "giant",
    "fallen",
    "michael",
    "faces",
    "love",
    "friday",
    "sleeper",
    "bound",
    "steel",
    "powder",
    "smoke",
    "shine",
    "species",
    "fled",
    "bogus",
    "twilight",
    "spellbound",
    "m",
}


_TRAILING_CHAT = frozenset(
    "like lol lmao haha hahaha already twice thrice again too yesterday ago tbh imo btw honestly though lately recently ever once".split()
)
_PAREN_YEAR_RE = re.compile(r"\((1[89]\d\d|20\d\d)\)")

MAX_TITLE_WORDS = 10
_CUT = "\x00"  # where a "Title (Year)" was cut out of the message
# Lowercase words a capitalised title may hold ("The Man in the Iron Mask", "Apollo 13 and Me").
_TITLE_JOINERS = {"a", "an", "the", "of", "in", "on", "to", "and", "for", "at", "with", "from", "&", "-", ":", "vs", "vs."}


def _capitalised(word: str) -> bool:
    core = word.strip(",\"'“”():")
    return core[:1].isupper() or core[:1].isdigit()


def _capitalised_run(words: list[str]) -> int:
    """How many of the last words form a capitalised name ("... like Apollo 13" -> 2); 0 if none."""
    n = 0
    for w in reversed(words[-MAX_TITLE_WORDS:]):
        if _capitalised(w) or (n and w.strip(",\"'“”():").lower() in _TITLE_JOINERS):
            n += 1
            continue
        break
    # a run starts with a capital: drop joiners left dangling at its front
    while n and not _capitalised(words[-n]):
        n -= 1
    return n


_ABOUT_WORDS = frozenset({"about", "around", "over", "roughly", "almost", "nearly", "maybe", "like"})


def _quantity_follows(toks: list[str], j: int) -> bool:
    """Whether the words from j on are a count with its unit ("3 times"), maybe after "about" or "like"."""
    if j < len(toks) and clean(toks[j]) in _ABOUT_WORDS:
        j += 1
    return j < len(toks) and bool(QUANTITY_RE.match(" ".join(toks[j : j + 4])))


def _second_of_a_name(toks: list[str], i: int) -> bool:
    """Whether toks[i] follows a capitalised word inside a sentence, as a surname follows a first name ("films with
    Tom Cruise"): one capitalised word there is part of a name, not a one-word title."""
    if i == 0:
        return False
    prev = toks[i - 1]
    starts_sentence = i - 1 == 0 or toks[i - 2][-1:] in ".!?;:,"
    return prev[:1].isupper() and not starts_sentence and prev not in {"I", "I'm", "I've", "I'd"} and not prev.endswith(("'s", "’s"))


@dataclass
class TitleMention:
    text: str
    status: str  # "found", "ambiguous", "not_found"
    item_id: int | None = None
    options: list[Match] = field(default_factory=list)


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def clean(tok: str) -> str:
    return tok.strip(".!?;:'\"’").lower()


def _whole(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(words)}(?!\w)", re.I)


def _drop_parts_of_longer(mentions: list[TitleMention], text: str) -> list[TitleMention]:
    """A mention that is only ever part of a longer one is no title of its own: "When Night Is Falling" is one film,
    not also "Falling ...". Passes read the message separately, so a cue inside a title can find its tail. One that
    also stands alone is kept ("Toy Story and Toy Story 2": "Toy Story" occurs twice, once inside the other)."""
    kept = []
    for m in mentions:
        pat = _whole(m.text)
        alone = len(pat.findall(text))
        inside = sum(len(pat.findall(o.text)) for o in mentions if o is not m and len(o.text) > len(m.text))
        if not (alone and inside >= alone):
            kept.append(m)
    return kept


class TitleFinder:
    """Finds title mentions with the catalog's title lookup."""

    def __init__(self, lookup: TitleLookup) -> None:
        self.lookup = lookup

    def _longest_exact(self, toks: list[str], i: int, max_len: int = 10, caps: bool = False) -> tuple[int, list[int]] | None:
        """Longest span from i that is exactly a title and ends at a boundary ("terminator" of
        "terminator 2" does not)."""
        for j in range(min(len(toks), i + max_len), i, -1):
            span = " ".join(toks[i:j]).strip(" ,.!?;")
            if not span or toks[j - 1] == ",":
                continue
            at_boundary = (
                j == len(toks)
                or toks[j - 1][-1:] in ".!?;"
                or toks[j] == ","
                or clean(toks[j]) in SEPARATORS
                or (clean(toks[j]) in SOFT_STOPS or clean(toks[j]) in FILLER or clean(toks[j]) in GENRE_WORDS)
                # "watched twelve monkeys like 5 times", "saw raising arizona twice already lol": a chat word that follows a name
                # in talk, typed in lowercase, goes on with the sentence (a longer title holding it, "some like it hot",
                # was tried first); not a joiner like "of", which may go on with the title ("accused of murder")
                or (toks[j][:1].islower() and clean(toks[j]) in _TRAILING_CHAT)
                or _quantity_follows(toks, j)  # "Babe about 3 times", "Babe 2 hours long"
            )
            # a title typed with capitals ends where the capitals end ("L.A. Confidential vibes", "saw Shutter Island
            # already lol"): the lowercase words after it are the sentence. Outside a capitalised run only a title of
            # two or more words typed with capitals counts ("the American version" is no film "The American").
            typed_caps = j - i >= 2 and toks[j - 1][:1].isupper() and all(t[:1].isupper() or len(clean(t)) <= 3 for t in toks[i:j])
            if j < len(toks) and (caps or typed_caps):
                at_boundary = at_boundary or not (toks[j][:1].isupper() or toks[j][:1].isdigit())
            if not at_boundary:
                continue
            ids = self.lookup.exact_ids(span)
            if ids:
                return j, ids
        return None

    def _segment_titles(self, toks: list[str], strong: bool) -> tuple[list[TitleMention], list[tuple[int, int]]]:
        """Titles in the words after a cue: exact longest-first, then fuzzy on a separated piece."""
        out: list[TitleMention] = []
        spans: list[tuple[int, int]] = []
        i = 0
        just_found = False  # the last thing read was a title, with no separator since
        while i < len(toks):
            low = clean(toks[i])
            hit = self._longest_exact(toks, i)
            if hit and toks[i][:1].islower() and all(clean(t) in FILLER or clean(t) in CHAT_WORDS or clean(t) in _ARTICLES for t in toks[i : hit[0]]):
                hit = None  # "seen it", "what about the others": chat words typed in lowercase are not the film "It" or "The Others"
            if hit and toks[i][:1].islower() and all(clean(t) in GENRE_WORDS or clean(t) in _ARTICLES for t in toks[i : hit[0]]):
                hit = None  # "how about a war film": a genre typed in lowercase asks for the genre, not the film "War"
            # separators are skipped, and so is a leading "the" unless it starts a title ("The Game")
            if (low in SEPARATORS or low in {"the", ""}) and not (low == "the" and hit):
                just_found = just_found and low not in SEPARATORS
                i += 1
                continue
            if hit:
                j, ids = hit
                text = " ".join(toks[i:j]).strip(" ,.!?")
                if len(ids) == 1:
                    out.append(TitleMention(text, "found", ids[0]))
                else:
                    opts = [Match(x, self.lookup.catalog.get(x).title, self.lookup.catalog.get(x).year, 100.0) for x in ids]
                    out.append(TitleMention(text, "ambiguous", None, opts))
                spans.append((i, j))
                i = j
                just_found = True
                continue
            if low in SOFT_STOPS or low in FILLER or low in GENRE_WORDS:
                break
            if just_found and toks[i][:1].islower():
                break  # "saw Shutter Island already lol": lowercase words straight after a title are the sentence going on
            k = i
            while k < len(toks) and clean(toks[k]) not in SEPARATORS and clean(toks[k]) not in SOFT_STOPS and toks[k] != ",":
                if toks[k][-1:] in ".!?;":
                    k += 1
                    break
                k += 1
            piece = " ".join(toks[i:k]).strip(" ,.!?;")
            words = [clean(t) for t in toks[i:k]]
            pronoun = len(words) == 1 and toks[i][:1].islower() and words[0] in CHAT_WORDS
            quantity = bool(QUANTITY_RE.match(piece))
            if piece and len(words) <= 7 and not pronoun and not quantity and not any(w in GENRE_WORDS or w in FILLER for w in words):
                res = self.lookup.lookup(piece)
                if res.found:
                    out.append(TitleMention(piece, "found", res.best.item_id))
                    spans.append((i, k))
                elif res.status == "ambiguous":
                    out.append(TitleMention(piece, "ambiguous", None, res.matches))
                    spans.append((i, k))
                elif strong:
                    out.append(TitleMention(piece, "not_found", None, res.suggestions))
                    spans.append((i, k))
            if k < len(toks) and (clean(toks[k]) in SOFT_STOPS or toks[k - 1][-1:] in ".!?;"):
                break
            i = max(k, i + 1)
        return out, spans

    def _with_year(self, words: list[str], year: int) -> tuple[int, int] | None:
        """The longest run of the words before "(Year)" that is a catalog title of that year (one off is accepted:
        sources disagree on release years): (run length, item id)."""
        for n in range(min(len(words), MAX_TITLE_WORDS), 0, -1):
            span = " ".join(words[-n:]).strip(" ,\"'“”(")
            item = self.lookup.exact_id_of_year(span, year) if span else None
            if item is not None:
                return n, item
        return None

    def _year_anchored(self, text: str) -> tuple[list[TitleMention], str]:
        """Titles written "Title (Year)", as people and sites write them, found inside any sentence ("we caught Apollo
        13 (1995) on TV last night"). A "(Year)" whose title the catalog lacks is reported with its capitalised
        words, never grounded to a film of another year. Found spans become commas, so later passes skip them."""
        mentions: list[TitleMention] = []
        out, start = [], 0
        for m in _PAREN_YEAR_RE.finditer(text):
            year = int(m.group(1))
            before = text[start : m.start()]
            words = before.split()
            hit = self._with_year(words, year)
            if hit:
                n, item = hit
                title_text = " ".join(words[-n:]).strip(" ,\"'“”(")
                mentions.append(TitleMention(f"{title_text} ({year})", "found", item))
            else:
                n = _capitalised_run(words)
                if n:
                    name = " ".join(words[-n:]).strip(" ,\"'“”(")
                    res = self.lookup.lookup(name)  # a film of that name from another year is offered, not taken
                    mentions.append(TitleMention(f"{name} ({year})", "not_found", None, (res.matches or res.suggestions)[:3]))
            if hit or n:
                kept = before.rstrip()
                kept = kept[: len(kept) - len(" ".join(words[-n:]))] if n else kept
                out.append(kept + _CUT)
            else:
                out.append(text[start : m.end()])
            start = m.end()
        out.append(text[start:])
        return mentions, "".join(out)

    def find(self, text: str) -> tuple[list[TitleMention], str]:
        """All title mentions, and the text with their spans removed (for the wish)."""
        original = text
        mentions, text = self._year_anchored(text)
        # the other passes must not read across a cut title ("I watched <title> at home": "at home" is no title), but
        # genres and the wish read the message with a plain comma there (a negation still reaches past it)
        clean_text = text.replace(_CUT, " , ")
        text = text.replace(_CUT, " ; ")
        removed: list[str] = []
        for q in re.findall(r"[\"“”]([^\"“”]{2,80})[\"“”]", text):
            res = self.lookup.lookup(q)
            if res.found:
                mentions.append(TitleMention(q, "found", res.best.item_id))
            else:
                mentions.append(TitleMention(q, res.status, None, res.matches or res.suggestions))
            removed.append(q)
        for m in _CUE_RE.finditer(text):
            cue = m.group(1).lower()
            seg = text[m.end() :]
            seg = re.split(r"[.?!;]\s|[.?!;]$|\.{2,}|\bbut\b", seg, maxsplit=1)[0]
            toks = tokens(seg)
            if QUANTITY_RE.match(seg.lstrip()):
                continue  # "like 4 times", "about 2 hours": the word is "roughly" here, no cue for a title
            strong = cue in _STRONG_CUES or cue.startswith("favo")
            if cue == "about":
                # "tell me about X" / "what about X" / "about Some Capitalised Name" ask for a film; "a western about
                # revenge" names a topic, which stays in the wish
                strong = bool(_ABOUT_ASKS_RE.search(text[: m.start()])) or bool(toks and toks[0][:1].isupper())
                if not strong:
                    continue  # a topic, even when a title shares its word ("something about pirates")
            found, spans = self._segment_titles(toks, strong=strong)
            for tm, (a, b) in zip(found, spans, strict=True):
                if not any(x.text.lower() == tm.text.lower() for x in mentions):
                    mentions.append(tm)
                    removed.append(" ".join(toks[a:b]))
        # Capitalised titles without a cue ("Heat and Alien are my favourites").
        toks = tokens(text)
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok[:1].isupper() or tok[:1].isdigit():
                hit = self._longest_exact(toks, i, max_len=8, caps=True)
                if hit:
                    j, ids = hit
                    span = " ".join(toks[i:j]).strip(" ,.!?")
                    # a lone number in a sentence is a count, an age or a time ("the kids are 8 and 10", "gave it 10");
                    # a film named by a number is found after a cue ("loved 300"), in quotes or typed on its own
                    single_common = j - i == 1 and (clean(tok) in _COMMON_SINGLE or clean(tok) in GENRE_WORDS or clean(tok).isdigit())
                    single_common = single_common or (j - i == 1 and _second_of_a_name(toks, i))
                    if not single_common and len(ids) == 1 and not any(x.text.lower() == span.lower() or x.item_id == ids[0] for x in mentions):
                        mentions.append(TitleMention(span, "found", ids[0]))
                        removed.append(span)
                    i = j
                    continue
            i += 1
        if not mentions and len(toks) <= 6:
            # a bare title typed on its own ("star wars", "godfathr")
            res = self.lookup.lookup(text.strip(" ?!."))
            if res.found and not any(clean(t) in GENRE_WORDS for t in toks):
                mentions.append(TitleMention(text.strip(" ?!."), "found", res.best.item_id))
                removed.append(text.strip(" ?!."))
        mentions = _drop_parts_of_longer(mentions, original)
        rest = clean_text
        for r in sorted(removed, key=len, reverse=True):
            # whole words only: removing the title "It" must not cut "favorite" into "favor e"
            rest = _whole(r).sub(" ", rest)
        return mentions, rest
