"""The app in a real headless Chromium: a new user adds favourites, gets five cards, turns one down,
asks for more and asks why. Screenshots land in test-artifacts/; with UPDATE_README_SCREENSHOT=1 the last one
is also copied to docs/screenshot.png (the README's picture), so a plain test run changes no tracked file.

Needs Debian's `chromium` (`make test` installs it through the `browser` target); skipped, saying so,
only when /usr/bin/chromium is missing. Driven by the Python playwright package with that executable:
`playwright install` is never needed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOT = REPO / "docs" / "screenshot.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000  # one chat turn takes well under a second; the margin is for a busy shared CPU

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing; `make browser` (part of `make test`) installs it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveApp:
    """The real page with a sessions store in a temp folder, on one port; restart() is a new server (new
    Blocks, new store connection) on the same port and file, as after `make run` is stopped and started."""

    def __init__(self, services, sessions: Path) -> None:
        self.services, self.sessions, self.port = services, sessions, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.demo = None
        self.start()

    def start(self) -> None:
        from app.store import SessionStore
        from app.ui import build_app, serve

        self.demo = build_app(self.services, store=SessionStore(self.sessions))
        serve(self.demo, "127.0.0.1", self.port, block=False)

    def restart(self) -> None:
        self.demo.close(verbose=False)
        self.start()


@pytest.fixture(scope="module")
def default_services(settings):
    """The app as `make run` serves it: the product's default dataset (ml-latest-small), not the suite's ML-100K."""
    from agents.services import build_services
    from data.settings import Settings

    return build_services(settings.model_copy(update={"dataset": Settings.model_fields["dataset"].default}))


@pytest.fixture(scope="module")
def live_app(default_services, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(default_services, tmp_path_factory.mktemp("sessions") / "sessions.sqlite")
    yield app
    app.demo.close(verbose=False)


@pytest.fixture(scope="module")
def app_url(live_app: LiveApp) -> str:
    return live_app.url


@pytest.fixture(scope="module")
def page(app_url: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1500, "height": 1050})
        pg.set_default_timeout(WAIT_MS)
        pg.goto(app_url, wait_until="load")
        pg.locator("#search input, #search textarea").first.wait_for()
        yield pg
        pg.screenshot(path=str(ARTIFACTS / "browser-last.png"), full_page=True)
        browser.close()


def add_favourite(page, query: str, expect: str, n_after: int) -> None:
    box = page.locator("#search input, #search textarea").first
    box.fill("")
    box.press_sequentially(query, delay=20)  # typing fires the search box's input events
    matches = page.locator("#matches input")
    page.wait_for_function(
        "([sel, want]) => (document.querySelector(sel)?.value || '').includes(want)", arg=["#matches input", expect], timeout=WAIT_MS
    )
    assert expect in matches.input_value()
    page.locator("#add-favourite").click()
    page.get_by_text(f"{n_after} favourite(s)").wait_for()


def send(page, text: str) -> None:
    n_before = page.locator("#chat .user-row").count()
    box = page.locator("#message textarea, #message input").first
    box.fill(text)
    box.press("Enter")
    page.wait_for_function("(n) => document.querySelectorAll('#chat .user-row').length > n", arg=n_before)
    # the turn is done when the chat's status tracker is hidden again and no thought is pending
    page.wait_for_function(
        "() => { const c = document.querySelector('#chat'); const t = c?.querySelector('[data-testid=status-tracker]');"
        " return c && !c.innerText.includes('Thinking…') && !c.querySelector('.loading-spinner') && (!t || t.classList.contains('hide')); }"
    )
    page.wait_for_timeout(500)  # let the last streamed chunk render


def card_titles(page) -> list[str]:
    titles = []
    for i in range(5):
        card = page.locator(f"#card-{i}")
        if card.is_visible():
            titles.append(page.locator(f"#card-{i}-text h3").inner_text().strip())
    return titles


def wait_cards_change(page, before: list[str]) -> None:
    page.wait_for_function(
        "(before) => { const h = document.querySelector('#card-0-text h3'); return h && !before.includes(h.innerText.trim()); }", arg=before
    )


def last_bot_text(page) -> str:
    bots = page.locator("#chat .message-row.bot-row, #chat .bot-row")
    return bots.last.inner_text()


def test_new_user_favourites_cards_dislike_more_and_why(page, default_services) -> None:
    services = default_services
    assert services.dataset.name == "ml-latest-small"
    assert "ml-latest-small" in page.locator("#header").inner_text() and "9,125 films" in page.locator("#header").inner_text()
    page.locator("#new-user").click()
    page.get_by_text("no favourites yet").wait_for()
    add_favourite(page, "toy story", "Toy Story (1995)", 1)
    add_favourite(page, "aladdin", "Aladdin (1992)", 2)
    favs = page.locator("#favourites").inner_text()
    assert "Toy Story (1995)" in favs and "Aladdin (1992)" in favs

    send(page, "What should I watch next?")
    page.locator("#card-4").wait_for(state="visible")
    first = card_titles(page)
    assert len(first) == 5, first
    assert all(services.lookup.exact_ids(t) for t in first), f"every card names a catalog item: {first}"
    assert "Toy Story (1995)" not in first and "Aladdin (1992)" not in first
    chat = page.locator("#chat").inner_text()
    assert "recommend_from_history" in chat, "the tool trace is shown as a thought message"
    page.screenshot(path=str(ARTIFACTS / "browser-1-cards.png"), full_page=True)

    disliked = first[1]
    page.locator("#card-1-disliked").click()
    page.locator("#card-1-text").get_by_text("not for me").wait_for()
    assert disliked in page.locator("#profile").inner_text(), "the profile lists the turned-down item"

    send(page, "Show me more")
    wait_cards_change(page, first)
    page.locator("#card-4").wait_for(state="visible")
    second = card_titles(page)
    assert len(second) == 5, second
    assert disliked not in second
    assert disliked not in last_bot_text(page)

    send(page, "why the first one?")
    why = last_bot_text(page)
    first_genres = services.catalog.get(services.lookup.exact_ids(second[0])[0]).genres
    named = [t for t in ("Toy Story", "Aladdin") if t in why] + [g for g in first_genres if re.search(rf"\b{re.escape(g)}\b", why, re.I)]
    assert named, f"the reason names a real favourite or genre: {why!r}"
    page.screenshot(path=str(ARTIFACTS / "browser-2-why.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "screenshot.png"))
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1":
        shutil.copyfile(ARTIFACTS / "screenshot.png", SCREENSHOT)


XSS = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=2;alert(2)"> I loved Heat'


def test_markup_in_a_message_is_shown_as_text_and_runs_nothing(page) -> None:
    """A message carrying a script tag and an onerror handler (and an alert): nothing runs, no dialog opens."""
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        send(page, XSS)
        page.wait_for_timeout(500)  # time for a broken <img> to fire onerror, were it kept
        assert page.evaluate("() => window.__xss") is None, "a script or handler from the message ran"
        assert dialogs == [], dialogs
        chat = page.locator("#chat")
        assert chat.locator("script").count() == 0
        assert chat.locator("[onerror]").count() == 0
        # the message is shown as the characters typed (app.views.as_text), markup and all, as text
        bubble = page.locator("#chat .user-row").last.locator("[data-testid=user]")
        shown = " ".join(bubble.inner_text().split())
        assert "<script>window.__xss=1</script>" in shown and 'onerror="window.__xss=2;alert(2)">' in shown, shown
        assert "I loved Heat" in shown
        assert bubble.locator("img").count() == 0
        assert "Heat" in last_bot_text(page), "the rest of the message still got an answer"
    finally:
        page.remove_listener("dialog", on_dialog)


def user_messages(page) -> list[str]:
    return [t.strip() for t in page.locator("#chat .user-row").all_inner_texts()]


def test_reload_and_server_restart_bring_the_conversation_and_cards_back(page, live_app: LiveApp) -> None:
    """Runs last: the conversation of the tests above must survive a page reload and then a server restart."""
    said, cards = user_messages(page), card_titles(page)
    assert len(said) >= 3 and len(cards) == 5
    page.reload(wait_until="load")
    page.get_by_text("your conversation was restored").wait_for()
    page.locator("#card-4").wait_for(state="visible")
    assert user_messages(page) == said and card_titles(page) == cards, "a reload shows the same chat and cards"

    live_app.restart()
    page.reload(wait_until="load")
    page.get_by_text("your conversation was restored").wait_for()
    page.locator("#card-4").wait_for(state="visible")
    assert user_messages(page) == said and card_titles(page) == cards, "so does a restarted server"
    send(page, "why the first one?")
    assert cards[0] in last_bot_text(page), "and the conversation goes on from the restored cards"

    page.locator("#new-user").click()
    page.get_by_text("no favourites yet").wait_for()
    page.reload(wait_until="load")
    page.locator("#search input, #search textarea").first.wait_for()
    page.wait_for_timeout(1000)
    assert user_messages(page) == [], "start over: a reload shows the new, empty conversation, not the old one"
