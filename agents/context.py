"""What the Agent lends its policy each turn (`Context`), and the key that varies a turn's phrasing."""

from __future__ import annotations

from dataclasses import dataclass

from agents.state import Session
from agents.toolbox import Toolbox
from data.catalog import Catalog
from data.lookup import TitleLookup


@dataclass(frozen=True)
class Context:
    """The tools and the catalog a policy works with: shared by all sessions, holding no user state."""

    catalog: Catalog
    lookup: TitleLookup
    tools: Toolbox
    k: int = 5  # items shown per reply
    use_reranker: bool = False  # the recommendation path reorders its candidates with tools.reranker


def turn_key(session: Session) -> tuple[str, int]:
    """The key that picks template phrasings for this turn (agents/answer.py): stable, so evaluations repeat."""
    return (session.session_id, session.turn_no)
