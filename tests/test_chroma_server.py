"""TalkRec served from a real Chroma server (`chroma run`, from the chromadb package) on 127.0.0.1.

The index is built into the server with the documented command (`python -m tools.retriever.build` with
TALKREC_CHROMA_HOST/PORT), the app's composition root opens it there, and a conversation runs through it.
Midway the server is stopped: the turns still end in replies from seqrec, each saying the search index was
unavailable, with the session intact; once the server is started again the same services use it again."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time

import pandas as pd
import pytest

from agents.state import Session
from agents.toolbox import INDEX_DOWN, INDEX_NOTICE, REASONS_NOTICE
from data.catalog import Catalog
from data.dataset import Dataset
from data.errors import BackendUnavailable, MissingArtifact
from data.settings import REPO_ROOT
from tools.retriever import open_retriever
from tools.retriever.index import collection_name, make_client
from tools.retriever.server import ChromaServer
from tools.retriever.vectors import sentence_cache_path

RETRIEVER_STEPS = ("search_by_description", "more_like")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ChromaServer(tmp_path_factory.mktemp("chroma") / "db") as srv:
        yield srv


@pytest.fixture(scope="module")
def served(server, settings, ml100k):
    """Services wired to the server, after the index was built into it by the documented command."""
    from agents.services import build_services

    if not sentence_cache_path(settings.artifacts_dir / "embeddings", ml100k.catalog).is_file():
        pytest.fail("no catalog vector cache in the artifacts; run make prepare")  # the build would embed all items
    env = {**os.environ, "TALKREC_CHROMA_HOST": server.host, "TALKREC_CHROMA_PORT": str(server.port), "TALKREC_DATASET": "ml-100k"}
    done = subprocess.run([sys.executable, "-m", "tools.retriever.build"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"at {server.url}: 1682 items" in done.stdout and "built in" in done.stdout
    services = build_services(settings.model_copy(update={"chroma_host": server.host, "chroma_port": server.port}), prepare_missing=False)
    assert services.retriever.info.location == server.url and not services.retriever.info.built_now  # opened, not rebuilt
    return services


def _steps(reply, tools=RETRIEVER_STEPS):
    return [s for s in reply.trace if s.tool in tools]


def _assert_served_by_index(reply) -> None:
    steps = _steps(reply)
    assert steps and all(not s.fallback and s.n_out > 0 for s in steps), reply.trace
    assert not reply.fallback and not any(INDEX_NOTICE in n for n in reply.notices)


def _assert_index_fallback(reply, services) -> None:
    assert reply.items, reply.text  # still a list of real catalog items
    assert all(it.item_id in services.catalog for it in reply.items)
    assert reply.text.startswith(INDEX_NOTICE) and reply.notices[0].startswith(INDEX_NOTICE)
    down = [s for s in reply.trace if s.fallback]
    assert down and all(s.note.startswith(INDEX_DOWN) for s in down) and reply.fallback
    assert [s.tool for s in down] == [*[s.tool for s in _steps(reply)], "explain_items"]  # evidence used genres too
    assert all("stopped answering" in s.note for s in _steps(reply))
    assert any(s.tool == "recommend_from_history" and s.n_out > 0 for s in reply.trace)  # seqrec answered instead


def _snapshot(s: Session) -> dict:
    return {
        "history": list(s.history),
        "liked": list(s.liked),
        "disliked": list(s.disliked),
        "seen": list(s.seen),
        "shown": copy.deepcopy(s.shown),
        "turns": [(t.turn, t.user, t.reply) for t in s.turns],
    }


def _kept(before: dict, s: Session) -> None:
    """Everything the session held before is still there, in order (new turns only add)."""
    now = _snapshot(s)
    for key, old in before.items():
        assert now[key][: len(old)] == old, key


def test_conversation_survives_the_server_stopping_and_coming_back(served, server):
    services, s = served, served.new_session()
    r1 = services.agent.turn(s, "something scary from the 80s about a haunted house")
    _assert_served_by_index(r1)
    assert len(r1.items) == 5
    assert all("Horror" in it.genres and 1980 <= it.year <= 1989 for it in r1.items)

    server.stop()
    before = _snapshot(s)
    second = r1.items[1]
    r2 = services.agent.turn(s, "more like the second one")
    _assert_index_fallback(r2, services)
    assert r2.intent == "more_like" and "your favourites" in r2.notices[0]
    assert any(st.tool == "more_like" and st.args["seeds"] == [second.title] for st in r2.trace)
    assert second.item_id in s.liked and second.item_id not in [it.item_id for it in r2.items]
    _kept(before, s)

    before = _snapshot(s)
    r3 = services.agent.turn(s, "why the first one?")
    assert r3.intent == "explain" and r2.items[0].title in r3.text
    assert r3.notices == [REASONS_NOTICE] and r3.text.startswith(REASONS_NOTICE)
    assert [st.tool for st in r3.trace if st.fallback] == ["explain_item"]
    _kept(before, s)

    before = _snapshot(s)
    r4 = services.agent.turn(s, "a funny road trip from the 90s")
    _assert_index_fallback(r4, services)
    assert all("Comedy" in it.genres and 1990 <= it.year <= 1999 for it in r4.items)  # the filters still hold
    shown_before = {x.item_id for x in before["shown"]}
    assert not shown_before & {it.item_id for it in r4.items}
    _kept(before, s)
    assert Session.from_json(s.to_json()).turns[-1].trace[0].tool  # the session still serialises

    fresh = services.new_session()  # no favourites: the most popular films meeting the filters stand in
    r = services.agent.turn(fresh, "something scary from the 80s about a haunted house")
    _assert_index_fallback(r, services)
    assert "most popular films that fit your filters" in r.notices[0] and {it.source for it in r.items} == {"popularity"}
    assert all("Horror" in it.genres and 1980 <= it.year <= 1989 for it in r.items)

    server.start()  # same folder, same port: the same Retriever object must find the index again
    r5 = services.agent.turn(s, "a haunted house horror from the 90s, no comedy")
    _assert_served_by_index(r5)
    assert [st.tool for st in r5.trace][:3] == ["recommend_from_history", "search_by_description", "fuse"]
    assert len(r5.items) == 5
    assert all("Horror" in it.genres and "Comedy" not in it.genres and 1990 <= it.year <= 1999 for it in r5.items)
    assert [t.user for t in s.turns[:1]] == ["something scary from the 80s about a haunted house"] and len(s.turns) == 5


def test_a_hung_server_times_out_instead_of_hanging_the_turn(served, server, settings, ml100k):
    r = open_retriever(settings.artifacts_dir, ml100k, chroma_host=server.host, chroma_port=server.port, build=False, timeout_s=1.0)
    assert r.search("a western", k=3).ids
    server.pause()
    try:
        t0 = time.perf_counter()
        with pytest.raises(BackendUnavailable, match="ReadTimeout"):
            r.search("a space adventure", k=3)
        assert time.perf_counter() - t0 < 5
    finally:
        server.resume()
    assert r.search("a space adventure", k=3).ids  # and answers again once it does


def test_an_index_rebuilt_on_the_server_is_found_again_by_name(server, tmp_path, ml100k):
    small = Dataset(f"{ml100k.name}-head30", "rebuilt", Catalog(ml100k.catalog.frame.head(30).copy()), pd.DataFrame(), {})
    first = open_retriever(tmp_path, small, chroma_host=server.host, chroma_port=server.port)
    assert first.search("comedy", k=3).ids
    client, _ = make_client(tmp_path, server.host, server.port)
    client.delete_collection(collection_name(small.name))
    with pytest.raises(BackendUnavailable, match=r"gone .*python -m tools\.retriever\.build"):
        first.search("a drama", k=3)
    with pytest.raises(MissingArtifact):
        open_retriever(tmp_path, small, chroma_host=server.host, chroma_port=server.port, build=False)
    open_retriever(tmp_path, small, chroma_host=server.host, chroma_port=server.port)  # rebuilt: a new collection id
    assert set(first.search("a drama", k=3).ids) <= set(range(1, 31))  # the old object reopened it by name


def test_a_server_that_cannot_start_says_why(tmp_path, server):
    busy = ChromaServer(tmp_path / "other", port=server.port, start_timeout_s=20)
    with pytest.raises(BackendUnavailable, match=rf"port {server.port} .* already in use"):
        busy.start()
    assert not busy.running and server.running
