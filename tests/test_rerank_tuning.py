"""Rec-tuning of the reranker: the tuning data never holds a user's validation or test item, a tuned adapter
round-trips through its saved form and changes the scores, the yes/no verbalizer and the validation choice."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agents.llm.lora import TuneConfig, read_adapter_meta, save_adapter, tune
from agents.llm.tune import HeadCase, choose, decide, fused, ndcg10, verdict_line
from data.errors import MissingArtifact
from tools.reranker import rerank
from tools.reranker.tuning_data import N_CANDIDATES, build_examples, held_out_items, sasrec_head, split_users


@pytest.fixture(scope="module")
def seqrec(settings, ml100k):
    from tools.seqrec import load_seqrec

    return load_seqrec(settings.artifacts_dir, ml100k, "sasrec")


@pytest.fixture(scope="module")
def examples(ml100k, seqrec):
    users, _ = split_users(ml100k, 300, 0, seed=3)
    return build_examples(ml100k, users, sasrec_head(seqrec), moments_per_user=2, seed=3)


def test_tuning_data_never_holds_a_users_validation_or_test_item(ml100k, examples):
    held = held_out_items(ml100k)
    train = ml100k.sequences("train")
    assert len(examples) == 600  # 2 moments for each of 300 users, all long enough
    for e in examples:
        assert not held[e.user] & ({e.positive} | set(e.history) | set(e.candidates)), e
        seq = [int(i) for i in train[e.user]]
        # the positive is a train item and the history is exactly what came before it
        t = seq.index(e.positive)
        assert list(e.history) == seq[:t]
        assert len(set(e.candidates)) == N_CANDIDATES and e.candidates[e.label] == e.positive
        assert not set(e.candidates) - {e.positive} & set(seq)  # no negative the user has seen


def test_hard_examples_take_sasrecs_head_as_negatives(ml100k, examples, seqrec):
    hard = [e for e in examples if e.negatives == "sasrec"]
    easy = [e for e in examples if e.negatives == "random"]
    assert 0.35 < len(hard) / len(examples) < 0.65 and easy
    e = hard[0]
    held, seen = held_out_items(ml100k)[e.user], set(int(i) for i in ml100k.sequences("train")[e.user])
    head = [int(i) for i, _ in seqrec.recommend(list(e.history), k=N_CANDIDATES + 5, exclude=seen | held).items]
    assert set(e.candidates) - {e.positive} == set([i for i in head if i != e.positive][: N_CANDIDATES - 1])


def test_users_for_tuning_and_stopping_are_disjoint(ml100k):
    tune_users, stop_users = split_users(ml100k, 100, 40, seed=0)
    assert len(tune_users) == 100 and len(stop_users) == 40 and not set(tune_users) & set(stop_users)


class YesNoScorer:
    """Scripted: answers Yes (log-odds +2) for titles containing 'Alien', No otherwise; the question tokens
    it adds to both answers must cancel."""

    name = "scripted"
    supports_scoring = True

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str], bool]] = []

    def score(self, prompts: Sequence[str], continuations: Sequence[str], normalise: bool = True) -> list[float]:
        self.calls.append((list(prompts), list(continuations), normalise))
        out = []
        for c in continuations:
            shared = -float(len(c))  # the question's own log-probability: the same for both answers
            yes = 2.0 if "Alien" in c else -2.0
            out.append(shared + (yes if c.endswith(" Yes") else 0.0))
        return out


def test_yesno_orders_by_the_answer_log_odds_in_one_call():
    scorer = YesNoScorer()
    cands = [(1, "Heat (1995)"), (2, "Alien (1979)"), (3, "Fargo (1996)"), (4, "Aliens (1986)")]
    res = rerank(["Star Wars (1977)"], None, cands, scorer, method="yesno")
    assert res.method == "yesno" and res.ids[:2] == [2, 4] and sorted(res.ids) == [1, 2, 3, 4]
    (prompts, conts, normalise), *rest = scorer.calls
    assert not rest and not normalise and len(conts) == 8
    assert prompts[0] == "A user watched Star Wars (1977)."
    assert conts[:2] == [" Will they enjoy Heat (1995)? Answer: Yes", " Will they enjoy Heat (1995)? Answer: No"]


def test_fusion_weight_zero_is_sasrec_and_one_is_the_model():
    head = [10, 20, 30, 40]
    scores = [0.0, 0.1, 0.9, 0.5]
    assert fused(head, scores, 0.0) == head
    assert fused(head, scores, 1.0) == [30, 40, 20, 10]
    assert fused(head, scores, 0.5)[0] in (10, 30)


def test_choice_needs_to_beat_sasrecs_order():
    # the model ranks the target first in the first case; SASRec ranks it 3rd; the second head misses it
    cases = [HeadCase(1, (5,), 30, (10, 20, 30, 40)), HeadCase(2, (5,), 99, (10, 20, 30, 40))]
    good = choose(cases, {"tuned likelihood": [[0.0, 0.0, 1.0, 0.0], None]})
    assert good["sasrec_ndcg10"] == pytest.approx(ndcg10([10, 20, 30], 30) / 2)
    assert good["wins"] and good["best"]["ndcg10"] == pytest.approx(0.5) and good["head_hit_rate"] == 0.5
    bad = choose(cases, {"tuned likelihood": [[0.0, 0.0, -1.0, 0.0], None]})
    assert not bad["wins"]
    w = good["best"]["weight"]  # the lowest weight at which the model's pick leads
    assert decide(good) == {"method": "likelihood", "weight": w, "kept_method": "likelihood", "kept_weight": w, "use_in_product": True}
    assert decide(bad)["use_in_product"] is False and decide(bad)["method"] is None and decide(bad)["kept_method"] == "likelihood"


def test_an_untuned_order_that_wins_is_reported_and_the_product_rests_on_the_best_tuned_one():
    cases = [HeadCase(1, (5,), 30, (10, 20, 30, 40)), HeadCase(2, (5,), 99, (10, 20, 30, 40))]
    scored = {"untuned likelihood (calibrated)": [[0.0, 0.0, 1.0, 0.0], None], "tuned yesno": [[0.0, 0.0, -1.0, 0.0], None]}
    result = choose(cases, scored)
    assert result["wins"] and result["best"]["scorer"].startswith("untuned")
    decision = decide(result)
    assert decision["use_in_product"] is False and decision["kept_method"] == "yesno"
    line = verdict_line(result, decision)
    assert "best overall untuned likelihood (calibrated)" in line and "Best tuned: tuned yesno" in line
    assert "untuned model beats SASRec's order" in line and line.endswith("Product reranker: off.")


@pytest.mark.timeout(900)
def test_a_saved_adapter_round_trips_and_changes_the_scores(settings, ml100k, examples, tmp_path):
    """A few real LoRA steps on the embedded model; the adapter saved in peft's format, loaded and merged by
    the embedded backend, scores as the in-memory tuned model does, and not as the untuned one."""
    from agents.llm.embedded import require_converted
    from agents.llm.hf import HFBackend
    from agents.llm.lora import copy_backend_with
    from tools.reranker.likelihood import score_candidates

    def label(i: int) -> str:
        return ml100k.catalog.get(i).label

    probe = examples[100]
    hist, titles = [label(i) for i in probe.history][-10:], [label(i) for i in probe.candidates]
    base = HFBackend(require_converted(settings.artifacts_dir), name="embedded", device="cpu", threads=1)
    before = score_candidates(base, hist, None, titles, calibrate=False).raw
    config = TuneConfig(method="likelihood", lr=5e-3, accumulate=1, epochs=1, eval_every=1000, keep="last", max_history=10)
    model, report = tune(base, examples[:3], examples[3:5], label, config, progress=False)
    assert report.examples_seen == 3 and report.steps == 3 and 0 < report.trainable_params < 1_000_000
    tuned_in_memory = score_candidates(copy_backend_with(base, model), hist, None, titles, calibrate=False).raw
    path = save_adapter(model, tmp_path / "adapter", ml100k.version, config, report)
    assert (path / "adapter_model.safetensors").stat().st_size < 4_000_000  # a small adapter
    loaded = HFBackend(require_converted(settings.artifacts_dir), name="embedded-tuned", device="cpu", threads=1, adapter=path)
    after = score_candidates(loaded, hist, None, titles, calibrate=False).raw
    assert after == pytest.approx(tuned_in_memory, abs=2e-3)
    assert max(abs(a - b) for a, b in zip(after, before, strict=True)) > 0.01
    assert read_adapter_meta(path, ml100k.version)["config"]["method"] == "likelihood"
    with pytest.raises(MissingArtifact, match=r"tuned on dataset version .* run `python -m agents.llm.tune`"):
        read_adapter_meta(path, "another-version")
    with pytest.raises(MissingArtifact, match="no tuned reranker adapter"):
        read_adapter_meta(tmp_path / "nothing", ml100k.version)


class TitleScorer:
    """Scripted likelihood: the higher the title's position in `liked`, the higher its score."""

    name = "scripted"
    supports_scoring = True

    def __init__(self, liked: list[str]) -> None:
        self.liked = liked

    def score(self, prompts: Sequence[str], continuations: Sequence[str], normalise: bool = True) -> list[float]:
        return [float(len(self.liked) - self.liked.index(c.strip())) if c.strip() in self.liked else -10.0 for c in continuations]


def test_toolbox_credits_the_items_the_tuned_reranker_moved(ml100k):
    from agents.state import Candidate, Session
    from agents.toolbox import Toolbox
    from agents.tuned_reranker import TunedReranker
    from app.views import source_name

    cat = ml100k.catalog
    head = [50, 181, 172, 1, 127]  # Star Wars, Return of the Jedi, Empire, Toy Story, The Godfather
    backend = TitleScorer([cat.get(127).label, cat.get(1).label])  # the model puts The Godfather, then Toy Story, first
    tools = Toolbox(cat, None, None, reranker=TunedReranker(backend, "likelihood", 1.0))
    session = Session(history=[56, 98])
    session.bus = [Candidate(i, 1.0 / r, "sasrec", r) for r, i in enumerate(head, start=1)]
    trace: list = []
    tools.rerank_candidates(session, trace)
    assert [c.item_id for c in session.bus] == [127, 1, 50, 181, 172]
    assert session.bus[0].source == "reranker:moved from #5 of sasrec"
    assert source_name(session.bus[0].source) == "LLM reranker (was #5 from SASRec (your history))"
    assert trace[-1].tool == "rerank_candidates" and "tuned likelihood" in trace[-1].args["method"]
    # weight 0 keeps the prior order, so nothing is credited to the reranker
    tools.reranker = TunedReranker(backend, "likelihood", 0.0)
    session.bus = [Candidate(i, 1.0 / r, "sasrec", r) for r, i in enumerate(head, start=1)]
    tools.rerank_candidates(session, trace)
    assert [c.item_id for c in session.bus] == head and all(c.source == "sasrec" for c in session.bus)


def test_the_product_follows_the_validation_choice(tmp_path, ml100k):
    import json

    from agents.tuned_reranker import choice_path, load_tuned_reranker

    assert load_tuned_reranker(tmp_path, ml100k) == (None, [])  # never tuned: off, nothing to say
    path = choice_path(tmp_path, ml100k.name)
    path.parent.mkdir(parents=True)
    choice = {"dataset_version": ml100k.version, "use_in_product": False, "method": "likelihood", "weight": 0.5}
    path.write_text(json.dumps(choice))
    assert load_tuned_reranker(tmp_path, ml100k) == (None, [])  # lost on validation: off
    path.write_text(json.dumps({**choice, "use_in_product": True}))
    reranker, notices = load_tuned_reranker(tmp_path, ml100k)  # won, but the adapter is missing
    assert reranker is None and "not ready" in notices[0] and "python -m agents.llm.tune" in notices[0]
    path.write_text(json.dumps({**choice, "use_in_product": True, "dataset_version": "old"}))
    reranker, notices = load_tuned_reranker(tmp_path, ml100k)
    assert reranker is None and "another version" in notices[0]


def test_evaluations_get_the_kept_reranker_or_an_error_naming_the_fix(tmp_path, ml100k):
    import json

    from agents.tuned_reranker import choice_path, load_kept_reranker

    with pytest.raises(MissingArtifact, match=r"python -m agents\.llm\.tune"):
        load_kept_reranker(tmp_path, ml100k)  # never tuned
    path = choice_path(tmp_path, ml100k.name)
    path.parent.mkdir(parents=True)
    choice = {"dataset_version": ml100k.version, "use_in_product": False, "kept_method": None, "kept_weight": None}
    path.write_text(json.dumps(choice))
    with pytest.raises(MissingArtifact, match="kept no adapter"):
        load_kept_reranker(tmp_path, ml100k)
    path.write_text(json.dumps({**choice, "kept_method": "yesno", "kept_weight": 0.2}))
    with pytest.raises(MissingArtifact, match="yesno"):  # kept, though the product does not use it; adapter missing
        load_kept_reranker(tmp_path, ml100k)
    path.write_text(json.dumps({**choice, "dataset_version": "old"}))
    with pytest.raises(MissingArtifact, match="another version"):
        load_kept_reranker(tmp_path, ml100k)


def test_an_evaluation_agent_can_turn_the_reranker_on_or_off_whatever_the_product_chose(ml100k):
    from agents.agent import Agent
    from agents.services import Services
    from agents.toolbox import Toolbox
    from agents.tuned_reranker import TunedReranker
    from data.settings import Settings

    product = TunedReranker(TitleScorer([]), "likelihood", 0.3)
    tools = Toolbox(ml100k.catalog, None, None, reranker=product)
    services = Services(Settings(), ml100k, None, None, None, Agent(ml100k.catalog, None, tools, use_reranker=True))
    kept = services.make_agent("planner")
    assert kept.use_reranker and kept.tools.reranker is product
    off = services.make_agent("planner", reranker=None)
    assert not off.use_reranker and off.tools.reranker is None
    other = TunedReranker(TitleScorer([]), "yesno", 0.1)
    on = services.make_agent("planner", reranker=other)
    assert on.use_reranker and on.tools.reranker is other and services.agent.tools.reranker is product  # shared tools untouched


def test_the_rerank_benchmark_fuses_the_tuned_order_with_sasrecs_even_when_sasrecs_row_is_not_rerun(ml100k):
    from types import SimpleNamespace

    from evals.rerank import Case, run_setting

    cat = ml100k.catalog
    cands = list(range(1, 21))
    sas_order = list(reversed(cands))  # SASRec ranks 20 first ... 1 last

    class Seqrec:
        def recommend(self, history, k, exclude=None, allowed=None):
            return SimpleNamespace(items=[(i, float(-r)) for r, i in enumerate(sas_order) if allowed is None or i in allowed][:k])

    model = TitleScorer([cat.get(i).label for i in cands])  # the model ranks 1 first ... 20 last
    cases = [Case(user=1, history=[50, 181], target=1, candidates=cands, in_head=True)]
    out = run_setting("sasrec-top19", cases, ml100k, None, Seqrec(), 0, 0, 0, methods=("tuned",), tuned={"likelihood": (model, 1.0)})
    assert "sasrec" not in out and {"tuned-likelihood", "fused-likelihood"} <= set(out)
    assert out["tuned-likelihood"]["hr@1_sampled20"] == 1.0  # the model alone puts the target first
    assert out["fused-likelihood"]["hr@1_sampled20"] == 1.0  # weight 1: the fused order is the model's
    out = run_setting("sasrec-top19", cases, ml100k, None, Seqrec(), 0, 0, 0, methods=("tuned",), tuned={"likelihood": (model, 0.0)})
    assert out["fused-likelihood"]["hr@1_sampled20"] == 0.0 and out["fused-likelihood"]["ndcg@10_sampled20"] == 0.0  # SASRec's: last
