# The two commands of the README:  `make run` (the embedded default, no servers needed)
# and `make test` (lint, types and the whole suite; provisions a real Neo4j itself).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest services-up services-down docs clean bench bench-quick bench-report bench-plugins \
        ui ui-test chromium screenshots

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install ui
	$(BIN)/olgraph serve

test: lint typecheck ui-test pytest

# The web explorer (ui/, TypeScript): `npm ci` and `npm run build` into src/olgraph/api/static
# when the build is missing or stale (a digest of its inputs); needs Node.js >= 20.19 and npm.
ui: install
	$(BIN)/python scripts/build_ui.py

# The explorer's own checks: TypeScript (strict) and its unit tests (vitest).
ui-test: ui
	cd ui && npm run typecheck && npm test

# The browser tests drive Debian's Chromium; install it (and its driver) when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

lint: install
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench

typecheck: install
	$(BIN)/mypy

pytest: install ui chromium
	$(BIN)/python -m pytest

# Screenshots of every explorer page into docs/screenshots (the README shows one): the browser
# tests take them anyway; this copies them there.
screenshots: install ui chromium
	OLGRAPH_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -m "not neo4j" \
	  tests/e2e/test_explorer_browser.py tests/e2e/test_explorer_keys.py

services-up: install
	$(BIN)/olgraph services up

services-down: install
	$(BIN)/olgraph services down

# Benchmarks (docs/benchmarks.md): every section in one run, then bench/results/report.md and
# PNG charts. Starts its own Neo4j, Kafka, PostgreSQL and olgraph processes; not part of `make test`.
bench: install ui
	$(BIN)/python bench/run.py

# The same harness on small graphs (minutes): for trying it, not for quoting.
bench-quick: install ui
	$(BIN)/python bench/run.py --quick

bench-report: install
	$(BIN)/python bench/report.py

# What the MLflow and Ray plugins cost a workload (import time, per-call overhead); prints a report.
bench-plugins: install
	$(BIN)/python bench/plugins_mlflow.py
	$(BIN)/python bench/plugins_ray.py

docs: install
	$(BIN)/python scripts/gen_config_docs.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis ui/node_modules src/olgraph/api/static
