"""The chat API over HTTP with gradio_client: two clients at once keep separate sessions."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from evals.appserver import text_of

# respond's API outputs, in order (gr.State and layout columns are not part of the API)
MSG, CHAT, FAVOURITES, PROFILE, NOTICE, EMPTY = range(6)
CARDS = slice(6, 11)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url(services):
    from app.ui import build_app, serve

    demo = build_app(services, stream_delay_s=0.0)
    port = free_port()
    serve(demo, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close(verbose=False)


def chat(url: str, turns: list[str]) -> list[tuple]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    return [client.predict(text, api_name="/respond") for text in turns]


def test_api_lists_respond_and_answers(url) -> None:
    from gradio_client import Client

    api = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
    assert "/respond" in api["named_endpoints"]
    [out] = chat(url, ["Something scary from the 80s about a haunted house"])
    reply = text_of(out[CHAT][-1])
    assert reply.strip() and out[CHAT][0]["role"] == "user"
    assert any("search_by_description" in (m.get("metadata") or {}).get("title", "") for m in out[CHAT])
    cards = [c for c in out[CARDS] if c]
    assert len(cards) == 5
    for card in cards:
        label = card.splitlines()[0].removeprefix("### ")
        assert label in reply and "Horror" in card


def test_two_concurrent_clients_do_not_share_a_session(url, services) -> None:
    a_turns = ["I loved Toy Story and Aladdin", "why the first one?"]
    b_turns = ["I loved Alien and Heat", "why the first one?"]
    with ThreadPoolExecutor(2) as pool:
        fa, fb = pool.submit(chat, url, a_turns), pool.submit(chat, url, b_turns)
        a, b = fa.result(timeout=300), fb.result(timeout=300)
    a_chat, b_chat = a[-1][CHAT], b[-1][CHAT]
    a_users = [text_of(m) for m in a_chat if m["role"] == "user"]
    b_users = [text_of(m) for m in b_chat if m["role"] == "user"]
    assert a_users == a_turns and b_users == b_turns, "each client sees only its own messages"
    assert "Toy Story (1995)" in a[-1][PROFILE] or "2 favourite" in a[-1][PROFILE]
    a_favs = [label for label, _ in a[-1][FAVOURITES]["choices"]]
    b_favs = [label for label, _ in b[-1][FAVOURITES]["choices"]]
    assert a_favs == ["Toy Story (1995)", "Aladdin (1992)"]
    assert b_favs == ["Alien (1979)", "Heat (1995)"]
    # "why the first one?" explains each client's own first card
    a_first = a[0][CARDS][0].splitlines()[0].removeprefix("### ")
    b_first = b[0][CARDS][0].splitlines()[0].removeprefix("### ")
    assert a_first != b_first
    assert a_first in text_of(a_chat[-1]) and b_first in text_of(b_chat[-1])
    assert b_first not in text_of(a_chat[-1]) and a_first not in text_of(b_chat[-1])
