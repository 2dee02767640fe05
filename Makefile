# Every install step lives here, so that the README needs two commands only.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.openscout-installed

.PHONY: setup demo demo-tune test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh scripts/build-llama.sh scripts/llama-build-flags.sh
	PY=$(PY) VENV=$(VENV) bash scripts/setup.sh
	touch $@

# The main job on the embedded default models: quality, speed, memory, cost, openness and
# licence, ending in a recommendation and an HTML/Markdown/JSON report.
demo: setup
	$(BIN)/openscout generate -m smollm2-135m-instruct -m gemma-3-270m --max-tokens 24 "The capital of France is"
	$(BIN)/openscout compare

# Customise (docs/customise.md): LoRA-tune SmolLM2 on the training split of the `city-json`
# demo task, then compare base and fine-tune on its held-out split (paired test in `eval`).
TUNE_DATA := $(HOME)/.openscout/demo/city-json-train.jsonl
demo-tune: setup
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[tune]'
	$(BIN)/openscout tune-demo-data $(TUNE_DATA) --n 160
	$(BIN)/openscout tune smollm2-135m-instruct --data $(TUNE_DATA) --name smollm2-city-json --steps 24 --eval-every 4 --replace
	$(BIN)/openscout eval --suite city-json -m smollm2-135m-instruct -m smollm2-city-json
	$(BIN)/openscout compare -m smollm2-135m-instruct -m smollm2-city-json --suite city-json --limit 40

# Two workers, the CI machine's cores: the tests wait on subprocesses, servers and a browser
# as much as they compute (21 minutes alone, 16 on a busy machine with two). A worker takes
# whole files, so a module's shared fixture (the fine-tune) is made once. The schemathesis
# fuzz names all its cases alike, which xdist cannot share out: it runs on its own after.
PYTEST_WORKERS ?= 2
test: setup
	VENV=$(VENV) bash scripts/setup-test.sh
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --ignore=tests/reliability/test_schemathesis.py
	$(BIN)/python -m pytest tests/reliability/test_schemathesis.py

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
