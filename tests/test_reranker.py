"""The reranker: always a permutation of its input; invented and repeated titles from a scripted chat
backend are dropped; calibration removes a title prior; tools never import agents."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from data.errors import InvalidInput
from tools.reranker import RerankResult, rerank
from tools.reranker.listwise import parse_ranking

CANDS = [
    (10, "Toy Story (1995)"),
    (20, "Heat (1995)"),
    (30, "Return of the Jedi (1983)"),
    (40, "Fargo (1996)"),
    (50, "Good, the Bad and the Ugly, The (1966)"),
]
HISTORY = ["Star Wars (1977)", "The Empire Strikes Back (1980)", "Alien (1979)", "Aliens (1986)"]


@dataclass
class Reply:
    content: str


class ScriptedChat:
    """A chat backend that answers from a function of the prompt (the test double style of simonw/llm)."""

    name = "scripted"
    supports_scoring = False

    def __init__(self, answer) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def chat(self, messages: Sequence, tools: Sequence = (), max_tokens: int = 256, temperature: float = 0.0) -> Reply:
        prompt = messages[-1].content
        self.prompts.append(prompt)
        return Reply(self.answer(prompt))


def shown_titles(prompt: str) -> list[str]:
    return [line.split("] ", 1)[1] for line in prompt.splitlines() if line.startswith("[")]


def test_invented_and_repeated_entries_are_dropped_and_missing_keep_prior_order():
    backend = ScriptedChat(lambda p: "[3] Return of the Jedi (1983)\nThe Matrix (1999)\n[3]\n1. Fargo\n1\n42")
    res = rerank(HISTORY, None, CANDS, backend, method="listwise")
    assert isinstance(res, RerankResult) and res.method == "listwise"
    # Jedi, Fargo (by title), Toy Story (index 1); then Heat and The Good... in their prior order.
    assert res.ids == [30, 40, 10, 20, 50]
    assert "dropped 2 entries the model invented (not among the candidates)" in res.notes  # The Matrix, [42]
    assert "dropped 1 repeated entries" in res.notes
    assert [s for _, s in res.items] == sorted((s for _, s in res.items), reverse=True)


def test_prompt_has_indexed_candidates_recency_note_and_request():
    backend = ScriptedChat(lambda p: "2, 1")
    rerank(HISTORY, "something tense", CANDS, backend, method="listwise")
    prompt = backend.prompts[0]
    assert shown_titles(prompt) == [t for _, t in CANDS]
    assert "The most recent ones matter most: The Empire Strikes Back (1980); Alien (1979); Aliens (1986)." in prompt
    assert "What I want now: something tense" in prompt


def test_titles_with_commas_are_matched_whole():
    parsed = parse_ranking("Good, the Bad and the Ugly, The (1966)\nHeat (1995), Fargo (1996)", [t for _, t in CANDS])
    assert parsed.order == [4, 1, 3] and parsed.invented == 0


def test_output_is_always_a_permutation_whatever_the_model_says():
    rng = random.Random(7)
    words = ["[1]", "[9]", "3", "0", "-2", "Heat", "Fargo (1996)", "Titanic (1997)", "", "banana", "[5] [5]", "Toy Story"]
    for trial in range(200):
        n = rng.randint(2, 12)
        cands = [(1000 + rng.randrange(10_000) * 10 + i, f"Movie {i} ({1990 + i})") for i in range(n)]
        cands[0] = (cands[0][0], "Heat (1995)")
        garbage = "\n".join(", ".join(rng.choices(words + [c[1] for c in cands], k=rng.randint(0, 8))) for _ in range(rng.randint(0, 4)))
        res = rerank(HISTORY, None, cands, ScriptedChat(lambda p, g=garbage: g), method="listwise", bootstrap=trial % 3, seed=trial)
        assert sorted(res.ids) == sorted(i for i, _ in cands), garbage
        assert len(res.items) == n


def test_bootstrap_shuffles_and_aggregates_against_position_bias():
    # A model with pure position bias: it always answers "1, 2, 3, ..." whatever is shown.
    biased = ScriptedChat(lambda p: ", ".join(str(i) for i in range(1, len(shown_titles(p)) + 1)))
    res = rerank(HISTORY, None, CANDS, biased, method="listwise", bootstrap=4, seed=1)
    assert res.method == "listwise-bootstrap4" and len(biased.prompts) == 5
    assert len({tuple(shown_titles(p)) for p in biased.prompts}) > 1  # the candidate order was shuffled

    # A model that really prefers Heat ranks it first in every shuffled pass, so it stays first.
    def heat_first(p: str) -> str:
        shown = shown_titles(p)
        return ", ".join(str(shown.index(t) + 1) for t in sorted(shown, key=lambda t: t != "Heat (1995)"))

    assert rerank(HISTORY, None, CANDS, ScriptedChat(heat_first), method="listwise", bootstrap=4, seed=1).ids[0] == 20


class ScriptedScorer:
    """Scores = a title prior (what the model likes anyway) + a bonus for the sequel when the prompt has a real history."""

    name = "scripted-scorer"
    supports_scoring = True
    prior: ClassVar[dict[str, float]] = {" Toy Story (1995)": -0.5, " Heat (1995)": -2.0, " Return of the Jedi (1983)": -2.2, " Fargo (1996)": -2.5}

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        self.calls.append((list(prompts), list(continuations)))
        return [self.prior.get(c, -3.0) + (1.0 if "Star Wars" in p and "Jedi" in c else 0.0) for p, c in zip(prompts, continuations, strict=True)]


def test_likelihood_is_one_batched_call_and_calibration_removes_the_prior():
    cands = CANDS[:4]
    scorer = ScriptedScorer()
    raw = rerank(HISTORY, None, cands, scorer, method="likelihood", calibrate=False)
    assert raw.method == "likelihood" and raw.ids[0] == 10  # the prior wins uncalibrated
    cal = rerank(HISTORY, None, cands, scorer, method="likelihood", calibrate=True)
    assert cal.method == "likelihood-calibrated" and cal.ids[0] == 30  # the history's signal wins calibrated
    prompts, conts = scorer.calls[-1]
    assert len(scorer.calls) == 2 and len(prompts) == 8  # one call: 4 history prompts + 4 content-free
    assert prompts[0] == "A user watched Star Wars (1977), The Empire Strikes Back (1980), Alien (1979), Aliens (1986). Next they will watch:"
    assert prompts[-1] == "A user watched N/A. Next they will watch:"
    assert conts[:4] == [" " + t for _, t in cands]


def test_bad_inputs_raise_with_a_fix():
    with pytest.raises(InvalidInput, match=r"cannot score.*listwise"):
        rerank(HISTORY, None, CANDS, ScriptedChat(lambda p: ""), method="likelihood")
    with pytest.raises(InvalidInput, match="duplicate candidate ids"):
        rerank(HISTORY, None, [(1, "A"), (1, "B")], ScriptedScorer())
    with pytest.raises(InvalidInput, match="unknown rerank method"):
        rerank(HISTORY, None, CANDS, ScriptedScorer(), method="pointwise")  # type: ignore[arg-type]
    assert rerank(HISTORY, None, [(7, "Heat (1995)")], ScriptedScorer()).ids == [7]


def test_tools_never_import_agents():
    code = "import sys, tools.reranker; bad = [m for m in sys.modules if m.split('.')[0] == 'agents']; assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)
