"""Co-rating similarity: "people who rated these also rated", for a few films a person names in chat.

A handful of favourites typed into a conversation is not a viewing sequence: it has no order and no recency, and
SASRec, trained on sequences of a hundred ratings, reads two or three items poorly. Item-to-item cosine similarity
over who rated what (train split only) needs no order and no training. The agent uses it for typed favourites and
keeps SASRec for a dataset user's own history (agents/policies/planner.py says where; docs/EVALS.md has the
real-dialogue figures that chose it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from data.dataset import Dataset
from data.errors import InvalidInput
from tools.seqrec.data import ItemIndex
from tools.seqrec.recent import RecentPopularity, fit_recent_popularity
from tools.seqrec.recommender import NO_HISTORY_NOTE, SeqRecResult, best_items

METHOD = "co-rating"
# Pulls a pair that few people rated towards zero: two films rated by the same 3 people are not "similar".
SHRINK = 10.0
# A film the conversation is about (on the table, not rejected) counts half as much as one the person named as
# theirs: it says what the talk is about, not what they love. Set by reasoning, not fitted.
CONTEXT_WEIGHT = 0.5


class CoRating:
    """Cosine similarity of items' rater sets; a history scores each item by its summed similarity to the history."""

    def __init__(self, index: ItemIndex, users: np.ndarray, items: np.ndarray, shrink: float = SHRINK, prior: RecentPopularity | None = None) -> None:
        """users, items: one (user, catalog item id) pair per interaction of the training split. prior: popularity
        as of now (tools/seqrec/recent.py), which ranks alone for an empty history and breaks ties; plain
        interaction counts when not given."""
        idx, unknown = index.encode(items)
        if unknown:
            raise InvalidInput(f"{len(unknown)} interactions name items outside the index (e.g. {unknown[0]}); build it from the same catalog")
        _, rows = np.unique(users, return_inverse=True)
        matrix = sp.csr_matrix((np.ones(len(idx)), (rows, idx)), shape=(int(rows.max(initial=-1)) + 1, index.n_items + 1))
        matrix.data[:] = 1.0  # a film rated twice by one person counts once
        self.index = index
        self.by_item = matrix.tocsc()
        self.by_user = matrix.tocsr()
        self.counts = np.asarray(self.by_item.sum(axis=0)).ravel()
        self.norms = np.sqrt(self.counts)
        self.shrink = shrink
        if prior is not None and len(prior.scores) != index.n_items + 1:
            raise InvalidInput(f"prior has {len(prior.scores)} entries, expected n_items + 1 = {index.n_items + 1}")
        self.prior = prior
        self._prior_scores = self.counts if prior is None else np.asarray(prior.scores, dtype=np.float64)

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> CoRating:
        df = dataset.interactions
        train, valid = df[df["split"] == "train"], df[df["split"] == "valid"]
        index = ItemIndex.from_ids(dataset.catalog.ids)
        prior = fit_recent_popularity(index, train, valid)
        return cls(index, train["user_id"].to_numpy(), train["item_id"].to_numpy(), prior=prior)

    def raters(self, item_ids: Iterable[int]) -> int:
        """How many people of the training split rated any of these catalog items (unknown ids count none): with
        none, co-rating knows nothing about them and ranks by the prior alone."""
        indices, _ = self.index.encode(list(item_ids))
        if len(indices) == 0:
            return 0
        return int(self.by_item[:, indices].max(axis=1).sum())

    def scores(self, indices: np.ndarray, context: np.ndarray | Sequence[int] = (), context_weight: float = CONTEXT_WEIGHT) -> np.ndarray:
        """(n_items + 1,) scores for a history of model indices, plus `context` (model indices of films the
        conversation is about, not the person's own) at context_weight each; the popularity prior breaks ties (and
        ranks alone when both are empty)."""
        out = self._prior_scores / max(self._prior_scores.max(initial=0.0), 1e-12) * 1e-6
        own = list(dict.fromkeys(int(i) for i in indices))
        weighted = [(j, 1.0) for j in own] + [(int(j), context_weight) for j in dict.fromkeys(int(i) for i in context) if int(j) not in own]
        for j, w in weighted:
            raters = self.by_item[:, j]
            co = np.asarray((self.by_user.T @ raters).todense()).ravel()
            out += w * co / np.maximum(self.norms * self.norms[j] + self.shrink, 1e-12)  # padding and unrated items have no raters
        return out

    def recommend(
        self, history: Sequence[int], k: int = 10, exclude: Iterable[int] = (), allowed: Iterable[int] | None = None, context: Sequence[int] = ()
    ) -> SeqRecResult:
        """Top-k catalog items like `history` (and, at a lower weight, like `context`: films the conversation is
        about), never one of history, context or exclude, only of `allowed` when given."""
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        indices, unknown = self.index.encode(history)
        ctx, _ = self.index.encode(context)
        notes = [f"ignored {len(unknown)} item id(s) not in the catalog"] if unknown else []
        if len(indices) == 0 and len(ctx) == 0:
            notes.insert(0, NO_HISTORY_NOTE)
        method = METHOD if len(indices) or len(ctx) else "popularity"
        scores = self.scores(indices, ctx)
        return SeqRecResult(best_items(scores, self.index, np.concatenate([indices, ctx]), exclude, allowed, k), method, "; ".join(notes))
