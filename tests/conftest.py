"""Shared fixtures: the real ML-100K, prepared by `make test` before pytest runs (or here if missing).

The suite speaks ML-100K (its films, users and figures), whatever the product's default dataset is: the app
serves ml-latest-small by default, and the tests that check that default (the browser test, the ml-latest-small
tests) name their dataset themselves.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from data.dataset import Dataset, load_dataset
from data.lookup import TitleLookup
from data.prepare import prepare
from data.settings import Settings

# Set, not defaulted: a developer's TALKREC_DATASET must not point ML-100K tests at another catalog. Subprocesses
# (app.py servers) inherit it.
os.environ["TALKREC_DATASET"] = "ml-100k"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES = TESTS_DIR / "data"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def ml100k(settings: Settings) -> Dataset:
    logging.getLogger(__name__).info("preparing ml-100k if needed")
    prepare(settings.model_copy(update={"dataset": "ml-100k"}))
    return load_dataset(settings.artifacts_dir, "ml-100k")


@pytest.fixture(scope="session")
def lookup(ml100k: Dataset) -> TitleLookup:
    return TitleLookup(ml100k.catalog)


@pytest.fixture(scope="session")
def services(settings: Settings):
    """The real composition root on ML-100K: trained SASRec, Chroma index, planner agent."""
    from agents.services import build_services

    return build_services(settings)
