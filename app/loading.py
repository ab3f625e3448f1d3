"""First start: a small page that shows preparation progress while data, SASRec and the index are built.

A fresh Space has no artifacts; building them takes minutes, and a page that stays blank that long looks
broken. This page serves the progress lines on the app's port and reloads itself once the real app has
taken the port over (the real page's title differs from this one's).
"""

from __future__ import annotations

import logging
import threading
import time

import gradio as gr

log = logging.getLogger(__name__)

LOADING_TITLE = "TalkRec (preparing)"

# Poll the server's config: while this page is served it names LOADING_TITLE; once the real app answers,
# reload. Fetch errors (the gap between the two servers) are expected and ignored.
RELOAD_JS = f"""
<script>
setInterval(async () => {{
  try {{
    const r = await fetch("./config", {{cache: "no-store"}});
    if (r.ok && (await r.json()).title !== {LOADING_TITLE!r}) location.reload();
  }} catch (e) {{}}
}}, 3000);
</script>
"""


class ProgressLog:
    """A progress callback for build_services: logs each step and keeps it for the page."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        log.info("%s", message)
        with self._lock:
            self._lines.append(f"{time.monotonic() - self._t0:6.0f} s  {message}")

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def markdown(self) -> str:
        lines = self.lines or ["starting"]
        return "```\n" + "\n".join(lines) + "\n```"


def loading_page(progress: ProgressLog) -> gr.Blocks:
    with gr.Blocks(title=LOADING_TITLE, analytics_enabled=False) as page:
        gr.Markdown(
            "# 🎬 TalkRec is getting ready\nFirst start: preparing the dataset, training the sequence model and building "
            "the item index (a few minutes on a CPU). This page reloads by itself when the app is up."
        )
        status = gr.Markdown(progress.markdown, elem_id="progress")  # a callable: fresh on every page load
        timer = gr.Timer(2.0)
        timer.tick(progress.markdown, outputs=status, api_visibility="private", show_progress="hidden")
    return page
