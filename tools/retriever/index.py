"""The Chroma collection of item vectors: where it lives, when it is stale, and how it is (re)built."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from data.catalog import Catalog, Item
from data.dataset import Dataset
from data.errors import BackendUnavailable, MissingArtifact
from tools.retriever.embedder import MODEL_NAME, MiniLMEmbedding
from tools.retriever.filters import genre_key
from tools.retriever.vectors import GENRE_WEIGHT, catalog_vectors

log = logging.getLogger(__name__)

BUILD_COMMAND = "python -m tools.retriever.build"
# Bump when the stored metadata layout changes, so old indexes count as stale.
SCHEMA = 3  # 3: the HNSW settings below
# Chroma's default graph (16 neighbours, ef 100/10) leaves some ML-100K items unreachable: 5 of 1682 were not
# among the top 10 for their own vector, so no query could ever return them. With these settings none were lost
# over six builds (every item queried), at 0.17 ms per query instead of 0.10. The graph is still approximate
# and its build order varies, so the self-check below allows a stray miss.
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 200, "max_neighbors": 48}
DUPLICATE_DISTANCE = 1e-4  # items with identical text share a vector; either may come first


@dataclass(frozen=True)
class IndexInfo:
    """What was opened: `built_now` and `build_s` tell whether this open had to (re)build the index."""

    collection: str
    location: str
    dataset_version: str
    model: str
    n_items: int
    built_now: bool
    build_s: float | None


def chroma_path(artifacts_dir: Path) -> Path:
    return Path(artifacts_dir) / "chroma"


# Seconds an HttpClient waits for a Chroma server to connect or to send the next bytes of an answer. chromadb's
# own client waits forever, so a hung (not stopped) server would hang the conversation with it.
SERVER_TIMEOUT_S = 10.0


def make_client(artifacts_dir: Path, host: str | None = None, port: int = 8000, timeout_s: float = SERVER_TIMEOUT_S):
    """PersistentClient under the artifacts folder, or HttpClient for a Chroma server (each request bounded
    by timeout_s); telemetry off either way."""
    import chromadb
    import httpx
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import ChromaError

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if host is None:
        path = chroma_path(artifacts_dir)
        path.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings), str(path)
        except ChromaError as exc:  # a damaged store: chromadb's InternalError "database disk image is malformed"
            # chromadb caches the half-started system of a failed open and answers the next open of this folder with
            # an AttributeError; dropping it lets a later open (after the rebuild) start afresh.
            SharedSystemClient._identifier_to_system.pop(str(path), None)
            raise MissingArtifact(
                f"the retriever index at {path} is damaged ({type(exc).__name__}: {exc}); delete that folder and rebuild it: "
                f"run `rm -rf {path} && {BUILD_COMMAND}`"
            ) from exc
    location = f"http://{host}:{port}"
    try:
        client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
        _bound_requests(client, timeout_s)
        client.heartbeat()
    except (ValueError, ConnectionError, OSError, httpx.TransportError) as exc:
        raise BackendUnavailable(
            f"no Chroma server answers at {location} ({exc}); start one with `chroma run --path artifacts/chroma-server "
            f"--host {host} --port {port}`, or unset TALKREC_CHROMA_HOST to use the local index"
        ) from exc
    return client, location


def _bound_requests(client, timeout_s: float) -> None:
    """Give the HttpClient's httpx session a timeout. chromadb 1.x has no setting for it, so this sets it on
    the session the client keeps (`client._server._session`); tests/test_chroma_server.py checks it works."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise BackendUnavailable(
            f"cannot set a request timeout on this chromadb client ({type(client).__name__}); install the chromadb version pinned in requirements.txt"
        )
    session.timeout = httpx.Timeout(timeout_s)


def collection_name(dataset_name: str) -> str:
    """Chroma names allow [a-zA-Z0-9._-], 3-512 chars, alphanumeric at both ends."""
    model = re.sub(r"[^a-z0-9]+", "-", MODEL_NAME.lower()).strip("-")
    ds = re.sub(r"[^a-zA-Z0-9._-]+", "-", dataset_name).strip("-._") or "dataset"
    return f"talkrec-{ds}-{model}"


def item_metadata(item: Item, genres: tuple[str, ...]) -> dict[str, Any]:
    meta: dict[str, Any] = {"item_id": item.item_id, "n_ratings": item.n_ratings, "title": item.title, "genres": "|".join(item.genres)}
    if item.year is not None:  # no key at all: a year filter then never matches an undated item
        meta["year"] = item.year
    own = set(item.genres)
    meta.update({genre_key(g): g in own for g in genres})
    return meta


def _index_meta(dataset: Dataset) -> dict[str, Any]:
    return {"dataset": dataset.name, "dataset_version": dataset.version, "model": MODEL_NAME, "genre_weight": GENRE_WEIGHT, "schema": SCHEMA}


def _is_current(collection, dataset: Dataset) -> bool:
    meta = collection.metadata or {}
    want = _index_meta(dataset)
    same = all(meta.get(k) == v for k, v in want.items())
    # "complete" is set only after the last batch, so an interrupted build counts as stale.
    return same and bool(meta.get("complete")) and collection.count() == len(dataset.catalog)


def _get(client, name: str, embedder: MiniLMEmbedding):
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=embedder)
    except NotFoundError:
        return None


def fill_collection(collection, catalog: Catalog, vectors: np.ndarray, batch_size: int, progress: bool = True) -> None:
    """Add precomputed vectors in batches (far faster than letting Chroma embed one call at a time)."""
    items = list(catalog)
    assert vectors.shape[0] == len(items), "one vector per catalog item"
    genres = catalog.genres
    with tqdm(total=len(items), desc="indexing items", unit="item", disable=not progress) as bar:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            collection.add(
                ids=[str(it.item_id) for it in chunk],
                embeddings=vectors[start : start + len(chunk)],
                metadatas=[item_metadata(it, genres) for it in chunk],
                documents=[it.sentence for it in chunk],
            )
            bar.update(len(chunk))


SELF_CHECK_ITEMS = 12


def self_check(collection, catalog: Catalog, n: int = SELF_CHECK_ITEMS) -> str | None:
    """None when the index finds items by their own stored vectors; else what is wrong. A collection whose
    files were damaged (cut-off HNSW segments) opens without error and answers with other neighbours, so
    opening is not proof enough. Items spread evenly over the catalog; a few ms."""
    from chromadb.errors import ChromaError

    ids = list(catalog.ids)
    picks = [str(ids[round(i * (len(ids) - 1) / max(n - 1, 1))]) for i in range(min(n, len(ids)))]
    try:
        got = collection.get(ids=picks, include=["embeddings"])
        stored = dict(zip(got["ids"], got["embeddings"], strict=True))
        missing = [i for i in picks if i not in stored]
        if missing:
            return f"{len(missing)} of {len(picks)} sampled items have no stored vector"
        res = collection.query(query_embeddings=[stored[i] for i in picks], n_results=1, include=["distances"])
    except ChromaError as exc:
        return f"a search failed inside Chroma ({type(exc).__name__}: {str(exc)[:120]})"
    found = zip(picks, res["ids"], res["distances"], strict=True)
    lost = [i for i, hits, dist in found if not hits or (hits[0] != i and dist[0] > DUPLICATE_DISTANCE)]
    if len(lost) > len(picks) // 4:  # damaged files lose nearly all; a sound approximate graph one at most
        return f"{len(lost)} of {len(picks)} sampled items are not found by their own vector"
    return None


# Opens the stored collection and runs one search, in a child process: cut-off HNSW segment files can crash Chroma's
# native code (a segmentation fault, seen on ml-latest-small's index by `python -m evals.faults`), which no
# exception handler in this process would survive.
_PROBE = """
import sys
import chromadb
from chromadb.config import Settings
col = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False)).get_collection(sys.argv[2])
col.count()
got = col.get(limit=3, include=["embeddings"])
if len(got["ids"]):
    col.query(query_embeddings=[got["embeddings"][0]], n_results=1)
"""
PROBE_TIMEOUT_S = 120


def probe_in_child(path: str, name: str) -> str | None:
    """None unless opening and searching the stored collection kills a process (then what happened). An ordinary
    error in the child is left to self_check, which names it; only a crash is reported here."""
    import subprocess
    import sys

    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, path, name], capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"a search on it did not finish in {PROBE_TIMEOUT_S} s"
    if proc.returncode < 0:
        return f"searching it crashed a Chroma process (signal {-proc.returncode}): its files are damaged"
    return None


def ensure_index(
    client,
    location: str,
    dataset: Dataset,
    embedder: MiniLMEmbedding,
    build: bool = True,
    vectors: np.ndarray | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
):
    """Open the dataset's collection; (re)build it when missing or stale (dataset version, model or schema
    changed, or an earlier build was interrupted). `vectors` (one row per catalog item, catalog order) skips
    embedding: the scale benchmark uses it. Otherwise see vectors.catalog_vectors. Returns (collection, IndexInfo)."""
    name = collection_name(dataset.name)
    collection = _get(client, name, embedder)
    state = "missing" if collection is None else "stale"
    # a crash in the child means this process must not touch the collection's data (counting it would crash too)
    crash = probe_in_child(location, name) if collection is not None and not location.startswith("http") else None
    if crash is not None:
        log.warning("retriever index %s at %s is damaged: %s", name, location, crash)
        state = f"damaged ({crash})"
    elif collection is not None and _is_current(collection, dataset):
        problem = self_check(collection, dataset.catalog)
        if problem is None:
            info = IndexInfo(name, location, dataset.version, MODEL_NAME, collection.count(), built_now=False, build_s=None)
            return collection, info
        log.warning("retriever index %s at %s is damaged: %s", name, location, problem)
        state = f"damaged ({problem})"
    if not build:
        raise MissingArtifact(f"the retriever index {name!r} at {location} is {state}; run `{BUILD_COMMAND}` (or make prepare)")
    log.info("retriever index %s is %s; building it for %d items", name, state, len(dataset.catalog))
    t0 = time.perf_counter()
    if collection is not None:
        client.delete_collection(name)
    collection = client.create_collection(
        name, embedding_function=embedder, configuration={"hnsw": HNSW}, metadata={**_index_meta(dataset), "complete": False}
    )
    if vectors is None:
        vectors = catalog_vectors(embedder, dataset.catalog, cache_dir, progress=progress)
    fill_collection(collection, dataset.catalog, vectors, batch_size=min(client.get_max_batch_size(), 4096), progress=progress)
    collection.modify(metadata={**_index_meta(dataset), "complete": True})
    build_s = time.perf_counter() - t0
    log.info("built %s in %.1f s", name, build_s)
    return collection, IndexInfo(name, location, dataset.version, MODEL_NAME, collection.count(), built_now=True, build_s=build_s)
