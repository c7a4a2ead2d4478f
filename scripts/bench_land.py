"""Landing throughput: HTML bytes per second written into the Parquet landing.

    .venv/bin/python scripts/bench_land.py [--pages 6000] [--repeat 3]

Pages come from the synthetic site generator (rendered before timing, held in memory); the
timed part is ``land_records`` only: hashing, dedup, Arrow batches, zstd Parquet, atomic rename.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from kznews.land import land_records, read_partition
from kznews.sitegen import Site, iter_pages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=6000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    records = [p.to_record("bench") for p in iter_pages(Site(seed=args.seed, pages=args.pages))]
    gen_s = time.perf_counter() - t0
    mb = sum(len(r.body) for r in records) / 1e6
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = land_records(records, Path(d), date(2026, 11, 25))
            runs.append(time.perf_counter() - t)
        size = result.path.stat().st_size / 1e6
        landed = read_partition(Path(d), date(2026, 11, 25), ["url"]).num_rows
        if landed != len(records):
            raise SystemExit(f"landed {landed} rows, expected {len(records)}")
    best = min(runs)
    print(
        json.dumps(
            {
                "pages": len(records),
                "html_mb": round(mb, 1),
                "generate_s": round(gen_s, 2),
                "land_s_best": round(best, 3),
                "land_s_all": [round(r, 3) for r in runs],
                "land_mb_per_s": round(mb / best, 1),
                "pages_per_s": round(len(records) / best),
                "parquet_mb": round(size, 1),
                "compression_ratio": round(mb / size, 1),
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
