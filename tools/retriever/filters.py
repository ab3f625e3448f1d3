"""Query checks and metadata filters: user input in, an exact Chroma `where` clause and notes for the user out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from data.catalog import Catalog, Item
from data.errors import InvalidInput

# all-MiniLM-L6-v2 reads at most 256 word pieces (about 1,000 characters of English); the rest would be cut silently.
MAX_QUERY_CHARS = 1000


def genre_key(genre: str) -> str:
    """Metadata field of one genre. One boolean per genre (True/False on every item) rather than a list
    field: list metadata and `$contains` only exist in Chroma >= 1.x, while booleans filter exactly on any
    Chroma server, and an explicit False makes "none of these genres" an exact `$eq` instead of a `$ne`
    whose treatment of missing keys differs between versions."""
    return f"g_{genre}"


def clean_query(text: object) -> tuple[str, list[str]]:
    """Whitespace-normalised query text (possibly empty) and notes about changes made to it."""
    if not isinstance(text, str):
        raise InvalidInput(f"the query must be text, got {type(text).__name__}; pass what the user asked for as a string")
    cleaned = " ".join(text.split())
    notes = []
    if len(cleaned) > MAX_QUERY_CHARS:
        cut = cleaned[:MAX_QUERY_CHARS]
        # Cut at a word boundary so the last word is not a fragment.
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
        notes.append(f"the request was {len(cleaned):,} characters long; only the first {len(cut):,} were used")
        cleaned = cut
    return cleaned, notes


@dataclass(frozen=True)
class Filters:
    """Validated filters. `impossible` says why no item can match (the result is then empty)."""

    genres_any: tuple[str, ...] = ()
    genres_none: tuple[str, ...] = ()
    year_lo: int | None = None
    year_hi: int | None = None
    exclude: frozenset[int] = frozenset()
    allowed: frozenset[int] | None = None
    impossible: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def restricts(self) -> bool:
        """True when anything narrows the catalog beyond excluding items."""
        return bool(self.genres_any or self.genres_none or self.year_lo is not None or self.year_hi is not None or self.allowed is not None)

    def where(self) -> dict[str, Any] | None:
        """The same filters as a Chroma `where` over the stored metadata, for querying the collection
        directly (another service, a notebook). The Retriever itself filters with CatalogArrays instead:
        Chroma evaluates `where` clauses slowly (0.1-0.5 s per query at 20k items, measured)."""
        clauses: list[dict[str, Any]] = []
        if self.genres_any:
            anyof = [{genre_key(g): {"$eq": True}} for g in self.genres_any]
            clauses.append(anyof[0] if len(anyof) == 1 else {"$or": anyof})
        clauses += [{genre_key(g): {"$eq": False}} for g in self.genres_none]
        if self.year_lo is not None:
            clauses.append({"year": {"$gte": self.year_lo}})
        if self.year_hi is not None:
            clauses.append({"year": {"$lte": self.year_hi}})
        if self.exclude:
            clauses.append({"item_id": {"$nin": sorted(self.exclude)}})
        if self.allowed is not None:
            clauses.append({"item_id": {"$in": sorted(self.allowed)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, item: Item) -> bool:
        """The same filters evaluated in Python: the reference the index's answers are checked against."""
        if self.genres_any and not set(self.genres_any) & set(item.genres):
            return False
        if set(self.genres_none) & set(item.genres):
            return False
        if (self.year_lo is not None or self.year_hi is not None) and item.year is None:
            return False
        if self.year_lo is not None and item.year < self.year_lo:
            return False
        if self.year_hi is not None and item.year > self.year_hi:
            return False
        if item.item_id in self.exclude:
            return False
        return self.allowed is None or item.item_id in self.allowed


def _genres(catalog: Catalog, genres: Iterable[str] | str | None) -> tuple[str, ...]:
    if genres is None:
        return ()
    if isinstance(genres, str):  # one genre passed bare: do not iterate its characters
        genres = [genres]
    return tuple(dict.fromkeys(catalog.check_genres(genres)))


def _year(value: object, which: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise InvalidInput(f"the {which} year must be a whole number like 1995, got {value!r}")
    return int(value)


def _ids(values: Iterable[int], what: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} must be a list of catalog item ids (integers): {exc}") from exc


def resolve_filters(
    catalog: Catalog,
    genres_any: Iterable[str] | str | None = None,
    genres_none: Iterable[str] | str | None = None,
    year_range: tuple[int | None, int | None] | None = None,
    exclude: Iterable[int] = (),
    allowed: Iterable[int] | None = None,
) -> Filters:
    """Check filters against the catalog: unknown genres raise (listing the real ones); a reversed year
    range is swapped, a range reaching past the catalog's years is clamped, and one with no overlap makes
    the result empty; each fix is stated in `notes`."""
    notes: list[str] = []
    impossible = None
    want, avoid = _genres(catalog, genres_any), _genres(catalog, genres_none)
    both = [g for g in want if g in avoid]
    if both:
        want = tuple(g for g in want if g not in avoid)
        if not want:
            impossible = f"every wanted genre is also excluded ({', '.join(both)}); nothing can match"
        else:
            notes.append(f"{', '.join(both)} was both wanted and excluded; kept it excluded")

    lo = hi = None
    if year_range is not None:
        if isinstance(year_range, str | bytes) or len(year_range) != 2:
            raise InvalidInput(f"year_range must be a pair (from, to), either end may be None; got {year_range!r}")
        lo, hi = _year(year_range[0], "first"), _year(year_range[1], "last")
        if lo is not None and hi is not None and lo > hi:
            notes.append(f"year range {lo}-{hi} was reversed; used {hi}-{lo}")
            lo, hi = hi, lo
        cmin, cmax = catalog.year_range
        asked = f"{lo if lo is not None else '…'}-{hi if hi is not None else '…'}"
        if (hi is not None and hi < cmin) or (lo is not None and lo > cmax):
            impossible = f"no items from {asked}: this catalog covers {cmin}-{cmax}"
        else:
            new_lo = None if lo is None else max(lo, cmin)
            new_hi = None if hi is None else min(hi, cmax)
            if (new_lo, new_hi) != (lo, hi):
                used = f"{new_lo if new_lo is not None else '…'}-{new_hi if new_hi is not None else '…'}"
                notes.append(f"year range {asked} reaches outside the catalog ({cmin}-{cmax}); used {used}")
            lo, hi = new_lo, new_hi

    excluded = _ids(exclude, "exclude")
    allowed_ids = None if allowed is None else _ids(allowed, "allowed")
    if allowed_ids is not None and impossible is None and not allowed_ids - excluded:
        impossible = "the list of allowed items is empty (after exclusions); nothing can match"
    return Filters(want, avoid, lo, hi, excluded, allowed_ids, impossible, tuple(notes))


class CatalogArrays:
    """The catalog's filterable fields as numpy arrays, so a filter becomes an exact boolean mask over all
    items in about a millisecond even at 100k items."""

    def __init__(self, catalog: Catalog) -> None:
        items = list(catalog)
        self.ids = np.array([it.item_id for it in items], dtype=np.int64)
        self.years = np.array([-1 if it.year is None else it.year for it in items], dtype=np.int64)
        self.n_ratings = np.array([it.n_ratings for it in items], dtype=np.int64)
        self.row = {int(i): r for r, i in enumerate(self.ids)}
        self.genre_col = {g: j for j, g in enumerate(catalog.genres)}
        self.genres = np.zeros((len(items), len(self.genre_col)), dtype=bool)
        for r, it in enumerate(items):
            self.genres[r, [self.genre_col[g] for g in it.genres]] = True

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, filters: Filters) -> np.ndarray:
        """Rows satisfying `filters`; the same semantics as Filters.matches."""
        keep = np.ones(len(self.ids), dtype=bool)
        if filters.genres_any:
            keep &= self.genres[:, [self.genre_col[g] for g in filters.genres_any]].any(axis=1)
        if filters.genres_none:
            keep &= ~self.genres[:, [self.genre_col[g] for g in filters.genres_none]].any(axis=1)
        if filters.year_lo is not None or filters.year_hi is not None:
            keep &= self.years >= 0  # undated items never satisfy a year filter
        if filters.year_lo is not None:
            keep &= self.years >= filters.year_lo
        if filters.year_hi is not None:
            keep &= self.years <= filters.year_hi
        if filters.exclude:
            keep[[self.row[i] for i in filters.exclude if i in self.row]] = False
        if filters.allowed is not None:
            allowed = np.zeros(len(self.ids), dtype=bool)
            allowed[[self.row[i] for i in filters.allowed if i in self.row]] = True
            keep &= allowed
        return keep
