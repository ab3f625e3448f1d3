"""The page: chat in the middle, profile and settings on the left, recommendation cards on the right.

`build_app(services) -> gr.Blocks` lays the page out and wires each event to app/controller.py; every
event re-renders the same set of outputs from the tab's state, so the page always shows the session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from agents.llm.factory import available_backends
from agents.services import Services
from app import views
from app.controller import Controller, TabState
from app.store import SessionStore
from data.errors import TalkRecError
from data.settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = [
    "I loved Toy Story and Aladdin, what should I watch next?",
    "Something scary from the 80s",
    "A funny romantic comedy, nothing violent",
    "More like the second one",
    "Why the first one?",
]

CSS = """
.card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 4px 10px; gap: 4px !important; }
.card h3 { margin: 0; font-size: 1.0em; }
.card p { margin: 0; font-size: 0.9em; line-height: 1.3; }
.card button { min-height: 26px; padding: 0 6px; }
"""

CONCURRENCY_LIMIT = 8  # chat turns run at once; more wait in the queue (Settings.concurrency_limit says why 8)
# Events that may wait in Gradio's queue; past it the server refuses a turn (HTTP 503 "queue full"). A refused
# turn is a message never answered: the page shows an error, and gradio_client 2.7.2's Job iteration never ends
# (docs/RELIABILITY.md). A tab has at most one event of each kind pending (trigger_mode "once"), so the queue
# holds about one chat turn per waiting user: 64 refused turns at 120 users (`python -m evals.load --users 120`),
# 512 keeps every turn of the users one 2-core server can serve and still bounds a flood from one API client.
QUEUE_SIZE = Settings.model_fields["queue_size"].default  # TALKREC_QUEUE_SIZE sets it for the app (Settings)
EMPTY_CARDS = "Ask for a recommendation and the picks appear here."
BROWSER_KEY = "talkrec-session"  # the localStorage entry that holds the tab's (encrypted) id in the sessions store


def build_app(
    services: Services,
    *,
    stream_delay_s: float = 0.02,
    store: SessionStore | None = None,
    concurrency_limit: int = CONCURRENCY_LIMIT,
    queue_size: int = QUEUE_SIZE,
) -> gr.Blocks:
    """The TalkRec page over already-built services. State lives per tab in gr.State; with a store, each tab
    is also saved server-side under an id the browser keeps, so a reload or a restart brings it back."""
    settings = services.settings
    backends = available_backends(settings.hf_model)
    ctl = Controller(services, backends, stream_delay_s=stream_delay_s, store=store)
    k = settings.top_k
    ds = services.dataset

    with gr.Blocks(title="TalkRec", analytics_enabled=False) as demo:
        tab = gr.State(None)
        # The secret lives in the store, so the id stays readable after a restart (Gradio's default is per launch).
        browser_key = gr.BrowserState("", storage_key=BROWSER_KEY, secret=store.secret() if store else None)
        gr.Markdown(
            f"# 🎬 TalkRec\nChat about films you like; every suggestion is a real item from **{ds.name}** "
            f"({len(ds.catalog):,} films, {ds.n_users:,} users), with the reason and the tool that proposed it.",
            elem_id="header",
        )
        for caveat in services.notices:
            gr.Markdown(f"⚠️ {caveat}", elem_id="startup-notice")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=260):
                gr.Markdown("### Profile")
                with gr.Row():
                    new_user = gr.Button("Start over as a new user", size="sm", elem_id="new-user")
                with gr.Row():
                    user_id = gr.Number(
                        value=1, label=f"…or an {ds.name} user id (1-{ds.n_users})", precision=0, minimum=1, elem_id="user-id", scale=2
                    )
                    load_user = gr.Button("Use this user", size="sm", elem_id="load-user", scale=1)
                search = gr.Textbox(label="Search the catalog", placeholder="e.g. toy story", elem_id="search")
                matches = gr.Dropdown(label="Matches", choices=[], value=None, elem_id="matches", interactive=True)
                add = gr.Button("Add to favourites", size="sm", elem_id="add-favourite")
                favourites = gr.Dropdown(
                    label="Favourites (× removes one)", choices=[], value=[], multiselect=True, elem_id="favourites", interactive=True
                )
                profile = gr.Markdown(elem_id="profile")
                notice = gr.Markdown(elem_id="notice")
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    policy = gr.Radio(["planner", "llm"], value=settings.policy, label="Policy", elem_id="policy")
                    backend = gr.Dropdown(
                        backends, value=settings.backend if settings.backend in backends else backends[0], label="LLM backend", elem_id="backend"
                    )
                    gr.Markdown(
                        "Only configured backends are listed: *openai* needs `OPENAI_API_KEY` or `OPENAI_BASE_URL`, *hf* needs "
                        "`TALKREC_HF_MODEL` or a GPU. The embedded model is tiny: with the llm policy it makes one constrained tool call "
                        "per turn, and its choice is close to chance (docs/BENCHMARKS.md), so the llm policy is for openai or hf."
                    )
            with gr.Column(scale=4, min_width=360):
                chatbot = gr.Chatbot(
                    label="TalkRec", height=560, elem_id="chat", placeholder="Tell me a few films you loved, or what you're in the mood for."
                )
                with gr.Row():
                    msg = gr.Textbox(show_label=False, placeholder="Type a message and press Enter", scale=5, elem_id="message", autofocus=True)
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                gr.Examples([[e] for e in EXAMPLES], inputs=[msg], label="Try")
                reset = gr.Button("Reset conversation (keeps your profile)", size="sm", elem_id="reset")
            with gr.Column(scale=3, min_width=280):
                gr.Markdown("### Recommendations")
                empty = gr.Markdown(EMPTY_CARDS, elem_id="cards-empty")
                card_cols, card_mds, card_buttons = [], [], []
                for i in range(k):
                    with gr.Column(visible=False, elem_id=f"card-{i}", elem_classes="card") as col:
                        md = gr.Markdown(elem_id=f"card-{i}-text")
                        with gr.Row():
                            for kind, text in (("liked", "👍"), ("disliked", "👎"), ("seen", "Seen it")):
                                card_buttons.append((i, kind, gr.Button(text, size="sm", min_width=40, elem_id=f"card-{i}-{kind}")))
                    card_cols.append(col)
                    card_mds.append(md)

        view = [tab, chatbot, favourites, profile, notice, empty, *card_mds, *card_cols, browser_key]

        def render(state: TabState) -> list[Any]:
            """Every output from the tab's state. Cost matters under load: Gradio re-creates a component for
            every update dict it gets (gr.skip() included), so plain values are sent wherever they say the same,
            and updates only where a property really changes (docs/RELIABILITY.md, server CPU per turn)."""
            shown = views.cards(state.session, services.catalog)
            fav = views.favourite_choices(state.session, services.catalog)
            layout = (len(shown), tuple(fav))
            same_cards = state.shown_layout is not None and state.shown_layout[0] == len(shown)
            same_favs = state.shown_layout is not None and state.shown_layout[1] == tuple(fav)
            state.shown_layout = layout
            out: list[Any] = [
                state,
                state.messages,
                # the choices ride along at a turn's end even if unchanged: API clients read them from its outputs
                [i for _, i in fav] if same_favs and state.streaming else gr.update(choices=fav, value=[i for _, i in fav]),
                views.profile_markdown(state.session, services.catalog, services.dataset.name),
                state.notice,
                EMPTY_CARDS if same_cards else gr.update(visible=not shown),
            ]
            out += [shown[i].markdown() if i < len(shown) else "" for i in range(k)]
            out += [gr.skip() if same_cards else gr.update(visible=i < len(shown)) for i in range(k)]
            out.append(state.key)
            return out

        def guarded(fn: Callable[..., TabState]) -> Callable[..., list[Any]]:
            """Run a state change; a TalkRecError or an unexpected error becomes a notice, never a traceback."""

            def run(*args: Any) -> list[Any]:
                state = args[-1]
                try:
                    return render(ctl.save(fn(*args)))
                except TalkRecError as exc:
                    state = ctl.ensure(state)
                    state.notice = f"Sorry, that did not work: {exc}"
                    return render(state)
                except Exception as exc:  # the UI edge: logged with its traceback, the page stays up
                    log.exception("UI event %s failed with %s", getattr(fn, "__name__", fn), type(exc).__name__)
                    state = ctl.ensure(state)
                    state.notice = "Sorry, that did not work (the error has been logged)."
                    return render(state)

            return run

        def respond(message: str, state: TabState | None) -> Iterator[list[Any]]:
            clear: Any = ""  # empty the textbox once; later frames leave whatever the user types next
            for st in ctl.respond(message, state):
                yield [clear, *render(st)]
                clear = gr.skip()  # not gr.update(): an update, even empty, re-creates the component

        def start(key: str | None, state: TabState | None) -> list[Any]:
            return render(ctl.resume(key, state))

        def on_search(text: str) -> Any:
            choices = ctl.search(text)
            return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

        def on_prefs(p: str, b: str, state: TabState | None) -> list[Any]:
            state = ctl.save(ctl.set_prefs(p, b, state))
            return [*render(state), state.prefs.policy]

        # public as "resume": an API client (or a test) can take up a saved conversation by its key, as the page does
        demo.load(start, inputs=[browser_key, tab], outputs=view, api_name="resume")
        gr.on([msg.submit, send.click], respond, inputs=[msg, tab], outputs=[msg, *view], api_name="respond")
        reset.click(guarded(ctl.reset), inputs=[tab], outputs=view, api_name="reset")
        new_user.click(guarded(ctl.new_user), inputs=[tab], outputs=view, api_name="new_user")
        load_user.click(guarded(ctl.load_user), inputs=[user_id, tab], outputs=view, api_name="load_user")
        user_id.submit(guarded(ctl.load_user), inputs=[user_id, tab], outputs=view, api_visibility="private")
        search.input(on_search, inputs=[search], outputs=[matches], api_name="search", trigger_mode="always_last", show_progress="hidden")
        add.click(guarded(ctl.add_favourite), inputs=[matches, tab], outputs=view, api_name="add_favourite")
        favourites.input(guarded(ctl.keep_favourites), inputs=[favourites, tab], outputs=view, api_name="keep_favourites")
        gr.on([policy.input, backend.input], on_prefs, inputs=[policy, backend, tab], outputs=[*view, policy], api_name="set_prefs")
        for i, kind, button in card_buttons:
            button.click(guarded(_bind_feedback(ctl, i, kind)), inputs=[tab], outputs=view, api_visibility="private")

    demo.queue(default_concurrency_limit=concurrency_limit, max_size=queue_size)
    return demo


def _bind_feedback(ctl: Controller, slot: int, kind: str) -> Callable[[TabState | None], TabState]:
    def on_click(state: TabState | None) -> TabState:
        return ctl.feedback(slot, kind, state)

    on_click.__name__ = f"feedback_{slot}_{kind}"
    return on_click


def serve(demo: gr.Blocks, host: str, port: int, *, block: bool = True) -> None:
    """Launch with the page's CSS; tracebacks stay in the log (show_error=False)."""
    demo.launch(server_name=host, server_port=port, css=CSS, show_error=False, prevent_thread_lock=not block, quiet=not block)
