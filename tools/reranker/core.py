"""rerank(): reorder a candidate list with an LLM, list-wise or by likelihood; always a permutation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from data.errors import InvalidInput
from tools.reranker.likelihood import score_candidates
from tools.reranker.listwise import listwise_points
from tools.reranker.result import RerankResult
from tools.reranker.yesno import score_yesno

MAX_CANDIDATES = 50
MAX_HISTORY = 15  # the last titles only: the prompt stays short and recency matters most


def _order(ids: Sequence[int], scores: Sequence[float]) -> list[tuple[int, float]]:
    # Stable sort: ties keep the prior (input) order.
    idx = sorted(range(len(ids)), key=lambda i: -scores[i])
    return [(int(ids[i]), float(scores[i])) for i in idx]


def rerank(
    history_titles: Sequence[str],
    request: str | None,
    candidates: Sequence[tuple[int, str]],
    backend: Any,
    method: Literal["listwise", "likelihood", "yesno"] = "likelihood",
    calibrate: bool = True,
    bootstrap: int = 0,
    seed: int = 0,
    max_history: int = MAX_HISTORY,
    max_tokens: int | None = None,
) -> RerankResult:
    """Reorder `candidates` ((item_id, title), prior order = input order) for a user with this history.

    likelihood and yesno: need a backend with `score` (embedded / hf); list-wise: any backend with `chat`.
    """
    start = time.perf_counter()
    ids = [int(i) for i, _ in candidates]
    titles = [str(t) for _, t in candidates]
    if len(set(ids)) != len(ids):
        raise InvalidInput("rerank() got duplicate candidate ids; deduplicate the candidate list first")
    if len(ids) > MAX_CANDIDATES:
        raise InvalidInput(f"rerank() takes at most {MAX_CANDIDATES} candidates, got {len(ids)}; cut the list first")
    if len(ids) <= 1:
        return RerankResult([(i, 0.0) for i in ids], method=f"{method}-trivial", notes=["nothing to reorder"])
    history = list(history_titles)[-max_history:] if max_history > 0 else []
    if method in ("likelihood", "yesno"):
        if not getattr(backend, "supports_scoring", False):
            raise InvalidInput(
                f"backend {getattr(backend, 'name', backend)!r} cannot score continuations; use method='listwise' or the embedded/hf backend"
            )
        if method == "yesno":
            points = score_yesno(backend, history, request, titles)
            return RerankResult(_order(ids, points), method="yesno", elapsed_s=time.perf_counter() - start)
        scores = score_candidates(backend, history, request, titles, calibrate=calibrate)
        name = "likelihood-calibrated" if calibrate else "likelihood"
        return RerankResult(_order(ids, scores.final()), method=name, elapsed_s=time.perf_counter() - start)
    if method == "listwise":
        # Enough room for every index ("12, ") plus slack.
        budget = max_tokens or 4 * len(ids) + 16
        points, notes = listwise_points(backend, history, request, titles, bootstrap=bootstrap, seed=seed, max_tokens=budget)
        name = f"listwise-bootstrap{bootstrap}" if bootstrap else "listwise"
        return RerankResult(_order(ids, points), method=name, notes=notes, elapsed_s=time.perf_counter() - start)
    raise InvalidInput(f"unknown rerank method {method!r}; use 'listwise', 'likelihood' or 'yesno'")
