"""A list of candidates made into a reply: the top k with their evidence and reasons, one line each, grounded.

Both policies present their tools' results through here, so a reply lists items the same way whichever decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from agents import answer
from agents.context import Context
from agents.grounding import allowed_names, ground
from agents.reply import Reply, ReplyItem
from agents.state import Session, TraceStep
from agents.toolbox import ToolResult
from tools.explainer import Evidence

log = logging.getLogger(__name__)


def present(
    ctx: Context,
    session: Session,
    res: ToolResult,
    trace: list[TraceStep],
    key: tuple,
    basis: str,
    intent: str,
    reasons: Callable[[Sequence[Evidence]], list[str]] | None = None,
) -> Reply:
    """The reply for a list of candidates. `reasons` writes one reason per item from its evidence
    (the llm policy's checked model reasons); the default is the template."""
    picks = res.candidates[: ctx.k]
    evs = ctx.tools.explain_items(session, trace, [c.item_id for c in picks])
    texts = reasons(evs) if reasons is not None and evs else [answer.reason(ev, key) for ev in evs]
    items: list[ReplyItem] = []
    for c, text in zip(picks, texts, strict=True):
        it = ctx.catalog.get(c.item_id)
        items.append(ReplyItem(it.item_id, it.title, it.year, list(it.genres), text, c.source, c.rank))
    notes = [n for n in res.notes if n]
    if not items:
        msg = "I found nothing in the catalog that fits all of that"
        msg += f" ({session.constraints.describe()})." if session.constraints.describe() else "."
        return Reply(msg + " Try loosening a filter: another decade or fewer excluded genres.", intent=intent, notices=notes)
    lines = [answer.intro(len(items), basis, key)]
    lines += [f"{n}. {it.label} — {it.reason}" for n, it in enumerate(items, start=1)]
    lines.append(answer.outro(key))
    session.focus = None
    text = "\n".join(lines)
    report = ground(text, ctx.lookup, allowed_names(session))
    if report.removed:
        log.error("grounding removed %s from a template reply", report.removed)
    return Reply(report.text, items=items, intent=intent, notices=notes)
