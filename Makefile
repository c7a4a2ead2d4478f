# The single front door. `make run` and `make test` each set everything up first
# (a project-local virtual environment in .venv) and are safe to run again.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kznews-installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup run run-local test test-fast test-durations lint bench bench-extract bench-scaleout fuzz clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)  ## create/refresh the virtual environment (.venv)

run: setup  ## the main job: kznews_nightly through Airflow over the bundled sample
	@$(MAKE) --no-print-directory dag-run

run-local: setup  ## the same pipeline without Airflow (python -m kznews run)
	$(PY) -m kznews run --source sample

# pytest-xdist: one worker per core (TEST_WORKERS=0 runs in this process), whole test
# files per worker so module fixtures are built once; tests/conftest.py hands out the
# longest files first (tests/durations.json), and xdist keeps that order.
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: setup  ## lint, then the whole test suite (on every core)
	$(VENV)/bin/ruff check .
	$(PYTEST)

test-fast: setup  ## the suite without the slow end-to-end tests
	$(PYTEST) -m "not slow"

test-durations: setup  ## run the suite and store each file's seconds (tests/durations.json: make test's order)
	$(PYTEST) --record-durations

lint: setup  ## ruff
	$(VENV)/bin/ruff check .

bench-extract: setup  ## extraction throughput: kznews vs trafilatura vs BeautifulSoup
	$(PY) scripts/bench_extract.py

bench: setup  ## benchmarks: extraction, then the pipeline at 1k/10k/100k pages, outside Airflow, in airflow dags test and under Celery (that part needs PostgreSQL + Redis) (docs/benchmarks.md)
	$(PY) scripts/bench_extract.py
	$(PY) scripts/bench_pipeline.py

bench-scaleout: setup  ## one DuckDB file vs DuckLake (DuckLake part needs PostgreSQL on 127.0.0.1)
	$(PY) scripts/bench_scaleout.py

fuzz: setup  ## 100,000 random and mutated pages through extract_page
	$(PY) scripts/fuzz_extract.py --inputs 100000

clean:  ## remove generated data, warehouse and Airflow state (not .venv)
	rm -rf data warehouse .airflow dbt_project/target dbt_project/logs

include make/airflow.mk
