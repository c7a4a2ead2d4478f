"""Run the pipeline (or one stage) in a child process, so a test can SIGKILL it mid-way.

    python tests/reliability/run_stage.py STAGE SOURCE YYYY-MM-DD DATA_DIR WAREHOUSE_DIR

STAGE: ``all`` (``kznews.pipeline.run_pipeline``), ``land``, ``extract``, ``build``,
``publish``. Prints the summary as JSON on success.
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
    elif stage == "land":
        out = pipeline.land_stage(source, d, settings)
    elif stage == "extract":
        out = pipeline.extract_stage(d, settings)
    elif stage == "build":
        out = pipeline.build_stage(settings, load_date=d)
    elif stage == "publish":
        out = pipeline.publish_stage(settings)
    else:
        raise SystemExit(f"unknown stage {stage}")
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
