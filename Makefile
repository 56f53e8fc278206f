# The two commands of the Quickstart: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test browser lint typecheck docs docs-serve bench bench-smoke install clean

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

# the console in a real Chromium (Debian's package); --screenshots rewrites docs/console/
browser: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider tests/browser $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check hookwise tests bench examples scripts scripts/check-wheel
	$(BIN)/ruff format --check hookwise tests bench examples scripts scripts/check-wheel
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite mostly waits (real servers and processes, retries, PostgreSQL), so it runs on
# pytest-xdist workers; the tests marked `alone` (a wall-clock bound a busy neighbour would
# break, see tests/conftest.py) run after them, one at a time. TEST_WORKERS=0: all in one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	./scripts/ensure-postgres
	$(BIN)/ruff check hookwise tests bench examples scripts scripts/check-wheel
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(MAKE) docs
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup -m "not alone"
	$(BIN)/pytest -p no:cacheprovider -m alone

# the docs site (mkdocs.yml): strict, so a broken link or a page left out of the nav fails;
# the HTTP and CLI references are generated at build time by scripts/docs_reference.py.
# Not --quiet: mkdocs counts the warnings that fail a strict build only when it logs them.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke

clean:
	rm -rf $(VENV) hookwise-data site .pytest_cache .mypy_cache .ruff_cache
