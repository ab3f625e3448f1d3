"""Launch the app (`make run`, and `python app.py` on a Space): build services, then serve the page.

When artifacts are missing (a fresh Space), a progress page holds the port while they are built, then
the real app takes over the same port.
"""

from __future__ import annotations

import logging
import os
import time

from agents.services import Services, build_services
from app.loading import RELOAD_JS, ProgressLog, loading_page
from app.store import SessionStore, StoreError
from app.ui import build_app, serve
from data.errors import MissingArtifact
from data.settings import Settings

log = logging.getLogger(__name__)


def server_address(settings: Settings) -> tuple[str, int]:
    """Settings decide, except where Gradio's own variables are set (a Space sets GRADIO_SERVER_NAME/PORT)."""
    host = os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if os.environ.get("SPACE_ID") else settings.host)
    port = int(os.environ.get("GRADIO_SERVER_PORT") or settings.port)
    return host, port


def start_services(settings: Settings, host: str, port: int) -> Services:
    """Load what is prepared; if something is missing, build it behind a progress page on the port."""
    try:
        return build_services(settings, prepare_missing=False)
    except MissingArtifact as exc:
        log.info("first start, preparing what is missing: %s", exc)
    progress = ProgressLog()
    page = loading_page(progress)
    page.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, head=RELOAD_JS)
    log.info("progress page on http://%s:%d while preparing", host, port)
    try:
        return build_services(settings, prepare_missing=True, progress=progress)
    finally:
        page.close(verbose=False)


def warm_up(services: Services) -> None:
    """One throwaway turn loads the lazily-loaded models, so the first visitor does not wait for them."""
    t0 = time.perf_counter()
    services.agent.turn(services.new_session(), "a funny adventure from the 90s")
    log.info("warmed up in %.1f s", time.perf_counter() - t0)


def open_store(settings: Settings) -> SessionStore | None:
    """The saved conversations; if the file cannot be opened at all, the app still serves, unsaved, and says why."""
    try:
        store = SessionStore(settings.sessions_file())
    except StoreError as exc:
        log.error("conversations will NOT be saved: %s", exc)
        return None
    log.info("conversations are saved in %s (%d so far)", store.path, len(store.keys()))
    return store


def main() -> None:
    settings = Settings()
    host, port = server_address(settings)
    services = start_services(settings, host, port)
    warm_up(services)
    demo = build_app(services, store=open_store(settings), concurrency_limit=settings.concurrency_limit, queue_size=settings.queue_size)
    log.info("TalkRec on http://%s:%d", host, port)
    serve(demo, host, port)
