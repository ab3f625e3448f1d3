"""Rec-tuning data for the LLM reranker (TALLRec-style), from the train split only.

An example is one moment in a user's train sequence: the items before it are the history, the item at it is
the positive, and 19 other items are negatives, either SASRec's own top-ranked items for that history (the
hard setting the product meets: the reranker reorders SASRec's head) or random unseen items. A user's
validation and test items never appear in that user's examples, as history, positive or negative: the
positive is a train-split item and the negatives are drawn with the held-out items excluded.

Examples are split by user: the tuning users' examples train the adapter, the early-stopping users' examples
(other users, still train-split moments) decide when to stop. The real validation split is left for the
choices made after tuning (verbalizer, fusion weight, product default), and the test split for the report.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from data.dataset import Dataset
from data.split import TEST, VALID

N_CANDIDATES = 20
MIN_HISTORY = 5  # a moment needs some history to condition on
# (history, positive, k, forbidden) -> SASRec's top items for that history, none of `forbidden`
HeadFn = Callable[[list[int], int, set[int]], list[int]]


@dataclass(frozen=True)
class TuneExample:
    user: int
    history: tuple[int, ...]  # item ids, oldest first
    positive: int
    candidates: tuple[int, ...]  # the positive and 19 negatives, shuffled
    negatives: str  # "sasrec" | "random"

    @property
    def label(self) -> int:
        return self.candidates.index(self.positive)


def held_out_items(dataset: Dataset) -> dict[int, set[int]]:
    """Each user's validation and test items: never part of that user's tuning examples."""
    out: dict[int, set[int]] = {}
    for split in (VALID, TEST):
        for user, item in dataset.targets(split).items():
            out.setdefault(user, set()).add(item)
    return out


def sasrec_head(seqrec) -> HeadFn:
    """SASRec's top items after `history`, never one of `forbidden` (history, positive, held-out items)."""

    def head(history: list[int], k: int, forbidden: set[int]) -> list[int]:
        res = seqrec.recommend(history, k=k, exclude=forbidden)
        return [int(i) for i, _ in res.items]

    return head


def build_examples(
    dataset: Dataset,
    users: Sequence[int],
    head: HeadFn | None,
    moments_per_user: int = 1,
    hard_share: float = 0.5,
    seed: int = 0,
) -> list[TuneExample]:
    """`moments_per_user` examples per user from the end of their train sequence (the latest moments are the
    closest to how the reranker is asked: the next item after everything seen). A share `hard_share` of the
    examples take SASRec's head as negatives (when `head` is given), the rest random unseen items."""
    rng = random.Random(seed)
    seqs = dataset.sequences("train")  # train split only
    held = held_out_items(dataset)
    titled = [int(i) for i in dataset.catalog.ids if dataset.catalog.get(int(i)).title]
    out: list[TuneExample] = []
    for user in users:
        seq = [int(i) for i in seqs.get(user, ())]
        forbidden_user = held.get(user, set())
        for back in range(1, moments_per_user + 1):
            t = len(seq) - back
            if t < MIN_HISTORY:
                break
            history, positive = seq[:t], seq[t]
            if positive in forbidden_user:  # cannot happen in MovieLens (no repeats); kept as a guarantee
                continue
            # not the positive, not already seen (the whole user history, so later train items too), not held out
            forbidden = set(seq) | forbidden_user
            hard = head is not None and rng.random() < hard_share
            if hard:
                negatives = [i for i in head(history, N_CANDIDATES + 5, forbidden) if i != positive][: N_CANDIDATES - 1]
            else:
                negatives = []
            while len(negatives) < N_CANDIDATES - 1:
                i = rng.choice(titled)
                if i not in forbidden and i != positive and i not in negatives:
                    negatives.append(i)
            candidates = [positive, *negatives]
            rng.shuffle(candidates)
            out.append(TuneExample(user, tuple(history), positive, tuple(candidates), "sasrec" if hard else "random"))
    return out


def split_users(dataset: Dataset, n_tune: int, n_stop: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Disjoint samples of users: those whose examples train the adapter, and those for early stopping."""
    users = sorted(dataset.targets(TEST))
    rng = random.Random(seed)
    picked = rng.sample(users, min(len(users), n_tune + n_stop))
    return sorted(picked[:n_tune]), sorted(picked[n_tune:])
