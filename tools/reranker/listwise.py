"""List-wise reranking (Chat-Rec / LLMRank): the candidates as an indexed list, a recency note on the last
watched items, and the model's answer grounded back to the candidates by index or fuzzy title.
Invented and repeated entries are dropped; candidates the model leaves out keep their prior order.
Bootstrapping (LLMRank) shuffles the list B times and sums Borda points against position bias."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from tools.reranker.protocols import ChatModel, PromptMessage

RECENT = 3  # how many of the last watched titles the recency note names
FUZZY_CUTOFF = 85.0

SYSTEM = "You are a movie recommender. You rank candidate movies for a user. Answer only with candidate numbers."
_BRACKET_RE = re.compile(r"\[(\d+)\]")
_NUMBER_RE = re.compile(r"^\W*(?:#|no\.?\s*)?(\d+)\W*$", re.IGNORECASE)
_YEAR_RE = re.compile(r"\s*\(\d{4}\)\s*$")
_ENUM_RE = re.compile(r"^\s*(?:\d+[.):]|[-*•])\s*")


def _key(title: str) -> str:
    """Matching key: lower case, no trailing year, no surrounding quotes or punctuation."""
    return _YEAR_RE.sub("", title.lower()).strip(" \t\"'*.:")


def build_prompt(history_titles: Sequence[str], request: str | None, titles: Sequence[str]) -> list[PromptMessage]:
    lines = []
    if history_titles:
        lines.append("I watched these movies, in order: " + "; ".join(history_titles) + ".")
        if len(history_titles) > RECENT:
            lines.append("The most recent ones matter most: " + "; ".join(history_titles[-RECENT:]) + ".")
    if request:
        lines.append(f"What I want now: {request.strip()}")
    lines.append("Candidates:")
    lines.extend(f"[{i}] {t}" for i, t in enumerate(titles, start=1))
    lines.append(f"Rank all {len(titles)} candidates from most to least likely for me to watch next. Answer with the numbers only, like: 3, 1, 2")
    return [PromptMessage("system", SYSTEM), PromptMessage("user", "\n".join(lines))]


@dataclass
class Parsed:
    order: list[int]  # 0-based candidate positions, in the model's order, no repeats
    invented: int  # entries that matched no candidate
    repeated: int  # entries naming a candidate already named


def parse_ranking(text: str, titles: Sequence[str]) -> Parsed:
    """Ground the model's answer to candidate positions: `[k]` or a bare number k is candidate k;
    otherwise the entry is matched to a title (rapidfuzz, cutoff 85); anything else is invented."""
    order: list[int] = []
    seen: set[int] = set()
    invented = repeated = 0
    keys = [_key(t) for t in titles]

    def match_title(piece: str) -> int | None:
        body = _key(_ENUM_RE.sub("", piece))
        if not body:
            return None
        hit = process.extractOne(body, keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return hit[2] if hit is not None else None

    def add(pos: int | None) -> None:
        nonlocal invented, repeated
        if pos is None or not 0 <= pos < len(titles):
            invented += 1
        elif pos in seen:
            repeated += 1
        else:
            seen.add(pos)
            order.append(pos)

    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        brackets = _BRACKET_RE.findall(line)
        if brackets:
            for b in brackets:
                add(int(b) - 1)
            continue
        # A whole line that is one title (titles may contain commas) wins over splitting it.
        whole = match_title(line)
        if whole is not None:
            add(whole)
            continue
        for piece in re.split(r"[,;>]", line):
            piece = piece.strip().strip(".")
            if not piece:
                continue
            num = _NUMBER_RE.match(piece)
            if num:
                add(int(num.group(1)) - 1)
                continue
            add(match_title(piece))
    return Parsed(order=order, invented=invented, repeated=repeated)


def complete(order: Sequence[int], n: int) -> list[int]:
    """The model's order followed by the candidates it left out, in their prior order."""
    named = set(order)
    return list(order) + [i for i in range(n) if i not in named]


def rank_once(backend: ChatModel, history_titles: Sequence[str], request: str | None, titles: Sequence[str], max_tokens: int) -> Parsed:
    reply = backend.chat(build_prompt(history_titles, request, titles), max_tokens=max_tokens, temperature=0.0)
    return parse_ranking(reply.content, titles)


def listwise_points(
    backend: ChatModel, history_titles: Sequence[str], request: str | None, titles: Sequence[str], bootstrap: int, seed: int, max_tokens: int
) -> tuple[list[float], list[str]]:
    """Borda points per candidate (higher is better) summed over 1 + `bootstrap` orderings, and notes."""
    n = len(titles)
    rng = random.Random(seed)
    points = [0.0] * n
    invented = repeated = missing = 0
    for run in range(1 + bootstrap):
        perm = list(range(n))
        if run > 0:  # the first pass keeps the prior order; the others shuffle it
            rng.shuffle(perm)
        parsed = rank_once(backend, history_titles, request, [titles[p] for p in perm], max_tokens)
        invented += parsed.invented
        repeated += parsed.repeated
        missing += n - len(parsed.order)
        for rank, local in enumerate(complete(parsed.order, n)):
            points[perm[local]] += n - rank
    notes = []
    if invented:
        notes.append(f"dropped {invented} entries the model invented (not among the candidates)")
    if repeated:
        notes.append(f"dropped {repeated} repeated entries")
    if missing:
        notes.append(f"{missing} candidate placements missing from the model's answers kept their prior order")
    return points, notes
