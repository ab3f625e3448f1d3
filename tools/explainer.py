"""Evidence for "why this item": facts only, taken from the user's items and the item's own metadata.

Answers are written from this evidence (templates or an LLM whose reasons are checked against it), so
a reason can only name history items and genres that are really there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from data.catalog import Catalog

# (item_id, other_ids) -> {other_id: cosine similarity}; the retriever's stored vectors provide it.
SimilarityFn = Callable[[int, Sequence[int]], dict[int, float]]


@dataclass(frozen=True)
class Evidence:
    item_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    closest_id: int | None = None  # the user's item most similar to this one
    closest_title: str | None = None
    closest_score: float = 0.0
    # "embedding": closest_score is a cosine similarity; "genres": no vectors were available and the score is
    # the share of this item's genres that the closest favourite has (said differently in replies)
    closest_basis: str = "embedding"
    shared_genres: tuple[str, ...] = ()  # this item's genres that the user's items also have, most common first
    genre_support: dict[str, int] = field(default_factory=dict)  # genre -> how many of the user's items have it
    wanted_genres: tuple[str, ...] = ()  # this item's genres that the request asked for
    year_range: tuple[int | None, int | None] | None = None  # the requested range, which the item satisfies
    source: str = ""
    rank: int = 0
    wish: str = ""

    def facts(self) -> dict[str, object]:
        """A compact dict for an LLM prompt: the only facts it may use."""
        return {
            "item": f"{self.title} ({self.year})" if self.year else self.title,
            "genres": list(self.genres),
            "closest_user_item": self.closest_title,
            "shared_genres": list(self.shared_genres),
            "matches_requested_genres": list(self.wanted_genres),
            "proposed_by": f"{self.source} #{self.rank}" if self.source else "",
        }


def explain(
    item_id: int,
    catalog: Catalog,
    taste: Sequence[int],
    similarity: SimilarityFn | None = None,
    *,
    source: str = "",
    rank: int = 0,
    wanted: Sequence[str] = (),
    year_range: tuple[int | None, int | None] | None = None,
    wish: str = "",
) -> Evidence:
    item = catalog.get(item_id)
    taste = [t for t in taste if t != item_id and t in catalog]
    support = Counter(g for t in taste for g in catalog.get(t).genres)
    shared = tuple(sorted((g for g in item.genres if support[g] > 0), key=lambda g: -support[g]))
    closest_id, closest_score, basis = None, 0.0, "embedding"
    if taste and similarity is not None:
        sims = similarity(item_id, taste[-50:])  # recent favourites speak loudest
        if sims:
            closest_id, closest_score = max(sims.items(), key=lambda kv: kv[1])
    elif taste:
        # no vectors: the user's item sharing the most genres stands in for "closest"
        closest_id = max(reversed(taste), key=lambda t: len(set(catalog.get(t).genres) & set(item.genres)))
        closest_score = len(set(catalog.get(closest_id).genres) & set(item.genres)) / max(len(item.genres), 1)
        basis = "genres"
    in_range = None
    if year_range and item.year is not None:
        lo, hi = year_range
        if (lo is None or item.year >= lo) and (hi is None or item.year <= hi):
            in_range = year_range
    return Evidence(
        item_id=item.item_id,
        title=item.title,
        year=item.year,
        genres=item.genres,
        closest_id=closest_id,
        closest_title=catalog.get(closest_id).title if closest_id is not None else None,
        closest_score=float(closest_score),
        closest_basis=basis,
        shared_genres=shared,
        genre_support={g: support[g] for g in shared},
        wanted_genres=tuple(g for g in item.genres if g in set(wanted)),
        year_range=in_range,
        source=source,
        rank=rank,
        wish=wish,
    )
