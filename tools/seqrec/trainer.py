"""One trainer for both models: next-item (or next-few-items) cross-entropy over all items at every position, Adam,
early stopping on validation NDCG@10 with seen items excluded, seeded, with a tqdm bar."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from tools.metrics import DEFAULT_KS, metrics_from_ranks, target_ranks
from tools.seqrec.data import EvalSet, pad_left

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 300  # upper bound; early stopping usually ends sooner
    batch_size: int = 128  # users per batch (each contributes up to max_len training positions)
    lr: float = 1e-3
    weight_decay: float = 0.0
    # Share of each target's probability mass spread evenly over all items (cross-entropy label smoothing). The
    # next item is one of many a user would have been glad to see, so a one-hot target over-punishes the others.
    label_smoothing: float = 0.0
    patience: int = 20  # epochs without a better validation NDCG@10 before stopping
    max_minutes: float | None = 4.0  # wall-clock guard on training; the product sets its own (pipeline.TRAIN_DEFAULTS)
    seed: int = 2020
    # Which part of a long training sequence an epoch reads: "last" (the most recent max_len items, as in the
    # SASRec paper), "random" (a window ending at a random point, a fresh draw every epoch, so older items
    # are trained on too at the same cost per epoch), "all" (consecutive windows covering every item), or
    # "strided" (windows every `stride` items; the loss falls only on each window's last `stride` targets, so
    # every target after the first max_len is predicted from at least max_len - stride + 1 earlier items,
    # close to RecBole's every-prefix training at max_len / stride times the cost of "all").
    windows: str = "last"
    stride: int = 25  # only for windows="strided"
    # How many upcoming items each position learns to predict. With 1, the target is the next item alone (the
    # usual next-item cross-entropy). With k > 1 it is a mix of the next k items, the i-th weighted
    # future_decay ** (i - 1), renormalised where a window ends sooner. Logs like ML-100K are rated in sittings
    # (half of consecutive ratings share a timestamp), so which item comes "next" within a sitting is arbitrary;
    # spreading the target over the next few items keeps the signal and drops that noise.
    future_targets: int = 1
    future_decay: float = 0.5
    # Interactions at most this many seconds after the previous one belong to the same sitting, and every epoch
    # trains on a fresh random order inside each sitting (the sittings keep their order). None keeps the log's
    # order. In ML-100K half of a user's consecutive ratings share a second; the log's order among them is file
    # order, not the user's, so a model should not learn it. Needs the interactions' timestamps (fit's train_times).
    shuffle_within_seconds: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"TrainConfig.label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if self.future_targets < 1:
            raise ValueError(f"TrainConfig.future_targets must be at least 1 (1 = next item only), got {self.future_targets!r}")
        if not 0.0 < self.future_decay <= 1.0:
            raise ValueError(f"TrainConfig.future_decay must be in (0, 1], got {self.future_decay!r}")
        if self.shuffle_within_seconds is not None and not self.shuffle_within_seconds >= 0:
            raise ValueError(f"TrainConfig.shuffle_within_seconds must be None or at least 0 seconds, got {self.shuffle_within_seconds!r}")


@dataclass
class TrainReport:
    best_epoch: int  # 1-based epoch whose weights were kept (0: none improved on the initial weights)
    best_valid: dict[str, float]  # validation metrics of the kept weights (seen items excluded)
    epochs_run: int
    epoch_seconds: list[float] = field(default_factory=list)  # training time per epoch, evaluation excluded
    train_seconds: float = 0.0  # wall time of the whole fit, evaluation included
    seconds_to_best: float = 0.0  # wall time until the kept epoch finished
    stopped_by: str = "epochs"  # "epochs" | "patience" | "time"
    losses: list[float] = field(default_factory=list)
    valid_ndcg10: list[float] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def score_users(model: nn.Module, inputs: Sequence[np.ndarray], max_len: int, batch_size: int = 256) -> np.ndarray:
    """Next-item scores for each history: (U, n_items + 1), padding column set to -inf."""
    was_training = model.training
    model.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            chunks.append(model.score_all(pad_left(inputs[start : start + batch_size], max_len)).numpy())
    model.train(was_training)
    scores = np.concatenate(chunks).astype(np.float64)
    scores[:, 0] = -np.inf
    return scores


def mask_seen(scores: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
    """A copy of scores with each user's history items set to -inf."""
    out = scores.copy()
    for row, seen in enumerate(histories):
        out[row, seen] = -np.inf
    return out


def evaluate_scores(scores: np.ndarray, data: EvalSet, exclude_seen: bool, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    if exclude_seen:
        scores = mask_seen(scores, data.inputs)
    return metrics_from_ranks(target_ranks(scores, data.targets), ks)


def _training_pairs(seqs: Sequence[np.ndarray], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs s[:-1] and shifted targets s[1:], last max_len positions, left-padded (target 0 = ignore)."""
    inputs = pad_left([s[:-1] for s in seqs], max_len)
    targets = pad_left([s[1:] for s in seqs], max_len)
    return inputs, targets


def epoch_windows(seqs: Sequence[np.ndarray], max_len: int, mode: str, rng: np.random.Generator, stride: int = 25) -> list[tuple[np.ndarray, int]]:
    """The training windows of one epoch: (items, n) with at most max_len + 1 items (max_len inputs and
    their shifted targets), the loss falling on the last n targets only."""
    span = max_len + 1
    if mode == "last":
        windows = [s[-span:] for s in seqs]
    elif mode == "random":
        ends = [int(rng.integers(span, len(s) + 1)) if len(s) > span else len(s) for s in seqs]
        windows = [s[max(0, e - span) : e] for s, e in zip(seqs, ends, strict=True)]
    elif mode == "all":
        # windows overlap by one item, so every item after the first is a target exactly once
        windows = [s[max(0, e - span) : e] for s in seqs for e in range(len(s), 1, -max_len)]
    elif mode == "strided":
        if not 1 <= stride <= max_len:
            raise ValueError(f"stride must be between 1 and max_len ({max_len}), got {stride}")
        out = []
        for s in seqs:
            for end in range(len(s), 1, -stride):
                start = max(0, end - span)
                if start == 0:  # the window at the start of the history trains all its remaining targets
                    out.append((s[:end], end - 1))
                    break
                out.append((s[start:end], stride))
        return out
    else:
        raise ValueError(f"unknown windows mode {mode!r}; use 'last', 'random', 'all' or 'strided'")
    return [(w, len(w) - 1) for w in windows]


def sittings(times: np.ndarray, gap: float) -> np.ndarray:
    """Sitting number of each interaction (times in log order, seconds): a new sitting starts wherever the time
    since the previous interaction is more than gap."""
    times = np.asarray(times)
    if len(times) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(times) > gap)])


def shuffle_within(seq: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """seq in a random order inside each group; groups (non-decreasing, one per item) keep their order."""
    return seq[np.lexsort((rng.random(len(seq)), groups))]


def upcoming_targets(targets: torch.Tensor, k: int) -> torch.Tensor:
    """targets (B, L) -> (B, L, k): position j's next k items, targets[:, j + i] (0 past the window's end)."""
    length = targets.shape[1]
    ahead = torch.zeros((*targets.shape, k), dtype=targets.dtype)
    for i in range(k):
        ahead[:, : length - i, i] = targets[:, i:]
    return ahead


def mixed_target_loss(logits: torch.Tensor, ahead: torch.Tensor, decay: float, label_smoothing: float) -> torch.Tensor:
    """Cross-entropy of N trained positions: logits (N, V), ahead (N, k) their upcoming items (0 = none; the
    first is always present). The target mixes the present items, the i-th weighted decay ** i before
    renormalising; label smoothing then spreads its share over all V columns, as in F.cross_entropy."""
    if ahead.shape[1] == 1:
        return F.cross_entropy(logits, ahead[:, 0], label_smoothing=label_smoothing)
    logp = logits.log_softmax(dim=-1)
    present = ahead > 0
    weights = decay ** torch.arange(ahead.shape[1], dtype=logp.dtype) * present.to(logp.dtype)  # (N, k)
    nll = -logp.gather(-1, ahead)  # (N, k)
    # where, not a product: a model may score the padding column -inf, and 0 * inf is nan
    loss = torch.where(present, weights * nll, 0.0).sum(-1) / weights.sum(-1)
    if label_smoothing > 0:
        loss = (1.0 - label_smoothing) * loss - label_smoothing * logp.mean(dim=-1)
    return loss.mean()


def next_items_loss(logits: torch.Tensor, targets: torch.Tensor, k: int, decay: float, label_smoothing: float) -> torch.Tensor:
    """Cross-entropy over all items at every position whose target is not 0 (padding or no loss).

    logits (B, L, V); targets (B, L), targets[:, j] the item after input j. With k == 1 this is plain next-item
    cross-entropy. With k > 1 position j's target distribution mixes the items at targets[:, j .. j + k - 1]
    (those that exist); see mixed_target_loss. Training calls that directly on the trained positions' logits
    alone (position_loss), which is the same loss without scoring every item at positions that carry none.
    """
    trained = targets > 0
    return mixed_target_loss(logits[trained], upcoming_targets(targets, k)[trained], decay, label_smoothing)


def position_loss(model: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """The training loss from hidden states (B, L, D): item scores only where a target is (in strided windows
    half the positions carry no loss, and scoring all items there was half of the logits' cost)."""
    trained = targets > 0
    ahead = upcoming_targets(targets, cfg.future_targets)[trained]  # (N, k)
    return mixed_target_loss(model.logits(hidden[trained]), ahead, cfg.future_decay, cfg.label_smoothing)


def fit(
    model: nn.Module,
    train: Sequence[np.ndarray],
    valid: EvalSet | None,
    max_len: int,
    cfg: TrainConfig,
    progress: bool = True,
    train_times: Sequence[np.ndarray] | None = None,
) -> TrainReport:
    """Train in place; keeps the weights of the best validation epoch (the last one if valid is None).
    train_times: each training sequence's timestamps, needed only when cfg.shuffle_within_seconds is set."""
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    keep = [i for i, s in enumerate(train) if len(s) >= 2]
    seqs = [train[i] for i in keep]
    groups = None if cfg.shuffle_within_seconds is None else _sitting_groups(train, train_times, keep, cfg.shuffle_within_seconds)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    report = TrainReport(best_epoch=0, best_valid={}, epochs_run=0)
    best_state = copy.deepcopy(model.state_dict())
    best_score = -1.0
    started = time.perf_counter()
    bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {type(model).__name__}", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        total, n_batches = 0.0, 0
        epoch_seqs = seqs if groups is None else [shuffle_within(s, g, rng) for s, g in zip(seqs, groups, strict=True)]
        windows = epoch_windows(epoch_seqs, max_len, cfg.windows, rng, cfg.stride)
        order = rng.permutation(len(windows))
        for start in range(0, len(order), cfg.batch_size):
            batch = [windows[i] for i in order[start : start + cfg.batch_size]]
            inputs, targets = _training_pairs([w for w, _ in batch], max_len)
            # targets are left-padded to the batch's width: column j carries loss iff j >= width - n
            width = targets.shape[1]
            n_loss = torch.as_tensor([n for _, n in batch])
            targets = targets.masked_fill(torch.arange(width)[None] < (width - n_loss)[:, None], 0)
            loss = position_loss(model, model(inputs), targets, cfg)  # hidden (B, L, D)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            n_batches += 1
        report.epoch_seconds.append(time.perf_counter() - t0)
        report.losses.append(total / max(n_batches, 1))
        report.epochs_run = epoch
        if valid is None:
            best_state, report.best_epoch = None, epoch
        else:
            metrics = evaluate_scores(score_users(model, valid.inputs, max_len), valid, exclude_seen=True)
            report.valid_ndcg10.append(metrics["ndcg@10"])
            if metrics["ndcg@10"] > best_score:
                best_score, report.best_epoch, report.best_valid = metrics["ndcg@10"], epoch, metrics
                best_state = copy.deepcopy(model.state_dict())
                report.seconds_to_best = time.perf_counter() - started
            bar.set_postfix(loss=f"{report.losses[-1]:.3f}", ndcg10=f"{metrics['ndcg@10']:.4f}", best=report.best_epoch)
            if epoch - report.best_epoch >= cfg.patience:
                report.stopped_by = "patience"
                break
        if cfg.max_minutes is not None and time.perf_counter() - started > cfg.max_minutes * 60:
            report.stopped_by = "time"
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    report.train_seconds = time.perf_counter() - started
    if valid is None:
        report.seconds_to_best = report.train_seconds
    log.info(
        "%s: best epoch %d of %d (%s), valid ndcg@10 %.4f, %.1f s",
        type(model).__name__,
        report.best_epoch,
        report.epochs_run,
        report.stopped_by,
        best_score,
        report.train_seconds,
    )
    return report


def _sitting_groups(train: Sequence[np.ndarray], times: Sequence[np.ndarray] | None, keep: list[int], gap: float) -> list[np.ndarray]:
    if times is None or len(times) != len(train) or any(len(times[i]) != len(train[i]) for i in keep):
        raise ValueError(
            "TrainConfig.shuffle_within_seconds needs train_times: one timestamp per item of every training sequence "
            "(pass split.train_times, or set shuffle_within_seconds=None)"
        )
    return [sittings(times[i], gap) for i in keep]
