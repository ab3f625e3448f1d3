"""Understand one message: intent plus slots, from a lexicon and the catalog's title lookup.

Deterministic and always available; it is what the embedded default uses. Titles are grounded to
catalog ids here, so nothing downstream ever handles a free-text title.

One concern per module:
- titles.py: title mentions grounded to catalog ids (cues, quotes, capitals, a bare title)
- constraints.py: genres, moods and years (the exact filters)
- references.py: "the second one", "it", "none of these" resolved to shown items
- feedback.py: seen / liked / disliked
- wish.py: the content words left for the retriever
- intent.py: the intent, from the wording and the slots
- parser.py: `Parser.parse` runs them in order into a `Parsed` (parsed.py)
"""

from agents.nlu.parsed import Parsed
from agents.nlu.parser import MAX_MESSAGE_CHARS, Parser
from agents.nlu.titles import TitleMention

__all__ = ["MAX_MESSAGE_CHARS", "Parsed", "Parser", "TitleMention"]
