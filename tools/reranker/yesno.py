"""Yes/no verbalizer (TALLRec): for each candidate, "Will they enjoy <title>? Answer:" after the user's
history, scored by log p(" Yes") - log p(" No"). One batched scoring call: the history is the shared prompt,
each candidate contributes two continuations (the question with " Yes" and with " No"), whose shared question
tokens cancel in the difference, so only the answer token counts."""

from __future__ import annotations

from collections.abc import Sequence

from tools.reranker.protocols import ScoringModel

YES, NO = " Yes", " No"


def yesno_prompt(history_titles: Sequence[str], request: str | None = None) -> str:
    watched = ", ".join(history_titles) if history_titles else "nothing yet"
    prompt = f"A user watched {watched}."
    if request:
        prompt += f" They ask for: {request.strip()}."
    return prompt


def yesno_question(title: str) -> str:
    return f" Will they enjoy {title}? Answer:"


def score_yesno(backend: ScoringModel, history_titles: Sequence[str], request: str | None, titles: Sequence[str]) -> list[float]:
    """Log-odds of " Yes" over " No" for each title (higher: the model expects the user to enjoy it)."""
    prompt = yesno_prompt(history_titles, request)
    conts = [yesno_question(t) + answer for t in titles for answer in (YES, NO)]
    totals = backend.score([prompt] * len(conts), conts, normalise=False)
    return [totals[2 * i] - totals[2 * i + 1] for i in range(len(titles))]
