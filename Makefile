# copylearn: every target creates or refreshes .venv and installs what it needs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all bench lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "copylearn needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,distributed]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/copylearn demo
	$(BIN)/copylearn sweep experiments/quick.toml --out runs/quick
	$(BIN)/copylearn plot runs/quick --out runs/quick/figures
	$(BIN)/copylearn summary runs/quick

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_collect.py
	$(BIN)/python benchmarks/bench_estimators.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check copylearn

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info runs
