# Every install step lives here, so that the README needs two commands only.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.openscout-installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh scripts/build-llama.sh scripts/llama-build-flags.sh
	PY=$(PY) VENV=$(VENV) bash scripts/setup.sh
	touch $@

# The main job on the embedded default models: quality, speed, memory, cost, openness and
# licence, ending in a recommendation and an HTML/Markdown/JSON report.
demo: setup
	$(BIN)/openscout generate -m smollm2-135m-instruct -m gemma-3-270m --max-tokens 24 "The capital of France is"
	$(BIN)/openscout compare

test: setup
	VENV=$(VENV) bash scripts/setup-test.sh
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
