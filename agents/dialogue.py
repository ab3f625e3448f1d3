"""How a parsed message changes the dialogue state: titles into the profile (or the dislikes), a fresh or
refined set of constraints, the wish. Both policies call `update_state`, so the state moves the same way
whichever decides the tools."""

from __future__ import annotations

import re
from statistics import median

from agents.nlu import Parsed
from agents.state import Constraints, Session
from data.catalog import Catalog

_ALSO_RE = re.compile(r"\b(also|as well|too|plus)\b", re.I)


def update_state(catalog: Catalog, session: Session, p: Parsed) -> None:
    """Apply the message: a "recommend" starts fresh constraints and wish, anything else refines them."""
    # each named film by its own clause: "I adored Babe but hated Twister" likes one and rejects the other
    for t in p.titles:
        if p.feedback is None and t in p.against:
            session.mark(t, "disliked")
        else:
            session.add_history(t)
    c = session.constraints
    # "anything else?", or a message naming two favourites: a request that sets no genre or year and describes nothing new (or
    # only names favourites) goes on with the constraints already set: in real chat the genre asked for at the start
    # holds for the conversation. A request that says what it wants starts afresh.
    says_what = bool(p.genres_any or p.genres_all or p.genres_none or p.year_range or p.tags_none or (p.wish and not p.titles))
    # "maybe something with ghosts" after a horror list: a new topic alone keeps the genre and years the talk set
    topic_only = says_what and not (p.genres_any or p.genres_all or p.genres_none or p.year_range or p.tags_none) and bool(session.shown)
    if p.intent == "recommend" and (not says_what or topic_only):
        session.wish = p.wish or session.wish
    elif p.intent == "recommend":
        # a fresh request starts fresh constraints; refinements ("no horror", "older") merge below
        session.constraints = Constraints(
            genres_any=list(p.genres_any),
            genres_all=list(p.genres_all),
            genres_none=list(p.genres_none),
            year_min=p.year_range[0] if p.year_range else None,
            year_max=p.year_range[1] if p.year_range else None,
            tags_none=list(p.tags_none),
        )
        session.wish = p.wish
        for g in session.constraints.genres_any + session.constraints.genres_all:
            if g in session.constraints.genres_none:
                session.constraints.genres_none.remove(g)
    else:  # refine: merge into what is there
        if p.genres_any and _ALSO_RE.search(p.text):
            # "also a comedy": the new genre is required on top of what was asked
            c.genres_all = list(dict.fromkeys(c.genres_all + p.genres_any))
        elif p.genres_any:
            c.genres_any = list(p.genres_any)
        if p.genres_all:
            c.genres_all = list(p.genres_all)
        c.genres_none = list(dict.fromkeys(c.genres_none + p.genres_none))
        c.tags_none = list(dict.fromkeys(c.tags_none + p.tags_none))
        c.genres_any = [g for g in c.genres_any if g not in c.genres_none]
        if p.year_range:
            c.year_min, c.year_max = p.year_range
        years = [catalog.get(s.item_id).year for s in session.last_shown()]
        years = [y for y in years if y is not None]
        if p.relative_year == "older" and (years or c.year_min):
            # older than the decade asked for, else older than what was shown
            edge = c.year_min if c.year_min else min(years)
            c.year_min, c.year_max = None, max(edge - 1, catalog.year_range[0] + 5)
        elif p.relative_year == "newer" and years:
            c.year_min, c.year_max = min(int(median(years)) + 1, catalog.year_range[1]), None
        if p.wish and p.wish not in session.wish:
            session.wish = (session.wish + " " + p.wish).strip()
