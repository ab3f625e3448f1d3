""" "More like these": how the text neighbours and co-rating trade off, measured on the log's validation split.

`[TALKREC_DATASET=ml-100k] python -m evals.more_like_weight` writes docs/results/more_like_weight[-DATASET].{json,md}.

The more_like tool fuses two rankings by weighted reciprocal rank: the retriever's nearest items to the seeds' text
vectors (content) and co-rating on the person's films and the seeds (agents/toolbox.py: MORE_LIKE_CONTENT_WEIGHT
against 1 for co-rating). For every user of the log, the seeds are their most recent training films rated 4 or more
(the last one, and the last three: more like one film, or like a few), and the film to find is the one they rated
next (their validation item); their training films are excluded, as a conversation excludes what the person named.
Two things are measured for each content weight, because each alone misleads:
- next-item MRR and recall@10 in the top 50: what a person who loves the seeds goes on to watch. It rewards the
  films everybody watches, whatever their kind (co-rating alone answers "more like" an animated film with the
  log's most watched action films);
- how much the top 10 are of the seeds' kind: the share sharing a genre with them, and the mean Jaccard overlap of
  genre sets (a shared broad label like "Adventure" is not the same kind).
Each weight is run with co-rating's list as it is and kept to films sharing a genre with a seed, fused by the tool's own
function (tools/fusion.py: fuse_more_like).
Only the training and validation splits are read. The content side is the exact cosine to the mean of the seeds'
stored vectors (the index's HNSW search approximates the same order).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data.settings import REPO_ROOT, Settings
from evals.mdtable import md_table
from evals.runmeta import meta, result_stem, with_dataset
from tools.fusion import fuse_more_like

RESULTS = REPO_ROOT / "docs" / "results"
WEIGHTS: tuple[float | None, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, None)  # None: content alone
SEED_COUNTS = (1, 3)
GOOD_RATING = 4.0
K = 50
TOP = 10
LISTS = ("all films", "sharing a seed's genre")

log = logging.getLogger(__name__)


def reciprocal_rank(ranking: Sequence[int], target: int) -> float:
    """1 / rank of target in ranking (1-based), 0 when absent."""
    for r, item in enumerate(ranking, start=1):
        if item == target:
            return 1.0 / r
    return 0.0


def genre_share(ranking: Sequence[int], wanted: set[str], genres: dict[int, set[str]]) -> float:
    """Share of the films that share a genre with the seeds."""
    return float(np.mean([bool(genres[i] & wanted) for i in ranking])) if ranking else 0.0


def genre_jaccard(ranking: Sequence[int], wanted: set[str], genres: dict[int, set[str]]) -> float:
    """Mean Jaccard overlap of each film's genres with the seeds': the same kind, not only one shared label."""
    return float(np.mean([len(genres[i] & wanted) / max(len(genres[i] | wanted), 1) for i in ranking])) if ranking else 0.0


def fused(
    content: Sequence[int], corating: Sequence[int], kinds: set[str], genres: dict[int, set[str]], weight: float | None, k: int = K
) -> list[int]:
    """The more_like order for a content weight, through the tool's own fusion (co-rating weighs 1, kept to the
    seeds' kinds unless `kinds` is empty); None is content alone, 0 co-rating alone."""
    if weight is None:
        return list(content[:k])
    if weight == 0:
        return [i for i in corating if not kinds or genres[i] & kinds][:k]
    return [i for i, _ in fuse_more_like(content, corating, kinds, genres.__getitem__, weight)][:k]


def label(weight: float | None) -> str:
    return "content alone" if weight is None else f"{weight:g}"


def run(settings: Settings) -> dict:
    from evals.wiring import services_for_evals

    services = services_for_evals(settings)
    catalog, corating = services.catalog, services.agent.tools.corating
    if corating is None:
        raise SystemExit("this configuration has no co-rating model; more_like fuses content with seqrec there")
    df = services.dataset.interactions
    ids = [int(i) for i in catalog.ids]
    vectors = services.retriever.stored_vectors(ids)
    matrix = np.stack([vectors[i] for i in ids]).astype(np.float64)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    row = {item: n for n, item in enumerate(ids)}
    genres = {i: set(catalog.get(i).genres) for i in ids}
    train, valid = df[df["split"] == "train"].sort_values("timestamp"), df[df["split"] == "valid"].sort_values("timestamp")
    by_user = dict(tuple(train.groupby("user_id")))
    measures: dict[tuple[str, int, str], dict[str, list[float]]] = {}
    for user, g in tqdm(valid.groupby("user_id"), desc="users", unit="user"):
        target = int(g["item_id"].iloc[0])
        history = by_user.get(user)
        if history is None or target not in row:
            continue
        seen = {int(i) for i in history["item_id"]}
        good = [int(i) for i in history.loc[history["rating"] >= GOOD_RATING, "item_id"]] or [int(i) for i in history["item_id"]]
        for n in SEED_COUNTS:
            seeds = [s for s in good[-n:] if s in row]
            if not seeds:
                continue
            centre = matrix[[row[s] for s in seeds]].mean(axis=0)
            sims = matrix @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
            content = [ids[j] for j in np.argsort(-sims)[: 4 * K + len(seen)] if ids[j] not in seen][: 4 * K]
            co = [int(i) for i, _ in corating.recommend(seeds, k=4 * K, exclude=seen).items]
            wanted = set().union(*(genres[s] for s in seeds))
            for listed in LISTS:
                kinds = set() if listed == LISTS[0] else wanted
                for w in WEIGHTS:
                    ranking = fused(content, co, kinds, genres, w)
                    m = measures.setdefault((listed, n, label(w)), {"rr": [], "share": [], "jaccard": []})
                    m["rr"].append(reciprocal_rank(ranking, target))
                    m["share"].append(genre_share(ranking[:TOP], wanted, genres))
                    m["jaccard"].append(genre_jaccard(ranking[:TOP], wanted, genres))
    rows = []
    for listed in LISTS:
        for w in WEIGHTS:
            r: dict = {"co-rating list": listed, "content weight": label(w)}
            for n in SEED_COUNTS:
                m = measures.get((listed, n, label(w)), {"rr": [], "share": [], "jaccard": []})
                r[f"users_{n}"] = len(m["rr"])
                r[f"mrr_{n}"] = float(np.mean(m["rr"])) if m["rr"] else 0.0
                r[f"recall@{TOP}_{n}"] = float(np.mean([x >= 1 / TOP for x in m["rr"]])) if m["rr"] else 0.0
                r[f"genre_share@{TOP}_{n}"] = float(np.mean(m["share"])) if m["share"] else 0.0
                r[f"genre_jaccard@{TOP}_{n}"] = float(np.mean(m["jaccard"])) if m["jaccard"] else 0.0
            rows.append(r)
    return {"dataset": settings.dataset, "rows": rows}


def markdown(result: dict, run_meta: dict, product_weight: float) -> str:
    heads = ["co-rating list", "content weight"]
    for n in SEED_COUNTS:
        heads += [f"MRR, {n} seed(s)", f"R@{TOP}, {n}", f"top {TOP} sharing a genre, {n}", f"genre Jaccard, {n}"]
    columns = ("mrr", f"recall@{TOP}", f"genre_share@{TOP}", f"genre_jaccard@{TOP}")
    table = [
        [r["co-rating list"], r["content weight"], *[round(r[f"{m}_{n}"], 4 if m == "mrr" else 3) for n in SEED_COUNTS for m in columns]]
        for r in result["rows"]
    ]
    users = ", ".join(f"{result['rows'][0][f'users_{n}']} with {n} seed(s)" for n in SEED_COUNTS)
    return "\n".join(
        [
            f"## more_like on {result['dataset']}: text neighbours against co-rating, on the log's validation split",
            "",
            f"Command: `{run_meta['command']}` ({run_meta['date']}; {run_meta['machine']}).",
            "",
            f"Seeds: each user's most recent training films rated {GOOD_RATING:g} or more; target: the next film they rated "
            f"(validation split); their training films excluded; top {K} of weighted reciprocal-rank fusion of content "
            f"(text-vector cosine to the seeds) and co-rating (weight 1). Users: {users}. The genre columns read the top {TOP}.",
            "",
            md_table(heads, table),
            "",
            f"The product fuses at content weight {product_weight:g} with co-rating's list kept to films sharing a seed's "
            "genre (agents/toolbox.py). Next-item MRR grows as content weighs less, because co-rating's top is what "
            "everybody watches; the genre columns fall with it. That trade-off, not one column, set the weight.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.more_like_weight", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from agents.toolbox import MORE_LIKE_CONTENT_WEIGHT

    settings = Settings()
    result = run(settings)
    run_meta = meta("evals.more_like_weight")
    run_meta["command"] = with_dataset(run_meta["command"], settings.dataset)
    stem = result_stem("more_like_weight", settings.dataset)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"meta": run_meta, "product_content_weight": MORE_LIKE_CONTENT_WEIGHT, **result}
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(result, run_meta, MORE_LIKE_CONTENT_WEIGHT))
    for r in result["rows"]:
        print(
            f"{r['co-rating list']:>22} | content {r['content weight']:>13}: MRR {r['mrr_1']:.4f} / {r['mrr_3']:.4f}, "
            f"genre Jaccard {r[f'genre_jaccard@{TOP}_1']:.3f} / {r[f'genre_jaccard@{TOP}_3']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
