"""Retriever latency through a Chroma server (`chroma run` on 127.0.0.1) next to the embedded PersistentClient.

Both indexes hold the same vectors (the catalog vector cache from make prepare) and answer the same queries
(the labelled queries of evals/data/retrieval_queries.yaml), timed by evals.retrieval.latency.
`python -m evals.chroma_server` writes docs/results/chroma_server.json and docs/results/chroma_server.md."""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import yaml

from data.dataset import Dataset, load_dataset
from data.settings import REPO_ROOT, Settings
from evals.mdtable import md_table
from evals.retrieval import QUERIES, filter_kwargs, latency
from evals.runmeta import meta
from tools.retriever import Retriever
from tools.retriever.embedder import MiniLMEmbedding
from tools.retriever.index import ensure_index, make_client
from tools.retriever.server import ChromaServer

log = logging.getLogger(__name__)

RESULTS = REPO_ROOT / "docs" / "results"
KINDS = {
    "search": "search, query embedded fresh",
    "search_cached_embedding": "search, embedding cached (index round trip only)",
    "search_filtered": "search with genre/year filters, embedded fresh",
    "similar_to": "more like one item (stored vector fetched, then searched)",
}


def open_index(artifacts_dir: Path, ds: Dataset, embedder: MiniLMEmbedding, host: str | None, port: int, workdir: Path) -> Retriever:
    """A retriever over a fresh index in workdir (embedded) or on the server; vectors from the artifacts' cache."""
    client, location = make_client(workdir, host, port)
    collection, info = ensure_index(client, location, ds, embedder, cache_dir=artifacts_dir / "embeddings", progress=False)
    return Retriever(collection, ds.catalog, embedder, info)


def same_results(a: Retriever, b: Retriever, texts: list[str], filtered: list[dict]) -> dict:
    """How many queries get the same top-10 ids from both indexes (they hold the same vectors)."""
    pairs = [(t, {}) for t in texts] + [(c["query"], filter_kwargs(c)) for c in filtered]
    same = sum(a.search(t, k=10, **kw).ids == b.search(t, k=10, **kw).ids for t, kw in pairs)
    return {"same_top10": same, "queries": len(pairs)}


def load(lat: dict) -> str:
    before, after = lat["load_avg_1min"]
    return f"{before} → {after}"


def markdown(res: dict) -> str:
    m, emb, srv = res["meta"], res["embedded"], res["server"]
    rows = []
    for kind, label in KINDS.items():
        e, s = emb[kind], srv[kind]
        rows.append([label, e["n"], e["p50_ms"], e["p95_ms"], s["p50_ms"], s["p95_ms"], round(s["p50_ms"] - e["p50_ms"], 2)])
    table = md_table(["query", "n", "embedded p50 ms", "embedded p95 ms", "server p50 ms", "server p95 ms", "server - embedded p50 ms"], rows)
    same, again = res["same_results"]["server"], res["same_results"]["embedded_again"]
    return (
        "## Retriever through a Chroma server\n\n"
        f"Command: `{m['command']}` ({m['date']}, {m['machine']}).\n\n"
        f"The same ML-100K index ({res['dataset']['items']:,} items, same stored vectors) in an embedded `PersistentClient` and "
        f"behind `chroma run --host 127.0.0.1` (HTTP on loopback, chromadb {res['chromadb']}), the same labelled queries, "
        f"{res['rounds']} round(s) each; wall-clock per call, embedding included unless cached. Both return the same top 10 "
        f"for {same['same_top10']} of {same['queries']} queries; a second embedded build of the same vectors agrees with the "
        f"first on {again['same_top10']} (HNSW search is approximate and each build links its graph differently). "
        f"1-minute load average before and after each run: embedded {load(emb)}, server {load(srv)}.\n\n"
        f"{table}\n\n"
        "The rows with a cached embedding and `similar_to` time the index alone: there the server adds an HTTP round trip "
        "and JSON (de)serialisation per Chroma call (`similar_to` makes two: fetch the stored vector, then search). In the "
        "other rows embedding the query on the CPU dominates, and on a busy machine its noise is larger than the server's "
        "cost. The server runs on the same machine, so its work competes for the same cores. How to run TalkRec with a server: "
        "[docs/DEPLOY.md](../DEPLOY.md#a-chroma-server).\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds over the query texts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    import chromadb
    import torch

    torch.set_num_threads(settings.torch_threads)
    ds = load_dataset(settings.artifacts_dir, settings.dataset)
    labelled = yaml.safe_load(QUERIES.read_text())
    texts = [c["query"] for c in labelled["genre_led"]] + [c["query"] for c in labelled["titles"]]
    filtered = [c for c in labelled["filtered"] if not c.get("expect_empty")]
    embedder = MiniLMEmbedding()
    with tempfile.TemporaryDirectory(prefix="talkrec-chroma-server-") as tmp, ChromaServer(Path(tmp) / "server") as server:
        embedded = open_index(settings.artifacts_dir, ds, embedder, None, 0, Path(tmp) / "embedded")
        served = open_index(settings.artifacts_dir, ds, embedder, server.host, server.port, Path(tmp) / "client")
        again = open_index(settings.artifacts_dir, ds, embedder, None, 0, Path(tmp) / "embedded-again")
        same = {"server": same_results(embedded, served, texts, filtered), "embedded_again": same_results(embedded, again, texts, filtered)}
        res = {
            "meta": meta("evals.chroma_server", torch_threads=torch.get_num_threads()),
            "dataset": {"name": ds.name, "version": ds.version, "items": len(ds.catalog)},
            "chromadb": chromadb.__version__,
            "rounds": args.rounds,
            "same_results": same,
            "embedded": latency(embedded, texts, filtered, args.rounds),
            "server": latency(served, texts, filtered, args.rounds),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chroma_server.json").write_text(json.dumps(res, indent=2) + "\n")
    (args.out / "chroma_server.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
