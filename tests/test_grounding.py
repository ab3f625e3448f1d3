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
