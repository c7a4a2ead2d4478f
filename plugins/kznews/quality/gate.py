"""Run the checks of ``specs.py`` with Great Expectations 1.x and turn the results into a verdict.

One ephemeral GX context per call (creating it takes milliseconds; importing GX takes seconds
and happens once per process). Suites are built from ``specs.py`` every time, so the code is
the single versioned definition. Written under ``Settings.quality_dir``:

- ``gx/validations/``: GX validation results (JSON), kept for the last ``KEEP_RUNS`` load dates,
  shared by the separate Airflow tasks of one run;
- ``data_docs/index.html``: the Data Docs site, rebuilt incrementally after every validation;
- ``results/load_date=YYYY-MM-DD/<stage>.json``: the gate's own small verdicts;
- ``inputs_passed.json``: per load date, the digest of its extracted partitions when its
  landing and extraction checks last passed (see :class:`GateRun`);
- ``inputs_accepted.json``: per load date, an operator's acceptance of its failed input
  checks (:func:`accept_inputs`, ``kznews accept``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kznews.fsutil import write_text_atomic
from kznews.quality import specs
from kznews.quality.errors import QualityGateError
from kznews.quality.gximport import import_great_expectations

if TYPE_CHECKING:
    import pandas as pd

    from kznews.config import Settings

log = logging.getLogger(__name__)

SITE_NAME = "kznews"
KEEP_RUNS = 30  # load dates whose validation results stay in Data Docs
MAX_EXAMPLES = 3


# --- GX context ----------------------------------------------------------------------------------


def _docs_dir(settings: Settings) -> Path:
    return settings.quality_dir / "data_docs"


def _validations_dir(settings: Settings) -> Path:
    return settings.quality_dir / "gx" / "validations"


def _context(settings: Settings) -> Any:
    """An ephemeral GX context whose validation results and Data Docs live on disk."""
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(_validations_dir(settings)),
        },
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(_docs_dir(settings)),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _row_condition(spec: dict[str, Any]) -> Any:
    from great_expectations.expectations.row_conditions import Column

    col = Column(spec["column"])
    op = spec["op"]
    if op == "==":
        return col == spec["value"]
    if op == "!=":
        return col != spec["value"]
    raise ValueError(f"unsupported row condition operator {op!r}")


def _expectation(check: specs.Check, number: int) -> Any:
    import great_expectations.expectations as gxe

    kwargs = dict(check.kwargs)
    if "row_condition" in kwargs:
        kwargs["row_condition"] = _row_condition(kwargs["row_condition"])
    cls = getattr(gxe, check.expectation)
    return cls(**kwargs, meta={"severity": check.severity, "why": check.why, "check": number},
               description=f"[{check.severity}] {check.why}")


# --- results -------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _observed(result: dict[str, Any], with_values: bool = True) -> str:
    if "observed_value" in result:
        return f"observed {_fmt(result['observed_value'])}"
    if "unexpected_count" in result:
        n, total = result.get("unexpected_count", 0), result.get("element_count", 0)
        pct = result.get("unexpected_percent")
        pct_s = f" ({pct:.1f}%)" if isinstance(pct, int | float) else ""
        vals = (result.get("partial_unexpected_list") or []) if with_values else []
        vals_s = f"; e.g. {', '.join(_fmt(v) for v in vals[:MAX_EXAMPLES])}" if vals else ""
        return f"{n} of {total} rows unexpected{pct_s}{vals_s}"
    return "failed"


def _examples(result: dict[str, Any]) -> list[str]:
    rows = result.get("partial_unexpected_index_list") or []
    out = []
    for row in rows[:MAX_EXAMPLES]:
        if isinstance(row, dict):
            out.append(", ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
        else:
            out.append(str(row))
    return out


def _check_result(
    stage: str, frame: specs.Frame, check: specs.Check, gx_result: Any
) -> dict[str, Any]:
    result = gx_result.result or {}
    exc = gx_result.exception_info or {}
    raised = bool(exc.get("raised_exception")) if isinstance(exc, dict) else False
    examples = [] if raised else _examples(result)
    observed = (f"error: {str(exc.get('exception_message'))[:300]}" if raised
                else _observed(result, with_values=not examples))
    column = check.kwargs.get("column") or "+".join(check.kwargs.get("column_list", []))
    return _jsonable({
        "stage": stage,
        "frame": frame.name,
        "severity": check.severity,
        "expectation": gx_result.expectation_config.type,
        "column": column,
        "why": check.why,
        "success": bool(gx_result.success) and not raised,
        "observed": observed,
        "examples": examples,
    })


def _synthetic_failure(stage: str, what: str, error: BaseException) -> dict[str, Any]:
    return {
        "stage": stage, "frame": "-", "severity": specs.CRITICAL,
        "expectation": "inputs_readable", "column": "", "why": what, "success": False,
        "observed": f"error: {type(error).__name__}: {str(error)[:300]}", "examples": [],
    }


def _line(c: dict[str, Any]) -> str:
    col = f" {c['column']}" if c["column"] else ""
    text = (f"{c['severity'].upper()} {c['stage']}/{c['frame']}: {c['why']} "
            f"[{c['expectation']}{col}]\n    {c['observed']}")
    for ex in c["examples"]:
        text += f"\n    row: {ex}"
    return text


def _summarise(title: str, checks: list[dict[str, Any]], data_docs: str | None) -> dict[str, Any]:
    failures = [c for c in checks if not c["success"] and c["severity"] == specs.CRITICAL]
    warnings = [c for c in checks if not c["success"] and c["severity"] == specs.WARNING]
    success = not failures
    head = (f"{title}: {'PASSED' if success else 'FAILED'} - {len(checks)} expectations, "
            f"{len(failures)} critical failed, {len(warnings)} warnings")
    lines = [head, *(_line(c) for c in failures), *(_line(c) for c in warnings)]
    if data_docs:
        lines.append(f"Data Docs: {data_docs}")
    return {
        "success": success,
        "evaluated": len(checks),
        "failed": len(failures),
        "warnings": len(warnings),
        "failures": failures,
        "warning_details": warnings,
        "data_docs": data_docs,
        "summary": "\n".join(lines),
    }


# --- running -------------------------------------------------------------------------------------


class _Session:
    """One GX context and run id shared by the stages validated in one call."""

    def __init__(self, settings: Settings, load_date: date) -> None:
        import_great_expectations()  # first: any import below would load all of GX eagerly
        from great_expectations.core.run_identifier import RunIdentifier

        self.settings = settings
        self.load_date = load_date
        self.ctx = _context(settings)
        self.source = self.ctx.data_sources.add_pandas("kznews")
        self.run_id = RunIdentifier(run_name=f"load_date={load_date.isoformat()}",
                                    run_time=datetime.now(UTC))
        self.suite_ids: list[Any] = []

    def validate(self, stage: str, frames: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
        import great_expectations as gx

        out = []
        for frame in specs.frames_for(stage):
            df = frames[frame.name]
            name = f"kznews.{stage}.{frame.name}"
            asset = self.source.add_dataframe_asset(name)
            batch_def = asset.add_batch_definition_whole_dataframe(name)
            suite = self.ctx.suites.add(gx.ExpectationSuite(
                name=name, expectations=[_expectation(c, i) for i, c in enumerate(frame.checks)],
                meta={"kznews_stage": stage},
            ))
            vd = self.ctx.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
            index = [c for c in frame.index if c in df.columns]
            result_format: dict[str, Any] = {"result_format": "SUMMARY",
                                             "partial_unexpected_count": MAX_EXAMPLES}
            if index and len(df):
                result_format["unexpected_index_column_names"] = index
            res = vd.run(batch_parameters={"dataframe": df}, result_format=result_format,
                         run_id=self.run_id)
            by_number = {r.expectation_config.meta.get("check"): r for r in res.results}
            for i, check in enumerate(frame.checks):
                out.append(_check_result(stage, frame, check, by_number[i]))
        return out

    def build_docs(self, others: tuple[_Session, ...] = ()) -> str | None:
        """Render this session's validation results (and those of ``others``, sessions
        of the same gate run for earlier load dates) into the Data Docs site."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        try:
            runs = {(s.run_id.run_name, s.run_id.run_time) for s in (self, *others)}
            _prune_history(self.settings, KEEP_RUNS, also_keep={name for name, _ in runs})
            store = self.ctx.validation_results_store
            this_run = [k for k in store.list_keys()
                        if (k.run_id.run_name, k.run_id.run_time) in runs]
            suites = [ExpectationSuiteIdentifier(name=s.name) for s in self.ctx.suites.all()]
            self.ctx.build_data_docs(site_names=[SITE_NAME],
                                     resource_identifiers=[*this_run, *suites])
        except Exception:  # docs are a report: never let them decide the gate
            log.exception("building Data Docs failed")
            return None
        index = _docs_dir(self.settings) / "index.html"
        return str(index) if index.exists() else None


def _prune_history(settings: Settings, keep: int = KEEP_RUNS,
                   also_keep: Collection[str] = ()) -> None:
    """Keep validation results (and their Data Docs pages) of the newest ``keep`` load dates,
    and of the runs named in ``also_keep`` (older dates this gate checked again)."""
    for root in (_validations_dir(settings), _docs_dir(settings) / "validations"):
        if not root.exists():
            continue
        # Suite names are dotted, so results sit at <root>/kznews/<stage>/<frame>/<run name>/.
        run_dirs = [p for p in root.rglob("load_date=*") if p.is_dir()]
        runs = sorted({p.name for p in run_dirs})
        stale = set(runs[:-keep]) if len(runs) > keep else set()
        for p in run_dirs:
            if p.name in stale and p.name not in also_keep:
                shutil.rmtree(p, ignore_errors=True)


def _build_frames(stage: str, settings: Settings, load_date: date) -> dict[str, pd.DataFrame]:
    from kznews.quality import frames

    if stage == "landing":
        return frames.landing_frames(settings, load_date)
    if stage == "extraction":
        return frames.extraction_frames(settings, load_date)
    return frames.mart_frames(settings)


_WHAT = {
    "landing": "the landing partition of the load date",
    "extraction": "the extracted partitions of the load date",
    "marts": "the marts of the dbt build file",
}


def _validate_stage(session: _Session, stage: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        frames = _build_frames(stage, session.settings, session.load_date)
    except Exception as exc:  # unreadable inputs must block, with the reason in the summary
        log.exception("reading %s failed", stage)
        checks = [_synthetic_failure(stage, f"read {_WHAT[stage]}", exc)]
    else:
        checks = session.validate(stage, frames)
    result = {"stage": stage, "load_date": session.load_date.isoformat(), "checks": checks}
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


def _finish(session: _Session, stage_results: list[dict[str, Any]], name: str,
            build_docs: bool, others: tuple[_Session, ...] = (),
            notes: tuple[str, ...] = (), extra: dict[str, Any] | None = None) -> dict[str, Any]:
    checks = [c for r in stage_results for c in r["checks"]]
    docs = session.build_docs(others) if build_docs else None
    title = f"Quality {name} for load {session.load_date.isoformat()}"
    out = _summarise(title, checks, docs)
    if notes:
        out["summary"] = "\n".join([out["summary"].split("\n", 1)[0], *notes,
                                    *out["summary"].split("\n")[1:]])
    out.update({
        "stage": name,
        "load_date": session.load_date.isoformat(),
        "stages": {r["stage"]: {"seconds": r["seconds"], "evaluated": len(r["checks"])}
                   for r in stage_results},
        **(extra or {}),
    })
    _write_result(session.settings, session.load_date, name, out)
    return out


def _write_result(settings: Settings, load_date: date, name: str, result: dict[str, Any]) -> None:
    folder = settings.quality_dir / "results" / f"load_date={load_date.isoformat()}"
    try:
        write_text_atomic(folder / f"{name}.json",
                          json.dumps(result, ensure_ascii=False, indent=1))
    except OSError:
        log.exception("writing the quality result failed")


def _validate_one(stage: str, settings: Settings, load_date: date, build_docs: bool) -> dict:
    session = _Session(settings, load_date)
    return _finish(session, [_validate_stage(session, stage)], stage, build_docs)


# --- public API ----------------------------------------------------------------------------------


def validate_landing(settings: Settings, load_date: date, build_docs: bool = True) -> dict:
    """Validate the landing partition of ``load_date``; returns a result dict (never raises)."""
    return _validate_one("landing", settings, load_date, build_docs)


def validate_extraction(settings: Settings, load_date: date, build_docs: bool = True) -> dict:
    """Validate the extracted partitions of ``load_date``; returns a result dict."""
    return _validate_one("extraction", settings, load_date, build_docs)


def validate_marts(settings: Settings, load_date: date, build_docs: bool = True) -> dict:
    """Validate the marts of the build file (``load_date`` names the run); returns a dict."""
    return _validate_one("marts", settings, load_date, build_docs)


def raise_if_failed(*results: dict) -> dict:
    """Combine stage results; raise :class:`QualityGateError` if any critical check failed."""
    if len(results) == 1 and results[0].get("stage") == "gate":
        combined = results[0]
    else:
        checks = [c for r in results
                  for c in (r.get("failures", []) + r.get("warning_details", []))]
        evaluated = sum(int(r.get("evaluated", 0)) for r in results)
        docs = next((r["data_docs"] for r in reversed(results) if r.get("data_docs")), None)
        load = next((r.get("load_date") for r in results if r.get("load_date")), "?")
        combined = _summarise(f"Quality gate for load {load}", checks, docs)
        combined.update({"stage": "gate", "load_date": load, "evaluated": evaluated})
    if not combined["success"]:
        raise QualityGateError(combined)
    return combined


#: The gate's stages that read the night's inputs, not the build file: they can be
#: validated while dbt still builds (:class:`GateRun`).
INPUT_STAGES: tuple[str, ...] = tuple(s for s in specs.STAGES if s != "marts")


# --- which load dates passed their input checks ---------------------------------------------

#: Under ``Settings.quality_dir``: per load date, the digest of its extracted partitions
#: (:func:`kznews.warehouse.runner.partition_digests`) when its input checks last passed.
INPUTS_PASSED_NAME = "inputs_passed.json"
#: Under ``Settings.quality_dir``: per load date, an operator's acceptance of its failed input
#: checks (:func:`accept_inputs`): the digest accepted, the reason, who and when.
INPUTS_ACCEPTED_NAME = "inputs_accepted.json"
_LEDGER_LOCK = ".inputs.lock"


@contextlib.contextmanager
def _ledger_lock(settings: Settings) -> Iterator[None]:
    """Serialise the read-modify-write of the ledgers (a gate, an acceptance, a backfill)."""
    import fcntl

    settings.quality_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.quality_dir / _LEDGER_LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


class _Unreadable(ValueError):
    """A ledger file that exists but holds no JSON object."""


def _read_json(path: Path) -> dict[str, Any] | None:
    """The object in ``path``; None when there is no file; :class:`_Unreadable` otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _Unreadable(f"{path} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise _Unreadable(f"{path} holds no JSON object")
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(dict(sorted(data.items())), indent=1))


def _newest_partition_write(settings: Settings, day: str) -> int:
    """The newest mtime (ns) among the extracted files of load date ``day`` (0 if none)."""
    return max((f.stat().st_mtime_ns
                for f in settings.extracted_dir.glob(f"*/load_date={day}/*")
                if f.is_file() and not f.name.startswith(".")), default=0)


def _seed_passed(settings: Settings) -> dict[str, str]:
    """The ledger of a data folder that has none yet (a first night, or an upgrade from a
    version without it), from each night's own gate verdict
    (``results/load_date=D/gate.json``): a load date the build file holds passed, as the
    build read it, when that gate passed on these very partitions. A verdict names the
    digest it checked (``inputs_digest``); one from before that counts only when the
    partitions on disk are the ones the build read and none was written after it. Without
    this, the first gate after an upgrade would check every load date ever built again."""
    from kznews.warehouse.runner import partition_digests, read_partitions, upgrade_digests

    on_disk: dict[str, str] | None = None  # scanned when a verdict needs it
    seeded = {}
    for day, digest in read_partitions(settings).items():
        path = settings.quality_dir / "results" / f"load_date={day}" / "gate.json"
        try:
            verdict = _read_json(path)
        except _Unreadable:
            continue
        if not verdict or verdict.get("success") is not True:
            continue
        if "inputs_digest" in verdict:
            checked = upgrade_digests(settings, {day: str(verdict["inputs_digest"])})[day]
            trusted = checked == digest
        else:
            on_disk = partition_digests(settings) if on_disk is None else on_disk
            trusted = (on_disk.get(day) == digest
                       and path.stat().st_mtime_ns > _newest_partition_write(settings, day))
        if trusted:
            seeded[day] = digest
    return seeded


def inputs_passed(settings: Settings) -> dict[str, str]:
    """Load date -> digest of its extracted partitions when its landing and extraction
    checks last passed. An unreadable ledger counts as empty (every date is checked again),
    a missing one is seeded (:func:`_seed_passed`)."""
    try:
        passed = _read_json(settings.quality_dir / INPUTS_PASSED_NAME)
    except _Unreadable as exc:
        log.warning("%s: every load date the build holds is checked again", exc)
        return {}
    if passed is None:
        return _seed_passed(settings)
    from kznews.warehouse.runner import upgrade_digests

    return upgrade_digests(settings, {str(k): str(v) for k, v in passed.items()})


def _update_passed(settings: Settings, changes: dict[str, str | None]) -> None:
    """Record a pass (a digest) or forget one (None) per load date, in one write."""
    with _ledger_lock(settings):
        passed = inputs_passed(settings)
        for day, digest in changes.items():
            if digest is None:
                passed.pop(day, None)
            else:
                passed[day] = digest
        _write_json(settings.quality_dir / INPUTS_PASSED_NAME, passed)


def inputs_accepted(settings: Settings) -> dict[str, dict[str, Any]]:
    """Load date -> the operator's acceptance of its failed input checks (``digest``,
    ``checks``, ``reason``, ``by``, ``at``); empty when none, or when unreadable."""
    try:
        accepted = _read_json(settings.quality_dir / INPUTS_ACCEPTED_NAME) or {}
    except _Unreadable as exc:
        log.warning("%s: no acceptance holds", exc)
        return {}
    from kznews.warehouse.runner import upgrade_digests

    digests = upgrade_digests(
        settings, {day: str(a["digest"]) for day, a in accepted.items() if a.get("digest")}
    )
    return {day: {**a, "digest": digests[day]} if day in digests else a
            for day, a in accepted.items()}


def _check_key(c: dict[str, Any]) -> str:
    """What names one check of a date's inputs across gates (stage without the date)."""
    stage = c["stage"].split("[", 1)[0]
    return f"{stage}/{c['frame']}/{c['expectation']}/{c['column']}: {c['why']}"


def accept_inputs(settings: Settings, load_date: date, reason: str, by: str,
                  fetch: Callable[[date], None] | None = None) -> dict[str, Any]:
    """Accept the failed input checks of ``load_date`` as its partitions are now: the way
    out when a landing or an extraction cannot be fixed (the source itself is odd) and its
    rows should reach BI all the same.

    The date's input checks run now; the acceptance lists the critical checks that fail
    and holds for those checks on these very partitions (their digest) only: the gate
    still runs them and reports each failure as a warning naming this acceptance, a
    check failing that was not accepted still fails, and a date extracted again is checked
    afresh. Unreadable inputs cannot be accepted. ``fetch`` as for :class:`GateRun`.
    Returns the record; raises ValueError when there is no reason, no extracted partition,
    no landing to fetch, or nothing failing to accept."""
    from kznews.warehouse.runner import partition_digests

    day = load_date.isoformat()
    if not reason.strip():
        raise ValueError("an acceptance needs a reason: it is shown beside every failure")
    digest = partition_digests(settings).get(day)
    if digest is None:
        raise ValueError(f"load date {day} has no extracted partitions to accept")
    if fetch is not None:
        try:
            fetch(load_date)
        except Exception as exc:
            raise ValueError(f"the landing partition of {day} could not be fetched: "
                             f"{exc}") from exc
    session = _Session(settings, load_date)
    results = [_validate_stage(session, s) for s in INPUT_STAGES]
    if partition_digests(settings).get(day) != digest:
        raise ValueError(f"the partitions of {day} changed while they were checked: try again")
    failing = [c for r in results for c in r["checks"]
               if not c["success"] and c["severity"] == specs.CRITICAL]
    if not failing:
        raise ValueError(f"the input checks of {day} pass: nothing to accept")
    unreadable = [c for c in failing if c["expectation"] == "inputs_readable"]
    if unreadable:
        raise ValueError(f"the inputs of {day} cannot be read, which cannot be accepted: "
                         f"{unreadable[0]['observed']}")
    record = {"digest": digest, "checks": sorted({_check_key(c) for c in failing}),
              "reason": reason.strip(), "by": by,
              "at": datetime.now(UTC).isoformat(timespec="seconds")}
    with _ledger_lock(settings):
        accepted = inputs_accepted(settings)
        accepted[day] = record
        _write_json(settings.quality_dir / INPUTS_ACCEPTED_NAME, accepted)
    log.warning("input checks of load date %s accepted by %s: %s", day, by, reason)
    return record


def withdraw_acceptance(settings: Settings, load_date: date) -> bool:
    """Withdraw the acceptance of ``load_date``: the next gate fails on its checks again.
    True when there was one."""
    day = load_date.isoformat()
    with _ledger_lock(settings):
        accepted = inputs_accepted(settings)
        found = accepted.pop(day, None) is not None
        if found:
            _write_json(settings.quality_dir / INPUTS_ACCEPTED_NAME, accepted)
    return found


def _critical_ok(stage_results: list[dict[str, Any]]) -> bool:
    return all(c["success"] or c["severity"] != specs.CRITICAL
               for r in stage_results for c in r["checks"])


def _apply_acceptance(results: list[dict[str, Any]], day: str,
                      acceptance: dict[str, Any]) -> str | None:
    """Demote the critical failures of ``day`` that the acceptance lists to warnings that
    say so; returns a note for the summary (None when it lists none of them)."""
    listed = set(acceptance.get("checks") or ())
    why = (f"failure accepted by {acceptance.get('by', '?')} on {acceptance.get('at', '?')}: "
           f"{acceptance.get('reason', '')}")
    demoted = 0
    for r in results:
        for c in r["checks"]:
            if (not c["success"] and c["severity"] == specs.CRITICAL
                    and _check_key(c) in listed):
                c["severity"] = specs.WARNING
                c["why"] = f"{c['why']} ({why})"
                c["accepted"] = dict(acceptance)
                demoted += 1
    if not demoted:
        return None
    rest = "" if _critical_ok(results) else "; other checks fail all the same"
    return f"Load {day}: {demoted} failed input check(s) accepted; {why}{rest}"


def _fetch_failure(results: list[dict[str, Any]], error: BaseException) -> None:
    """A date whose inputs could not be fetched fails its landing stage, with the reason."""
    landing = next(r for r in results if r["stage"] == "landing")
    landing["checks"].append(_synthetic_failure("landing", "fetch the landing partition",
                                                error))


def _validate_inputs_of(
    sessions: list[_Session], fetch: Callable[[date], None] | None
) -> tuple[dict[str, list[dict[str, Any]]], list[str], dict[str, str]]:
    """Validate landing and extraction of each session's load date, in one ledger update.

    Returns the stage results per date, notes for the summary, and the digest of each date
    that passed (or whose failures were all accepted for these partitions) and whose
    extracted partitions did not change while they were read. Only a clean pass is
    recorded in the ledger (an accepted date is checked at every gate, so withdrawing the
    acceptance takes effect); a date that failed is forgotten. Digests are scanned twice,
    whatever the number of dates."""
    from kznews.warehouse.runner import partition_digests

    if not sessions:
        return {}, [], {}
    settings = sessions[0].settings
    before = partition_digests(settings)
    accepted = inputs_accepted(settings)
    by_day: dict[str, list[dict[str, Any]]] = {}
    clean: dict[str, bool] = {}
    notes: list[str] = []
    for session in sessions:
        day = session.load_date.isoformat()
        fetch_error = None
        if fetch is not None:
            try:
                fetch(session.load_date)
            except Exception as exc:
                log.exception("fetching the inputs of %s failed", day)
                fetch_error = exc
        results = [_validate_stage(session, s) for s in INPUT_STAGES]
        if fetch_error is not None:
            _fetch_failure(results, fetch_error)
        clean[day] = _critical_ok(results)
        acceptance = accepted.get(day)
        if (not clean[day] and acceptance and before.get(day) is not None
                and acceptance.get("digest") == before.get(day)):
            note = _apply_acceptance(results, day, acceptance)
            if note:
                notes.append(note)
        by_day[day] = results
    after = partition_digests(settings)
    ok = {day: before[day] for day, results in by_day.items()
          if _critical_ok(results) and before.get(day) is not None
          and before.get(day) == after.get(day)}
    _update_passed(settings, {day: ok.get(day) if clean[day] else None for day in by_day})
    return by_day, notes, ok


class GateRun:
    """One run of the gate in one GX session (one run id, one Data Docs update): the input
    stages can be validated first (:meth:`validate_inputs`, while the build runs), the rest
    in :meth:`finish`, which decides.

    The marts hold every load date the build file was built from, not only this one. A
    night whose input checks failed is still in the build file, so :meth:`finish` also
    checks the inputs of every load date the build read
    (:func:`kznews.warehouse.runner.read_partitions`) that have not passed as they are:
    a failed night keeps failing the gate, and so keeps its rows from BI, until its data is
    fixed and the night run again, its failure accepted (:func:`accept_inputs`), or its
    extracted partitions removed, whatever the later nights bring. A date whose partitions
    changed after the build read them fails too: the build holds rows no check has seen.

    ``fetch(load_date)``, when given, is called before a date's inputs are read: with an
    object store, it pulls the landing partition this machine lacks.
    """

    def __init__(self, settings: Settings, load_date: date,
                 fetch: Callable[[date], None] | None = None) -> None:
        self._t0 = time.perf_counter()
        self.session = _Session(settings, load_date)
        self.fetch = fetch
        self.stage_results: list[dict[str, Any]] = []
        self.notes: list[str] = []
        #: load date -> digest of the partitions whose checks passed in this run
        self.ok: dict[str, str] = {}

    def _validate(self, stages: tuple[str, ...]) -> None:
        done = {r["stage"] for r in self.stage_results}
        self.stage_results += [_validate_stage(self.session, s) for s in stages if s not in done]

    def validate_inputs(self) -> None:
        """Validate landing and extraction of the load date (they never read the build)."""
        if not any(r["stage"] in INPUT_STAGES for r in self.stage_results):
            by_day, notes, ok = _validate_inputs_of([self.session], self.fetch)
            self.stage_results += by_day[self.session.load_date.isoformat()]
            self.notes += notes
            self.ok.update(ok)

    def _earlier_loads(self) -> tuple[list[dict[str, Any]], tuple[_Session, ...]]:
        """Validate the inputs of the other load dates the build file holds that have not
        passed as the build read them; returns their stage results (stage names carry the
        date) and their sessions, and adds a line per date to the notes."""
        from kznews.warehouse.runner import read_partitions

        settings, today = self.session.settings, self.session.load_date.isoformat()
        built = read_partitions(settings)
        passed = inputs_passed(settings)
        sessions = [_Session(settings, date.fromisoformat(day))
                    for day in sorted(built) if day != today and passed.get(day) != built[day]]
        by_day, notes, ok = _validate_inputs_of(sessions, self.fetch)
        self.ok.update(ok)
        results: list[dict[str, Any]] = []
        failed_now = set()
        for day, day_results in by_day.items():
            accepted = any("accepted" in c for r in day_results for c in r["checks"])
            for r in day_results:
                r["stage"] = f"{r['stage']}[{day}]"
                for c in r["checks"]:
                    c["stage"] = r["stage"]
            results += day_results
            verdict = ("FAILED" if not _critical_ok(day_results)
                       else "passed, its failures accepted" if accepted else "passed")
            if verdict == "FAILED":
                failed_now.add(day)
            self.notes.append(f"Earlier load {day}, in the build file, had not passed its "
                              f"input checks: checked again, {verdict}")
        self.notes += notes
        # every date in the build must have passed (or been accepted) as the build read it
        have = {**inputs_passed(settings), **self.ok}
        if not _critical_ok([r for r in self.stage_results if r["stage"] in INPUT_STAGES]):
            failed_now.add(today)
        stale = sorted(d for d, digest in built.items()
                       if have.get(d) != digest and d not in failed_now)
        if stale:
            error = RuntimeError(
                f"extracted partitions of load date(s) {', '.join(stale)} changed after the "
                "build read them: the build file holds rows no check has seen; run the "
                "build stage again, then this gate")
            results.append({"stage": "inputs", "load_date": today, "seconds": 0.0,
                            "checks": [_synthetic_failure("inputs", "check what the build read",
                                                          error)]})
        return results, tuple(sessions)

    def finish(self) -> dict:
        """Validate what is left (the marts of the build file, and the inputs of earlier
        load dates it holds that never passed) and decide, as :func:`run_gate` does."""
        self.validate_inputs()
        self._validate(specs.STAGES)  # INPUT_STAGES come first in STAGES: results in order
        earlier, sessions = self._earlier_loads()
        result = _finish(self.session, self.stage_results + earlier, "gate", build_docs=True,
                         others=sessions, notes=tuple(self.notes),
                         extra={"inputs_digest": self.ok.get(self.session.load_date.isoformat())})
        result["seconds"] = round(time.perf_counter() - self._t0, 3)
        log.info("%s", result["summary"])
        if not result["success"]:
            raise QualityGateError(result)
        return result


def run_gate(settings: Settings, load_date: date,
             fetch: Callable[[date], None] | None = None) -> dict:
    """Validate landing + extraction of ``load_date`` and the build file's marts.

    Returns a JSON-serialisable dict (``success``, ``evaluated``, ``warnings``, ``data_docs``,
    ``summary``, ...). Raises :class:`QualityGateError` carrying that dict when a critical
    expectation fails; warnings are reported but never block.
    """
    return GateRun(settings, load_date, fetch).finish()
