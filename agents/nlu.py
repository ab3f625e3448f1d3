"""Understand one message: intent plus slots, from a lexicon and the catalog's title lookup.

Deterministic and always available; it is what the embedded default uses. Titles are grounded to
catalog ids here, so nothing downstream ever handles a free-text title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.lexicon import ALL_OF, GENRE_WORDS, MOODS, NEGATORS, VIOLENCE_WORDS, VIOLENT, find_ordinals, find_year_range
from agents.state import Session
from data.lookup import Match, TitleLookup

MAX_MESSAGE_CHARS = 2000

_TOKEN_RE = re.compile(r"[\w'’:\-.&/*!]+|,", re.U)
_SEPARATORS = {",", "and", "or", "&", "plus", "also", "both", "as", "well"}
# Words that end a title phrase after a cue ("I loved Heat *but* ...").
_SOFT_STOPS = {
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
_FILLER = {
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
_STOP = (
    _FILLER
    | _SOFT_STOPS
    | _SEPARATORS
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
    }
)
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

_INFO_RE = re.compile(
    r"\b(what year|which year|when was|when did|what genres?|which genres?|what kind of (?:movie|film) is|tell me about|"
    r"what is|what's|info (?:on|about)|details (?:on|about|for)|how old is|who)\b",
    re.I,
)
_EXPLAIN_RE = re.compile(r"\b(why|explain|how come|reason)\b", re.I)
_MORE_LIKE_RE = re.compile(
    r"\b(more like|similar to|something like|anything like|movies like|films like|in the vein of|same vibe as|like the)\b", re.I
)
_SEEN_RE = re.compile(
    r"\b(seen (?:it|that|this|them|those|the|all)|already (?:seen|watched)|watched (?:it|that|this|them)|i'?ve seen|have seen|"
    r"saw (?:it|that|this|them))\b",
    re.I,
)
_DISLIKE_RE = re.compile(
    r"\b(none of (?:these|them|those)|not these|nope|not (?:that|this) one|not for me|don'?t like|didn'?t like|hated?|dislike|"
    r"no thanks|not interested|"
    r"not (?:the|#)|not into|boring|meh|skip)\b",
    re.I,
)
_LIKE_FB_RE = re.compile(
    r"\b(loved (?:it|that|this)|love (?:it|that|this)|liked (?:it|that|this)|like (?:it|that one|this one)|(?:loved|liked) the \w+ one|"
    r"great pick|perfect|sounds good|nice one|good one)\b",
    re.I,
)
_MORE_RE = re.compile(r"\b(more|another|others?|else|instead|different|again|next)\b", re.I)
_OLDER_RE = re.compile(r"\b(older|earlier|classics?|vintage|old(?:er)? ones?)\b", re.I)
_NEWER_RE = re.compile(r"\b(newer|more recent|recent|latest|modern)\b", re.I)
_RECOMMEND_RE = re.compile(
    r"\b(recommend|suggest|suggestion|recommendation|watch|movie|movies|film|films|something|anything|"
    r"looking for|in the mood|what should|picks?|show me|top|best)\b",
    re.I,
)
_GREETING_RE = re.compile(r"^\s*(hi|hello|hey|yo|good (?:morning|evening|afternoon)|thanks?|thank you|cheers|bye|goodbye)\b", re.I)
_OUT_OF_SCOPE_RE = re.compile(
    r"\b(ignore (?:all |any |your |the |previous |prior )*(?:instructions|rules)|system prompt|pretend|jailbreak|"
    r"developer mode|weather|poem|joke|write (?:me )?(?:a|some) code|python|capital of|president|stock|recipe|"
    r"translate|password|api key)\b",
    re.I,
)
_REJECT_ALL_RE = re.compile(r"\b(none of (?:these|them|those)|not these|not any of (?:these|them)|no thanks|not for me|nope|neither)\b", re.I)
_REFINE_START_RE = re.compile(r"^\s*(only|just|but|make it|make them|more|less|now|same but|and|also|without|no)\b", re.I)
_PRONOUN_REF_RE = re.compile(r"\b(it|that|this|that one|this one)\b", re.I)
_ALL_REF_RE = re.compile(r"\b(them|all|those|these|all of them)\b", re.I)


@dataclass
class TitleMention:
    text: str
    status: str  # "found", "ambiguous", "not_found"
    item_id: int | None = None
    options: list[Match] = field(default_factory=list)


@dataclass
class Parsed:
    intent: str  # recommend | refine | more_like | explain | feedback | item_info | chitchat | empty
    text: str
    titles: list[int] = field(default_factory=list)  # grounded catalog ids, message order
    mentions: list[TitleMention] = field(default_factory=list)  # incl. not found / ambiguous
    refs: list[int] = field(default_factory=list)  # item ids resolved from "the second one", "it"
    genres_any: list[str] = field(default_factory=list)
    genres_all: list[str] = field(default_factory=list)
    genres_none: list[str] = field(default_factory=list)
    year_range: tuple[int | None, int | None] | None = None
    relative_year: str | None = None  # "older" | "newer"
    feedback: str | None = None  # liked | disliked | seen
    wants_more: bool = False
    wish: str = ""  # content words left for the retriever
    truncated: bool = False

    @property
    def targets(self) -> list[int]:
        """What the message is about: explicit titles first, then resolved references."""
        return self.titles + [r for r in self.refs if r not in self.titles]

    @property
    def has_constraints(self) -> bool:
        return bool(self.genres_any or self.genres_all or self.genres_none or self.year_range or self.relative_year)


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def _clean(tok: str) -> str:
    return tok.strip(".!?;:'\"’").lower()


class Parser:
    def __init__(self, lookup: TitleLookup, vocabulary: frozenset[str] | None = None) -> None:
        """vocabulary: known words (the embedding model's word list); a wish made only of unknown words
        ("asdkjh qwezzx") is treated as not understood instead of being sent to the retriever."""
        self.lookup = lookup
        self.vocabulary = vocabulary
        self._phrases = sorted(GENRE_WORDS, key=lambda p: -len(p.split()))

    # -- titles ---------------------------------------------------------------------------------
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
                or _clean(toks[j]) in _SEPARATORS
                or (_clean(toks[j]) in _SOFT_STOPS or _clean(toks[j]) in _FILLER or _clean(toks[j]) in GENRE_WORDS)
            )
            if caps and j < len(toks):
                # in a capitalised run the title ends where the capitals end ("L.A. Confidential vibes")
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
        while i < len(toks):
            low = _clean(toks[i])
            hit = self._longest_exact(toks, i)
            # separators are skipped, and so is a leading "the" unless it starts a title ("The Game")
            if (low in _SEPARATORS or low in {"the", ""}) and not (low == "the" and hit):
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
                continue
            if low in _SOFT_STOPS or low in _FILLER or low in GENRE_WORDS:
                break
            k = i
            while k < len(toks) and _clean(toks[k]) not in _SEPARATORS and _clean(toks[k]) not in _SOFT_STOPS and toks[k] != ",":
                if toks[k][-1:] in ".!?;":
                    k += 1
                    break
                k += 1
            piece = " ".join(toks[i:k]).strip(" ,.!?;")
            words = [_clean(t) for t in toks[i:k]]
            if piece and len(words) <= 7 and not any(w in GENRE_WORDS or w in _FILLER for w in words):
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
            if k < len(toks) and (_clean(toks[k]) in _SOFT_STOPS or toks[k - 1][-1:] in ".!?;"):
                break
            i = max(k, i + 1)
        return out, spans

    def _titles(self, text: str) -> tuple[list[TitleMention], str]:
        """All title mentions, and the text with their spans removed (for the wish)."""
        mentions: list[TitleMention] = []
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
            seg = re.split(r"[.?!;]\s|[.?!;]$|\bbut\b", seg, maxsplit=1)[0]
            toks = _tokens(seg)
            strong = cue in _STRONG_CUES or cue.startswith("favo")
            if cue == "about":
                # "tell me about X" / "what about X" / "about Some Capitalised Name" ask for a film; "a western about
                # revenge" names a topic, which stays in the wish
                strong = bool(_ABOUT_ASKS_RE.search(text[: m.start()])) or bool(toks and toks[0][:1].isupper())
            found, spans = self._segment_titles(toks, strong=strong)
            for tm, (a, b) in zip(found, spans, strict=True):
                if not any(x.text.lower() == tm.text.lower() for x in mentions):
                    mentions.append(tm)
                    removed.append(" ".join(toks[a:b]))
        # Capitalised titles without a cue ("Heat and Alien are my favourites").
        toks = _tokens(text)
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok[:1].isupper() or tok[:1].isdigit():
                hit = self._longest_exact(toks, i, max_len=8, caps=True)
                if hit:
                    j, ids = hit
                    span = " ".join(toks[i:j]).strip(" ,.!?")
                    single_common = j - i == 1 and (_clean(tok) in _COMMON_SINGLE or _clean(tok) in GENRE_WORDS)
                    if not single_common and len(ids) == 1 and not any(x.text.lower() == span.lower() or x.item_id == ids[0] for x in mentions):
                        mentions.append(TitleMention(span, "found", ids[0]))
                        removed.append(span)
                    i = j
                    continue
            i += 1
        if not mentions and len(toks) <= 6:
            # a bare title typed on its own ("star wars", "godfathr")
            res = self.lookup.lookup(text.strip(" ?!."))
            if res.found and not any(_clean(t) in GENRE_WORDS for t in toks):
                mentions.append(TitleMention(text.strip(" ?!."), "found", res.best.item_id))
                removed.append(text.strip(" ?!."))
        rest = text
        for r in sorted(removed, key=len, reverse=True):
            rest = re.sub(re.escape(r), " ", rest, flags=re.I)
        return mentions, rest

    # -- genres, moods, years -------------------------------------------------------------------
    def _genres(self, text: str, p: Parsed) -> None:
        # sentence ends become "." tokens: a negation never reaches into the next sentence
        low = " " + re.sub(r"[^\w'\-éèñóáíöü.!?;]+", " ", text.lower()) + " "
        low = re.sub(r"[.!?;]+(?=\s)", " . ", low)
        words = low.split()
        neg_positions = [i for i, w in enumerate(words) if w in NEGATORS or w.endswith("n't")]
        reset_positions = [i for i, w in enumerate(words) if w in ("but", "want", "prefer", "rather", "instead", ".")]

        def negated(pos: int) -> bool:
            before = [n for n in neg_positions if n < pos and pos - n <= 4]
            if not before:
                return False
            return not any(before[-1] < r < pos for r in reset_positions)

        used: set[int] = set()
        for phrase in self._phrases:
            plen = len(phrase.split())
            for i in range(len(words) - plen + 1):
                if any(k in used for k in range(i, i + plen)) or " ".join(words[i : i + plen]) != phrase:
                    continue
                used.update(range(i, i + plen))
                genres = GENRE_WORDS[phrase]
                if negated(i):
                    p.genres_none += [g for g in genres if g not in p.genres_none]
                elif phrase in ALL_OF:
                    p.genres_all += [g for g in genres if g not in p.genres_all]
                else:
                    p.genres_any += [g for g in genres if g not in p.genres_any]
        for i, w in enumerate(words):
            if w in VIOLENCE_WORDS:
                if negated(i):
                    p.genres_none += [g for g in VIOLENT if g not in p.genres_none]
                else:
                    p.genres_any += [g for g in VIOLENT if g not in p.genres_any]
        for mood, (want, avoid) in MOODS.items():
            if re.search(rf"\b{re.escape(mood)}\b", low):
                p.genres_any += [g for g in want if g not in p.genres_any and g not in p.genres_none]
                p.genres_none += [g for g in avoid if g not in p.genres_none]
                break
        p.genres_any = [g for g in p.genres_any if g not in p.genres_none]

    # -- the whole message ----------------------------------------------------------------------
    def parse(self, message: str, session: Session) -> Parsed:
        text = (message or "").strip()
        truncated = len(text) > MAX_MESSAGE_CHARS
        text = text[:MAX_MESSAGE_CHARS]
        p = Parsed(intent="empty", text=text, truncated=truncated)
        if not text:
            return p
        mentions, rest = self._titles(text)
        p.mentions = mentions
        p.titles = [m.item_id for m in mentions if m.status == "found" and m.item_id is not None]
        p.titles = list(dict.fromkeys(p.titles))
        self._genres(rest, p)
        p.year_range = find_year_range(rest)
        if _OLDER_RE.search(rest):
            p.relative_year = "older"
        elif _NEWER_RE.search(rest):
            p.relative_year = "newer"
        p.refs = self._refs(text, session)
        p.wants_more = bool(_MORE_RE.search(rest))
        p.wish = self._wish(rest)
        if self.vocabulary is not None and p.wish and not any(w in self.vocabulary for w in p.wish.split()):
            p.wish = ""
        p.intent = self._intent(text, p, session)
        return p

    def _refs(self, text: str, session: Session) -> list[int]:
        shown = session.last_shown()
        refs = []
        for n in find_ordinals(text):
            if shown and (1 <= n <= len(shown) or n == -1):
                refs.append(shown[n - 1].item_id if n > 0 else shown[-1].item_id)
        if not refs and shown and (_REJECT_ALL_RE.search(text) or (_ALL_REF_RE.search(text) and (_SEEN_RE.search(text) or _DISLIKE_RE.search(text)))):
            refs = [s.item_id for s in shown]
        if not refs and session.focus is not None and _PRONOUN_REF_RE.search(text):
            refs = [session.focus]
        return refs

    @staticmethod
    def _wish(rest: str) -> str:
        """Content words for the retriever. Genre, mood and negation words are left out: they travel
        as exact filters, and "no horror" embedded as text would pull horror in."""
        low = rest.lower()
        for phrase in sorted(GENRE_WORDS, key=len, reverse=True):
            low = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", " ", low)
        words = re.findall(r"[\w'\-]+", low)
        skip = _STOP | set(NEGATORS) | set(MOODS) | set(VIOLENCE_WORDS)
        content = [w for w in words if w not in skip and not re.fullmatch(r"\d+s?|'?\d0'?s", w) and len(w) > 1]
        return " ".join(content)

    @staticmethod
    def _intent(text: str, p: Parsed, session: Session) -> str:
        has_targets = bool(p.targets) or any(m.status != "found" for m in p.mentions)
        if _EXPLAIN_RE.search(text) and (has_targets or session.shown):
            return "explain"
        if _INFO_RE.search(text) and has_targets and not _RECOMMEND_RE.search(text.replace("movie is", "")):
            return "item_info"
        if _SEEN_RE.search(text):
            p.feedback = "seen"
        elif _LIKE_FB_RE.search(text) and (p.refs or session.focus is not None or session.shown) and not p.mentions:
            p.feedback = "liked"
        elif _DISLIKE_RE.search(text) and (p.refs or session.shown) and not p.genres_none:
            p.feedback = "disliked"
        if p.feedback:
            # "None of these. Something like Heat": reject the list, then do what was asked
            if _MORE_LIKE_RE.search(text) and p.titles:
                return "more_like"
            return "feedback"
        if _MORE_LIKE_RE.search(text) and has_targets:
            return "more_like"
        if _OUT_OF_SCOPE_RE.search(text) and not (p.titles or p.has_constraints):
            return "chitchat"
        has_signal = bool(p.titles or p.genres_any or p.genres_all or p.genres_none or p.year_range or p.relative_year or p.wish)
        short = len(text.split()) <= 5 or bool(_REFINE_START_RE.match(text))
        if session.shown and not p.titles and (p.relative_year or (p.has_constraints and (short or not p.wish))):
            return "refine"
        if has_signal and (p.titles or p.has_constraints or _RECOMMEND_RE.search(text) or len(p.wish.split()) >= 2):
            return "recommend"
        if p.wants_more and session.shown:
            return "refine"
        if any(m.status != "found" for m in p.mentions):
            return "recommend"
        if _RECOMMEND_RE.search(text) and not _GREETING_RE.search(text):
            return "recommend"
        return "chitchat"
