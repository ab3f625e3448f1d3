"""Launch the app: prepare what is missing, build services, serve on settings.host:settings.port."""

from __future__ import annotations

import logging

import gradio as gr

from data.dataset import load_dataset
from data.prepare import prepare
from data.settings import Settings

log = logging.getLogger(__name__)


def build_placeholder(settings: Settings) -> gr.Blocks:
    ds = load_dataset(settings.artifacts_dir, settings.dataset)
    with gr.Blocks(title="TalkRec") as demo:
        gr.Markdown(f"# TalkRec\nDataset **{ds.name}** ready: {len(ds.catalog)} items, {ds.n_users} users.")
    return demo


def main() -> None:
    settings = Settings()
    prepare(settings)
    demo = build_placeholder(settings)
    demo.queue(default_concurrency_limit=4).launch(server_name=settings.host, server_port=settings.port)
