# Airflow targets (issue 7). Included by the top-level Makefile, which defines VENV and PY.
# Project-local Airflow: AIRFLOW_HOME=.airflow, dags/ and plugins/ of this repo, SQLite.
VENV ?= .venv
PY ?= $(VENV)/bin/python
AIRFLOW_ENV := . scripts/airflow_env.sh &&
AIRFLOW_POOL := kznews_duckdb
# Load date of `make dag-run`: today in Almaty unless given (make dag-run DAG_DATE=2026-01-31).
DAG_DATE ?= $(shell TZ=Asia/Almaty date +%F)
AIRFLOW_PORT ?= 8080

.PHONY: airflow airflow-init dag-run airflow-backfill airflow-test airflow-bench

airflow-init:  ## migrate the metadata DB (.airflow/airflow.db) and create the kznews_duckdb pool
	@$(AIRFLOW_ENV) airflow db migrate >/dev/null && \
	  airflow pools set $(AIRFLOW_POOL) 1 "Single writer for DuckDB files (kznews)" >/dev/null && \
	  echo "airflow: metadata DB in $$AIRFLOW_HOME, pool $(AIRFLOW_POOL)=1"

airflow: airflow-init  ## run Airflow (api-server, scheduler, dag-processor, triggerer) on 127.0.0.1
	@$(AIRFLOW_ENV) export AIRFLOW__API__PORT=$(AIRFLOW_PORT) && \
	  echo "Airflow UI: http://127.0.0.1:$(AIRFLOW_PORT)/  (Ctrl-C stops it)" && \
	  echo "Login: user 'admin', password in $$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" && \
	  echo "       (written on first start; 'cat' it from another shell)" && \
	  exec airflow standalone

# (no retries: a local run over files should fail fast; the scheduler keeps its retries)
dag-run: airflow-init  ## run kznews_nightly once in-process over the bundled sample, print the summary
	@$(AIRFLOW_ENV) KZNEWS_AIRFLOW_RETRIES=0 airflow dags test kznews_nightly $(DAG_DATE) \
	  -c '{"load_date": "$(DAG_DATE)"}' > $$AIRFLOW_HOME/dag-run.log 2>&1; rc=$$?; \
	  summary="$$($(PY) -c 'from kznews.config import load_settings; print(load_settings().state_dir)')/airflow/summary_$(DAG_DATE).txt"; \
	  if [ $$rc -ne 0 ] || ! grep -q "DagRun Finished: .*state=success" $$AIRFLOW_HOME/dag-run.log; then \
	    tail -n 60 $$AIRFLOW_HOME/dag-run.log; if [ -f "$$summary" ]; then cat "$$summary"; fi; \
	    echo "dag-run FAILED (full log: $$AIRFLOW_HOME/dag-run.log)"; exit 1; fi; \
	  if [ -f "$$summary" ]; then cat "$$summary"; else echo "no summary at $$summary"; exit 1; fi; \
	  echo "(Airflow log: $$AIRFLOW_HOME/dag-run.log)"

airflow-backfill: airflow-init  ## reprocess FROM..TO from the landing (make airflow-backfill FROM=... TO=...)
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make airflow-backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD"; exit 2; }
	@# Runs sit at 02:00 Almaty: a bare TO date is extended to the end of that day.
	@to="$(TO)"; case "$$to" in ????-??-??) to="$${to}T23:59:59";; esac; \
	  $(AIRFLOW_ENV) airflow backfill create --dag-id kznews_nightly \
	  --from-date $(FROM) --to-date "$$to" --reprocess-behavior completed --max-active-runs 1

airflow-test:  ## DAG integrity + deploy tests (the real-Airflow ones are marked slow/services)
	$(PY) -m pytest -q tests/dags tests/deploy

airflow-bench:  ## DAG parse time and Airflow overhead over the sample
	@$(AIRFLOW_ENV) $(PY) scripts/bench_airflow.py
