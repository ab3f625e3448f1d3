"""The last grounding pass: titles not on the bus go, real catalog titles with odd punctuation stay."""

from __future__ import annotations

from agents.grounding import ground


def _ids(lookup, *labels):
    return {lookup.exact_ids(label)[0] for label in labels}


def test_titles_with_their_own_punctuation_survive(lookup):
    labels = [
        "Hot Shots! Part Deux (1993)",
        "Mr. Holland's Opus (1995)",
        "L.A. Confidential (1997)",
        "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1963)",
    ]
    allowed = _ids(lookup, *labels)
    text = "Here you go:\n" + "\n".join(f"{n}. {lab} — a fine pick." for n, lab in enumerate(labels, start=1))
    rep = ground(text, lookup, allowed)
    assert rep.removed == []
    assert rep.text == text


def test_invented_and_unshown_titles_are_cut(lookup):
    allowed = _ids(lookup, "Heat (1995)")
    text = 'I suggest Heat (1995). You will also love The Matrix (1999). And "Hackers 2" is great. Fargo (1996) too!'
    rep = ground(text, lookup, allowed)
    assert rep.text == "I suggest Heat (1995)."
    for name in ("The Matrix (1999)", "Hackers 2", "Fargo (1996)"):
        assert any(r.endswith(name) for r in rep.removed), rep.removed
    assert len(rep.removed) == 3


def test_a_catalog_title_longer_than_80_characters_survives(ml100k):
    from data.catalog import Catalog
    from data.lookup import TitleLookup

    frame = ml100k.catalog.frame.head(5).copy()
    long_title = "An Extremely Long Film Title Written For This Test, Which Goes On Well Past Eighty Characters"
    assert len(long_title) > 80
    frame.loc[0, ["title", "year"]] = [long_title, 2006]
    lookup = TitleLookup(Catalog(frame))
    item = int(frame.loc[0, "item_id"])
    text = f"Here you go:\n1. {long_title} (2006) — a fine pick."
    rep = ground(text, lookup, {item})
    assert rep.removed == [] and rep.text == text
    # not on the bus: the same line goes
    assert ground(text, lookup, set()).removed


def test_the_template_reason_without_evidence_is_not_read_as_a_title(lookup):
    from agents.answer import reason
    from tools.explainer import Evidence

    heat = lookup.exact_ids("Heat (1995)")[0]
    line = f"1. Heat (1995) — {reason(Evidence(heat, 'Heat', 1995, ('Action', 'Crime')))}"
    assert "1995" in line.split("—")[1]  # the year is part of the reason
    rep = ground(line, lookup, {heat})
    assert rep.removed == [] and rep.text == line
