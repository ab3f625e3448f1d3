"""The seqrec benchmark's seed summary: only runs of the very configuration reported count."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evals.seqrec import compare, ndcg10_spread, protocol_ranks, sampling_noise_note, seed_spread, time_ties, training_target_note
from evals.seqrec_ablation import (
    CHOSEN_ON,
    REPLACED,
    VARIANTS,
    default_change_note,
    render,
    reusable,
    seed_list,
    seen_share,
    selected_variants,
    selection_note,
    shifted_split,
    table_order,
    unselected_runs,
    variant_configs,
)
from tools.seqrec.data import EvalSet, ItemIndex, SplitData

CONFIG = {"n_items": 1682, "max_len": 50, "norm": "post"}
TRAIN = {"windows": "strided", "stride": 25, "seed": 2020, "max_minutes": 4.0}


def _run(seed: int, left_in: float, **train: object) -> dict:
    return {"seed": seed, "config": CONFIG, "train_config": {**TRAIN, "seed": seed, "max_minutes": None, **train}, "test": {"left_in": left_in}}


def test_seed_spread_uses_only_matching_runs_and_judges_the_mean(tmp_path: Path):
    path = tmp_path / "seqrec_ablation.json"
    runs = [_run(2020, 0.060), _run(2021, 0.070), _run(2022, 0.080), _run(2020, 0.5, windows="all")]
    path.write_text(json.dumps({"runs": runs}))
    models = {"sasrec": {"config": CONFIG, "train_config": TRAIN}}
    spread = seed_spread(models, {"sasrec": {"test_ndcg10": 0.0609}}, path)
    assert spread is not None
    assert spread["seeds"] == [2020, 2021, 2022]  # the "all" windows run is another configuration
    assert spread["mean"] == pytest.approx(0.070) and spread["sd"] == pytest.approx(0.010)
    assert spread["ratio"] == pytest.approx(0.070 / 0.0609) and spread["met"] is True  # 0.070 >= 1.10 x 0.0609
    lower = seed_spread(models, {"sasrec": {"test_ndcg10": 0.0640}}, path)
    assert lower is not None and lower["met"] is False
    assert seed_spread(models, {"sasrec": {"test_ndcg10": 0.0609}}, tmp_path / "missing.json") is None


def test_seen_share_counts_history_items_in_the_top_k():
    scores = np.array([[0.0, 5, 4, 3, 2, 1], [0.0, 1, 4, 3, 2, 5]])  # column 0 is padding
    # user 0's top 2 are items 1 and 2, both seen; user 1's top 2 are items 5 and 2, only 5 seen
    assert seen_share(scores, [np.array([1, 2]), np.array([1, 5])], k=2) == pytest.approx(0.75)


def test_ablation_reuses_only_a_run_of_the_same_configuration_and_seed():
    # A run recorded before TrainConfig had label_smoothing: its train_config lacks the field, so it is a run
    # without smoothing and may stand for the "post-norm, strided windows" row, never for the smoothed default.
    plain = "post-norm, strided windows"
    default = "post-norm, strided windows, label smoothing 0.1, next 2 items, ratings within 10 s shuffled (default)"
    assert plain in VARIANTS and default in VARIANTS
    config, train_config = variant_configs(plain, 2021, 1682)
    old_train = {k: v for k, v in dataclasses.asdict(train_config).items() if k != "label_smoothing"}
    meta = {"command": "python -m evals.seqrec_ablation", "date": "2026-11-22 10:00 UTC"}
    old_run = {"variant": "post-norm, strided windows (default)", "seed": 2021, "config": config, "train_config": old_train}
    previous = {"meta": meta, "runs": [old_run]}
    run = reusable(previous, plain, 2021, 1682)
    assert run is not None and run["variant"] == plain and run["reused_from"] == meta
    assert run["train_config"]["label_smoothing"] == 0.0
    assert reusable(previous, default, 2021, 1682) is None  # smoothing and the next-items target differ
    # a run recorded before TrainConfig had future_targets stands for the smoothed next-item row only
    smoothed = "post-norm, strided windows, label smoothing 0.1"
    config, train_config = variant_configs(smoothed, 2021, 1682)
    old_smoothed = {k: v for k, v in dataclasses.asdict(train_config).items() if k not in ("future_targets", "future_decay")}
    previous = {"meta": meta, "runs": [{"variant": default, "seed": 2021, "config": config, "train_config": old_smoothed}]}
    assert reusable(previous, smoothed, 2021, 1682) is not None
    assert reusable(previous, default, 2021, 1682) is None
    assert reusable(previous, plain, 2022, 1682) is None  # seed differs
    # a run recorded before TrainConfig had shuffle_within_seconds trained in the log's order: the next-2-items row only
    next2 = "post-norm, strided windows, label smoothing 0.1, next 2 items"
    config, train_config = variant_configs(next2, 2021, 1682)
    assert train_config.shuffle_within_seconds is None and variant_configs(default, 2021, 1682)[1].shuffle_within_seconds == 10.0
    old_next2 = {k: v for k, v in dataclasses.asdict(train_config).items() if k != "shuffle_within_seconds"}
    previous = {"meta": meta, "runs": [{"variant": f"{next2} (default)", "seed": 2021, "config": config, "train_config": old_next2}]}
    assert reusable(previous, next2, 2021, 1682) is not None
    assert reusable(previous, default, 2021, 1682) is None


def test_ndcg10_spread_separates_the_protocols_and_the_noise_note_is_computed():
    # 400 users, item 1 seen by all and always scored first; the target (item 2) is second, or fourth for half of them
    n = 400
    scores = np.tile(np.array([0.0, 9, 8, 7, 6, 5]), (n, 1))
    scores[n // 2 :, 2] = 5.5  # target below items 3 and 4 for the second half
    data = EvalSet(inputs=[np.array([1])] * n, targets=np.full(n, 2))
    spread = ndcg10_spread(protocol_ranks(scores, data))
    # left in: ranks 2 and 4; excluded (item 1 removed): ranks 1 and 3
    left_in, excluded = (0.5 / np.log2(3) + 0.5 / np.log2(5)), (0.5 + 0.5 / np.log2(4))
    for name, mean in (("seen_left_in", left_in), ("seen_excluded", excluded)):
        assert spread[name]["low"] < mean < spread[name]["high"]
        assert spread[name]["high"] - spread[name]["low"] < 0.1
    result = {
        "n_test_users": n,
        "models": {"sasrec": {"test_ndcg10_bootstrap": {"seen_left_in": {"se": 0.005, "low": 0.05, "high": 0.07}}}},
        "comparison": {"sasrec": {"target_ratio": 1.10, "recbole_test_ndcg10": 0.06, "ours_test_ndcg10_seen_left_in": 0.0625}},
    }
    note = sampling_noise_note(result)
    assert "400 test users" in note and "standard error of 0.0050 (8% of its value)" in note
    assert "asks for 0.0060 more than RecBole's run, about 1.2 such standard errors" in note


def test_time_ties_counts_consecutive_pairs_within_each_user_in_log_order():
    log = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 2],
            "pos": [2, 0, 1, 0, 1, 2],
            "timestamp": [100, 100, 100, 50, 80, 500],  # user 1 (by pos): 100, 100, 100; user 2: gaps 30 s and 420 s
        }
    )
    ties = time_ties(log)
    # user 2's first pair never compares with user 1's last
    assert ties == {"same_second": 0.5, "within_10s": 0.5, "within_60s": 0.75, "pairs": 4}
    note = training_target_note({"future_targets": 2, "future_decay": 0.5, "label_smoothing": 0.1}, ties)
    assert "mixes the next 2 items with weights 1, 0.5" in note and "50% of a user's consecutive ratings share a timestamp" in note
    assert "label smoothing 0.1" in note and "random order" not in note
    shuffled = training_target_note({"future_targets": 2, "future_decay": 0.5, "shuffle_within_seconds": 0.0}, ties)
    assert "rated in the same second are trained in a fresh random order every epoch" in shuffled
    assert shuffled.count("share a timestamp") == 1 and "label smoothing" not in shuffled
    ten = training_target_note({"shuffle_within_seconds": 10.0}, ties)
    assert "rated within 10 s of the previous one are trained in a fresh random order" in ten
    assert "50% of a user's consecutive ratings share a timestamp, 50% come within 10 s and 75% come within a minute" in ten
    assert training_target_note({"future_targets": 1, "label_smoothing": 0.0}) == "Our SASRec trains on the next item alone, as RecBole's does."


def test_default_change_note_pairs_seeds_and_judges_validation_against_their_spread():
    def run(name: str, seed: int, valid: float, test: float) -> dict:
        return {"variant": name, "seed": seed, "valid": {"excluded": valid, "left_in": valid / 2}, "test": {"excluded": test, "left_in": test / 2}}

    default = "new thing (default)"
    assert REPLACED in VARIANTS
    old = [run(REPLACED, s, v, t) for s, v, t in ((1, 0.130, 0.110), (2, 0.120, 0.100), (3, 0.140, 0.120))]
    new = [run(default, s, v, t) for s, v, t in ((1, 0.131, 0.120), (2, 0.118, 0.110), (3, 0.142, 0.125))]
    result = {"variants": [REPLACED, default], "runs": old + new}
    note = default_change_note(result)
    # validation differences +0.001, -0.002, +0.002: mean +0.0003, within their spread; test +0.010, +0.010, +0.005
    assert "validation, seen excluded +0.0003 (higher on 2 of 3 seeds)" in note
    assert "test, seen excluded +0.0083 (higher on 3 of 3 seeds)" in note and "test, left in +0.0042" in note
    assert "the difference is within one standard deviation" in note
    big = [run(default, s, v + 0.01, t) for s, v, t in ((1, 0.130, 0.11), (2, 0.121, 0.1), (3, 0.140, 0.12))]
    assert "is beyond one standard deviation" in default_change_note({"variants": [REPLACED, default], "runs": old + big})
    assert default_change_note({"variants": [default], "runs": new}) == ""  # nothing to compare with


def test_shifted_split_moves_the_protocol_two_steps_earlier_and_keeps_times_aligned():
    a, b = np.array([1, 2, 3, 4, 5]), np.array([6, 7])
    split = SplitData(
        ItemIndex.from_ids(range(1, 8)),
        [a, b],
        [np.array([10, 20, 30, 40, 50]), np.array([1, 2])],
        EvalSet([a, b], np.array([6, 1])),
        EvalSet([np.append(a, 6), np.append(b, 1)], np.array([7, 2])),
    )
    shifted = shifted_split(split)
    # user b has 2 training items: nothing would be left to train on, so it is left out
    assert [t.tolist() for t in shifted.train] == [[1, 2, 3]]
    assert [t.tolist() for t in shifted.train_times] == [[10, 20, 30]]
    assert [i.tolist() for i in shifted.valid.inputs] == [[1, 2, 3]] and shifted.valid.targets.tolist() == [4]
    assert [i.tolist() for i in shifted.test.inputs] == [[1, 2, 3, 4]] and shifted.test.targets.tolist() == [5]
    assert split.train[0].tolist() == [1, 2, 3, 4, 5]  # the real split is untouched


def test_variant_numbers_select_rows_in_table_order_and_bad_numbers_say_how_to_fix():
    names = list(VARIANTS)
    assert selected_variants(None) == names
    assert selected_variants([8, 7, 8]) == [names[6], names[7]]
    with pytest.raises(ValueError, match="see --list"):
        selected_variants([0, len(names) + 1])


def test_a_partial_run_keeps_the_other_rows_and_the_table_lists_each_rows_seeds():
    first, second, third = list(VARIANTS)[:3]

    def run(name: str, seed: int, label: str | None = None) -> dict:
        config, train_config = variant_configs(name, seed, 1682)
        return {"variant": label or name, "seed": seed, "config": config, "train_config": dataclasses.asdict(train_config)}

    runs = [run(v, s) for s in (1, 2) for v in (first, second)]
    previous = {"seeds": [1, 2], "runs": runs}
    assert unselected_runs(previous, [(first, 1), (first, 2)], 1682) == [r for r in runs if r["variant"] == second]
    assert unselected_runs(previous, [(first, 2), (first, 3)], 1682) == [r for r in runs if (r["variant"], r["seed"]) != (first, 2)]
    assert unselected_runs({}, [(first, 1)], 1682) == []
    # the same configuration recorded under the row's former name belongs to the task, not kept beside it
    renamed = {"seeds": [1], "runs": [run(first, 1, label=f"{first} (default)"), run(second, 1)]}
    assert unselected_runs(renamed, [(first, 1)], 1682) == [renamed["runs"][1]]
    assert seed_list([2022, 2020, 2021]) == "2020–2022" and seed_list([2020, 2022]) == "2020, 2022" and seed_list([7]) == "7"
    variants, ordered = table_order([{"variant": third, "seed": 1}, {"variant": "retired row", "seed": 1}, *reversed(runs)])
    assert variants == [first, second, third, "retired row"]
    assert [(r["seed"], r["variant"]) for r in ordered][:4] == [(1, first), (1, second), (1, third), (1, "retired row")]


def test_the_shifted_table_says_which_protocol_it_is():
    run = {
        "variant": REPLACED,
        "seed": 2020,
        "valid": {"excluded": 0.13, "left_in": 0.07},
        "test": {"excluded": 0.12, "left_in": 0.06, "seen_share_top10": 0.5},
        "best_epoch": 30,
        "epoch_seconds_median": 5.0,
    }
    meta = {"command": "python -m evals.seqrec_ablation --shift", "machine": "test", "date": "2026-12-01"}
    result = {"meta": meta, "protocol": "shifted", "seeds": [2020], "jobs": 1, "threads": 1, "variants": [REPLACED], "runs": [run]}
    shifted, standard = render(result), render({**result, "protocol": "standard"})
    assert shifted.startswith("## SASRec ablation, shifted protocol") and "second-to-last training item" in shifted
    assert standard.startswith("## SASRec ablation (") and "second-to-last training item" not in standard
    # only the standard table points to the shifted one as where the default was chosen
    assert CHOSEN_ON in standard and CHOSEN_ON not in shifted


def test_selection_note_names_the_row_with_the_highest_mean_validation_figure():
    a, b, c = list(VARIANTS)[:3]
    runs = [
        {"variant": a, "valid": {"excluded": 0.10}},
        {"variant": a, "valid": {"excluded": 0.20}},  # mean 0.15
        {"variant": b, "valid": {"excluded": 0.16}},
        {"variant": b, "valid": {"excluded": 0.12}},  # mean 0.14
        {"variant": c, "valid": {"excluded": 0.19}},  # best single run, not the best mean
        {"variant": c, "valid": {"excluded": 0.09}},
    ]
    note = selection_note({"variants": [a, b, c], "runs": runs})
    assert note.startswith(f"Selection rule (highest mean validation NDCG@10, seen excluded): {a} (0.1500), then {b} (0.1400)")
    assert selection_note({"variants": [a], "runs": runs[:2]}) == ""


def test_a_peer_cut_before_converging_is_reported_but_the_goal_is_not_judged_against_it():
    models = {m: {"test": {"seen_left_in": {"ndcg@10": 0.114}}, "epoch_seconds_median": 100.0} for m in ("sasrec", "gru4rec")}
    peer = {
        "sasrec": {"test_ndcg10": 0.068, "converged": False, "epochs_run": 1, "epoch_seconds": 3689.0},
        "gru4rec": {"test_ndcg10": 0.100, "converged": True, "epochs_run": 40, "epoch_seconds": 900.0},
    }
    c = compare(models, peer)
    assert c["sasrec"]["met"] is None and c["sasrec"]["recbole_figure"] == "NOT converged (1 epochs)"
    assert c["sasrec"]["ratio"] == pytest.approx(0.114 / 0.068)
    assert c["gru4rec"]["met"] is True and c["gru4rec"]["epoch_time_ratio"] == pytest.approx(100 / 900)
