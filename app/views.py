"""Plain functions that turn a Session and a Reply into what the page shows: no Gradio layout here.

Kept apart from the event wiring so the wording and the card content are testable without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from agents.state import Session, TraceStep
from data.catalog import Catalog
from data.lookup import TitleLookup, normalize

# How the source tool of a card is named for a person.
SOURCE_NAMES = {
    "sasrec": "SASRec (your history)",
    "gru4rec": "GRU4Rec (your history)",
    "retriever": "semantic search",
    "fusion": "history + search",
    "similar": "similar items",
    "popularity": "popular picks",
}

FEEDBACK_LABELS = {"liked": "👍 liked", "disliked": "👎 not for me", "seen": "👁 seen it"}

PROFILE_SHOWN = 10  # the profile panel shows the last ten items of a history


@dataclass(frozen=True)
class Card:
    """One recommendation card: the item, why, which tool, and the user's feedback on it (if any)."""

    item_id: int
    label: str
    genres: tuple[str, ...]
    reason: str
    source: str
    feedback: str | None

    def markdown(self) -> str:
        reason = self.reason[:1].upper() + self.reason[1:] if self.reason else "No reason recorded."
        parts = [
            f"### {self.label}",
            f"*{', '.join(self.genres) or 'no genre listed'}*",
            reason,
            f"<small>proposed by {source_name(self.source)}</small>",
        ]
        if self.feedback:
            parts.append(f"**You: {FEEDBACK_LABELS[self.feedback]}**")
        return "\n\n".join(parts)


def source_name(source: str) -> str:
    base, _, rest = source.partition(":")
    if base == "reranker":
        moved = re.fullmatch(r"moved from #(\d+) of (.+)", rest)
        if moved:  # agents.toolbox credits an item the reranker moved, with where its own tool had it
            return f"LLM reranker (was #{moved.group(1)} from {source_name(moved.group(2))})"
        return f"LLM reranker ({rest})" if rest else "LLM reranker"
    return SOURCE_NAMES.get(base, source)


def feedback_of(session: Session, item_id: int) -> str | None:
    for name, items in (("liked", session.liked), ("disliked", session.disliked), ("seen", session.seen)):
        if item_id in items:
            return name
    return None


def cards(session: Session, catalog: Catalog) -> list[Card]:
    """The cards of the latest list of recommendations, in the order they were shown."""
    out = []
    for shown in session.last_shown():
        it = catalog.get(shown.item_id)
        out.append(Card(it.item_id, it.label, it.genres, shown.reason, shown.source, feedback_of(session, it.item_id)))
    return out


def trace_title(step: TraceStep) -> str:
    """One line for a collapsible thought: tool, filters, time, candidates in and out."""
    args = ", ".join(f"{k}={_short(v)}" for k, v in step.args.items() if v not in (None, "", [], {}))
    title = f"🔧 {step.tool}({args})" if args else f"🔧 {step.tool}"
    title += f" · {step.duration_ms:.0f} ms · {step.n_in} → {step.n_out} candidates"
    if step.fallback:
        title += " · fallback"
    return title


def trace_body(step: TraceStep) -> str:
    return step.note or f"{step.tool} returned {step.n_out} candidate(s)."


def _short(value: object, limit: int = 60) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_text(text: str) -> str:
    """Chat text with angle brackets as entities: markup someone typed (or that a reply quotes back) is shown
    as the characters typed, never parsed as HTML. The Chatbot's sanitiser would drop a <script>; this shows it."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def chunks(text: str, words: int = 4, max_frames: int | None = None) -> Iterator[str]:
    """Growing prefixes of the text, a few words at a time, whitespace kept: what streaming shows. With
    max_frames, a long text grows in bigger steps, so it takes at most that many frames: each frame is a
    message to the browser and a wait, and under load they, not the agent, made most of a turn's time."""
    pieces = re.split(r"(\s+)", text)
    if max_frames:
        words = max(words, -(-len(pieces) // (2 * max_frames)))  # ceil: the words per frame for max_frames frames
    step = 2 * words
    for end in range(step, len(pieces) + step, step):
        yield "".join(pieces[:end])


def favourite_choices(session: Session, catalog: Catalog) -> list[tuple[str, int]]:
    """The profile items the panel shows (the last ten of a history), as (label, item id)."""
    return [(catalog.get(i).label, i) for i in session.history[-PROFILE_SHOWN:]]


def profile_markdown(session: Session, catalog: Catalog, dataset: str = "ml-100k") -> str:
    """Who the recommender thinks you are: the profile source and the feedback so far."""
    n = len(session.history)
    if session.user_id is not None:
        head = f"**{dataset.upper()} user {session.user_id}**: {n} rated film(s)"
        if n > PROFILE_SHOWN:
            head += f"; the last {PROFILE_SHOWN} are listed above"
    else:
        head = f"**New user**: {n} favourite(s)" if n else "**New user**: no favourites yet. Search the catalog above to add some."
    lines = [head]
    for name, items in (("👍 Liked", session.liked), ("👎 Not for me", session.disliked), ("👁 Seen", session.seen)):
        if items:
            lines.append(f"{name}: " + ", ".join(catalog.get(i).label for i in items))
    if session.wish or not session.constraints.is_empty():
        wish = f"“{session.wish}”" if session.wish else ""
        cons = session.constraints.describe()
        lines.append("Current request: " + "; ".join(p for p in (wish, cons) if p))
    return "\n\n".join(lines)


def suggest(lookup: TitleLookup, catalog: Catalog, text: str, limit: int = 8) -> list[tuple[str, int]]:
    """Search-box suggestions: the title lookup's matches and suggestions first, then titles containing
    the typed words (most-rated first) so a half-typed title already offers something."""
    query = text.strip()
    if len(query) < 2:
        return []
    res = lookup.lookup(query, limit=limit)
    ids = list(dict.fromkeys([m.item_id for m in res.matches] + [m.item_id for m in res.suggestions]))
    key = normalize(query)
    if key and len(ids) < limit:
        contains = [it for it in catalog if key in normalize(it.title) and it.item_id not in ids]
        contains.sort(key=lambda it: -it.n_ratings)
        ids += [it.item_id for it in contains[: limit - len(ids)]]
    return [(catalog.get(i).label, i) for i in ids[:limit]]
