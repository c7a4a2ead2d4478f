"""Command line: the same library code the Airflow DAG runs.

    python -m kznews extract --source PATH --out DIR     # pages -> Parquet tables
    python -m kznews land    --source URI  [--date D]    # raw pages -> landing partition
    python -m kznews run     --source URI  --warehouse DIR [--date D] [--full-refresh]
                             [--timeout SECONDS]
    python -m kznews accept  --date D --reason TEXT         # accept a night's failed input checks
    python -m kznews accept  --date D --withdraw            # take the acceptance back
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
from datetime import date
from pathlib import Path

from kznews.config import load_settings
from kznews.timelimit import TIMED_OUT, TimedOut, TimeLimit

#: Exit status of a run that published, but whose quiet-night catch-up could not extract
#: every owed night (kznews.pipeline.catch_up_extract).
CATCH_UP_INCOMPLETE = 4


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def _today_almaty() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Almaty")).date()


def cmd_extract(args: argparse.Namespace) -> int:
    from kznews.acquire import is_crawl, open_source
    from kznews.extract.batch import extract_records_to

    if is_crawl(args.source):
        # A crawl emits only what changed since the crawl state it shares with the nightly
        # load: a crawl here would take those pages from the next night.
        print(f"kznews extract: {args.source} is a site to crawl; extract reads files (a "
              "folder of .html, a .html file or a WARC). Crawl with `kznews land --source "
              "URL` or `kznews run --source URL`.", file=sys.stderr)
        return 2
    settings = load_settings()
    out = Path(args.out)
    records = open_source(args.source, settings)
    counts = extract_records_to(records, out, args.date, settings.max_page_bytes)
    print(json.dumps({"out": str(out.resolve()), "load_date": args.date.isoformat(), **counts}))
    return 0


def cmd_land(args: argparse.Namespace) -> int:
    from kznews.pipeline import land_stage

    settings = load_settings(data_dir=args.data_dir)
    print(json.dumps(land_stage(args.source, args.date, settings)))
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _valid_seconds(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not _valid_seconds(value):
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text}")
    return value


def _report_time_limit(limit: float) -> int:
    print(f"kznews run: stopped at its time limit of {limit:g} s (--timeout, "
          "KZNEWS_RUN_TIMEOUT_S); every stage cleaned up as on Ctrl-C, and the published "
          "warehouse is what the last completed publish left", file=sys.stderr)
    return TIMED_OUT


def cmd_run(args: argparse.Namespace) -> int:
    from kznews.pipeline import (
        describe_owed_failures,
        format_summary,
        owed_failures,
        run_pipeline,
    )

    settings = load_settings(data_dir=args.data_dir, warehouse_dir=args.warehouse)
    limit = settings.run_timeout_s if args.timeout is None else args.timeout
    if not _valid_seconds(limit):
        print(f"kznews run: the time limit must be a number of seconds >= 0, not {limit} "
              "(KZNEWS_RUN_TIMEOUT_S)", file=sys.stderr)
        return 2
    # SIGTERM (a supervisor's or a container's stop, a timeout) unwinds the run as Ctrl-C
    # does: each stage cleans up (the one-process night stops its dbt command first)
    # instead of the process vanishing mid-write. Exit status 143. The run's own time
    # limit (SIGALRM) unwinds it the same way, with exit status 124.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    clock = TimeLimit(limit) if limit else None
    try:
        with clock or contextlib.nullcontext():
            summary = run_pipeline(args.source, args.date, settings,
                                   full_refresh=args.full_refresh)
    except TimedOut:
        return _report_time_limit(limit)
    except Exception as exc:
        if clock is not None and clock.fired:  # a library turned the alarm into its own error
            print(f"kznews run: {type(exc).__name__}: {exc}", file=sys.stderr)
            return _report_time_limit(limit)
        from kznews.pipeline import CatchUpFailed
        from kznews.quality import QualityGateError

        if isinstance(exc, CatchUpFailed):
            print(f"kznews run: {exc}; they stay owed to the next night",
                  file=sys.stderr)
            return CATCH_UP_INCOMPLETE
        if isinstance(exc, QualityGateError):
            print(str(exc), file=sys.stderr)
            print("quality gate failed: the published warehouse was left unchanged",
                  file=sys.stderr)
            return 3
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(format_summary(summary))
    failed = owed_failures(summary)
    if failed:  # the rest is published
        print(f"kznews run: catching up, {describe_owed_failures(failed)}; "
              "they stay owed to the next night", file=sys.stderr)
        return CATCH_UP_INCOMPLETE
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    import getpass

    from kznews.pipeline import gate_fetch
    from kznews.quality.gate import accept_inputs, withdraw_acceptance

    settings = load_settings(data_dir=args.data_dir)
    day = args.date.isoformat()
    if args.withdraw:
        if not withdraw_acceptance(settings, args.date):
            print(f"kznews accept: load date {day} has no acceptance", file=sys.stderr)
            return 2
        print(f"The acceptance of {day} is withdrawn: the next quality gate fails on its "
              "input checks again.", file=sys.stderr)
        return 0
    if not args.reason:
        print("kznews accept: --reason is required (it is shown beside every failure)",
              file=sys.stderr)
        return 2
    try:
        record = accept_inputs(settings, args.date, args.reason, args.by or getpass.getuser(),
                               gate_fetch(settings))
    except ValueError as exc:
        print(f"kznews accept: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"load_date": day, **record}, ensure_ascii=False, indent=1))
    print(f"Accepted, for the partitions of {day} as they are now, the failing checks listed "
          "above: the next quality gate reports them as warnings. Run the night's quality "
          "and publish tasks again (or wait for the next night) to publish. Extracting that "
          "date again into other data ends the acceptance; --withdraw takes it back.",
          file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kznews", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="extract pages from a folder, file or WARC into Parquet")
    e.add_argument("--source", required=True, help="folder of .html, a .html file or a WARC")
    e.add_argument("--out", required=True, help="output folder: one subfolder per table")
    e.add_argument("--date", type=_date, default=_today_almaty(), help="load date partition")
    e.set_defaults(func=cmd_extract)

    ld = sub.add_parser("land", help="land raw pages as the load date's Parquet partition")
    ld.add_argument("--source", required=True, help="folder, .html, WARC or http(s):// URL")
    ld.add_argument("--date", type=_date, default=_today_almaty())
    ld.add_argument("--data-dir", default=None, help="data folder (default: ./data)")
    ld.set_defaults(func=cmd_land)

    r = sub.add_parser("run", help="the whole pipeline without Airflow")
    r.add_argument("--source", required=True, help="folder, .html, WARC or http(s):// URL")
    r.add_argument(
        "--warehouse", default=None,
        help="warehouse folder (default: KZNEWS_WAREHOUSE_DIR, else ./warehouse)",
    )
    r.add_argument("--data-dir", default=None, help="data folder (default: ./data)")
    r.add_argument("--date", type=_date, default=_today_almaty(), help="load date")
    r.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    r.add_argument(
        "--timeout", type=_seconds, default=None, metavar="SECONDS",
        help="stop the run (cleanly, exit status 124) after this many seconds; 0 = no limit "
        "(default: KZNEWS_RUN_TIMEOUT_S, else no limit)",
    )
    r.set_defaults(func=cmd_run)

    a = sub.add_parser("accept", help="accept the failed input checks of a load date as they are")
    a.add_argument("--date", type=_date, required=True, help="the load date whose checks failed")
    a.add_argument("--reason", default=None, help="why its rows may reach BI all the same")
    a.add_argument("--withdraw", action="store_true", help="take an acceptance back")
    a.add_argument("--by", default=None, help="who accepts (default: the user name)")
    a.add_argument("--data-dir", default=None, help="data folder (default: ./data)")
    a.set_defaults(func=cmd_accept)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
