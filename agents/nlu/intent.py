"""The intent of a message, from its wording and the slots already found."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents.nlu.feedback import find_feedback, says_not_seen
from agents.state import Session

if TYPE_CHECKING:
    from agents.nlu.parsed import Parsed

_INFO_RE = re.compile(
    r"\b(what year|which year|when was|when did|what genres?|which genres?|what kind of (?:movie|film) is|tell me about|"
    r"what is|what's|info (?:on|about)|details (?:on|about|for)|how old is|who|tell me more|more (?:info|details)|"
    r"how good|worth (?:seeing|a watch|a look))\b",
    re.I,
)
_EXPLAIN_RE = re.compile(r"\b(why|explain|how come|reason)\b", re.I)
MORE_LIKE_RE = re.compile(
    r"\b(more like|similar to|something like|anything like|movies like|films like|in the vein of|same vibe as|like the)\b", re.I
)
_MORE_RE = re.compile(r"\b(more|another|others?|else|instead|different|again|next)\b", re.I)
# A request for films in any of its forms: "got any suggestions", "recs?", "ideas?", "help me find one".
_RECOMMEND_RE = re.compile(
    r"\b(rec+om+end\w*|sug+est\w*|ideas?|watch|movie|movies|film|films|something|anything|"
    r"recs?|looking for|in the mood|what should|picks?|show me|top|best|help me (?:find|pick|choose)|"
    r"what (?:else )?(?:do|would|can) you (?:have|got|suggest|recommend))\b",
    re.I,
)
# A request in so many words, which a greeting before it does not turn into small talk
_ASKS_OUTRIGHT_RE = re.compile(
    r"\b(rec+om+end\w*|sug+est\w*|looking for|in the mood for|what (?:should|could|can) (?:i|we) (?:watch|see)|show me|"
    r"help me (?:find|pick|choose)|what (?:else )?(?:do|would|can) you (?:have|got|suggest|recommend))\b",
    re.I,
)
_GREETING_RE = re.compile(r"^\s*(hi|hello|hey|yo|good (?:morning|evening|afternoon)|thanks?|thank you|cheers|bye|goodbye)\b", re.I)
_OUT_OF_SCOPE_RE = re.compile(
    r"\b(ignore (?:all |any |your |the |previous |prior )*(?:instructions|rules)|system prompt|pretend|jailbreak|"
    r"developer mode|weather|poem|joke|write (?:me )?(?:a|some) code|python|capital of|president|stock|recipe|"
    r"translate|password|api key)\b",
    re.I,
)
_REFINE_START_RE = re.compile(r"^\s*(only|just|but|make it|make them|more|less|now|same but|and|also|without|no)\b", re.I)


# Asking for films, narrower than _RECOMMEND_RE ("movie", "watch" also occur in a story about one already seen).
_ASKS_RE = re.compile(
    r"\b(rec+om+end\w*|sug+est\w*|ideas?|something|anything|recs?|looking for|in the mood|what about|how about|"
    r"show me|got any|any (?:good )?(?:ones?|films?|movies?)|want|wanna|need|prefer|would like|'d like|hoping|searching|"
    r"craving|fancy|(?:i|we) (?:really |also |just )?(?:like|love|enjoy|adore)s?|fan of|(?:i'?m|i am|we'?re) (?:really |so |very )?into)\b",
    re.I,
)
# A question about the film on the table ("is it a series?", "what's that one about?", "was it scary?") asks about
# that film, not for others.
_ABOUT_SHOWN_RE = re.compile(
    r"(?:^|[,.;!?]\s*|\b(?:and|but|so|or)\s+)(?:is|was|does|did|has|are|were|what'?s|what is|what was|how'?s|how is|how was|who'?s|"
    r"who is|who was|when was)\s+(?:it|that|this|they|those|these|the (?:movie|film|one))\b|"
    r"\bwhat(?:'?s| is| was) (?:it|that|this)(?: one)? about\b",
    re.I,
)


def asks_info(text: str) -> bool:
    """Whether a sentence asks for facts about a film ("what year is ...", "tell me more") or why it was picked."""
    return bool(_INFO_RE.search(text) or _EXPLAIN_RE.search(text))


def asks_about_shown(text: str) -> bool:
    """Whether a sentence is a question about the film on the table ("is it a series?")."""
    return bool(_ABOUT_SHOWN_RE.search(text.replace("’", "'")))


def asks_for_films(text: str) -> bool:
    """Whether a message asks for films ("seen it. anything about pirates?"), not only reacts to one; a question counts,
    unless it is about the film on the table."""
    text = text.replace("’", "'")
    if wants_more(text) or _ASKS_RE.search(text):
        return True
    return text.rstrip().endswith("?") and not asks_about_shown(text)


# Social talk: thanks, apologies, "how are you", "doing well". Such a sentence describes no film.
_PLEASANTRY_RE = re.compile(
    r"\b(thanks?|thank you|thx|sorry|apologies|oops|my bad|you'?re welcome|no problem|how are you|how about you|"
    r"(?:doing|going|been) (?:well|good|great|fine|ok(?:ay)?)|(?:i'?m|i am) (?:good|fine|well|great|ok(?:ay)?))\b",
    re.I,
)


def is_pleasantry(text: str) -> bool:
    """Whether a sentence is social talk ("Fine, thanks for asking!")."""
    return bool(_PLEASANTRY_RE.search(text.replace("’", "'")))


_SELF_RE = re.compile(r"\b(?:i|i'm|im|i've|ive|i'd|id|me|my|we|we've|our)\b", re.I)


def speaks_of_self(text: str) -> bool:
    """Whether the message talks about the speaker ("I tried", "my kids", "we saw"): a description of films
    ("a slow sci-fi", "films about pirates") rarely does."""
    return bool(_SELF_RE.search(text.replace("’", "'")))


def wants_more(rest: str) -> bool:
    """Whether the user asks for further items ("more", "another", "others")."""
    return bool(_MORE_RE.search(rest))


def find_intent(text: str, p: Parsed, session: Session) -> str:
    """One of recommend | refine | more_like | explain | feedback | item_info | chitchat; sets
    p.feedback when the message judges shown items."""
    has_targets = bool(p.targets) or any(m.status != "found" for m in p.mentions)
    if _EXPLAIN_RE.search(text) and (has_targets or session.shown):
        return "explain"
    if _INFO_RE.search(text) and has_targets and not _RECOMMEND_RE.search(text.replace("movie is", "")):
        return "item_info"
    p.feedback = find_feedback(text, p, session)
    weighing = bool(p.targets) or (bool(session.shown) and not asks_for_films(text))
    if not p.feedback and says_not_seen(text) and weighing and not p.wants_more and not p.has_constraints:
        # "never watched the second one, any good?": the film is new to them, and they are weighing it (which, if unclear);
        # "haven't seen it, anything else?" asks for other films
        return "item_info"
    if p.feedback:
        # "None of these. Something like Heat": reject the list, then do what was asked
        if MORE_LIKE_RE.search(text) and p.titles:
            return "more_like"
        return "feedback"
    if MORE_LIKE_RE.search(text) and has_targets:
        return "more_like"
    if session.shown and not has_targets and not p.has_constraints and asks_about_shown(text) and not asks_for_films(text):
        return "item_info"  # "what's it about?" with a list on the table: a question about one of them (which?)
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
    if _RECOMMEND_RE.search(text) and (not _GREETING_RE.search(text) or _ASKS_OUTRIGHT_RE.search(text)):
        return "recommend"  # "thanks, I'll watch it" is no request; "hey, what should I watch?" is
    if session.shown and asks_about_shown(text):
        return "item_info"  # a question about the film on the table is never out of scope, whatever else was said
    return "chitchat"
