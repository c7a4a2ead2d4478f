"""The record that the current build file passed the quality gate.

The quality stage validates the build file; the publish stage, a separate task, copies it to
BI. Without a record tying the two together, publishing alone (an Airflow task cleared and
re-run, a stage run by hand) would publish whatever the build file holds by then, a later
build that failed its gate included. So the quality stage writes ``gate_passed.json`` beside
the build file, naming the file's identity (inode, size, modification time in ns) as it was
before and after validation, and the publish stage refuses unless the build file still has
that identity and no write-ahead log lies beside it (a writer that died before its
checkpoint leaves its changes there, where the identity does not show them). Every dbt
command removes the record before it starts; any checkpointed write changes the identity.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kznews.config import Settings
from kznews.fsutil import file_identity, write_text_atomic

RECORD_NAME = "gate_passed.json"
T = TypeVar("T")


class GateNotPassed(RuntimeError):
    """The build file has not passed the quality gate since it last changed."""


def _record(settings: Settings) -> Path:
    return settings.build_db.parent / RECORD_NAME


def _wal_problem(settings: Settings) -> str | None:
    """A write-ahead log beside the build file holds changes its identity does not show
    (a writer died before its checkpoint); every DuckDB open would replay them."""
    wal = Path(f"{settings.build_db}.wal")
    if wal.exists():
        return (f"{wal} exists: a writer of the build file died before its checkpoint, and "
                "its changes were never validated; run the build stage again")
    return None


def forget(settings: Settings) -> None:
    """The build file is about to change: no earlier gate result speaks for it."""
    _record(settings).unlink(missing_ok=True)


def validate_and_record(settings: Settings, validate: Callable[[], T]) -> T:
    """Run ``validate`` (the gate; it raises on failure) and, when it passes and the build
    file did not change meanwhile, record the pass for that file."""
    forget(settings)
    if not settings.build_db.exists():
        validate()  # the gate names what is missing
        raise GateNotPassed(f"no build file at {settings.build_db}; run the build stage first")
    if problem := _wal_problem(settings):
        raise GateNotPassed(problem)
    before = file_identity(settings.build_db)
    result = validate()
    if problem := _wal_problem(settings):
        raise GateNotPassed(problem)
    if file_identity(settings.build_db) != before:
        raise GateNotPassed(
            f"{settings.build_db} changed while the quality gate read it (a build ran at the "
            "same time?); run the quality stage again"
        )
    write_text_atomic(_record(settings),
                      json.dumps({"build_db": str(settings.build_db), "identity": before}))
    return result


def require_pass(settings: Settings) -> dict[str, Any]:
    """Raise :class:`GateNotPassed` unless the build file, as it is now, passed the gate."""
    path = _record(settings)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateNotPassed(
            f"{settings.build_db} has not passed the quality gate since it was last built "
            "(no record); run the quality stage before publishing"
        ) from None
    if problem := _wal_problem(settings):
        raise GateNotPassed(problem)
    if not settings.build_db.exists() or record.get("identity") != file_identity(
        settings.build_db
    ):
        raise GateNotPassed(
            f"{settings.build_db} changed after it passed the quality gate; run the quality "
            "stage on this build before publishing"
        )
    return record


def require_pass_of(settings: Settings, identity: list[int] | None, why: str) -> dict[str, Any]:
    """:func:`require_pass`, for the build file as it was at ``identity`` (when a publish
    started copying it): a pass recorded for another state of the file raises
    :class:`GateNotPassed` with ``why``, after the file's path."""
    record = require_pass(settings)
    if record.get("identity") != identity:
        raise GateNotPassed(f"{settings.build_db} {why}")
    return record
