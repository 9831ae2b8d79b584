# The two commands of the README:  `make run` (the embedded default, no servers needed)
# and `make test` (lint, types and the whole suite; provisions a real Neo4j itself).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.installed-serve

.PHONY: install run test test-producers lint typecheck pytest fuzz services-up services-down docs clean bench bench-quick bench-report bench-plugins bench-hostile

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

run: $(SERVE_STAMP)
	$(BIN)/olgraph serve

test: lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest

# At least 10,000 generated requests across every route (schemathesis from the OpenAPI document,
# on the embedded store and on Neo4j, plus hostile bodies): no 5xx, answers as documented.
# `make test` runs a sample of the same tests (tests/fuzz, 20 examples per operation).
fuzz: install
	OLGRAPH_FUZZ_EXAMPLES=800 OLGRAPH_FUZZ_MIN_REQUESTS=10000 $(BIN)/python -m pytest tests/fuzz -p no:randomly -s

# Only the real producers (Spark, dbt, Airflow, the Java client) against olgraph: docs/producers.md.
test-producers: install
	$(BIN)/python -m pytest -m producers

services-up: install
	$(BIN)/olgraph services up

services-down: install
	$(BIN)/olgraph services down

# Benchmarks (docs/benchmarks.md): every section in one run, then bench/results/report.md and
# PNG charts. Starts its own Neo4j, Kafka, PostgreSQL and olgraph processes; not part of `make test`.
bench: install
	$(BIN)/python bench/run.py

# The same harness on small graphs (minutes): for trying it, not for quoting.
bench-quick: install
	$(BIN)/python bench/run.py --quick

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
