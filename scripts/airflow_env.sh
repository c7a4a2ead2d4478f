#!/bin/sh
# Project-local Airflow: `. scripts/airflow_env.sh` (bash: from anywhere; sh: from the repo root).
# Everything Airflow keeps lives in <repo>/.airflow (gitignored): SQLite metadata DB, logs,
# airflow.cfg and the simple auth manager's generated password file.
# Values already set in the environment win, so CI/tests can point AIRFLOW_HOME elsewhere.
# POSIX sh (make's /bin/sh) has no BASH_SOURCE: there the repo root is KZNEWS_HOME or the cwd.
if [ -n "${BASH_VERSION:-}" ]; then
  eval '_kz_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"'
else
  _kz_root="${KZNEWS_HOME:-$(pwd)}"
fi
export KZNEWS_HOME="${KZNEWS_HOME:-$_kz_root}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_kz_root/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$_kz_root/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$_kz_root/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__DEFAULT_TIMEZONE="${AIRFLOW__CORE__DEFAULT_TIMEZONE:-Asia/Almaty}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
# Local runs only: a fresh laptop should not wait minutes for new DAG files to be noticed.
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export KZNEWS_POOL="kznews_duckdb"
if [ -d "$_kz_root/.venv/bin" ]; then
  case ":$PATH:" in *":$_kz_root/.venv/bin:"*) ;; *) export PATH="$_kz_root/.venv/bin:$PATH" ;; esac
fi
mkdir -p "$AIRFLOW_HOME"
unset _kz_root
