"""The check run on every turn of every evaluation: nothing shown or named may be outside the catalog.

Shared by the scripted dialogues and the simulator, so "out-of-catalog titles" means the same in both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from data.catalog import Catalog
from data.lookup import TitleLookup

_YEAR_RE = re.compile(r"\(((?:18|19|20)\d{2})\)")
_STRIP = " \"“”*'`-—–,:;"
# The agent quotes the user's own words back in curly quotes ("I couldn't find “Foo (2031)”"): a quote of
# the request is not the agent naming a film, so those spans are not scanned.
_USER_QUOTE_RE = re.compile(r"“[^”\n]*”")
MAX_TITLE_WORDS = 16


def named_titles(text: str, lookup: TitleLookup) -> tuple[list[str], list[str]]:
    """Every "Title (Year)" in `text`, split into (resolved, unresolved).

    A match may have swallowed leading words ("1. Heat (1995)", "Why Alien (1979)?"), so the words before
    the year are tried as suffixes, longest first; the name counts as a catalog title when any suffix plus
    the year is exactly a catalog title (TitleLookup.exact_ids). Lenient on purpose: a false alarm on
    ordinary template prose would drown the real failures. Text in curly quotes (the user's words
    quoted back) is skipped.
    """
    resolved: list[str] = []
    unresolved: list[str] = []
    for line in _USER_QUOTE_RE.sub("“…”", text).splitlines():
        for m in _YEAR_RE.finditer(line):
            year = m.group(1)
            words = line[: m.start()].split()[-MAX_TITLE_WORDS:]
            hit = None
            for i in range(len(words)):
                name = " ".join(words[i:]).strip(_STRIP)
                if name and lookup.exact_ids(f"{name} ({year})"):
                    hit = f"{name} ({year})"
                    break
            if hit:
                resolved.append(hit)
            else:
                unresolved.append(" ".join(words[-6:]).strip(_STRIP) + f" ({year})")
    return resolved, unresolved


def out_of_catalog(item_ids: Iterable[int], text: str, catalog: Catalog, lookup: TitleLookup) -> list[str]:
    """What a reply shows or names that is not a catalog item: unknown ids and unresolvable "Title (Year)"s."""
    bad = [f"item id {i}" for i in item_ids if i not in catalog]
    bad += named_titles(text, lookup)[1]
    return bad
