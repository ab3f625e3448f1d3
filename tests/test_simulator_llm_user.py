"""The LLM-driven simulated user: rewrites are used only when they keep the scripted user's rules."""

from __future__ import annotations

from collections.abc import Sequence

from agents.llm.base import Message
from evals.simulator.llm_user import check_rewrite, rewrite_scripts
from evals.simulator.user import UserScript


class EchoBackend:
    """A chat backend with scripted behaviour: `fn` maps the scripted message to the 'model' reply."""

    name = "scripted"
    supports_tools = False
    supports_scoring = False

    def __init__(self, fn):
        self.fn = fn

    def chat(self, messages: Sequence[Message], tools=(), max_tokens: int = 256, temperature: float = 0.0) -> Message:
        scripted = messages[-1].content.rsplit("\n\n", 1)[1]
        return Message("assistant", self.fn(scripted))


def _script(ml100k) -> UserScript:
    heat = next(i.item_id for i in ml100k.catalog if i.title == "Heat")
    fargo = next(i.item_id for i in ml100k.catalog if i.title == "Fargo")
    return UserScript(
        1,
        fargo,
        (heat,),
        (heat,),
        "I loved Heat. I'm in the mood for a crime film.",
        ("None of these. Something from the 1990s.",),
        ("genre:Crime", "decade:1990"),
    )


def test_good_rewrites_are_used(ml100k):
    backend = EchoBackend(lambda m: "hey, " + m.lower().replace("i'm in the mood for", "i fancy"))
    out, stats = rewrite_scripts([_script(ml100k)], backend, ml100k.catalog)
    assert out[0].opening == "hey, i loved heat. i fancy a crime film."
    assert out[0].follow_ups[0].startswith("hey, none of these")
    assert stats.rewritten == 2 and stats.kept_scripted == 0


def test_rewrites_that_break_a_rule_are_replaced_by_the_script(ml100k):
    sc = _script(ml100k)
    backend = EchoBackend(lambda m: "Honestly I just want Fargo." if "loved" in m else "Something from the 90s please.")
    out, stats = rewrite_scripts([sc], backend, ml100k.catalog)
    assert out[0].opening == sc.opening  # named the target
    assert out[0].follow_ups[0] == sc.follow_ups[0]  # dropped the rejection
    assert stats.kept_scripted == 2 and stats.reasons == {"named the target": 1, "dropped the rejection": 1}


def test_check_rewrite_rules():
    assert check_rewrite("I loved Heat.", "heat was great!", "Fargo", ["Heat"]) is None
    assert check_rewrite("I loved Heat.", "I loved a film.", "Fargo", ["Heat"]) == "dropped a title"
    assert check_rewrite("x", "", "Fargo", []) == "empty or too long"
