"""Tag matching: a wish that says what users' tags say ("a dark comedy", "time travel") finds the films carrying them.

Tags are folded into each item's sentence, but there they are a few words among the title, year, genres and up to a
dozen other tags, so the sentence vector hardly moves toward any one of them. Whole-sentence search then favours
films whose title shares a word (or a word's look) with the wish: on ml-latest-small "a dark comedy" found films with
"night" in the title, while none of the seven films users tagged "dark comedy" reached the top 10. This
channel compares the wish with each distinct tag on its own; the films carrying a tag close enough to it join the
sentence matches by reciprocal-rank fusion (tools/retriever/retriever.py). Catalogs without tags (ML-100K) have an empty channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.catalog import Catalog
from tools.retriever.embedder import DIM, MiniLMEmbedding
from tools.retriever.vectors import cache_path, cached_vectors

# Cosine between a wish's free text and a tag for the tag to count as named. Read off hand-written wishes before
# any dialogue result was seen: wished-for tags scored 0.76-0.95 ("a road trip comedy" / road trip 0.76, "a dark
# comedy" / dark comedy 0.95, "something with time travel" / time travel 0.88), while tags that only share the
# kind of word stayed at or below 0.72 ("a dark comedy" / comedy 0.71, "a movie set in high school" / teen movie
# 0.67, "a film about a shark" / ocean 0.43).
TAG_MATCH = 0.75


@dataclass(frozen=True)
class TagIndex:
    """The catalog's distinct tags, their unit vectors (row per tag) and the items carrying each."""

    tags: tuple[str, ...]
    vectors: np.ndarray
    items: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.tags)

    def match(self, vector: np.ndarray, threshold: float = TAG_MATCH) -> list[tuple[int, float, str]]:
        """(item id, cosine, tag) for each item carrying a tag at least `threshold` close to `vector`, by its best
        tag: closest first; ties (items sharing that tag) keep catalog order, which the caller may re-sort."""
        if not self.tags:
            return []
        sims = self.vectors @ np.asarray(vector, dtype=np.float32)
        best: dict[int, tuple[float, str]] = {}
        for row in np.flatnonzero(sims >= threshold):
            for item in self.items[row]:
                if item not in best or sims[row] > best[item][0]:
                    best[item] = (float(sims[row]), self.tags[row])
        return sorted(((i, s, t) for i, (s, t) in best.items()), key=lambda x: -x[1])


def free_text(query: str) -> str:
    """The free words of a key-value query ("genres: Comedy | year: 1980-1989 | a dark comedy" -> "a dark comedy"):
    the keyed parts are exact filters already, and "genres: Comedy" would name every film tagged "comedy"."""
    parts = [p.strip() for p in query.split(" | ")]
    return " ".join(p for p in parts if p and not p.split(" ", 1)[0].endswith(":"))


def _tag_items(catalog: Catalog) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for it in catalog:
        for tag in it.tags:
            out.setdefault(tag, []).append(it.item_id)
    return out


def tag_index(embedder: MiniLMEmbedding, catalog: Catalog, cache_dir: Path | None) -> TagIndex:
    """The catalog's tag index; tag vectors are reused from cache_dir when these exact tags were embedded before
    (the index build fills it, so opening the retriever in the app does not embed them again)."""
    by_tag = _tag_items(catalog)
    tags = tuple(sorted(by_tag))
    if not tags:
        return TagIndex((), np.empty((0, DIM), dtype=np.float32), ())
    path = cache_path(cache_dir, "tags", tags) if cache_dir is not None else None
    vectors = cached_vectors(path, len(tags), lambda: embedder.encode(list(tags)).astype(np.float32))
    return TagIndex(tags, vectors, tuple(tuple(by_tag[t]) for t in tags))
