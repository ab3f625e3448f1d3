"""Entry point for `make run` and for a Hugging Face Space (app_file: app.py): the same app for both."""

from __future__ import annotations

import logging
import os

# Before gradio or any model library is imported: no analytics, no telemetry, no hub downloads.
for _key, _value in (
    ("GRADIO_ANALYTICS_ENABLED", "False"),
    ("ANONYMIZED_TELEMETRY", "False"),
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_key, _value)

from app.main import main  # noqa: E402  (the environment above must be set first)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
