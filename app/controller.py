"""What each UI event does to a tab's Session: chat turns, card feedback, profile edits, settings.

No Gradio here: every method takes the tab's state and returns the new state, so the behaviour is
testable in plain Python and the page (app/ui.py) only lays out and renders. Chat messages are plain
dicts in Gradio's messages format; a tool trace step is an assistant message with a metadata title,
which the Chatbot shows as a collapsible "thought".
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.agent import Agent
from agents.services import Services
from agents.state import Session
from app import views
from app.store import SessionStore, StoreError, UnusableStore, new_key, valid_key
from data.errors import InvalidInput, TalkRecError

log = logging.getLogger(__name__)

Message = dict[str, Any]

UNEXPECTED = "Sorry, something went wrong on my side (it has been logged). Try again, or press Reset if it keeps happening."
FEEDBACK_KINDS = ("liked", "disliked", "seen")
# A reply streams in at most this many growing frames: the text still visibly grows, and each frame is a
# message the server encodes and sends (measured with `python -m evals.load`, docs/RELIABILITY.md).
STREAM_FRAMES = 5


@dataclass
class Prefs:
    """A tab's choice of policy and backend; agents are shared, this choice is not."""

    policy: str = "planner"
    backend: str = "embedded"


@dataclass
class TabState:
    """Everything one browser tab owns. Lives in gr.State, never in a module global."""

    session: Session
    messages: list[Message] = field(default_factory=list)
    prefs: Prefs = field(default_factory=Prefs)
    notice: str = ""  # one line under the profile about the last profile or settings action
    key: str = field(default_factory=new_key)  # the tab's id in the sessions store and the browser
    streaming: bool = False  # a turn's intermediate frame: the page re-renders only the chat (not saved)
    # (cards shown, favourites) as the page last showed them, so unchanged parts are not sent as updates
    # (each re-creates the component server-side). Not saved: a new page load renders everything.
    shown_layout: tuple | None = None


TAB_FORMAT = 1  # bump when the shape below changes; a saved tab of another format is not restored


def tab_to_dict(tab: TabState, dataset: str | None = None) -> dict[str, Any]:
    """The tab as plain JSON data for the sessions store. `dataset` ("name@version"): the catalog its item ids
    belong to, so a server on another dataset never shows this conversation's ids as other films."""
    return {
        "format": TAB_FORMAT,
        "dataset": dataset,
        "session": json.loads(tab.session.to_json()),
        "messages": tab.messages,
        "prefs": asdict(tab.prefs),
        "notice": tab.notice,
    }


def tab_from_dict(key: str, raw: dict[str, Any], dataset: str | None = None) -> TabState:
    """Inverse of tab_to_dict; UnusableStore when the saved data does not fit this version or was made on
    another dataset than `dataset` (rows saved before the dataset was recorded are accepted)."""
    if raw.get("format") != TAB_FORMAT:
        raise UnusableStore(f"the saved conversation has format {raw.get('format')!r}; this version reads format {TAB_FORMAT}")
    saved = raw.get("dataset")
    if saved and dataset and saved != dataset:
        name = str(saved).split("@")[0]
        raise UnusableStore(
            f"it was made on the {saved} catalog and this server serves {dataset}; it is kept, and a server started "
            f"with TALKREC_DATASET={name} (same data version) restores it"
        )
    try:
        session = Session.from_json(json.dumps(raw["session"]))
        prefs = Prefs(**raw["prefs"])
        messages = list(raw["messages"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnusableStore(f"the saved conversation does not fit this version ({type(exc).__name__}: {exc})") from exc
    return TabState(session, messages=messages, prefs=prefs, notice=str(raw.get("notice", "")), key=key)


def assistant(text: str, title: str | None = None, duration_s: float | None = None) -> Message:
    msg: Message = {"role": "assistant", "content": views.as_text(text)}
    if title:
        msg["metadata"] = {"title": views.as_text(title), "status": "done"}
        if duration_s is not None:
            msg["metadata"]["duration"] = round(duration_s, 3)
    return msg


class Controller:
    def __init__(self, services: Services, backends: list[str], stream_delay_s: float = 0.02, store: SessionStore | None = None) -> None:
        self.services = services
        self.store = store  # None: conversations live only as long as the tab's server-side state
        self.catalog = services.catalog
        self.backends = backends  # the configured backends, offered in the settings panel
        self.stream_delay_s = stream_delay_s  # pause between streamed chunks so the text visibly grows
        self._agents: dict[tuple[str, str], Agent] = {}
        self.dataset_id = f"{services.dataset.name}@{services.dataset.version}"  # saved with each tab

    # -- state ---------------------------------------------------------------------------------
    def new_tab(self) -> TabState:
        s = self.services.settings
        backend = s.backend if s.backend in self.backends else self.backends[0]
        return TabState(self.services.new_session(), prefs=Prefs(s.policy, backend))

    def ensure(self, tab: TabState | None) -> TabState:
        """API clients skip the page's load event, so a tab may arrive without state."""
        return tab if tab is not None else self.new_tab()

    def resume(self, key: str | None, tab: TabState | None) -> TabState:
        """The page's load event: the tab's state if it has one, else the conversation saved under the
        browser's key, else a fresh tab (with a notice when a saved conversation could not be read)."""
        if tab is not None:
            return tab
        if self.store is None or not key:
            return self.new_tab()
        if not valid_key(key):
            log.warning("a browser sent a malformed session key; starting a fresh tab")
            return self.new_tab()
        try:
            raw = self.store.load(key)
        except UnusableStore as exc:
            log.warning("saved tab %s… unusable: %s", key[:6], exc)
            fresh = self.new_tab()  # under a new key, so the unreadable row is kept, not overwritten
            fresh.notice = f"Your earlier conversation could not be restored ({exc}); you are starting fresh."
            return fresh
        if raw is None:
            fresh = self.new_tab()
            fresh.notice = self.store.notice
            return fresh
        try:
            restored = tab_from_dict(key, raw, self.dataset_id)
        except UnusableStore as exc:
            log.warning("saved tab %s… unusable: %s", key[:6], exc)
            fresh = self.new_tab()
            fresh.notice = f"Your earlier conversation could not be restored ({exc}); you are starting fresh."
            return fresh
        restored.notice = "Welcome back: your conversation was restored."
        return restored

    def save(self, tab: TabState) -> TabState:
        """Persist the tab (one transaction). A store that cannot write is said in the notice, never raised:
        the conversation goes on in memory."""
        if self.store is None:
            return tab
        try:
            self.store.save(tab.key, tab_to_dict(tab, self.dataset_id))
        except StoreError as exc:
            log.error("could not save tab %s…: %s", tab.key[:6], exc)
            tab.notice = f"This conversation could not be saved ({exc}); it goes on, but a reload may lose it."
        return tab

    def agent(self, prefs: Prefs) -> Agent:
        if prefs.policy == "planner":
            return self.services.agent if self.services.agent.policy == "planner" else self._cached("planner", prefs.backend)
        return self._cached(prefs.policy, prefs.backend)

    def _cached(self, policy: str, backend: str) -> Agent:
        key = (policy, backend)
        if key not in self._agents:
            self._agents[key] = self.services.make_agent(policy=policy, backend=backend)
        return self._agents[key]

    # -- chat ----------------------------------------------------------------------------------
    def respond(self, message: str, tab: TabState | None) -> Iterator[TabState]:
        """One turn, streamed: the user's message, a pending thought, the trace steps, then the reply."""
        tab = self.ensure(tab)
        tab.streaming = True
        try:
            yield from self._turn(message, tab)
        finally:
            tab.streaming = False

    def _turn(self, message: str, tab: TabState) -> Iterator[TabState]:
        text = (message or "").strip()
        if text:  # an empty send still gets an answer ("I didn't catch that"), without an empty bubble
            tab.messages.append({"role": "user", "content": views.as_text(text)})
        base = list(tab.messages)
        tab.messages = [*base, {"role": "assistant", "content": "", "metadata": {"title": "🤔 Thinking…", "status": "pending"}}]
        yield tab
        try:
            reply = self.agent(tab.prefs).turn(tab.session, text)
        except TalkRecError as exc:
            log.warning("turn failed: %s", exc)
            tab.messages = [*base, assistant(f"Sorry, I couldn't do that: {exc}")]
            tab.streaming = False
            yield self.save(tab)
            return
        except Exception as exc:  # the UI edge: nothing may crash the page; logged with its traceback
            log.exception("unexpected %s in a chat turn", type(exc).__name__)
            tab.messages = [*base, assistant(UNEXPECTED)]
            tab.streaming = False
            yield self.save(tab)
            return
        # The tool trace arrives with the reply's first words: the agent has finished, so a frame of its own (or
        # one per step) would only add frames, and under load each frame costs the server's one event loop more
        # than the agent's own work (docs/RELIABILITY.md). The last growing prefix is the whole reply, which the
        # final frame brings, so it is not sent twice.
        base += [assistant(views.trace_body(step), views.trace_title(step), step.duration_ms / 1000) for step in reply.trace]
        for part in list(views.chunks(reply.text, max_frames=STREAM_FRAMES))[:-1]:
            tab.messages = [*base, assistant(part)]
            yield tab
            self._pause()
        tab.messages = [*base, assistant(reply.text)]
        tab.streaming = False
        yield self.save(tab)  # one transaction per finished turn: a crash mid-turn loses only that turn

    def _pause(self) -> None:
        if self.stream_delay_s > 0:
            time.sleep(self.stream_delay_s)

    def reset(self, tab: TabState | None) -> TabState:
        """A fresh conversation that keeps the profile (user and favourites) and the settings."""
        tab = self.ensure(tab)
        fresh = self.services.new_session(tab.session.user_id)
        fresh.history = list(tab.session.history)
        return TabState(fresh, prefs=tab.prefs, notice="Conversation reset; your profile is kept.", key=tab.key)

    # -- cards ---------------------------------------------------------------------------------
    def feedback(self, slot: int, kind: str, tab: TabState | None) -> TabState:
        """A 👍 / 👎 / seen-it click on card `slot`; the next turn reads it from the session."""
        tab = self.ensure(tab)
        if kind not in FEEDBACK_KINDS:
            raise InvalidInput(f"unknown feedback {kind!r}; use one of {FEEDBACK_KINDS}")
        shown = views.cards(tab.session, self.catalog)
        if slot >= len(shown):
            tab.notice = "That card is no longer shown."
            return tab
        card = shown[slot]
        tab.session.mark(card.item_id, kind)
        tab.notice = f"{views.FEEDBACK_LABELS[kind].split(' ', 1)[1].capitalize()}: {card.label}. The next recommendations use this."
        return tab

    # -- profile -------------------------------------------------------------------------------
    def new_user(self, tab: TabState | None) -> TabState:
        tab = self.ensure(tab)
        # a new key too: starting over leaves the earlier conversation saved under its own id
        return TabState(self.services.new_session(), prefs=tab.prefs, notice="New user: add a few favourites, then ask for recommendations.")

    def load_user(self, user_id: float | int | None, tab: TabState | None) -> TabState:
        """Become one of the dataset's users: their rating history is the profile."""
        tab = self.ensure(tab)
        ds = self.services.dataset
        if user_id is None or not math.isfinite(user_id) or int(user_id) != user_id:
            tab.notice = f"Enter a user id between 1 and {ds.n_users}."
            return tab
        uid = int(user_id)
        try:
            session = self.services.new_session(uid)
        except TalkRecError:
            tab.notice = f"There is no user {uid} in {ds.name}; pick one between 1 and {ds.n_users}."
            return tab
        return TabState(session, prefs=tab.prefs, notice=f"You are now user {uid} ({len(session.history)} rated films).", key=tab.key)

    def search(self, text: str) -> list[tuple[str, int]]:
        return views.suggest(self.services.lookup, self.catalog, text or "")

    def add_favourite(self, item_id: int | None, tab: TabState | None) -> TabState:
        tab = self.ensure(tab)
        if item_id is None or item_id == "":
            tab.notice = "Search for a title first, then pick it from the matches."
            return tab
        iid = int(item_id)
        if iid not in self.catalog:
            tab.notice = "That title is not in the catalog; search again."
            return tab
        tab.session.add_history(iid)
        for lst in (tab.session.seen, tab.session.liked):  # a favourite is history now, not feedback
            if iid in lst:
                lst.remove(iid)
        tab.notice = f"Added {self.catalog.get(iid).label} to your favourites."
        return tab

    def keep_favourites(self, selected: list[int] | None, tab: TabState | None) -> TabState:
        """The favourites box lost some chips: remove those items from the profile."""
        tab = self.ensure(tab)
        keep = {int(i) for i in selected or []}
        removed = [i for _, i in views.favourite_choices(tab.session, self.catalog) if i not in keep]
        for iid in removed:
            tab.session.history.remove(iid)
        if removed:
            tab.notice = "Removed " + ", ".join(self.catalog.get(i).label for i in removed) + " from your profile."
        return tab

    # -- settings ------------------------------------------------------------------------------
    def set_prefs(self, policy: str, backend: str, tab: TabState | None) -> TabState:
        """Switch policy/backend for this tab; a combination that cannot work is refused, planner kept."""
        tab = self.ensure(tab)
        if backend not in self.backends:
            tab.notice = f"The {backend} backend is not configured here; available: {', '.join(self.backends)}."
            return tab
        wanted = Prefs(policy, backend)
        try:
            self.agent(wanted)
        except TalkRecError as exc:
            tab.prefs = Prefs("planner", backend)
            tab.notice = f"Kept the planner: {exc}."
            return tab
        tab.prefs = wanted
        tab.notice = f"Policy {policy}" + (
            f" on the {backend} backend." if policy == "llm" else " (deterministic; the backend is used by the llm policy)."
        )
        if policy == "llm" and backend == "embedded":
            tab.notice += " The embedded 135M model picks tools close to chance (measured); the planner answers better."
        return tab
