"""Likelihood reranking (LMRecSys): score each candidate title by its length-normalised log-probability
after "A user watched A, B, C. Next they will watch:", in one batched pass, with context calibration:
subtract each title's score under a content-free prompt, so titles the model finds likely anyway
(short, common words) do not win by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tools.reranker.protocols import ScoringModel

CONTENT_FREE = "N/A"


def history_prompt(history_titles: Sequence[str], request: str | None = None) -> str:
    watched = ", ".join(history_titles) if history_titles else CONTENT_FREE
    prompt = f"A user watched {watched}."
    if request:
        prompt += f" They ask for: {request.strip()}."
    return prompt + " Next they will watch:"


@dataclass
class LikelihoodScores:
    raw: list[float]  # mean log-prob per token of each title given the history prompt
    content_free: list[float] | None  # the same under the content-free prompt (None when not calibrating)

    def final(self) -> list[float]:
        if self.content_free is None:
            return self.raw
        return [r - c for r, c in zip(self.raw, self.content_free, strict=True)]


def score_candidates(
    backend: ScoringModel, history_titles: Sequence[str], request: str | None, titles: Sequence[str], calibrate: bool = True
) -> LikelihoodScores:
    """One batched scoring call: N history prompts (+ N content-free prompts when calibrating)."""
    prompt = history_prompt(history_titles, request)
    conts = [" " + t for t in titles]  # a leading space: the title continues the sentence as its own word
    prompts = [prompt] * len(titles)
    if calibrate:
        prompts += [history_prompt([CONTENT_FREE])] * len(titles)
        conts = conts + conts
    scores = backend.score(prompts, conts)
    n = len(titles)
    return LikelihoodScores(raw=scores[:n], content_free=scores[n:] if calibrate else None)
