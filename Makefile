# The two commands of the README:  `make run` (the embedded default, no servers needed)
# and `make test` (lint, types and the whole suite; provisions a real Neo4j itself).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.installed-serve

.PHONY: install run test test-producers test-marquez lint typecheck pytest fuzz services-up services-down docs clean \
        bench bench-quick bench-report bench-plugins bench-hostile bench-soak ui ui-test chromium screenshots

install: $(STAMP)

# Everything development needs: the server, the plugins' distribution (integrations/) and the dev tools.
$(STAMP): pyproject.toml integrations/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./integrations
	touch $(STAMP) $(SERVE_STAMP)

# Only what serving needs (the package's own dependencies), so the server starts in seconds.
$(SERVE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $(SERVE_STAMP)

run: $(SERVE_STAMP) ui
	$(BIN)/olgraph serve

test: lint typecheck ui-test pytest

# The web explorer (ui/, TypeScript): `npm ci` and `npm run build` into src/olgraph/api/static
# when the build is missing or stale (a digest of its inputs); needs Node.js >= 20.19 and npm.
ui:
	$(PYTHON) scripts/build_ui.py

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

# At least 10,000 generated requests across every route (schemathesis from the OpenAPI document,
# on the embedded store and on Neo4j, plus hostile bodies): no 5xx, answers as documented.
# `make test` runs a sample of the same tests (tests/fuzz, 20 examples per operation).
fuzz: install
	OLGRAPH_FUZZ_EXAMPLES=800 OLGRAPH_FUZZ_MIN_REQUESTS=10000 $(BIN)/python -m pytest tests/fuzz -p no:randomly -s

# Only the real producers (Spark, dbt, Airflow, the Java client) against olgraph: docs/producers.md.
test-producers: install
	$(BIN)/python -m pytest -m producers

# The differential suite against the real Marquez 0.50 (built from source, on a private PostgreSQL):
# every read route asked of both for every node; `make test` runs a sample of it with one Marquez
# start (docs/migrating-from-marquez.md).
test-marquez: install
	OLGRAPH_MARQUEZ_FULL=1 $(BIN)/python -m pytest tests/marquez

# Screenshots of every explorer page into docs/screenshots (the README shows one): the browser
# tests take them anyway; this copies them there.
screenshots: install ui chromium
	OLGRAPH_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -m "not neo4j" \
	  tests/e2e/test_explorer_browser.py tests/e2e/test_explorer_keys.py \
	  tests/e2e/test_explorer_capped.py tests/e2e/test_explorer_stale.py

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

# The memory soak alone: serve, api and consume under a paced load for 30 minutes each (about
# 75 minutes with warm-ups); RSS curves and growth per 10 minutes in bench/results/report.md.
bench-soak: install
	$(BIN)/python bench/run.py --only soak

# Hostile request bodies: time to refuse each, /healthz latency and memory under four hostile clients.
bench-hostile: install
	$(BIN)/python bench/hostile.py

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
