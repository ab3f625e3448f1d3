"""The expectations a scripted turn can state, each a validator (for the YAML) and a check (for the reply).

Every check sees the same TurnContext and returns a CheckResult with a short detail saying what it saw,
so a failure in the report reads without rerunning anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.reply import Reply, ReplyItem
from agents.state import Session
from data.catalog import Catalog
from data.lookup import TitleLookup
from evals.catalog_check import out_of_catalog

ITEM_REF_RE = re.compile(r"^item\s+(\d{1,2})$", re.I)


class ScriptValueError(ValueError):
    """An expectation's value has the wrong type or form (the loader adds file and line)."""


class ScriptTitleError(ValueError):
    """A title in a script that is not exactly one catalog item (the runner adds file and line)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class TurnContext:
    reply: Reply
    session: Session  # after the turn
    previous_items: list[ReplyItem]  # the last list shown before this turn (for "item N")
    catalog: Catalog
    lookup: TitleLookup
    tools: list[str] = field(default_factory=list)

    def resolve(self, title: str) -> int:
        """A script title to its one catalog id; "Title (Year)" pins a remake."""
        ids = self.lookup.exact_ids(title)
        if len(ids) != 1:
            res = self.lookup.lookup(title)
            if not res.found:
                raise ScriptTitleError(f"title {title!r} is not a catalog title; write it as the catalog does, with the year if needed")
            ids = [res.best.item_id]
        return ids[0]


# -- validators: YAML value -> normalised value, or ScriptValueError --------------------------------


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ScriptValueError("expected a non-empty string or list of non-empty strings")
    return list(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScriptValueError("expected a whole number >= 0")
    return value


def _position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScriptValueError("expected an item position >= 1")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScriptValueError("expected true or false")
    return value


def _years(value: Any) -> tuple[int | None, int | None]:
    ok = isinstance(value, list) and len(value) == 2 and all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value)
    if not ok or value == [None, None]:
        raise ScriptValueError("expected [from, to] years, either may be null (e.g. [1970, 1979] or [null, 1980])")
    return value[0], value[1]


def _mention(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScriptValueError('expected a title or "item N"')
    return value.strip()


# -- checks --------------------------------------------------------------------------------------


def _labels(items: Sequence[ReplyItem]) -> str:
    return ", ".join(f"{i.title} ({i.year})" for i in items) or "no items"


def tools_include(ctx: TurnContext, want: list[str]) -> CheckResult:
    missing = [t for t in want if t not in ctx.tools]
    return CheckResult("tools_include", not missing, f"tools used: {ctx.tools or 'none'}" + (f"; missing {missing}" if missing else ""))


def tools_exclude(ctx: TurnContext, banned: list[str]) -> CheckResult:
    used = [t for t in banned if t in ctx.tools]
    return CheckResult("tools_exclude", not used, f"tools used: {ctx.tools or 'none'}" + (f"; should not use {used}" if used else ""))


def items_min(ctx: TurnContext, n: int) -> CheckResult:
    got = len(ctx.reply.items)
    return CheckResult("items_min", got >= n, f"{got} items shown, expected at least {n}")


def items_max(ctx: TurnContext, n: int) -> CheckResult:
    got = len(ctx.reply.items)
    return CheckResult("items_max", got <= n, f"{got} items shown, expected at most {n}")


def _each_item(name: str, ctx: TurnContext, ok: Callable[[ReplyItem], bool], rule: str) -> CheckResult:
    bad = [i for i in ctx.reply.items if not ok(i)]
    if not ctx.reply.items:
        return CheckResult(name, False, f"no items shown; expected items where each {rule}")
    detail = f"each item {rule}" if not bad else "violated by " + "; ".join(f"{i.title} ({i.year}): {'|'.join(i.genres)}" for i in bad)
    return CheckResult(name, not bad, detail)


def genres_any(ctx: TurnContext, genres: list[str]) -> CheckResult:
    genres = ctx.catalog.check_genres(genres)
    return _each_item("genres_any", ctx, lambda i: bool(set(i.genres) & set(genres)), f"has one of {genres}")


def genres_all(ctx: TurnContext, genres: list[str]) -> CheckResult:
    genres = ctx.catalog.check_genres(genres)
    return _each_item("genres_all", ctx, lambda i: set(genres) <= set(i.genres), f"has all of {genres}")


def genres_none(ctx: TurnContext, genres: list[str]) -> CheckResult:
    genres = ctx.catalog.check_genres(genres)
    return _each_item("genres_none", ctx, lambda i: not set(i.genres) & set(genres), f"has none of {genres}")


def year_range(ctx: TurnContext, years: tuple[int | None, int | None]) -> CheckResult:
    lo, hi = years

    def inside(i: ReplyItem) -> bool:
        return i.year is not None and (lo is None or i.year >= lo) and (hi is None or i.year <= hi)

    return _each_item("year_range", ctx, inside, f"is from {lo or '...'}-{hi or '...'}")


def _referenced(ctx: TurnContext, ref: str) -> tuple[str, int | None]:
    """'item N' -> the N-th item of the previous list; a title -> its catalog title."""
    m = ITEM_REF_RE.match(ref)
    if m:
        n = int(m.group(1))
        if n > len(ctx.previous_items):
            return ref, None
        it = ctx.previous_items[n - 1]
        return it.title, it.item_id
    item_id = ctx.resolve(ref)
    return ctx.catalog.get(item_id).title, item_id


def excludes_titles(ctx: TurnContext, titles: list[str]) -> CheckResult:
    ids: dict[int, str] = {}
    for t in titles:
        name, item_id = _referenced(ctx, t)
        if item_id is not None:
            ids[item_id] = name
    shown = [ids[i.item_id] for i in ctx.reply.items if i.item_id in ids]
    return CheckResult("excludes_titles", not shown, f"shown: {_labels(ctx.reply.items)}" + (f"; should not show {shown}" if shown else ""))


def includes_title(ctx: TurnContext, titles: list[str]) -> CheckResult:
    shown = {i.item_id for i in ctx.reply.items}
    missing = [t for t in titles if ctx.resolve(t) not in shown]
    return CheckResult("includes_title", not missing, f"shown: {_labels(ctx.reply.items)}" + (f"; missing {missing}" if missing else ""))


def mentions(ctx: TurnContext, ref: str) -> CheckResult:
    title, item_id = _referenced(ctx, ref)
    if item_id is None:
        return CheckResult("mentions", False, f"{ref}: the previous turn showed only {len(ctx.previous_items)} items")
    ok = title.lower() in ctx.reply.text.lower()
    return CheckResult("mentions", ok, f"reply {'names' if ok else 'does not name'} {title!r}")


def explains(ctx: TurnContext, n: int) -> CheckResult:
    """The explanation of item N names one of the user's films or a genre it shares with them.

    On a turn that shows items, item N is this turn's N-th item and the explanation is its reason; on a
    turn that shows none (a "why ...?" answer) it is the previous list's N-th item and the reply text."""
    if len(ctx.reply.items) >= n:
        item, text = ctx.reply.items[n - 1], ctx.reply.items[n - 1].reason
    elif len(ctx.previous_items) >= n:
        item, text = ctx.previous_items[n - 1], ctx.reply.text
    else:
        return CheckResult("explains", False, f"no item {n} to explain")
    taste = [t for t in ctx.session.taste() if t != item.item_id]
    low = text.lower()
    named = [ctx.catalog.get(t).title for t in taste if ctx.catalog.get(t).title.lower() in low]
    user_genres = {g for t in taste for g in ctx.catalog.get(t).genres}
    shared = [g for g in item.genres if g in user_genres and re.search(rf"\b{re.escape(g.lower())}\b", low)]
    ok = bool(named or shared)
    what = f"names {named[:2]}" if named else (f"names shared genre {shared}" if shared else "names no film of the user's and no shared genre")
    return CheckResult("explains", ok, f"{item.title}: {what}; text: {text[:160]!r}")


def fallback_notice(ctx: TurnContext, want: bool) -> CheckResult:
    has = bool(ctx.reply.notices) or ctx.reply.fallback
    return CheckResult("fallback_notice", has == want, f"notices: {ctx.reply.notices or 'none'}; fallback={ctx.reply.fallback}")


def intent(ctx: TurnContext, allowed: list[str]) -> CheckResult:
    return CheckResult("intent", ctx.reply.intent in allowed, f"intent {ctx.reply.intent!r}, expected one of {allowed}")


def says_any(ctx: TurnContext, phrases: list[str]) -> CheckResult:
    low = ctx.reply.text.lower()
    hit = [p for p in phrases if p.lower() in low]
    return CheckResult("says_any", bool(hit), f"found {hit}" if hit else f"none of {phrases} in {ctx.reply.text[:160]!r}")


def says_none(ctx: TurnContext, phrases: list[str]) -> CheckResult:
    low = ctx.reply.text.lower()
    hit = [p for p in phrases if p.lower() in low]
    return CheckResult("says_none", not hit, f"reply says {hit}" if hit else "none of the phrases")


def new_items(ctx: TurnContext, want: bool) -> CheckResult:
    """No item of this turn was shown on an earlier turn (or is one of the user's own films)."""
    turn = ctx.session.turns[-1].turn if ctx.session.turns else 0
    earlier = {s.item_id for s in ctx.session.shown if s.turn < turn} | set(ctx.session.history)
    repeats = [i.title for i in ctx.reply.items if i.item_id in earlier]
    return CheckResult("new_items", (not repeats) == want, f"repeated: {repeats}" if repeats else "all items new")


def in_catalog(ctx: TurnContext) -> CheckResult:
    """Always run: every shown id is a catalog item and every "Title (Year)" in the text resolves."""
    bad = out_of_catalog([i.item_id for i in ctx.reply.items], ctx.reply.text, ctx.catalog, ctx.lookup)
    return CheckResult("in_catalog", not bad, f"not in the catalog: {bad}" if bad else "every title is a catalog item")


def items_named(ctx: TurnContext) -> CheckResult:
    """Always run: every shown item is named in the reply text (the list a person reads matches the cards)."""
    low = ctx.reply.text.lower()
    missing = [i.title for i in ctx.reply.items if i.title.lower() not in low]
    return CheckResult("items_named", not missing, f"shown but not named in the text: {missing}" if missing else "every shown item is named")


ALWAYS = (in_catalog, items_named)  # run on every turn of every dialogue, counted apart from the scripted expectations


@dataclass(frozen=True)
class Check:
    validate: Callable[[Any], Any]
    run: Callable[[TurnContext, Any], CheckResult]
    doc: str


CHECKS: dict[str, Check] = {
    "tools_include": Check(_str_list, tools_include, "these tools appear in the turn's trace"),
    "tools_exclude": Check(_str_list, tools_exclude, "none of these tools appears in the trace"),
    "items_min": Check(_count, items_min, "at least N items shown"),
    "items_max": Check(_count, items_max, "at most N items shown"),
    "genres_any": Check(_str_list, genres_any, "each shown item has at least one of these genres"),
    "genres_all": Check(_str_list, genres_all, "each shown item has all of these genres"),
    "genres_none": Check(_str_list, genres_none, "no shown item has any of these genres"),
    "year_range": Check(_years, year_range, "each shown item's year is inside [from, to]"),
    "excludes_titles": Check(_str_list, excludes_titles, 'none of these titles (or "item N" of the previous list) is shown'),
    "includes_title": Check(_str_list, includes_title, "every one of these titles is shown"),
    "mentions": Check(_mention, mentions, 'the reply text names this title, or "item N" of the previous list'),
    "explains": Check(_position, explains, "the reason for item N names one of the user's films or a genre shared with them"),
    "fallback_notice": Check(_flag, fallback_notice, "true: the reply carries a notice (fix, fallback, not-found title); false: none"),
    "intent": Check(_str_list, intent, "the agent's intent is one of these"),
    "says_any": Check(_str_list, says_any, "the reply text contains at least one of these phrases (case-insensitive)"),
    "says_none": Check(_str_list, says_none, "the reply text contains none of these phrases"),
    "new_items": Check(_flag, new_items, "true: no shown item was shown before or is in the user's history"),
}
