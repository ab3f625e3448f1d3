"""Entry point for `make run` and for a Hugging Face Space (app_file: app.py)."""

from __future__ import annotations

import logging

from app.main import main

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
