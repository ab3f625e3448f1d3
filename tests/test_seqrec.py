"""seqrec: training overfits a 50-user slice, recommend() masks correctly, checkpoints round-trip or fail clearly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data.dataset import Dataset
from data.errors import MissingArtifact
from tools.seqrec import SeqRecommender, SeqRecResult, load_seqrec
from tools.seqrec.checkpoint import Checkpoint, checkpoint_path, save_checkpoint
from tools.seqrec.data import EvalSet, ItemIndex, popularity_counts, split_data
from tools.seqrec.gru4rec import GRU4Rec, GRU4RecConfig
from tools.seqrec.pipeline import TRAIN_DEFAULTS, default_configs, is_fresh
from tools.seqrec.recommender import NO_HISTORY_NOTE
from tools.seqrec.sasrec import SASRec, SASRecConfig
from tools.seqrec.trainer import (
    TrainConfig,
    epoch_windows,
    evaluate_scores,
    fit,
    next_items_loss,
    position_loss,
    score_users,
    shuffle_within,
    sittings,
)

N_USERS, SEQ_LEN, MAX_LEN = 50, 20, 20


@pytest.fixture(scope="module")
def index(ml100k: Dataset) -> ItemIndex:
    return ItemIndex.from_ids(ml100k.catalog.ids)


@pytest.fixture(scope="module")
def fixture_seqs(ml100k: Dataset, index: ItemIndex) -> list[np.ndarray]:
    """The 50-user fixture: the last 20 train-split items of ML-100K users 1..50, as model indices."""
    seqs = ml100k.sequences("train")
    return [index.encode(seqs[u][-SEQ_LEN:])[0] for u in range(1, N_USERS + 1)]


@pytest.fixture(scope="module")
def fixture_times(ml100k: Dataset) -> list[np.ndarray]:
    """The timestamps of the fixture's items, aligned with fixture_seqs."""
    times = ml100k.sequence_times("train")
    return [times[u][-SEQ_LEN:] for u in range(1, N_USERS + 1)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny batches gain nothing from threads, and on a shared 2-core box threads contend badly."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _overfit(module: torch.nn.Module, seqs: list[np.ndarray], lr: float, epochs: int) -> None:
    cfg = TrainConfig(epochs=epochs, batch_size=N_USERS, lr=lr, max_minutes=None, seed=7)
    fit(module, seqs, valid=None, max_len=MAX_LEN, cfg=cfg, progress=False)


@pytest.fixture(scope="module")
def sasrec(index: ItemIndex, fixture_seqs: list[np.ndarray]) -> SASRec:
    torch.manual_seed(7)
    module = SASRec(SASRecConfig(n_items=index.n_items, max_len=MAX_LEN, hidden=64, n_layers=2, dropout=0.0))
    _overfit(module, fixture_seqs, lr=5e-3, epochs=40)
    return module


@pytest.fixture(scope="module")
def rec(sasrec: SASRec, index: ItemIndex, fixture_seqs: list[np.ndarray]) -> SeqRecommender:
    return SeqRecommender(sasrec, "sasrec", index, popularity_counts(fixture_seqs, index.n_items), MAX_LEN)


def _training_targets(seqs: list[np.ndarray]) -> EvalSet:
    return EvalSet([s[:-1] for s in seqs], np.array([s[-1] for s in seqs]))


def test_sasrec_overfits_the_50_user_fixture(sasrec: SASRec, fixture_seqs: list[np.ndarray]):
    data = _training_targets(fixture_seqs)
    scores = score_users(sasrec, data.inputs, MAX_LEN)
    assert evaluate_scores(scores, data, exclude_seen=True)["hr@10"] == 1.0


def test_pre_norm_sasrec_trained_on_strided_windows_overfits_the_fixture(
    index: ItemIndex, fixture_seqs: list[np.ndarray], fixture_times: list[np.ndarray]
):
    # the other block layout and the strided-window loss mask, through the real trainer: with an 8-item window
    # each 20-item fixture history splits into several windows of different widths; with the product's label
    # smoothing, its next-items target and its shuffling inside sittings, the true next item must still come among
    # the top 10 of all 1,682 (seen items excluded, the other items of its sitting are already in the input)
    torch.manual_seed(7)
    module = SASRec(SASRecConfig(n_items=index.n_items, max_len=8, dropout=0.0, norm="pre"))
    product = {k: TRAIN_DEFAULTS["sasrec"][k] for k in ("label_smoothing", "future_targets", "future_decay", "shuffle_within_seconds")}
    assert product["future_targets"] > 1  # the general loss path, not plain next-item cross-entropy
    assert product["shuffle_within_seconds"] is not None
    cfg = TrainConfig(epochs=40, batch_size=N_USERS, lr=5e-3, max_minutes=None, seed=7, windows="strided", stride=3, **product)
    fit(module, fixture_seqs, valid=None, max_len=8, cfg=cfg, progress=False, train_times=fixture_times)
    data = _training_targets(fixture_seqs)
    assert evaluate_scores(score_users(module, data.inputs, 8), data, exclude_seen=True)["hr@10"] == 1.0
    with pytest.raises(ValueError, match="norm must be 'pre' or 'post'"):
        SASRecConfig(n_items=index.n_items, norm="sandwich")
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
            TrainConfig(label_smoothing=bad)
    with pytest.raises(ValueError, match="future_targets must be at least 1"):
        TrainConfig(future_targets=0)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match=r"future_decay must be in \(0, 1\]"):
            TrainConfig(future_decay=bad)


def test_sittings_start_where_the_gap_exceeds_the_threshold():
    times = np.array([100, 100, 105, 200, 200, 261])
    assert sittings(times, 0).tolist() == [0, 0, 1, 2, 2, 3]
    assert sittings(times, 60).tolist() == [0, 0, 0, 1, 1, 2]  # 61 s is over the gap, 60 s would not be
    assert sittings(np.array([], dtype=np.int64), 0).tolist() == []


def test_shuffle_within_reorders_inside_sittings_only():
    seq = np.arange(10, 20)
    groups = np.array([0, 0, 0, 1, 2, 2, 3, 3, 3, 3])
    rng = np.random.default_rng(0)
    firsts = set()
    for _ in range(50):
        out = shuffle_within(seq, groups, rng)
        # every sitting keeps its items and its place; a one-item sitting never moves
        for g in np.unique(groups):
            assert sorted(out[groups == g].tolist()) == seq[groups == g].tolist()
        assert out[3] == 13
        firsts.add(tuple(out[:3].tolist()))
    assert len(firsts) == 6  # all 3! orders of the first sitting were drawn


def test_shuffling_inside_sittings_needs_aligned_timestamps(index: ItemIndex, fixture_seqs: list[np.ndarray], fixture_times: list[np.ndarray]):
    module = SASRec(SASRecConfig(n_items=index.n_items, max_len=8))
    cfg = TrainConfig(epochs=1, batch_size=N_USERS, max_minutes=None, shuffle_within_seconds=0.0)
    with pytest.raises(ValueError, match="needs train_times"):
        fit(module, fixture_seqs, valid=None, max_len=8, cfg=cfg, progress=False)
    with pytest.raises(ValueError, match="needs train_times"):
        fit(module, fixture_seqs, valid=None, max_len=8, cfg=cfg, progress=False, train_times=[t[1:] for t in fixture_times])
    with pytest.raises(ValueError, match="shuffle_within_seconds must be None or at least 0"):
        TrainConfig(shuffle_within_seconds=-1.0)


def test_split_keeps_each_training_item_with_its_timestamp(ml100k: Dataset):
    split = split_data(ml100k)
    assert len(split.train_times) == len(split.train)
    inter = ml100k.interactions
    first = inter[(inter["user_id"] == 1) & (inter["split"] == "train")]
    assert split.index.decode(split.train[0]).tolist() == first["item_id"].tolist()
    assert split.train_times[0].tolist() == first["timestamp"].tolist()
    assert all(len(t) == len(s) and np.all(np.diff(t) >= 0) for s, t in zip(split.train, split.train_times, strict=True))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_training_loss_scores_only_positions_with_a_target_and_equals_the_full_loss(k: int):
    """position_loss skips item scores where no loss falls (half of a strided window); loss and gradients
    must equal those of scoring every position."""
    torch.manual_seed(0)
    model = SASRec(SASRecConfig(n_items=30, max_len=8, hidden=16, n_layers=1, dropout=0.0))
    inputs = torch.randint(1, 31, (5, 8))
    targets = torch.randint(1, 31, (5, 8))
    targets[:, :4] = 0  # strided: the loss falls on the last 4 positions only
    targets[0, :6] = 0  # and a shorter window
    cfg = TrainConfig(future_targets=k, future_decay=0.5, label_smoothing=0.1)
    fast = position_loss(model, model(inputs), targets, cfg)
    (g_fast,) = torch.autograd.grad(fast, model.item_emb.weight)
    full = next_items_loss(model.logits(model(inputs)), targets, k, 0.5, 0.1)
    (g_full,) = torch.autograd.grad(full, model.item_emb.weight)
    assert fast.item() == pytest.approx(full.item(), rel=1e-6)
    assert torch.allclose(g_fast, g_full, atol=1e-7, rtol=1e-5)


def test_next_items_loss_is_cross_entropy_against_the_hand_made_mix_of_upcoming_items():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6)  # 2 windows, 4 positions, 5 items + padding column 0
    # window 0: items 3, 1, 4, 5 follow positions 0..3; window 1 is left-padded and position 1 carries no loss
    targets = torch.tensor([[3, 1, 4, 5], [0, 0, 2, 5]])
    k, decay, smoothing = 3, 0.5, 0.1
    soft = torch.zeros(2, 4, 6)
    # position j mixes the next up-to-3 targets with weights 1, 0.5, 0.25, renormalised where the window ends
    soft[0, 0, [3, 1, 4]] = torch.tensor([1, 0.5, 0.25]) / 1.75
    soft[0, 1, [1, 4, 5]] = torch.tensor([1, 0.5, 0.25]) / 1.75
    soft[0, 2, [4, 5]] = torch.tensor([1, 0.5]) / 1.5
    soft[0, 3, 5] = 1.0
    soft[1, 2, [2, 5]] = torch.tensor([1, 0.5]) / 1.5
    soft[1, 3, 5] = 1.0
    rows = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
    want = torch.stack([F.cross_entropy(logits[b, j], soft[b, j], label_smoothing=smoothing) for b, j in rows]).mean()
    assert next_items_loss(logits, targets, k, decay, smoothing).item() == pytest.approx(want.item(), rel=1e-5)
    # k = 1 is plain next-item cross-entropy, and so is k > 1 where no later item exists
    plain = F.cross_entropy(logits.reshape(-1, 6), targets.reshape(-1), ignore_index=0, label_smoothing=smoothing)
    assert next_items_loss(logits, targets, 1, decay, smoothing).item() == pytest.approx(plain.item(), rel=1e-6)
    last_only = targets.clone()
    last_only[:, :3] = 0
    assert next_items_loss(logits, last_only, k, decay, smoothing).item() == pytest.approx(
        next_items_loss(logits, last_only, 1, decay, smoothing).item(), rel=1e-5
    )


def test_gru4rec_overfits_the_50_user_fixture(index: ItemIndex, fixture_seqs: list[np.ndarray]):
    torch.manual_seed(7)
    module = GRU4Rec(GRU4RecConfig(n_items=index.n_items, max_len=MAX_LEN, dropout=0.0))
    _overfit(module, fixture_seqs, lr=2e-2, epochs=80)
    data = _training_targets(fixture_seqs)
    assert evaluate_scores(score_users(module, data.inputs, MAX_LEN), data, exclude_seen=True)["hr@10"] == 1.0


def test_recommend_never_returns_seen_excluded_or_disallowed(rec: SeqRecommender, ml100k: Dataset):
    history = ml100k.history(1)[:30]
    exclude = [int(i) for i, _ in rec.recommend(history, k=5).items]
    allowed = [i for i in ml100k.catalog.ids if i % 3 == 0]
    res = rec.recommend(history, k=20, exclude=exclude, allowed=allowed)
    assert isinstance(res, SeqRecResult)
    assert res.method == "sasrec" and res.note == ""
    ids = [i for i, _ in res.items]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert not set(ids) & set(history)
    assert not set(ids) & set(exclude)
    assert set(ids) <= set(allowed)
    scores = [s for _, s in res.items]
    assert scores == sorted(scores, reverse=True)


def test_recommend_with_a_small_allowed_set_returns_only_those(rec: SeqRecommender, ml100k: Dataset):
    history = ml100k.history(2)[:10]
    allowed = [history[0], 50, 100, 181]  # one of them already seen
    res = rec.recommend(history, k=10, allowed=allowed)
    assert {i for i, _ in res.items} == {50, 100, 181} - set(history)


def test_empty_history_falls_back_to_popularity_with_a_note(rec: SeqRecommender, fixture_seqs: list[np.ndarray], index: ItemIndex):
    res = rec.recommend([], k=5)
    assert res.method == "popularity"
    assert res.note == NO_HISTORY_NOTE
    counts = popularity_counts(fixture_seqs, index.n_items)
    expected = index.decode(np.argsort(-counts[1:], kind="stable")[:5] + 1).tolist()
    assert [i for i, _ in res.items] == expected
    pop = rec.popularity.recommend([int(index.item_ids[0])], k=3)
    assert pop.method == "popularity" and int(index.item_ids[0]) not in [i for i, _ in pop.items]


def test_unknown_history_ids_are_ignored_with_a_note(rec: SeqRecommender, ml100k: Dataset):
    history = ml100k.history(3)[:10]
    plain = rec.recommend(history, k=10)
    noisy = rec.recommend([999_999, *history, -4], k=10)
    assert [i for i, _ in noisy.items] == [i for i, _ in plain.items]
    assert "999999" in noisy.note and "-4" in noisy.note and noisy.method == "sasrec"
    only_unknown = rec.recommend([999_999], k=3)
    assert only_unknown.method == "popularity" and NO_HISTORY_NOTE in only_unknown.note


def _checkpoint(module: torch.nn.Module, model: str, ml100k: Dataset, index: ItemIndex, seqs: list[np.ndarray]) -> Checkpoint:
    return Checkpoint(
        model=model,
        config=dataclasses.asdict(module.cfg),
        train_config=dataclasses.asdict(TrainConfig()),
        dataset=ml100k.name,
        dataset_version=ml100k.version,
        item_ids=index.item_ids,
        popularity=popularity_counts(seqs, index.n_items),
        state_dict=module.state_dict(),
    )


def test_checkpoint_round_trip_gives_identical_scores(
    tmp_path: Path, sasrec: SASRec, rec: SeqRecommender, ml100k: Dataset, index: ItemIndex, fixture_seqs: list[np.ndarray]
):
    save_checkpoint(checkpoint_path(tmp_path, ml100k.name, "sasrec"), _checkpoint(sasrec, "sasrec", ml100k, index, fixture_seqs))
    loaded = load_seqrec(tmp_path, ml100k, "sasrec")
    for user in (1, 2, 3):
        history = ml100k.history(user)[:25]
        assert loaded.recommend(history, k=20).items == rec.recommend(history, k=20).items
        idx = index.encode(history)[0]
        np.testing.assert_array_equal(loaded.scores(idx), rec.scores(idx))


def test_missing_checkpoint_says_how_to_train(tmp_path: Path, ml100k: Dataset):
    with pytest.raises(MissingArtifact, match=r"python -m tools\.seqrec\.train --model gru4rec"):
        load_seqrec(tmp_path, ml100k, "gru4rec")


def test_corrupt_checkpoint_says_to_retrain(tmp_path: Path, ml100k: Dataset):
    path = checkpoint_path(tmp_path, ml100k.name, "sasrec")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(MissingArtifact, match=r"corrupt.*retrain.*python -m tools\.seqrec\.train --model sasrec"):
        load_seqrec(tmp_path, ml100k, "sasrec")


def test_mismatched_checkpoint_says_to_retrain(tmp_path: Path, sasrec: SASRec, ml100k: Dataset, index: ItemIndex, fixture_seqs: list[np.ndarray]):
    path = checkpoint_path(tmp_path, ml100k.name, "sasrec")
    ckpt = _checkpoint(sasrec, "sasrec", ml100k, index, fixture_seqs)
    save_checkpoint(path, dataclasses.replace(ckpt, dataset_version="an-older-version"))
    with pytest.raises(MissingArtifact, match=r"an-older-version.*retrain"):
        load_seqrec(tmp_path, ml100k, "sasrec")
    save_checkpoint(path, dataclasses.replace(ckpt, config={**ckpt.config, "hidden": 32}))  # weights no longer fit the config
    with pytest.raises(MissingArtifact, match=r"does not match.*retrain"):
        load_seqrec(tmp_path, ml100k, "sasrec")
    save_checkpoint(path, dataclasses.replace(ckpt, model="gru4rec"))
    with pytest.raises(MissingArtifact, match=r"gru4rec.*retrain"):
        load_seqrec(tmp_path, ml100k, "sasrec")


def test_if_stale_check_accepts_only_the_current_version_and_config(
    tmp_path: Path, ml100k: Dataset, index: ItemIndex, fixture_seqs: list[np.ndarray]
):
    config, train_config = default_configs("gru4rec", index.n_items, seed=2020)
    module = GRU4Rec(GRU4RecConfig(**config))
    ckpt = dataclasses.replace(_checkpoint(module, "gru4rec", ml100k, index, fixture_seqs), train_config=dataclasses.asdict(train_config))
    path = checkpoint_path(tmp_path, ml100k.name, "gru4rec")
    assert not is_fresh(tmp_path, ml100k, "gru4rec", seed=2020)
    save_checkpoint(path, ckpt)
    assert is_fresh(tmp_path, ml100k, "gru4rec", seed=2020)
    assert not is_fresh(tmp_path, ml100k, "gru4rec", seed=1)
    save_checkpoint(path, dataclasses.replace(ckpt, dataset_version="old"))
    assert not is_fresh(tmp_path, ml100k, "gru4rec", seed=2020)


def test_ml1m_has_its_own_time_guards_and_other_settings_stay():
    """ML-1M epochs take ~10x longer; only the wall-clock guard differs from ML-100K's training settings."""
    for model in ("sasrec", "gru4rec"):
        small_cfg, small = default_configs(model, 1682, seed=1)
        big_cfg, big = default_configs(model, 3883, seed=1, dataset="ml-1m")
        assert big.max_minutes > small.max_minutes
        assert dataclasses.replace(big, max_minutes=small.max_minutes) == small
        assert {k: v for k, v in big_cfg.items() if k != "n_items"} == {k: v for k, v in small_cfg.items() if k != "n_items"}


def _loss_targets(windows: list[tuple[np.ndarray, int]]) -> list[tuple[int, int]]:
    """(target item, number of items before it inside its window) for every position that carries loss."""
    return [(int(w[j]), j) for w, n in windows for j in range(len(w) - n, len(w))]


def test_epoch_windows_cover_long_sequences_as_each_mode_promises():
    rng = np.random.default_rng(0)
    seq = np.arange(1, 131)  # 130 items, max_len 50: windows of up to 51
    last = epoch_windows([seq], 50, "last", rng)
    assert len(last) == 1 and list(last[0][0]) == list(range(80, 131)) and last[0][1] == 50
    windows = epoch_windows([seq], 50, "all", rng)
    assert sorted(t for t, _ in _loss_targets(windows)) == list(range(2, 131))  # every item after the first, once
    assert all(len(w) <= 51 for w, _ in windows)
    randoms = epoch_windows([seq] * 200, 50, "random", rng)
    assert all(len(w) == 51 and w[-1] - w[0] == 50 for w, _ in randoms)
    assert min(int(w[-1]) for w, _ in randoms) < 100  # older parts of the history get trained on too
    with pytest.raises(ValueError, match="unknown windows mode"):
        epoch_windows([seq], 50, "sometimes", rng)


@pytest.mark.parametrize("length", [2, 30, 51, 52, 77, 130])
def test_strided_windows_train_each_target_once_with_a_long_context(length: int):
    seq = np.arange(1, length + 1)
    windows = epoch_windows([seq], 50, "strided", np.random.default_rng(0), stride=10)
    targets = _loss_targets(windows)
    assert sorted(t for t, _ in targets) == list(range(2, length + 1))  # each target carries loss exactly once
    # every target reads its whole past or at least max_len - stride + 1 items of it ("all" windows give some only 1)
    assert all(context >= min(t - 1, 41) for t, context in targets)
    with pytest.raises(ValueError, match="stride must be between 1 and max_len"):
        epoch_windows([seq], 50, "strided", np.random.default_rng(0), stride=0)


def test_a_model_cut_by_the_time_guard_is_reported_and_one_stopped_by_validation_is_not():
    from tools.seqrec import training_caveat

    cut = {"stopped_by": "time", "epochs_run": 19, "best_epoch": 19, "best_valid": {"ndcg@10": 0.1286}}
    text = training_caveat(cut, "sasrec")
    assert "time guard" in text and "19 epochs" in text and "0.1286" in text and "python -m tools.seqrec.train --model sasrec" in text
    assert training_caveat({**cut, "stopped_by": "patience"}, "sasrec") == ""
    assert training_caveat({}, "sasrec") == ""
