# The two commands of the Quickstart: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench bench-smoke install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/hookwise serve --demo

lint: $(STAMP)
	$(BIN)/ruff check hookwise tests bench examples scripts/check-wheel
	$(BIN)/ruff format --check hookwise tests bench examples scripts/check-wheel
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite mostly waits (real servers and processes, retries, PostgreSQL), so it runs on
# pytest-xdist workers; the tests marked `alone` (a wall-clock bound a busy neighbour would
# break, see tests/conftest.py) run after them, one at a time. TEST_WORKERS=0: all in one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	./scripts/ensure-postgres
	$(BIN)/ruff check hookwise tests bench examples scripts/check-wheel
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup -m "not alone"
	$(BIN)/pytest -p no:cacheprovider -m alone

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke

clean:
	rm -rf $(VENV) hookwise-data .pytest_cache .mypy_cache .ruff_cache
