"""The app's behaviour without a browser: the controller on the real services, and the view helpers."""

from __future__ import annotations

from itertools import pairwise

import pytest

from agents.state import TraceStep
from app import views
from app.controller import UNEXPECTED, Controller, TabState
from data.errors import BackendUnavailable


@pytest.fixture()
def ctl(services) -> Controller:
    return Controller(services, ["embedded"], stream_delay_s=0.0)


def turn(ctl: Controller, tab: TabState, text: str) -> list[list[dict]]:
    return [list(st.messages) for st in ctl.respond(text, tab)]


def test_a_turn_streams_thinking_then_trace_then_growing_text(ctl) -> None:
    tab = ctl.new_tab()
    frames = turn(ctl, tab, "I loved Toy Story and Aladdin, what should I watch next?")
    assert frames[0][-1]["metadata"]["status"] == "pending", "the first frame shows a pending thought"
    final = frames[-1]
    assert final[0] == {"role": "user", "content": "I loved Toy Story and Aladdin, what should I watch next?"}
    thoughts = [m for m in final if m.get("metadata")]
    reply = final[-1]
    assert thoughts and all(m["metadata"]["title"].startswith("🔧 ") for m in thoughts)
    assert any("recommend_from_history" in m["metadata"]["title"] and "candidates" in m["metadata"]["title"] for m in thoughts)
    assert "metadata" not in reply and reply["role"] == "assistant"
    # the reply text grows over several frames, after every trace step has been shown
    texts = [f[-1]["content"] for f in frames if f[-1] is not None and "metadata" not in f[-1] and f[-1]["role"] == "assistant"]
    assert len(texts) >= 3 and all(reply["content"].startswith(t) for t in texts)
    assert len(set(texts)) >= 3
    first_text = next(i for i, f in enumerate(frames) if "metadata" not in f[-1] and f[-1]["role"] == "assistant")
    assert len([m for m in frames[first_text] if m.get("metadata")]) == len(thoughts)
    cards = views.cards(tab.session, ctl.catalog)
    assert len(cards) == 5
    for card in cards:
        assert card.label in reply["content"]
        md = card.markdown()
        assert card.label in md and "proposed by" in md and card.reason[:20].lower() in md.lower()


def test_card_feedback_marks_the_session_and_the_next_turn_honours_it(ctl) -> None:
    tab = ctl.new_tab()
    turn(ctl, tab, "I loved Toy Story and Aladdin")
    first = views.cards(tab.session, ctl.catalog)
    ctl.feedback(1, "disliked", tab)
    ctl.feedback(2, "liked", tab)
    ctl.feedback(3, "seen", tab)
    assert tab.session.disliked == [first[1].item_id]
    assert tab.session.liked == [first[2].item_id]
    assert tab.session.seen == [first[3].item_id]
    again = views.cards(tab.session, ctl.catalog)
    assert [c.feedback for c in again[:4]] == [None, "disliked", "liked", "seen"]
    assert "not for me" in again[1].markdown()
    assert first[1].label in views.profile_markdown(tab.session, ctl.catalog)
    turn(ctl, tab, "show me more")
    more = views.cards(tab.session, ctl.catalog)
    assert len(more) == 5
    assert first[1].item_id not in {c.item_id for c in more}
    assert first[3].item_id not in {c.item_id for c in more}
    # a click on an empty slot is answered, not an error
    ctl.feedback(7, "liked", tab)
    assert "no longer shown" in tab.notice


def test_profile_new_user_search_add_remove_and_dataset_user(ctl, services) -> None:
    tab = ctl.new_user(None)
    labels = [label for label, _ in ctl.search("toy stor")]
    assert labels and labels[0] == "Toy Story (1995)"
    assert ctl.search("x") == []
    ids = [ctl.search(q)[0][1] for q in ("toy story", "aladdin", "heat")]
    for i in ids:
        ctl.add_favourite(i, tab)
    assert tab.session.history == ids
    assert "Added Heat (1995)" in tab.notice
    ctl.keep_favourites([ids[0], ids[2]], tab)  # the user removed Aladdin's chip
    assert tab.session.history == [ids[0], ids[2]]
    assert "Removed Aladdin (1992)" in tab.notice
    ctl.add_favourite(None, tab)
    assert "Search for a title first" in tab.notice

    user = ctl.load_user(42, tab)
    hist = services.dataset.history(42)
    assert user.session.user_id == 42 and user.session.history == hist
    assert [i for _, i in views.favourite_choices(user.session, ctl.catalog)] == hist[-10:]
    assert f"ML-100K user 42**: {len(hist)} rated" in views.profile_markdown(user.session, ctl.catalog)
    missing = ctl.load_user(99999, user)
    assert missing is user and "There is no user 99999" in missing.notice and user.session.user_id == 42


def test_reset_keeps_profile_and_settings_but_clears_the_conversation(ctl) -> None:
    tab = ctl.new_tab()
    turn(ctl, tab, "I loved Toy Story and Aladdin")
    ctl.feedback(0, "disliked", tab)
    fresh = ctl.reset(tab)
    assert fresh.messages == [] and fresh.session.shown == [] and fresh.session.disliked == []
    assert fresh.session.history == tab.session.history and fresh.session.session_id != tab.session.session_id
    assert fresh.prefs == tab.prefs


def test_errors_become_friendly_messages(ctl, monkeypatch) -> None:
    tab = ctl.new_tab()

    def down(session, text):
        raise BackendUnavailable("the OpenAI server did not answer; check OPENAI_BASE_URL")

    monkeypatch.setattr(ctl.services.agent, "turn", down)
    last = turn(ctl, tab, "hello")[-1][-1]
    assert last["content"] == "Sorry, I couldn't do that: the OpenAI server did not answer; check OPENAI_BASE_URL"

    def crash(session, text):
        raise RuntimeError("index out of range in some tensor")

    monkeypatch.setattr(ctl.services.agent, "turn", crash)
    last = turn(ctl, tab, "hello again")[-1][-1]
    assert last["content"] == UNEXPECTED and "tensor" not in last["content"]
    assert [m["role"] for m in tab.messages] == ["user", "assistant", "user", "assistant"]


def test_an_empty_message_gets_an_answer_without_an_empty_bubble(ctl) -> None:
    tab = ctl.new_tab()
    turn(ctl, tab, "   ")
    assert [m["role"] for m in tab.messages] == ["assistant"]
    assert tab.messages[0]["content"].strip()


def test_settings_switch_policy_per_tab_and_refuse_unconfigured_backends(ctl) -> None:
    tab = ctl.new_tab()
    ctl.set_prefs("llm", "openai", tab)
    assert tab.prefs.policy == "planner" and "not configured" in tab.notice
    ctl.set_prefs("llm", "embedded", tab)
    assert (tab.prefs.policy, tab.prefs.backend) == ("llm", "embedded") and "llm on the embedded backend" in tab.notice.replace("Policy ", "")
    assert ctl.agent(tab.prefs).policy == "llm" and ctl.services.agent.policy == "planner", "the choice is the tab's, not global"
    ctl.set_prefs("planner", "embedded", tab)
    assert tab.prefs.policy == "planner" and tab.prefs.backend == "embedded"


def test_view_helpers() -> None:
    text = "Some ideas:\n1. Heat (1995) — close in spirit to Alien.\n2. Fargo (1996)"
    parts = list(views.chunks(text, words=2))
    assert parts[-1] == text and len(parts) > 3
    assert all(b.startswith(a) for a, b in pairwise(parts))
    long = " ".join(f"word{i}" for i in range(500))
    capped = list(views.chunks(long, words=4, max_frames=12))
    assert capped[-1] == long and 6 <= len(capped) <= 12, "a long reply still grows visibly, in at most 12 frames"
    assert all(b.startswith(a) and len(b) > len(a) for a, b in pairwise(capped))
    assert list(views.chunks(text, words=2, max_frames=100)) == parts, "a short reply is not slowed down"
    step = TraceStep("search_by_description", {"query": "scary 80s", "genres_any": ["Horror"], "year_range": None}, 12.4, 0, 50)
    assert views.trace_title(step) == "🔧 search_by_description(query=scary 80s, genres_any=Horror) · 12 ms · 0 → 50 candidates"
    assert views.source_name("fusion") == "history + search" and views.source_name("reranker:embedded") == "LLM reranker (embedded)"


def test_first_start_serves_progress_on_the_port_then_frees_it(services, monkeypatch) -> None:
    """With an artifact missing, a progress page holds the port while services are built, then lets go."""
    import json
    import socket
    import urllib.request

    from app import main as app_main
    from data.errors import MissingArtifact

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seen: list[tuple[str, str]] = []

    def build(settings, prepare_missing=True, progress=None):
        if not prepare_missing:
            raise MissingArtifact("the retriever index is missing; run `python -m tools.retriever.build`")
        progress("building the item index")
        cfg = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=30))
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read().decode()
        seen.append((cfg["title"], "location.reload" in page))
        return services

    monkeypatch.setattr(app_main, "build_services", build)
    assert app_main.start_services(services.settings, "127.0.0.1", port) is services
    assert seen == [("TalkRec (preparing)", True)], "the progress page answered, with its self-reload script"
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: our own requests leave TIME_WAIT behind
        s.bind(("127.0.0.1", port))  # the port is free again for the real app


def test_progress_log_keeps_lines_for_the_page() -> None:
    from app.loading import ProgressLog

    prog = ProgressLog()
    assert "starting" in prog.markdown()
    prog("preparing the dataset")
    prog("training sasrec")
    assert [line.split(" s  ", 1)[1] for line in prog.lines] == ["preparing the dataset", "training sasrec"]
    assert "training sasrec" in prog.markdown()


def test_markup_is_kept_as_text_and_odd_user_ids_get_a_notice(ctl) -> None:
    tab = ctl.new_tab()
    turn(ctl, tab, "<b>bold</b> <script>x()</script> I loved Heat")
    assert tab.messages[0]["content"] == "&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;x()&lt;/script&gt; I loved Heat"
    assert all("<" not in m["content"] for m in tab.messages), "no reply or trace step carries raw markup either"
    for bad in (float("nan"), float("inf"), 2.5, None):
        tab = ctl.load_user(bad, tab)
        assert "Enter a user id between 1 and" in tab.notice


def test_the_queue_size_is_a_setting(services, monkeypatch) -> None:
    from app.ui import build_app
    from data.settings import Settings

    monkeypatch.setenv("TALKREC_QUEUE_SIZE", "300")
    assert Settings().queue_size == 300
    monkeypatch.setenv("TALKREC_QUEUE_SIZE", "3")
    with pytest.raises(ValueError, match="queue_size"):
        Settings()
    demo = build_app(services, queue_size=300)
    assert demo._queue.max_size == 300
