"""Airflow needs AIRFLOW_HOME before it is first imported: point it at a throwaway folder."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kznews-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# The harness module beside the tests (tests/ has no __init__.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
