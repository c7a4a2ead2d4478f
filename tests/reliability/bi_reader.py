"""A BI reader in its own process: queries the published warehouse until told to stop.

    python tests/reliability/bi_reader.py DB MODE OUT STOP

MODE ``fresh``: a new read-only connection per query batch; ``held``: one connection for the
whole run. Every batch runs in one transaction and writes one JSON line to OUT: the row count
of every mart and three invariants the marts guarantee within one snapshot (or the error).
Stops after the first batch that starts once the file STOP exists.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import duckdb

from kznews.warehouse import MARTS

# Each pair must be equal inside one snapshot (see the mart SQL in dbt_project/models/marts).
INVARIANTS = {
    # fct_headlines aggregates fct_headline_sightings: times_seen = count(*) per headline.
    "headline_sightings": (
        "select coalesce(sum(times_seen), 0) from fct_headlines",
        "select count(*) from fct_headline_sightings",
    ),
    # dim_rubrics.article_count counts fct_articles per rubric_id; every rubric_id of an
    # article is a mention, so it has a dim_rubrics row.
    "rubric_articles": (
        "select coalesce(sum(article_count), 0) from dim_rubrics",
        "select count(*) from fct_articles where rubric_id is not null",
    ),
    # dim_authors.article_count counts fct_articles per author_id (left join).
    "author_articles": (
        "select coalesce(sum(article_count), 0) from dim_authors",
        "select count(*) from fct_articles where author_id in (select author_id from dim_authors)",
    ),
}


def batch(con: duckdb.DuckDBPyConnection) -> dict:
    con.execute("begin transaction")
    try:
        counts = {m: con.execute(f"select count(*) from {m}").fetchone()[0] for m in MARTS}  # noqa: S608
        inv = {
            k: [con.execute(a).fetchone()[0], con.execute(b).fetchone()[0]]
            for k, (a, b) in INVARIANTS.items()
        }
    finally:
        con.execute("rollback")
    return {"counts": counts, "invariants": inv}


def main(db: str, mode: str, out: str, stop: str) -> int:
    path, stop_file = Path(db), Path(stop)
    held = None
    with open(out, "a", encoding="utf-8") as fh:
        while True:
            last = stop_file.exists()
            rec: dict = {"t": time.time(), "mode": mode}
            try:
                if not path.exists():
                    rec["absent"] = True
                elif mode == "held":
                    held = held or duckdb.connect(db, read_only=True)
                    rec.update(batch(held))
                else:
                    with duckdb.connect(db, read_only=True) as con:
                        rec.update(batch(con))
            except Exception as exc:  # every error is a finding: recorded, not raised
                rec["error"] = f"{type(exc).__name__}: {exc}"
                rec["trace"] = traceback.format_exc()[-2000:]
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            if last:
                return 0
            time.sleep(0.1)  # leaves the cores to the loads it watches (docs/reliability.md)


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
