"""The retriever tool: free-text wishes and "more like X" over item sentence embeddings, with exact filters."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from data.catalog import Catalog
from data.dataset import Dataset
from data.errors import BackendUnavailable, InvalidInput, MissingArtifact
from tools.fusion import rrf_fuse
from tools.retriever.embedder import MiniLMEmbedding
from tools.retriever.filters import CatalogArrays, Filters, clean_query, resolve_filters
from tools.retriever.index import SERVER_TIMEOUT_S, IndexInfo, ensure_index, make_client
from tools.retriever.tags import TagIndex, free_text, tag_index

log = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 1024
# Filters passing at least this share of the catalog are applied to an over-fetched unfiltered neighbour list.
BROAD_FILTER_SHARE = 0.2


@dataclass
class RetrievalResult:
    """Ranked (catalog item_id, score) pairs, every one satisfying all filters, and notes for the user
    about fixes made to the request (clamped years, truncated text, ...)."""

    items: list[tuple[int, float]]
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [i for i, _ in self.items]


class Retriever:
    """Search one dataset's item index. Scores are cosine similarities in [-1, 1] (higher is closer),
    except for a filter-only listing (empty text), where they are popularity: n_ratings / the most-rated item's,
    and for a film found through one of its tags, where the score is the cosine to that tag."""

    def __init__(
        self,
        collection,
        catalog: Catalog,
        embedder: MiniLMEmbedding,
        info: IndexInfo,
        reopen: Callable[[], object] | None = None,
        tags: TagIndex | None = None,
    ) -> None:
        self.collection = collection
        # users' tags, matched one by one against a wish's free words (tools/retriever/tags.py); None: no such channel
        self.tags = tags
        # Opens the collection again by name (a Chroma server whose index was rebuilt gives it a new id).
        self._reopen = reopen
        self.catalog = catalog
        self.embedder = embedder
        self.info = info
        self.arrays = CatalogArrays(catalog)
        # Per instance (not a module-level cache) so a retriever and its cached vectors go away together.
        self._embed_cached = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_uncached)

    # -- embeddings ---------------------------------------------------------------------------------
    def _embed_uncached(self, text: str) -> np.ndarray:
        vec = self.embedder.encode([text])[0]
        vec.flags.writeable = False  # shared through the cache: callers must not change it
        return vec

    def embed_query(self, text: str) -> np.ndarray:
        """Unit vector (384,) of `text`; a session's repeated text is embedded once (LRU cache)."""
        return self._embed_cached(text)

    def stored_vectors(self, item_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The index's vectors of these catalog items (what similar_to and similarity compare), by item id."""
        unique = list(dict.fromkeys(int(i) for i in item_ids))  # Chroma rejects repeated ids
        for i in unique:
            self.catalog.get(i)  # raises InvalidInput naming the unknown id
        got = self._chroma("get", ids=[str(i) for i in unique], include=["embeddings"])
        return {int(i): np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)}

    # -- queries ------------------------------------------------------------------------------------
    def search(
        self,
        text: str,
        k: int = 10,
        genres_any: Iterable[str] | None = None,
        genres_none: Iterable[str] | None = None,
        year_range: tuple[int | None, int | None] | None = None,
        exclude: Iterable[int] = (),
        allowed: Iterable[int] | None = None,
    ) -> RetrievalResult:
        """Items closest to a wish in words. Empty text with no filter is an error; empty text WITH filters
        lists the most-rated matching items (so "any 70s western" works without a description)."""
        k = self._check_k(k)
        query, notes = clean_query(text)
        filters = resolve_filters(self.catalog, genres_any, genres_none, year_range, exclude, allowed)
        notes += filters.notes
        if not query and not filters.restricts:
            raise InvalidInput("the request is empty; describe what to watch (e.g. 'a slow sci-fi from the 70s') or give a genre or year filter")
        if filters.impossible:
            return RetrievalResult([], [*notes, filters.impossible])
        if not query:
            return self._by_popularity(filters, k, notes)
        return self._with_tags(query, self._nearest(self.embed_query(query), filters, k, notes), filters, k)

    def similar_to(
        self,
        item_ids: Sequence[int],
        k: int = 10,
        genres_any: Iterable[str] | None = None,
        genres_none: Iterable[str] | None = None,
        year_range: tuple[int | None, int | None] | None = None,
        exclude: Iterable[int] = (),
        allowed: Iterable[int] | None = None,
    ) -> RetrievalResult:
        """More like these: nearest items to the mean of the seeds' stored vectors, seeds excluded."""
        k = self._check_k(k)
        seeds = list(dict.fromkeys(int(i) for i in item_ids))
        if not seeds:
            raise InvalidInput("similar_to needs at least one catalog item id; ground the title first (catalog lookup)")
        vectors = self.stored_vectors(seeds)
        centre = np.mean([vectors[i] for i in seeds], axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        filters = resolve_filters(self.catalog, genres_any, genres_none, year_range, [*exclude, *seeds], allowed)
        notes = list(filters.notes)
        if filters.impossible:
            return RetrievalResult([], [*notes, filters.impossible])
        return self._nearest(centre, filters, k, notes)

    def similarity(self, item_id: int, other_ids: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of item_id's stored vector to each of other_ids (for "closest to your favourite X")."""
        others = [int(i) for i in other_ids]
        vectors = self.stored_vectors([int(item_id), *others])
        anchor = vectors[int(item_id)]
        return {i: float(np.dot(anchor, vectors[i])) for i in others}

    # -- internals ----------------------------------------------------------------------------------
    def _chroma(self, method: str, **kwargs):
        """A call on the collection. A server that stopped answering becomes BackendUnavailable (an observation
        the agent reports) instead of a raw transport error; nothing is cached, so once the server is back
        the next call goes through. A collection the server no longer knows (its index was rebuilt, with a
        new id) is opened again by name and the call retried once."""
        import httpx
        from chromadb.errors import NotFoundError

        try:
            try:
                return getattr(self.collection, method)(**kwargs)
            except NotFoundError:
                if self._reopen is None:
                    raise
                log.warning("collection %s is gone from %s; opening it again by name", self.info.collection, self.info.location)
                try:
                    self.collection = self._reopen()
                except MissingArtifact as exc:
                    raise BackendUnavailable(f"the search index is gone from the Chroma server ({exc})") from exc
                return getattr(self.collection, method)(**kwargs)
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"the Chroma server at {self.info.location} stopped answering ({type(exc).__name__}: {exc}); restart it, "
                "or unset TALKREC_CHROMA_HOST to use the local index"
            ) from exc
        except NotFoundError as exc:
            raise BackendUnavailable(
                f"the Chroma collection {self.info.collection} at {self.info.location} is gone ({exc}); rebuild it with "
                "`python -m tools.retriever.build`"
            ) from exc

    def _check_k(self, k: int) -> int:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInput(f"k must be a positive whole number of results, got {k!r}")
        return min(k, len(self.catalog))

    def _nearest(self, vector: np.ndarray, filters: Filters, k: int, notes: list[str]) -> RetrievalResult:
        """Top-k by cosine among the items passing `filters`. The filter is an exact mask computed here;
        broad filters over-fetch an unfiltered nearest-neighbour list and keep the passing items, narrow ones
        restrict Chroma's search to the passing ids (fast, unlike Chroma `where` clauses)."""
        if not filters.restricts and not filters.exclude:
            return RetrievalResult(self._query(vector, k), notes)
        mask = self.arrays.mask(filters)
        n_pass = int(mask.sum())
        if n_pass == 0:
            return RetrievalResult([], [*notes, "no item in the catalog matches all of these filters"])
        k = min(k, n_pass)
        if n_pass >= BROAD_FILTER_SHARE * len(self.arrays):
            # Expect k passing items among k * N / n_pass neighbours; fetch twice that plus a margin.
            fetch = min(len(self.arrays), 2 * k * len(self.arrays) // n_pass + 20)
            kept = [(i, s) for i, s in self._query(vector, fetch) if mask[self.arrays.row[i]]][:k]
            if len(kept) == k:
                return RetrievalResult(kept, notes)
        ids = [str(i) for i in self.arrays.ids[mask]]
        return RetrievalResult(self._query(vector, k, ids=ids), notes)

    def _with_tags(self, query: str, found: RetrievalResult, filters: Filters, k: int) -> RetrievalResult:
        """The sentence matches fused (reciprocal rank, equal weights) with the films carrying a tag the wish's free
        words name, those passing the filters; among films sharing that tag the most-rated come first (the tag says
        nothing about which of them)."""
        words = free_text(query)
        if self.tags is None or not len(self.tags) or not words:
            return found
        mask = self.arrays.mask(filters)
        n_ratings = self.arrays.n_ratings
        hits = [(i, s) for i, s, _ in self.tags.match(self.embed_query(words)) if mask[self.arrays.row[i]]]
        if not hits:
            return found
        hits.sort(key=lambda h: (-h[1], -int(n_ratings[self.arrays.row[h[0]]]), h[0]))
        scores = dict(hits) | dict(found.items)  # a sentence match keeps its own cosine
        fused = rrf_fuse([[i for i, _ in hits], found.ids])[:k]
        return RetrievalResult([(i, scores[i]) for i, _ in fused], found.notes)

    def _query(self, vector: np.ndarray, n: int, ids: list[str] | None = None) -> list[tuple[int, float]]:
        res = self._chroma("query", query_embeddings=[vector], n_results=n, ids=ids, include=["distances"])
        # Chroma's cosine distance is 1 - cosine similarity.
        return [(int(i), round(1.0 - float(d), 6)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def _by_popularity(self, filters: Filters, k: int, notes: list[str]) -> RetrievalResult:
        rows = np.flatnonzero(self.arrays.mask(filters))
        # Most rated first, ties broken by id (lexsort's last key is the primary one).
        order = rows[np.lexsort((self.arrays.ids[rows], -self.arrays.n_ratings[rows]))][:k]
        top = max(int(self.arrays.n_ratings.max(initial=0)), 1)
        notes = [*notes, "no description given; listed the most-rated items that match the filters"]
        return RetrievalResult([(int(self.arrays.ids[r]), float(self.arrays.n_ratings[r]) / top) for r in order], notes)


def open_retriever(
    artifacts_dir: Path,
    dataset: Dataset,
    chroma_host: str | None = None,
    chroma_port: int = 8000,
    device: str = "cpu",
    build: bool = True,
    timeout_s: float = SERVER_TIMEOUT_S,
) -> Retriever:
    """The retriever over `dataset`'s items: a persistent index under artifacts_dir/chroma, or a Chroma
    server when chroma_host is set. (Re)built with a progress bar when missing or stale (keyed by dataset
    version and model name); with build=False a missing index raises MissingArtifact naming the build command.
    timeout_s bounds each request to a server."""
    embedder = MiniLMEmbedding(device=device)
    client, location = make_client(Path(artifacts_dir), chroma_host, chroma_port, timeout_s)
    collection, info = ensure_index(client, location, dataset, embedder, build=build, cache_dir=Path(artifacts_dir) / "embeddings")

    def reopen():
        return ensure_index(client, location, dataset, embedder, build=False)[0]

    tags = tag_index(embedder, dataset.catalog, Path(artifacts_dir) / "embeddings")
    return Retriever(collection, dataset.catalog, embedder, info, reopen=reopen if chroma_host is not None else None, tags=tags)
