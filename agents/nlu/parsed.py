"""What the parser makes of one message."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.nlu.titles import TitleMention


@dataclass
class Parsed:
    intent: str  # recommend | refine | more_like | explain | feedback | item_info | chitchat | empty
    text: str
    titles: list[int] = field(default_factory=list)  # grounded catalog ids, message order
    mentions: list[TitleMention] = field(default_factory=list)  # incl. not found / ambiguous
    refs: list[int] = field(default_factory=list)  # item ids resolved from "the second one", "it"
    genres_any: list[str] = field(default_factory=list)
    genres_all: list[str] = field(default_factory=list)
    genres_none: list[str] = field(default_factory=list)
    year_range: tuple[int | None, int | None] | None = None
    tags_none: list[str] = field(default_factory=list)  # the catalog's user tags the message rules out ("no adam sandler")
    relative_year: str | None = None  # "older" | "newer"
    feedback: str | None = None  # liked | disliked | seen
    against: list[int] = field(default_factory=list)  # named films the message speaks against ("... but hated Twister")
    wants_more: bool = False
    wish: str = ""  # content words left for the retriever
    truncated: bool = False

    @property
    def targets(self) -> list[int]:
        """What the message is about: explicit titles first, then resolved references."""
        return self.titles + [r for r in self.refs if r not in self.titles]

    @property
    def has_constraints(self) -> bool:
        return bool(self.genres_any or self.genres_all or self.genres_none or self.year_range or self.relative_year or self.tags_none)
