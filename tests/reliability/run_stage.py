"""Run the pipeline (or one stage) in a child process, so a test can SIGKILL it mid-way.

    python tests/reliability/run_stage.py STAGE SOURCE YYYY-MM-DD DATA_DIR WAREHOUSE_DIR

STAGE: ``all`` (``kznews.pipeline.run_pipeline``) or one of ``kznews.pipeline.STAGES``.
Prints the summary as JSON on success.
"""

from __future__ import annotations

import json
import sys
from datetime import date

from kznews import pipeline
from kznews.config import load_settings


def main(argv: list[str]) -> int:
    stage, source, day, data_dir, warehouse_dir = argv
    settings = load_settings(data_dir=data_dir, warehouse_dir=warehouse_dir)
    d = date.fromisoformat(day)
    if stage == "all":
        out = pipeline.run_pipeline(source, d, settings)
    else:
        out = pipeline.run_stage(stage, source, d, settings)
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
