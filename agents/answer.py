"""Write replies from evidence with templates: varied, natural, and only ever stating given facts.

Variation is deterministic (a hash of session, turn and item picks the phrasing), so evaluations are
reproducible while a person does not read the same sentence five times.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from tools.explainer import Evidence

# An embedding similarity at or above this is worth naming as "close to X".
CLOSE_ENOUGH = 0.35


def _pick(options: Sequence[str], *key: object) -> str:
    h = int(hashlib.sha1("|".join(map(str, key)).encode()).hexdigest()[:8], 16)
    return options[h % len(options)]


def join_names(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def label(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


SOURCE_PHRASES = {
    "sasrec": ("#{rank} in what viewers with your history watched next", "a top-{rank} pick of the sequence model for your history"),
    "gru4rec": ("#{rank} in what viewers with your history watched next", "a top-{rank} pick of the sequence model for your history"),
    "retriever": ("#{rank} match for your description", "ranked #{rank} against what you described"),
    "fusion": ("high on both your history and your description (#{rank} combined)", "#{rank} when your taste and your wish are combined"),
    # more_like fuses text neighbours with the seeds' audience: the rank is the fused one, so the phrase names both
    "similar": ("#{rank} by description and by who else watched it", "#{rank} for its description and its audience"),
    "popularity": ("one of the most popular films here", "a crowd favourite in this catalog"),
}


def reason(ev: Evidence, key: object = "") -> str:
    """One line, built only from the evidence: closest user item, shared genres, request match, tool."""
    parts: list[str] = []
    if ev.closest_title and ev.closest_score >= CLOSE_ENOUGH:
        parts.append(
            _pick(
                (
                    "close in spirit to {c}",
                    "if {c} worked for you, this is a near neighbour",
                    "shares a lot with {c}",
                    "in the same vein as {c}",
                ),
                key,
                ev.item_id,
                "c",
            ).format(c=ev.closest_title)
        )
    if ev.wanted_genres:
        parts.append(
            _pick(("the {g} you asked for", "it's {g}, as requested", "{g}, matching your request"), key, ev.item_id, "w").format(
                g=join_names(ev.wanted_genres)
            )
        )
    elif ev.shared_genres:
        top = ev.shared_genres[:2]
        n = ev.genre_support.get(top[0], 0)
        parts.append(
            _pick(
                (
                    "{g}, like {n} of your films",
                    "more of the {g} you keep coming back to",
                    "{g}, a thread running through your favourites",
                ),
                key,
                ev.item_id,
                "g",
            ).format(g=join_names(top), n=n)
        )
    if ev.year_range and ev.year is not None:
        parts.append(f"from {ev.year}, inside the years you asked for")
    if ev.source in SOURCE_PHRASES and (len(parts) < 2 or ev.source == "popularity"):
        parts.append(_pick(SOURCE_PHRASES[ev.source], key, ev.item_id, "s").format(rank=ev.rank))
    if not parts:
        # no "(year)" here: "Comedy from the catalog (1986)" reads as a title to the grounding pass
        parts.append(f"{join_names(ev.genres[:2]) or 'a film'} from the catalog" + (f", released in {ev.year}" if ev.year else ""))
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def intro(n: int, basis: str, key: object) -> str:
    return _pick(
        (
            "Here are {n} picks {b}:",
            "{n} films you might like, {b}:",
            "Try these {n}, {b}:",
            "Some ideas {b}:",
        ),
        key,
        "intro",
    ).format(n=n, b=basis)


def outro(key: object) -> str:
    return _pick(
        (
            "Want something older, lighter, or more like one of these?",
            "Tell me if you've seen any, or ask why I picked one.",
            "Say 'more like the second one' or 'why the first?' to dig in.",
            "Not quite right? Tell me what to change: a decade, a genre, a mood.",
        ),
        key,
        "outro",
    )


def explanation(ev: Evidence, key: object) -> str:
    """The answer to "why X?": every fact the evidence holds, in two or three sentences."""
    lines = [f"Why {label(ev.title, ev.year)}? It is {join_names(ev.genres) or 'uncategorised'}."]
    if ev.closest_title and ev.closest_score >= CLOSE_ENOUGH:
        if ev.closest_basis == "genres":  # no embeddings to hand: say what the match really is
            lines.append(f"Of the films you like, {ev.closest_title} shares the most of its genres.")
        else:
            lines.append(f"Of the films you like, it is closest to {ev.closest_title} (similarity {ev.closest_score:.2f}).")
    if ev.shared_genres:
        counts = ", ".join(f"{g} ({ev.genre_support[g]} of your films)" for g in ev.shared_genres[:3])
        lines.append(f"It shares genres with your favourites: {counts}.")
    if ev.wanted_genres:
        lines.append(f"It matches the {join_names(ev.wanted_genres)} you asked for.")
    if ev.source in SOURCE_PHRASES:
        lines.append("I picked it as " + SOURCE_PHRASES[ev.source][0].format(rank=ev.rank) + ".")
    if len(lines) == 1:
        lines.append("I don't know enough about your taste yet to relate it to films you like.")
    return " ".join(lines)
