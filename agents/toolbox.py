"""The agent's tools: each reads the session, writes the candidate bus, and records a trace step.

Both policies call these same methods (the planner directly, the LLM through LangChain tools), so
filters, exclusions and grounding are identical whichever decides.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.state import Candidate, Constraints, Session, TraceStep
from data.catalog import Catalog, Item
from data.errors import BackendUnavailable
from tools.explainer import Evidence, SimilarityFn, explain
from tools.fusion import fuse_more_like, rrf_fuse

POOL = 50  # candidates each tool proposes before the final cut
# more_like fuses the seeds' text neighbours (content) with the history model's list, kept to films that share a
# genre with a seed, by weighted reciprocal rank. With co-rating as the history model the two weigh the same:
# `python -m evals.more_like_weight` (docs/results/more_like_weight*.md) measured on the logs that the former 2:1
# content lead gives up a fifth to a half of next-item MRR for a little more genre overlap, while weighing content
# less turns the top into the log's most watched films, whatever their kind. Content leads where
# co-rating knows nothing of the seeds (no one in the log rated them: its list is popularity) and where SASRec reads a
# whole viewing history (not measured: "more like X" must follow X, not the history).
MORE_LIKE_CONTENT_WEIGHT = 1.0
CONTENT_LEADS = 2.0
NO_HISTORY = "no history"  # how seqrec's note starts when it ranked by popularity (tools/seqrec/recommender.py)

# A retriever that cannot answer (its Chroma server stopped) never ends a turn without a reply: the tool
# falls back to seqrec (or popularity), its trace step says so (fallback=True, note starting INDEX_DOWN),
# and the reply opens with a notice starting INDEX_NOTICE.
INDEX_DOWN = "search index unavailable"
INDEX_NOTICE = "The search index was unavailable"
REASONS_NOTICE = INDEX_NOTICE + ", so your closest favourite is judged by shared genres instead of descriptions."


def index_was_down(trace: Sequence[TraceStep]) -> bool:
    """Whether a step of this turn found the retriever unavailable (later steps then do not wait on it)."""
    return any(s.fallback and s.note.startswith(INDEX_DOWN) for s in trace)


@dataclass
class ToolResult:
    candidates: list[Candidate]
    summary: str  # what an LLM sees: short, titles not ids
    notes: list[str] = field(default_factory=list)


def allowed_items(catalog: Catalog, c: Constraints) -> set[int] | None:
    """Catalog items meeting the constraints; None when there are none (everything allowed)."""
    if c.is_empty():
        return None
    out = set()
    for it in catalog:
        g = set(it.genres)
        if c.genres_any and not g & set(c.genres_any):
            continue
        if c.genres_all and not set(c.genres_all) <= g:
            continue
        if c.genres_none and g & set(c.genres_none):
            continue
        if (c.year_min or c.year_max) and it.year is None:
            continue
        if c.year_min and it.year < c.year_min:
            continue
        if c.year_max and it.year > c.year_max:
            continue
        if c.tags_none and set(it.tags) & set(c.tags_none):
            continue
        out.add(it.item_id)
    return out


def description_query(wish: str, c: Constraints) -> str:
    """A retriever query in the catalog's own key-value form, so it lands near item sentences."""
    parts = []
    genres = list(dict.fromkeys(c.genres_all + c.genres_any))
    if genres:
        parts.append("genres: " + ", ".join(genres[:4]))
    if c.year_min or c.year_max:
        parts.append(f"year: {c.year_min or ''}-{c.year_max or ''}".replace("year: -", "year: up to ").rstrip("-"))
    if wish:
        parts.append(wish)
    return " | ".join(parts)


def item_facts(it: Item, mean_rating: float | None) -> str:
    """What the catalog and the log say about one film: genres, how many people rated it and how well (the answer to
    "is it any good?"), and the tags users gave it. Nothing else is known here, so nothing else is said."""
    parts = [f"{it.label}: {', '.join(it.genres) or 'no genre listed'}."]
    if it.n_ratings and mean_rating is not None:
        people = "1 person" if it.n_ratings == 1 else f"{it.n_ratings:,} people"
        parts.append(f"{people} in the dataset rated it, {mean_rating:.1f} out of 5 on average.")
    elif it.n_ratings:
        parts.append(f"{it.n_ratings:,} ratings in the dataset.")
    else:
        parts.append("No one in the dataset rated it.")
    if it.tags:
        parts.append("Users tagged it " + ", ".join(f"“{t}”" for t in it.tags[:5]) + ".")
    return " ".join(parts)


class Toolbox:
    def __init__(
        self,
        catalog: Catalog,
        seqrec: Any,
        retriever: Any,
        reranker: Any | None = None,
        corating: Any | None = None,
        mean_ratings: Mapping[int, float] | None = None,
    ) -> None:
        self.catalog = catalog
        self.mean_ratings = mean_ratings or {}  # item id -> mean rating in the log, for item_details
        self.seqrec = seqrec
        self.retriever = retriever
        self.reranker = reranker  # callable(history_titles, request, candidates) -> RerankResult, or None
        # ranks a few favourites typed in chat (tools/seqrec/corating.py); None: seqrec ranks those too
        self.corating = corating

    def history_model(self, session: Session) -> Any:
        """Who ranks from this session's history: seqrec for a dataset user's own viewing sequence, co-rating for
        favourites typed in the conversation (an unordered handful, which SASRec reads poorly: docs/EVALS.md)."""
        return self.corating if session.user_id is None and self.corating is not None else self.seqrec

    # -- bookkeeping ---------------------------------------------------------------------------
    def _record(
        self, trace: list[TraceStep], tool: str, args: dict, t0: float, n_in: int, n_out: int, note: str = "", fallback: bool = False
    ) -> None:
        ms = round((time.perf_counter() - t0) * 1000, 1)
        trace.append(TraceStep(tool=tool, args=args, duration_ms=ms, n_in=n_in, n_out=n_out, note=note, fallback=fallback))

    def _to_bus(self, session: Session, ranked: Sequence[tuple[int, float]], source: str) -> list[Candidate]:
        ok = [(int(i), float(s)) for i, s in ranked if int(i) in self.catalog and int(i) not in self.catalog.untitled]
        cands = [Candidate(i, s, source, r) for r, (i, s) in enumerate(ok, start=1)]
        session.bus = cands
        return cands

    def _titles(self, cands: Iterable[Candidate], n: int = 5) -> str:
        return "; ".join(self.catalog.get(c.item_id).label for c in list(cands)[:n])

    def _filters(self, c: Constraints) -> dict[str, Any]:
        year = (c.year_min, c.year_max) if (c.year_min or c.year_max) else None
        return {"genres_any": c.genres_any or None, "genres_none": c.genres_none or None, "year_range": year}

    def _retriever_args(self, c: Constraints) -> dict[str, Any]:
        """The retriever's filters; it has no all-of-these-genres filter, so "romcom" travels as `allowed`."""
        return {**self._filters(c), "allowed": allowed_items(self.catalog, c) if (c.genres_all or c.tags_none) else None}

    # -- tools ---------------------------------------------------------------------------------
    def recommend_from_history(
        self, session: Session, trace: list[TraceStep], seeds: Sequence[int] = (), k: int = POOL, *, with_table: bool = True
    ) -> ToolResult:
        """The history model on the user's taste (and seeds). Co-rating also reads, at a lower weight, the films on
        the table (shown last and not rejected: what the talk is about) unless with_table is False."""
        t0 = time.perf_counter()
        history = session.taste() + [s for s in seeds if s not in session.taste()]
        allowed = allowed_items(self.catalog, session.constraints)
        model = self.history_model(session)
        table = [i for i in session.on_the_table() if i not in history] if with_table and model is self.corating else []
        if table:
            res = model.recommend(history, k=k, exclude=session.blocked(), allowed=allowed, context=table)
        else:
            res = model.recommend(history, k=k, exclude=session.blocked(), allowed=allowed)
        cands = self._to_bus(session, res.items, res.method)
        note = res.note or ""
        self._record(
            trace,
            "recommend_from_history",
            {"history_len": len(history), "on_the_table": len(table), "model": res.method, "filters": session.constraints.describe() or None},
            t0,
            len(history),
            len(cands),
            note,
        )
        return ToolResult(cands, f"{len(cands)} items from the user's history ({res.method}); top: {self._titles(cands)}", [note] if note else [])

    def popular(self, session: Session, trace: list[TraceStep], k: int = POOL) -> ToolResult:
        """recommend_from_history for a session with no favourites yet: the most popular films that fit its filters
        (popular as of now: co-rating's prior fades old ratings, tools/seqrec/recent.py).
        Asked for on purpose, so seqrec's "no history" note stays in the trace and is not a notice to the user."""
        res = self.recommend_from_history(session, trace, k=k, with_table=False)
        return ToolResult(res.candidates, res.summary, [n for n in res.notes if not n.startswith(NO_HISTORY)])

    def _search(self, session: Session, trace: list[TraceStep], text: str | None, k: int) -> ToolResult | None:
        """The retriever's matches for the wish, on the bus; None (and a fallback trace step) when it is unavailable."""
        t0 = time.perf_counter()
        query = description_query(text if text is not None else session.wish, session.constraints)
        args = {"query": query, **{k2: v for k2, v in self._filters(session.constraints).items() if v}}
        try:
            res = self.retriever.search(query, k=k, exclude=session.blocked(), **self._retriever_args(session.constraints))
        except BackendUnavailable as exc:
            self._record(trace, "search_by_description", args, t0, 0, 0, f"{INDEX_DOWN}: {exc}", fallback=True)
            return None
        cands = self._to_bus(session, res.items, "retriever")
        self._record(trace, "search_by_description", args, t0, 0, len(cands), "; ".join(res.notes))
        return ToolResult(cands, f"{len(cands)} items matching '{query}'; top: {self._titles(cands)}", list(res.notes))

    def _instead(self, seq: ToolResult, what: str) -> ToolResult:
        """seqrec's result standing in for the retriever's, with the notice saying so."""
        popular = any(c.source == "popularity" for c in seq.candidates[:1])
        source = "the most popular films that fit your filters" if popular else "your favourites"
        notice = f"{INDEX_NOTICE}, so these picks come from {source}, not from {what}."
        notes = [n for n in seq.notes if n and not (popular and n.startswith(NO_HISTORY))]
        return ToolResult(seq.candidates, f"search index unavailable; {seq.summary}", [notice, *notes])

    def search_by_description(self, session: Session, trace: list[TraceStep], text: str | None = None, k: int = POOL) -> ToolResult:
        found = self._search(session, trace, text, k)
        if found is not None:
            return found
        return self._instead(self.recommend_from_history(session, trace, k=k), "your description")

    def hybrid(self, session: Session, trace: list[TraceStep], k: int = POOL) -> ToolResult:
        """History and wish together: reciprocal-rank fusion of seqrec and the retriever."""
        seq = self.recommend_from_history(session, trace, k=k)
        ret = self._search(session, trace, None, k)
        if ret is None:
            return self._instead(seq, "your description")
        t0 = time.perf_counter()
        fused = rrf_fuse([[c.item_id for c in seq.candidates], [c.item_id for c in ret.candidates]])
        cands = self._to_bus(session, fused[:k], "fusion")
        self._record(trace, "fuse", {"method": "reciprocal-rank", "lists": 2}, t0, len(seq.candidates) + len(ret.candidates), len(cands))
        return ToolResult(cands, f"{len(cands)} items fusing history and description; top: {self._titles(cands)}", seq.notes + ret.notes)

    def more_like(self, session: Session, trace: list[TraceStep], seeds: Sequence[int], k: int = POOL) -> ToolResult:
        t0 = time.perf_counter()
        filters = self._filters(session.constraints)
        args = {"seeds": [self.catalog.get(s).title for s in seeds], **{a: b for a, b in filters.items() if b}}
        try:
            sim = self.retriever.similar_to(list(seeds), k=k, exclude=session.blocked(), **self._retriever_args(session.constraints))
        except BackendUnavailable as exc:
            self._record(trace, "more_like", args, t0, len(seeds), 0, f"{INDEX_DOWN}: {exc}", fallback=True)
            seq = self.recommend_from_history(session, trace, seeds=seeds, k=k)
            return self._instead(seq, "films described like " + ", ".join(self.catalog.get(s).title for s in seeds[:3]))
        self._record(trace, "more_like", args, t0, len(seeds), len(sim.items), "; ".join(sim.notes))
        seq = self.recommend_from_history(session, trace, seeds=seeds, k=k)
        t0 = time.perf_counter()
        corated = self.history_model(session) is self.corating and self.corating.raters(seeds) > 0
        w = MORE_LIKE_CONTENT_WEIGHT if corated else CONTENT_LEADS
        kinds = set().union(*(self.catalog.get(s).genres for s in seeds))
        fused = fuse_more_like([i for i, _ in sim.items], [c.item_id for c in seq.candidates], kinds, lambda i: self.catalog.get(i).genres, w)
        cands = self._to_bus(session, fused[:k], "similar")
        self._record(trace, "fuse", {"method": "reciprocal-rank", "weights": [w, 1]}, t0, len(sim.items) + len(seq.candidates), len(cands))
        return ToolResult(
            cands,
            f"{len(cands)} items like {', '.join(self.catalog.get(s).title for s in seeds)}; top: {self._titles(cands)}",
            list(sim.notes) + seq.notes,
        )

    def rerank_candidates(self, session: Session, trace: list[TraceStep], request: str = "", n: int = 20) -> ToolResult:
        t0 = time.perf_counter()
        if self.reranker is None or not session.bus:
            return ToolResult(session.bus, "no reranker configured; kept the current order")
        head, tail = session.bus[:n], session.bus[n:]
        # labels ("Heat (1995)"): the rec-tuned reranker was tuned on them
        history = [self.catalog.get(i).label for i in session.taste()[-10:]]
        res = self.reranker(history, request or session.wish or None, [(c.item_id, self.catalog.get(c.item_id).label) for c in head])
        by_id = {c.item_id: c for c in head}
        position = {c.item_id: p for p, c in enumerate(head, start=1)}
        reordered = []
        for p, (i, s) in enumerate((pair for pair in res.items if pair[0] in by_id), start=1):
            c = by_id[i]
            # an item the reranker moved is credited to it, with where the proposing tool had it
            source = c.source if p == position[i] else f"reranker:moved from #{position[i]} of {c.source}"
            reordered.append(Candidate(i, float(s), source, c.rank))
        session.bus = reordered + tail
        self._record(trace, "rerank_candidates", {"method": res.method, "n": len(head)}, t0, len(head), len(reordered), "; ".join(res.notes))
        return ToolResult(session.bus, f"reranked {len(head)} candidates ({res.method}); top: {self._titles(session.bus)}", list(res.notes))

    def item_details(self, trace: list[TraceStep], item_id: int) -> str:
        t0 = time.perf_counter()
        it = self.catalog.get(item_id)
        self._record(trace, "item_details", {"item": it.title}, t0, 1, 1)
        return item_facts(it, self.mean_ratings.get(it.item_id))

    def explain_item(self, session: Session, trace: list[TraceStep], item_id: int) -> Evidence:
        t0 = time.perf_counter()
        (ev,), down = self._evidence_for(session, trace, [item_id])
        closest = f"closest: {ev.closest_title}" if ev.closest_title else ""
        note = f"{INDEX_DOWN}: {down}; {closest or 'no favourite to compare'} by shared genres" if down else closest
        self._record(trace, "explain_item", {"item": ev.title}, t0, len(session.taste()), 1, note, fallback=bool(down))
        return ev

    def explain_items(self, session: Session, trace: list[TraceStep], item_ids: Sequence[int]) -> list[Evidence]:
        """Evidence for every item of a list, recorded as one trace step."""
        t0 = time.perf_counter()
        evs, down = self._evidence_for(session, trace, item_ids)
        note = f"{INDEX_DOWN}: {down}; closest favourites by shared genres" if down else ""
        self._record(trace, "explain_items", {"items": len(evs)}, t0, len(session.taste()), len(evs), note, fallback=bool(down))
        return evs

    def _evidence_for(self, session: Session, trace: list[TraceStep], item_ids: Sequence[int]) -> tuple[list[Evidence], str]:
        """Evidence with the retriever's similarity for "closest favourite"; when the index is unavailable
        (found earlier in this turn, or on the first failing call here) shared genres stand in. Returns the
        evidence and why the index was not used ('' when it answered or was not needed)."""
        down = "found earlier in this turn" if index_was_down(trace) else ""
        similarity: SimilarityFn | None = None if self.retriever is None or down else self.retriever.similarity
        evs: list[Evidence] = []
        for item_id in item_ids:
            try:
                evs.append(self._evidence(session, item_id, similarity))
            except BackendUnavailable as exc:
                down, similarity = str(exc), None
                evs.append(self._evidence(session, item_id, None))
        return evs, down

    def _evidence(self, session: Session, item_id: int, similarity: SimilarityFn | None) -> Evidence:
        cand = next((c for c in session.bus if c.item_id == item_id), None)
        shown = next((s for s in reversed(session.shown) if s.item_id == item_id), None)
        source, rank = (cand.source, cand.rank) if cand else ((shown.source, shown.position) if shown else ("", 0))
        c = session.constraints
        return explain(
            item_id,
            self.catalog,
            [t for t in session.taste() if t != item_id],
            similarity,
            source=source,
            rank=rank,
            wanted=c.genres_all + c.genres_any,
            year_range=(c.year_min, c.year_max) if (c.year_min or c.year_max) else None,
            wish=session.wish,
        )
