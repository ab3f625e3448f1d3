"""The evaluation harness itself: metrics on hand-made sessions, oracle and hopeless systems through the
real simulator loop, the catalog check, and the YAML loader's errors (file, line, unknown key)."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from evals.catalog_check import named_titles, out_of_catalog
from evals.dialogues.schema import ScriptError, load_file, load_files
from evals.rerank import merge_reports
from evals.simulator.metrics import (
    SessionRecord,
    TurnRecord,
    average_turns,
    hit_at_k_by_turn,
    latency_ms,
    out_of_catalog_per_turn,
    percentile,
    repeated_item_rate,
    summarize,
    tool_mix,
)
from evals.simulator.runner import run_system
from evals.simulator.systems import Conversation, Shown
from evals.simulator.user import UserScript, build_scripts, make_script

SCRIPTS = sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "evals/dialogues/scripts/*.yaml")))


def _t(shown, ms=10.0, tools=(), bad=()):
    return TurnRecord("msg", list(shown), ms, list(tools), list(bad))


# -- metrics on hand-made sessions ---------------------------------------------------------------

HAND = [
    SessionRecord(1, 7, [_t([7, 1, 2])]),  # hit on turn 1
    SessionRecord(2, 7, [_t([1, 2]), _t([3, 4, 5, 6, 8, 7])]),  # target at position 6: not a top-5 hit
    SessionRecord(3, 9, [_t([1]), _t([2]), _t([9])]),  # hit on turn 3
    SessionRecord(4, 9, [_t([1, 2]), _t([2, 3])]),  # never; item 2 repeated
]


def test_hit_by_turn_is_cumulative():
    assert hit_at_k_by_turn(HAND, k=5, max_turns=5) == [0.25, 0.25, 0.5, 0.5, 0.5]
    assert hit_at_k_by_turn(HAND, k=6, max_turns=3) == [0.25, 0.5, 0.75]


def test_average_turns_counts_failures_as_t_plus_one():
    assert average_turns(HAND, k=5, max_turns=5) == pytest.approx((1 + 6 + 3 + 6) / 4)
    assert average_turns(HAND, k=5, max_turns=2) == pytest.approx((1 + 3 + 3 + 3) / 4)  # a hit after T is a failure


def test_other_metrics():
    assert repeated_item_rate(HAND) == pytest.approx(1 / 18)  # 18 items shown, item 2 twice in session 4
    assert out_of_catalog_per_turn([SessionRecord(1, 1, [_t([1], bad=["Fake (1999)"]), _t([2])])]) == 0.5
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([], 0.9) == 0.0
    p50, p95 = latency_ms([SessionRecord(1, 1, [_t([1], ms=m) for m in range(1, 101)])])
    assert p50 == pytest.approx(50.5) and p95 == pytest.approx(95.05)
    mix = tool_mix([SessionRecord(1, 1, [_t([1], tools=["a", "b", "a"]), _t([2], tools=["a"])])])
    assert mix == {"a": 1.0, "b": 0.5}
    s = summarize("x", HAND, 5, 5)
    assert s.hit == 0.5 and s.turns == 8 and s.users == 4


# -- the simulator loop with scripted systems ------------------------------------------------------


class _Oracle:
    """Shows the user's target first (it peeks at the answer key)."""

    name = "oracle"

    def __init__(self, targets):
        self.targets = targets

    def start(self, user_id, profile):
        return Conversation(list(profile), session=None, messages=[str(user_id)])

    def turn(self, conv, message):
        target = self.targets[int(conv.messages[0])]
        return Shown([target, 1, 2, 3, 4], f"1. something ({target})", 1.0, ["oracle"])


class _Never:
    """Shows five fresh catalog items that are never a target."""

    name = "never"

    def __init__(self, targets, catalog):
        self.pool = [i for i in catalog.ids if i not in set(targets.values())]

    def start(self, user_id, profile):
        return Conversation(list(profile))

    def turn(self, conv, message):
        ids = [i for i in self.pool if i not in conv.shown][:5]
        conv.shown += ids
        return Shown(ids, "", 1.0, [])


def _scripts(ml100k, lookup, n=6):
    users = sorted(ml100k.targets("test"))[:n]
    return build_scripts(ml100k, lookup, lambda item, others: {o: -abs(o - item) for o in others}, users, seed=1)


def test_oracle_gets_hit_1_and_at_1(ml100k, lookup):
    scripts = _scripts(ml100k, lookup)
    oracle = _Oracle({s.user_id: s.target for s in scripts})
    recs = run_system(oracle, scripts, ml100k.catalog, lookup, k=5, max_turns=5, progress=False)
    s = summarize("oracle", recs, 5, 5)
    assert s.hit == 1.0 and s.at_k == 1.0 and s.turns == len(scripts)


def test_never_gets_hit_0_and_at_t_plus_1(ml100k, lookup):
    scripts = _scripts(ml100k, lookup)
    never = _Never({s.user_id: s.target for s in scripts}, ml100k.catalog)
    recs = run_system(never, scripts, ml100k.catalog, lookup, k=5, max_turns=5, progress=False)
    s = summarize("never", recs, 5, 5)
    assert s.hit == 0.0 and s.at_k == 6.0
    assert all(len(r.turns) == 5 for r in recs)  # every session runs to the limit
    assert s.repeated_item_rate == 0.0 and s.out_of_catalog_per_turn == 0.0


def test_user_script_never_names_the_target_and_reveals_attributes(ml100k, lookup):
    for script in _scripts(ml100k, lookup, n=20):
        target = ml100k.catalog.get(script.target)
        assert script.target not in script.profile
        assert list(script.profile) == ml100k.history(script.user_id)[:-1]  # train + validation items
        words = [script.opening, *script.follow_ups]
        assert len(words) == 5
        assert not any(target.title.lower() in w.lower() for w in words if len(target.title) > 3)
        if target.year:
            assert f"{target.year // 10 * 10}s" in " ".join(script.follow_ups)


def test_user_script_is_deterministic_and_refuses_a_leaked_target(ml100k, lookup):
    a, b = _scripts(ml100k, lookup, 3), _scripts(ml100k, lookup, 3)
    assert a == b
    s = a[0]
    with pytest.raises(ValueError, match="hold it out"):
        make_script(s.user_id, [*s.profile, s.target], s.target, {}, ml100k.catalog, lookup, lambda i, o: {x: 0.0 for x in o}, 1)
    assert isinstance(s, UserScript)


# -- the catalog check -------------------------------------------------------------------------------


def test_catalog_check_resolves_real_titles_and_flags_invented_ones(ml100k, lookup):
    text = "Here are picks:\n1. Heat (1995) — close to Alien.\nWhy Alien (1979)? Also try The Matrix Reloaded 5 (2031)."
    ok, bad = named_titles(text, lookup)
    assert ok == ["Heat (1995)", "Alien (1979)"]
    assert len(bad) == 1 and bad[0].endswith("The Matrix Reloaded 5 (2031)")
    assert out_of_catalog([273, 999_999], "", ml100k.catalog, lookup) == ["item id 999999"]


# -- the YAML format -------------------------------------------------------------------------------


def test_shipped_scripts_load_and_cover_40_dialogues():
    dialogues = load_files(SCRIPTS)
    assert len(dialogues) >= 40
    assert len({d.id for d in dialogues}) == len(dialogues)


def test_malformed_yaml_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("- id: one\n  turns:\n    - say: hi\n      expect: {items_max: 0\n    - say: there\n")
    with pytest.raises(ScriptError) as exc:
        load_file(p)
    msg = str(exc.value)
    assert str(p) in msg and "malformed YAML" in msg
    assert f"{p}:5:" in msg  # the flow mapping left open on line 4 fails on line 5


@pytest.mark.parametrize(
    ("body", "needle", "line"),
    [
        ("- id: a\n  turns:\n    - say: hi\n      expect:\n        items_mni: 3\n", "'items_mni'", 5),
        ("- id: a\n  colour: red\n  turns:\n    - say: hi\n", "'colour'", 1),
        ("- id: a\n  turns:\n    - say: hi\n      expct: {}\n", "'expct'", 3),
        ("- id: a\n  turns:\n    - say: hi\n      expect:\n        year_range: 1990\n", "expect.year_range", 5),
        ("- id: a\n  turns: []\n", "non-empty `turns:`", 1),
        ("- id: a\n  turns:\n    - say: hi\n- id: a\n  turns:\n    - say: hi\n", "already used", 4),
        ("- id: a\n  id: b\n  turns:\n    - say: hi\n", "duplicate key 'id'", 2),
    ],
)
def test_script_errors_name_the_key_and_line(tmp_path, body, needle, line):
    p = tmp_path / "s.yaml"
    p.write_text(body)
    with pytest.raises(ScriptError) as exc:
        load_files([p])
    assert needle in str(exc.value)
    assert f"{p}:{line}" in str(exc.value)


def test_repeat_builds_a_long_message(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("- id: long\n  turns:\n    - say: abc\n      repeat: 3\n      expect: {items_min: 1, fallback_notice: true}\n")
    (d,) = load_file(p)
    assert d.turns[0].say == "abc abc abc"
    assert d.turns[0].expect == {"items_min": 1, "fallback_notice": True}


def test_rerank_merge_replaces_rerun_rows_and_lists_each_command_once():
    base = {"dataset_version": "v1", "users": 200, "seed": 0, "model": "m", "notes": [], "date": "d1"}
    full, part = "python -m evals.rerank", "python -m evals.rerank --settings sasrec-top19 --merge"
    old = {**base, "settings": {"random": {"sasrec": 0.7}, "sasrec-top19": {"sasrec": 0.1, "likelihood": 0.2}}, "commands": [full, part]}
    new = {**base, "settings": {"sasrec-top19": {"sasrec": 0.12}}, "commands": [part], "date": "d2"}
    merged = merge_reports(old, new)
    assert merged["settings"] == {"random": {"sasrec": 0.7}, "sasrec-top19": {"sasrec": 0.12, "likelihood": 0.2}}
    assert merged["commands"] == [full, part] and merged["date"] == "d2"
    with pytest.raises(SystemExit, match="cannot merge"):
        merge_reports(old, {**new, "users": 100})


def test_refreshing_the_fragments_keeps_the_runs_own_sections(tmp_path, monkeypatch):
    import evals.run as run

    page = tmp_path / "EVALS.md"
    page.write_text(
        "# Evals\n\n## User simulator\n\nHit@5 0.87\n\n"
        + "\n".join(run.fragments_section([("rerank", "## Old\n\nold row")]))
        + "\n## Run time\n\n- total: 9 s\n"
    )
    monkeypatch.setattr(run, "fragments", lambda: [("rerank", "## Reranker\n\nnew row"), ("seqrec-ml-1m", "## ML-1M\n\nx")])
    run.refresh_fragments(page)
    text = page.read_text()
    assert "old row" not in text and "### Reranker\n\nnew row" in text and "### ML-1M" in text
    assert text.startswith("# Evals\n\n## User simulator\n\nHit@5 0.87\n") and text.endswith("## Run time\n\n- total: 9 s\n")
    (tmp_path / "other.md").write_text("# something else\n")
    with pytest.raises(ValueError, match=r"python -m evals\.run"):
        run.refresh_fragments(tmp_path / "other.md")


def test_labelled_retrieval_cases_are_respelled_for_another_catalog():
    from evals.retrieval import respelled

    cases = [
        {"query": "a family film", "genres": ["Children's", "Animation"]},
        {"query": "a grim film", "genres_none": ["Comedy", "Children's"], "year_range": [1990, 1999]},
        {"query": "noir", "genres_any": ["Film-Noir"]},
    ]
    out = respelled(cases, ("Animation", "Children", "Comedy"))
    assert out == [
        {"query": "a family film", "genres": ["Children", "Animation"]},
        {"query": "a grim film", "genres_none": ["Comedy", "Children"], "year_range": [1990, 1999]},
    ]  # the noir case names a genre this catalog lacks: left out, not turned into an unfiltered query
    assert cases[0]["genres"] == ["Children's", "Animation"]  # the labelled set itself is not changed
