"""Replay a real dialogue through an agent, scoring every system where the human recommender named new films.

The seeker's consecutive utterances go to the agent as one message. The films the human recommender named become
the session's last shown list in place of the agent's own (the person saw those, not TalkRec's), so "seen it" or
"that one sounds good" refer to what was really on the table. At each recommender utterance naming catalog films
not named before in the dialogue, every system ranks its top k from the state at that point, excluding the films
named before; those new films are the targets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.state import Session, ShownItem
from data.catalog import Catalog
from evals.redial.dialogues import Dialogue, Utterance, is_accepted

log = logging.getLogger(__name__)

HUMAN = "human recommender"


@dataclass
class ReplayState:
    """What the systems may use at a scored point: the agent's session, the dialogue so far, what was named."""

    session: Session
    named: set[int] = field(default_factory=set)  # films named so far by either side
    seeker_texts: list[str] = field(default_factory=list)
    grounded: list[int] = field(default_factory=list)  # films the parser grounded in the seeker's messages
    # in-catalog films the annotators marked in the seeker's messages (liked, disliked or only mentioned: the
    # annotation has no sentiment); for the understanding-oracle row only, never seen by TalkRec
    annotated: list[int] = field(default_factory=list)


class Ranker(Protocol):
    name: str

    def rank(self, state: ReplayState, k: int) -> list[int]: ...


@dataclass
class ScoredPoint:
    dialogue_id: str
    utterance: int
    targets: list[int]
    accepted: list[int]
    rankings: dict[str, list[int]]
    last_message: str
    intent: str
    known_films: int = 0  # films the session counted as the seeker's taste at this point
    constrained: bool = False  # genre or year filters were set
    filters: str = ""  # the filters as the reply heading words them ("Horror, 1980-1989")
    wish: str = ""  # the session's wish (free text for the retriever)


@dataclass
class SeekerTurn:
    """One message sent to the agent, with what the parser found and what the annotation says."""

    dialogue_id: str
    message: str
    predicted_titles: set[int]
    gold_titles: set[int]
    predicted_genres: set[str]
    gold_genre_values: list[str]
    latency_ms: float
    intent: str


@dataclass
class ReplayResult:
    points: list[ScoredPoint] = field(default_factory=list)
    turns: list[SeekerTurn] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _joined(utts: Sequence[Utterance]) -> str:
    return " ".join(u.text.strip() for u in utts if u.text.strip())


def _show_human_list(session: Session, items: Sequence[int]) -> None:
    """The human recommender's films become the last shown list (numbered 1..n in the order named)."""
    turn = session.turn_no
    session.shown = [s for s in session.shown if s.turn != turn]
    for pos, item in enumerate(dict.fromkeys(items), start=1):
        session.shown.append(ShownItem(item, turn, pos, HUMAN))


class Replayer:
    """Drives `agent` (anything with .parser and .turn(session, message)) through dialogues."""

    def __init__(self, agent: Any, catalog: Catalog, rankers: Sequence[Ranker], k: int = 50, on_dialogue: Callable[[], None] | None = None) -> None:
        self.agent = agent
        self.catalog = catalog
        self.rankers = list(rankers)
        self.k = k
        self.on_dialogue = on_dialogue

    def _send(self, state: ReplayState, d: Dialogue, pending: list[Utterance], result: ReplayResult) -> str:
        message = _joined(pending)
        if not message:
            return ""
        session = state.session
        parsed = self.agent.parser.parse(message, session)  # pure: what the turn's parse will be, kept for the report
        turn_no = session.turn_no
        reply = self.agent.turn(session, message)
        # the person never saw TalkRec's list: drop it, so references and exclusions follow the human's films
        session.shown = [s for s in session.shown if not (s.turn == turn_no and s.source != HUMAN)]
        state.seeker_texts.append(message)
        state.grounded += [t for t in parsed.titles if t not in state.grounded]
        gold = {m.item_id for u in pending for m in u.mentions if m.item_id is not None}
        state.annotated += [m.item_id for u in pending for m in u.mentions if m.item_id is not None and m.item_id not in state.annotated]
        state.named |= gold | set(parsed.titles)
        genres = set(parsed.genres_any) | set(parsed.genres_all) | set(parsed.genres_none)
        result.turns.append(
            SeekerTurn(
                d.dialogue_id, message, set(parsed.titles), gold, genres, [g for u in pending for g in u.genre_slots], reply.latency_ms, reply.intent
            )
        )
        pending.clear()
        return message

    def replay(self, d: Dialogue, result: ReplayResult) -> None:
        state = ReplayState(Session())
        pending: list[Utterance] = []
        last_message = ""
        for n, u in enumerate(d.utterances):
            if u.role == "seeker":
                pending.append(u)
                continue
            if pending:
                last_message = self._send(state, d, pending, result)
            in_catalog = [m.item_id for m in u.mentions if m.item_id is not None]
            targets = list(dict.fromkeys(i for i in in_catalog if i not in state.named))
            if targets:
                rankings = {}
                for r in self.rankers:
                    ranked = [i for i in r.rank(state, self.k) if i not in state.named]
                    rankings[r.name] = list(dict.fromkeys(ranked))[: self.k]
                accepted = [i for i in targets if is_accepted(self.catalog.get(i).title, d.accepted)]
                intent = state.session.turns[-1].intent if state.session.turns else ""
                session = state.session
                known = len(session.taste())
                result.points.append(
                    ScoredPoint(
                        d.dialogue_id,
                        n,
                        targets,
                        accepted,
                        rankings,
                        last_message,
                        intent,
                        known,
                        not session.constraints.is_empty(),
                        session.constraints.describe(),
                        session.wish,
                    )
                )
            state.named |= set(in_catalog)
            if in_catalog:
                _show_human_list(state.session, in_catalog)
        if pending:
            self._send(state, d, pending, result)
        if self.on_dialogue:
            self.on_dialogue()


# -- the systems -------------------------------------------------------------------------------------------------
class Popularity:
    name = "popularity"

    def __init__(self, catalog: Catalog) -> None:
        self.order = [it.item_id for it in sorted(catalog, key=lambda it: -it.n_ratings) if it.item_id not in catalog.untitled]

    def rank(self, state: ReplayState, k: int) -> list[int]:
        return [i for i in self.order if i not in state.named][:k]


class RecentPopular:
    """Popularity as of the end of the log (co-rating's prior, tools/seqrec/recent.py): what the planner shows a
    person who has named no film yet."""

    name = "popularity lately (fitted fade)"

    def __init__(self, corating: Any) -> None:
        self.corating = corating

    def rank(self, state: ReplayState, k: int) -> list[int]:
        return [int(i) for i, _ in self.corating.recommend([], k=k, exclude=state.named).items]


class OnGrounded:
    """A history model (SASRec, co-rating) on the films the parser grounded in the seeker's messages (popularity
    while there are none)."""

    def __init__(self, name: str, seqrec: Any) -> None:
        self.name = name
        self.seqrec = seqrec

    def rank(self, state: ReplayState, k: int) -> list[int]:
        res = self.seqrec.recommend(state.grounded, k=k, exclude=state.named)
        return [int(i) for i, _ in res.items]


class OnAnnotated(OnGrounded):
    """The same history model on the films the annotators marked in the seeker's messages instead of the parser's:
    what perfect title understanding would give that ranker (a diagnostic, not a system anyone could run)."""

    def rank(self, state: ReplayState, k: int) -> list[int]:
        res = self.seqrec.recommend(state.annotated, k=k, exclude=state.named)
        return [int(i) for i, _ in res.items]


class RetrieverOnWords:
    """Dense retrieval with everything the seeker said so far."""

    name = "retriever on the seeker's words"

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    def rank(self, state: ReplayState, k: int) -> list[int]:
        text = " ".join(state.seeker_texts).strip()
        if not text:
            return []
        return list(self.retriever.search(text, k=k, exclude=state.named).ids)


class FromPolicy:
    """What TalkRec would recommend now: the policy's own ranking from the session's state."""

    def __init__(self, name: str, rank_fn: Callable[[Session, int], list[int]]) -> None:
        self.name = name
        self.rank_fn = rank_fn

    def rank(self, state: ReplayState, k: int) -> list[int]:
        return self.rank_fn(state.session, k)
