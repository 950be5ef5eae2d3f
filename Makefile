# copylearn: every target creates or refreshes .venv and installs what it needs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-all bench lint clean

# The package itself (what make demo needs).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "copylearn needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# Plus the test tools and the optional extras the tests exercise (Dask, Google devices).
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,distributed,devices]"
	touch $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/copylearn demo
	$(BIN)/copylearn sweep experiments/quick.toml --out runs/quick
	$(BIN)/copylearn plot runs/quick --out runs/quick/figures
	$(BIN)/copylearn summary runs/quick

# Tests run in parallel, one pytest-xdist worker per core (-n auto): every test is independent
# (own seeds, own temporary directories), so the results do not depend on the worker count.
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n auto

test-all: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n auto -m ""

bench: $(DEV_STAMP)
	PYTHONUNBUFFERED=1 $(BIN)/python benchmarks/bench_collect.py
	PYTHONUNBUFFERED=1 $(BIN)/python benchmarks/bench_estimators.py
	PYTHONUNBUFFERED=1 $(BIN)/python benchmarks/bench_entangled.py
	PYTHONUNBUFFERED=1 $(BIN)/python benchmarks/bench_clifford.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check copylearn

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info runs
