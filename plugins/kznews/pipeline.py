"""The stages of the nightly job as plain functions: the CLI and the Airflow DAG call these.

Each stage takes a :class:`~kznews.config.Settings` and the load date it works on, reads what
the previous stage left on disk, and returns a small JSON-serialisable dict (paths and counts),
which is what Airflow passes between tasks. No stage keeps state in memory between calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kznews import gatepass
from kznews.config import Settings, load_settings
from kznews.fsutil import is_file_of_size

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kznews.warehouse.runner import DbtInvoker


#: The crawl report's counts a crawl's landing summary carries (``land_stage``).
_CRAWL_COUNTS = ("requests", "fetched", "not_modified", "unchanged", "new", "changed",
                 "failed", "emitted")


def land_stage(source: str | Path, load_date: date, settings: Settings | None = None) -> dict:
    """Acquire raw pages from ``source`` and land them as the ``load_date`` partition: files
    replace the date's landing, a crawl (which emits only what changed) is merged into it.
    A crawl's state is saved once its pages are landed (:func:`kznews.acquire.commit_source`);
    its lock is given back whatever happens (:func:`kznews.acquire.close_source`)."""
    from kznews.acquire import close_source, commit_source, is_crawl, open_source
    from kznews.land import land_records, partition_dir, partition_lock

    settings = settings or load_settings()
    merge = is_crawl(source)
    store = _store(settings)
    rel = f"raw_pages/{_partition(load_date)}"
    part = partition_dir(settings.raw_dir, load_date)
    # The pull, the merge and the push as one: no pull of the date on this machine (a gate,
    # an extraction) swaps the folder between the landing and its upload.
    with partition_lock(settings.raw_dir, load_date):
        # merge into the date's landing as the bucket has it (another worker may hold it),
        # unless this machine's copy is that very one or a later one the bucket never got
        if merge and store is not None:
            _pull_newer_landing(settings, store, load_date)
        records = open_source(source, settings)
        try:
            # a crawl that finds nothing new lands nothing (a quiet night, see quiet_night);
            # files that give no page are refused, the date's landing kept
            result = land_records(records, settings.raw_dir, load_date, keep_existing=merge,
                                  allow_empty=merge)
            commit_source(records)
        finally:
            close_source(records)
        summary = result.summary()
        report = getattr(records, "report", None)
        if report is not None:  # a crawl: what it asked and what it got
            summary["crawl"] = {k: getattr(report, k) for k in _CRAWL_COUNTS}
        if store is not None:
            summary["remote"] = store.push_partition(part, rel, record_locally=True)
    return summary


def quiet_night(source: str | Path, landed: dict) -> str | None:
    """Why the rest of the night has nothing to do, or None: a crawl that found no new or
    changed page (every answer was "not modified" or already known) leaves the date's
    landing empty. Extraction, build, gate and publish are then skipped, and the published
    warehouse stays as it was; the crawl's state (and its quarantine rows) are saved.
    ``landed``: :func:`land_stage`'s result. A file source never lands nothing (refused:
    :class:`kznews.land.NoPagesLanded`). What earlier nights owe is then run instead
    (:func:`catch_up`, :func:`finish_quiet_night`)."""
    from kznews.acquire.base import is_crawl

    if landed.get("rows") or not is_crawl(source):
        return None
    reason = (
        f"the crawl of {source} found no new or changed page for {landed.get('load_date')}: "
        "nothing to extract, build, check or publish; the published warehouse is unchanged"
    )
    crawl = landed.get("crawl") or {}
    if crawl.get("failed"):
        reason += (f". {crawl['failed']} of its {crawl.get('requests', '?')} requests failed "
                   "(owed to the next crawl; see the land task's crawl report)")
    if landed.get("defective_quarantined"):
        reason += f". {landed['defective_quarantined']} records were quarantined at landing"
    return reason


class CatchUpFailed(RuntimeError):
    """A quiet night owed earlier nights and could extract none of them."""


def catch_up(
    settings: Settings, load_date: date, full_refresh: bool = False
) -> dict[str, Any] | None:
    """What a quiet night (:func:`quiet_night`) owes earlier nights, or None.

    A night whose extraction, build, gate or publish failed leaves its pages out of the
    published warehouse. A night that lands pages catches them up (its extraction takes the
    dates :func:`owed_extractions` finds, its build reads from the day after its last
    success), but an archive that no longer changes lands nothing, night after night. So a
    quiet night looks, up to ``load_date``:

    * for landed dates with pages never extracted, or extracted from an earlier landing of
      the date (one merged into since: :func:`kznews.extract.batch.extraction_state`), or
      whose extraction commit was killed and cannot be finished (:func:`_unfinished_here`). A
      date whose extraction is gone although a successful build read it
      (:func:`kznews.warehouse.runner.built_dates`) was removed on purpose
      (docs/quality.md: how a failed night is kept out of BI) and is left alone;
    * for extracted dates the published warehouse was not built from as they are now
      (:func:`kznews.publish.published_reads`; nothing recorded, or the published file
      gone, counts as nothing published), and for dates it holds whose extraction was
      removed since (it is rebuilt without them).

    When it finds any, the night extracts the first kind (:func:`catch_up_extract`), then
    builds, checks and publishes with the newest owed date as its load date: the gate
    checks that date and every date the build read that has not passed, so a failed gate
    fails again until its data is fixed or accepted. ``full_refresh`` (asked for on the
    quiet night) rebuilds from everything, owed or not.

    Landings are looked for on this machine (the land task's, which docs/scale-out.md pins
    to the warehouse's machine); with an object store, the extracted tables are brought
    up to date from it first, as the build does. Returns ``load_date`` (the newest owed
    date; the night works on the newest one left once :func:`catch_up_extract` ran),
    ``extract`` (dates to extract first), ``unpublished`` (extracted dates to build and
    publish) and ``reason``."""
    from kznews.publish import published_reads
    from kznews.warehouse.runner import partition_digests, shown_dates

    if _store(settings) is not None:
        _pull_build_inputs(settings)  # the extracted tables as the bucket holds them
    unfinished = _unfinished_here(settings, load_date)
    unextracted = sorted(set(_unextracted(settings, load_date)) | unfinished)
    upto = load_date.isoformat()
    current = {d: v for d, v in partition_digests(settings).items() if d <= upto}
    published = published_reads(settings)
    unpublished = sorted(d for d, v in current.items() if (published or {}).get(d) != v)
    removed = sorted(d for d in (published or {}) if d <= upto and d not in current)
    why = []
    if never := [d for d in unextracted if d not in unfinished]:
        why.append(f"the landed pages of {shown_dates(never)} were never extracted")
    if unfinished:
        why.append(f"the extraction commits of {shown_dates(sorted(unfinished))} were killed "
                   "and cannot be finished")
    if published is None and current:
        why.append("no publish recorded what the published warehouse holds")
    elif unpublished:
        why.append(f"the extracted pages of {shown_dates(unpublished)} never reached the "
                   "published warehouse")
    if removed and current:  # rebuilt without them from the newest date left
        why.append(f"the published warehouse still holds {shown_dates(removed)}, whose extracted "
                   "pages were removed")
        unpublished = sorted(set(unpublished) | {max(current)})
    if full_refresh:
        unpublished = sorted(current)
        why = ["a full refresh was asked for", *why]
    owed = sorted(set(unextracted) | set(unpublished))
    if not owed:
        return None
    return {
        "load_date": owed[-1],
        "extract": unextracted,
        "unpublished": unpublished,
        "reason": f"nothing new landed for {load_date}, but {'; '.join(why)}: the night "
                  + (f"extracts {shown_dates(unextracted)}, then " if unextracted else "")
                  + f"builds, checks and publishes up to {owed[-1]}",
    }


def _unextracted(settings: Settings, until: date) -> list[str]:
    """The landed dates up to ``until`` (ISO) whose pages were never extracted, or were
    extracted from an earlier landing of the date; a date a successful build read whose
    extraction is gone was removed on purpose and is left alone (:func:`catch_up`)."""
    from kznews.extract.batch import extraction_state
    from kznews.warehouse.runner import built_dates

    built = built_dates(settings)
    out = []
    for day in _landed_with_pages(settings, until):
        state = extraction_state(settings, day)
        if state == "stale" or (state == "missing" and day.isoformat() not in built):
            out.append(day.isoformat())
    return out


def owed_extractions(settings: Settings, load_date: date) -> list[str]:
    """The dates before ``load_date`` a night that lands pages extracts before its own
    (:func:`look_back`, which says more); an error while looking gives none."""
    return look_back(settings, load_date)["dates"]


def look_back(settings: Settings, load_date: date) -> dict[str, Any]:
    """What a night that lands pages owes earlier nights: ``dates`` before ``load_date``
    landed and never extracted, or extracted from an earlier landing of the date (a night
    that died after its landing), which :func:`extract_with_owed` extracts before the
    night's own. Without this only a quiet night would look back (:func:`catch_up`), and a
    site with new pages every night never has one: those pages, which the crawl will not
    fetch again, would never reach BI. A date whose last extraction commit was killed and
    cannot be finished (its tables may mix two runs: the build refuses to read them) is
    owed its extraction again too, which supersedes that commit (:func:`_unfinished_here`).

    Landings are looked for on this machine, as :func:`catch_up` does. With an object store,
    the extracted tables are brought up to date from it first when there seem to be any
    (another machine may have extracted them), not on every night, and each owed landing
    the bucket lacks is pushed (:func:`share_landing`: a night killed before its upload
    left it here only), so that whichever machine extracts it finds it.

    Looking back never stops the night it runs in: an error (a bucket that does not answer)
    is logged and returned as ``error`` with no dates; the night goes on, reports it
    (:func:`owed_failures`: the run ends red once the rest is published) and the dates
    stay owed to the next night."""
    before = date.fromordinal(load_date.toordinal() - 1)
    try:
        owed = _owed_here(settings, before)
        if _store(settings) is not None and owed:
            _pull_build_inputs(settings)
            owed = _owed_here(settings, before)
            for day in owed:
                try:
                    share_landing(date.fromisoformat(day), settings)
                except Exception:  # its extraction elsewhere will say it is missing
                    log.exception("could not push the owed landing of %s", day)
        return {"dates": owed, "error": None}
    except Exception as exc:
        log.exception("could not look for earlier nights owed their extraction before %s; "
                      "they stay owed to the next night", load_date)
        return {"dates": [], "error": f"{type(exc).__name__}: {exc}"[:300]}


def _owed_here(settings: Settings, until: date) -> list[str]:
    """:func:`_unfinished_here` up to ``until`` (first: it finishes the commits that can
    be, which may change what counts as extracted) and :func:`_unextracted`."""
    unfinished = _unfinished_here(settings, until)
    return sorted(unfinished | set(_unextracted(settings, until)))


def _unfinished_here(settings: Settings, until: date) -> set[str]:
    """The dates up to ``until`` (ISO), landed here, whose extraction commit was killed and
    cannot be finished (:func:`kznews.extract.swap.unfinishable_partitions`, which finishes
    those that can be first). A date a successful build read whose extraction is gone was
    removed on purpose and is left alone, as :func:`_unextracted` does."""
    from kznews.extract.batch import extraction_state
    from kznews.extract.swap import unfinishable_partitions
    from kznews.warehouse.runner import built_dates

    unfinished = {p.removeprefix("load_date=") for p in
                  unfinishable_partitions(settings.extracted_dir)}
    if not unfinished:
        return set()
    unfinished &= {d.isoformat() for d in _landed_with_pages(settings, until)}
    built = built_dates(settings)
    unfinished = {d for d in unfinished if not (
        d in built and extraction_state(settings, date.fromisoformat(d)) == "missing")}
    if unfinished:
        log.warning("the extraction commits of %s were killed and cannot be finished: "
                    "extracting them again", ", ".join(sorted(unfinished)))
    return unfinished


def extract_with_owed(load_date: date, settings: Settings | None = None) -> dict:
    """The extract stage of a night that landed pages: the earlier dates it owes first
    (:func:`owed_extractions`; one that fails is logged and listed under ``owed.failed``,
    and stays owed), then ``load_date`` itself (:func:`extract_stage`). The build then
    reads them all: from the day after its last success, or everything when an owed date
    is older than a date it read."""
    settings = settings or load_settings()
    owed = extract_looked_back(look_back(settings, load_date), settings)
    result = extract_stage(load_date, settings)
    if owed:
        result["owed"] = owed
    return result


def extract_looked_back(looked: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    """Extract the dates :func:`look_back` found (:func:`extract_owed`), its error listed
    among the failures under :data:`LOOK_BACK`; None when it found nothing and failed in
    nothing. What :func:`extract_with_owed` and the DAG's ``plan_shards`` report."""
    owed = extract_owed(looked["dates"], settings)
    if looked["error"]:
        owed["failed"][LOOK_BACK] = looked["error"]
    return owed if owed["caught_up"] or owed["failed"] else None


#: The key under ``owed.failed`` of a look-back that could not be made (:func:`look_back`).
LOOK_BACK = "looking back"


def _landed_with_pages(settings: Settings, until: date) -> list[date]:
    """The load dates up to ``until`` whose landing on this machine holds pages; one whose
    footer cannot be read counts (its extraction then says what is wrong with it)."""
    import pyarrow.parquet as pq

    from kznews.land import PART_NAME, landed_dates, partition_dir

    out = []
    for day in landed_dates(settings.raw_dir):
        if day > until:
            continue
        try:
            rows = pq.read_metadata(partition_dir(settings.raw_dir, day) / PART_NAME).num_rows
        except Exception:
            log.warning("the landing of %s cannot be read", day, exc_info=True)
            rows = -1
        if rows:
            out.append(day)
    return out


def catch_up_extract(caught: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Extract the dates :func:`catch_up` found owed an extraction, one after another (each
    with :func:`extract_stage`; one already extracted from its landing as it is, by an
    earlier attempt of this, is not extracted again). A date whose extraction fails is
    logged and listed under ``failed``, and the others go on; raises
    :class:`CatchUpFailed` when that leaves nothing to build and publish. Returns the
    results by date, the rows of them all, and ``load_date``: the newest date left owed,
    which the build, gate and publish then work on."""
    done = extract_owed(caught["extract"], settings)
    left = sorted(set(done["caught_up"]) | set(caught.get("unpublished", ())))
    if not left:
        raise CatchUpFailed("catching up: no owed night could be extracted: " + "; ".join(
            f"{day}: {why}" for day, why in done["failed"].items()))
    return {"load_date": left[-1], **done}


def extract_owed(dates: list[str], settings: Settings) -> dict[str, Any]:
    """Extract owed ``dates`` (ISO) one after another with :func:`extract_stage`; one already
    extracted from its landing as it is (by an earlier attempt), its commit finished, is
    not extracted again. A date whose extraction fails is logged and listed under
    ``failed`` (why), and the others go on. Returns ``caught_up`` (results by date),
    ``failed``, the ``rows`` of them all and ``seconds``."""
    from kznews.extract.batch import extraction_state
    from kznews.extract.swap import unfinishable_partitions

    t0 = time.perf_counter()
    store = _store(settings)
    by_date: dict[str, Any] = {}
    failed: dict[str, str] = {}
    unfinished = set(unfinishable_partitions(settings.extracted_dir)) if dates else set()
    for day in dates:
        try:
            if store is not None:  # the landing the land task judged, not an older copy
                _pull_newer_landing(settings, store, date.fromisoformat(day))
            if (extraction_state(settings, date.fromisoformat(day)) == "current"
                    and _partition(date.fromisoformat(day)) not in unfinished):
                by_date[day] = {"skipped": "extracted from its landing as it is already"}
                continue
            by_date[day] = extract_stage(date.fromisoformat(day), settings)
        except Exception as exc:
            log.exception("catching up: the extraction of %s failed", day)
            failed[day] = f"{type(exc).__name__}: {exc}"[:300]
    rows: dict[str, int] = {}
    for result in by_date.values():
        for table, n in result.get("rows", {}).items():
            rows[table] = rows.get(table, 0) + int(n)
    return {"caught_up": by_date, "failed": failed, "rows": rows,
            "seconds": round(time.perf_counter() - t0, 3)}


def _pull_newer_landing(settings: Settings, store, day: date) -> None:
    """Make this machine's copy of ``day``'s landing the bucket's when the bucket has one
    this copy is not (none here, or one the bucket moved on from: a landing merged into on
    another machine); a copy changed here since (not uploaded) is kept. Under the date's
    landing lock (re-entrant: :func:`land_stage` holds it already)."""
    from kznews.land import partition_dir, partition_lock

    part, rel = partition_dir(settings.raw_dir, day), f"raw_pages/{_partition(day)}"
    with partition_lock(settings.raw_dir, day):
        if store.compare(part, rel) == "other":
            store.pull_partition(rel, part)


def finish_quiet_night(
    source: str | Path, load_date: date, settings: Settings, summary: dict[str, Any],
    full_refresh: bool = False,
) -> dict[str, Any]:
    """The rest of a night whose land stage (``summary["land"]``) was quiet
    (:func:`quiet_night`): nothing (``summary["skipped"]`` says why), or what earlier nights
    owe (:func:`catch_up`, noted as ``summary["catch_up"]``): their extraction, then build,
    gate and publish on the newest owed date. Returns ``summary``."""
    caught = catch_up(settings, load_date, full_refresh)
    if caught is None:
        summary["skipped"] = quiet_night(source, summary["land"])
        return summary
    log.warning("%s", caught["reason"])
    summary["catch_up"] = caught
    summary["extract"] = catch_up_extract(caught, settings)
    summary.setdefault("timings_s", {})["extract"] = summary["extract"]["seconds"]
    night = date.fromisoformat(summary["extract"]["load_date"])
    return run_stages(STAGES[2:], source, night, settings, summary, full_refresh)


def landed_by_crawl(part: Path) -> bool:
    """Whether the landing file ``part`` exists and holds pages a crawl landed (their
    ``source`` names a crawl's WARC, ``crawl-...``): what a crawl task may reuse instead of
    fetching again. A landing of files, or an empty one, is not."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from kznews.acquire.base import CRAWL_SOURCE_PREFIX

    if not part.exists() or pq.read_metadata(part).num_rows == 0:
        return False
    sources = pq.read_table(part, columns=["source"]).column("source")
    return bool(pc.any(pc.starts_with(sources, CRAWL_SOURCE_PREFIX)).as_py())


def reuse_landing_stage(load_date: date, settings: Settings | None = None) -> dict:
    """Keep the date's landing as it is (a crawl task retried after its pages were landed)
    instead of fetching again: finish what a killed load of it left
    (:func:`kznews.land.recover_partition`), push it to the object store when the store
    lacks it or holds an earlier version (:func:`share_landing`), and describe it like
    :func:`land_stage`. A crawl task killed after its landing was in place but before the
    crawl saved its state left pages the state does not know: they are recorded now
    (:func:`kznews.acquire.crawl.record_landed_fetches`), so the next night does not fetch
    them again. All under the date's landing lock."""
    import pyarrow.parquet as pq

    from kznews.acquire.crawl import record_landed_fetches
    from kznews.land import PART_NAME, partition_dir, partition_lock, recover_partition

    settings = settings or load_settings()
    with partition_lock(settings.raw_dir, load_date):
        recovered = recover_partition(settings.raw_dir, load_date)
        part = partition_dir(settings.raw_dir, load_date) / PART_NAME
        summary: dict = {
            "load_date": load_date.isoformat(),
            "path": str(part),
            "rows": pq.read_metadata(part).num_rows,
            "bytes": part.stat().st_size,
            "reused": True,
        }
        if recovered:
            summary["recovered"] = recovered
        caught_up = record_landed_fetches(part, settings)
        if caught_up:
            summary["crawl_state_caught_up"] = caught_up
        remote = share_landing(load_date, settings)
        if remote is not None:
            summary["remote"] = remote
    return summary


def share_landing(load_date: date, settings: Settings | None = None) -> dict | None:
    """Push an existing landing partition to the object store when the store lacks it, or
    when this machine's copy is a later version of the store's (changed here since it last
    matched the store: a land task that reuses its partition after an earlier attempt
    failed to upload it). None when there is no store or nothing to push. A copy the store
    has moved on from is not pushed over the store's (logged)."""
    from kznews.land import partition_dir, partition_lock

    settings = settings or load_settings()
    store = _store(settings)
    rel = f"raw_pages/{_partition(load_date)}"
    part = partition_dir(settings.raw_dir, load_date)
    if store is None:
        return None
    with partition_lock(settings.raw_dir, load_date):  # no pull swaps the folder meanwhile
        state = store.compare(part, rel)
        if state == "other":
            log.warning("%s: the store holds another version of %s; this machine's copy is "
                        "kept here and not pushed over it", part, rel)
        if state in ("absent", "newer"):
            return store.push_partition(part, rel, record_locally=True)
    return None


def _store(settings: Settings):
    from kznews.storage import ObjectStore

    return ObjectStore.from_settings(settings)


def _partition(load_date: date) -> str:
    return f"load_date={load_date.isoformat()}"


def extract_stage(load_date: date, settings: Settings | None = None) -> dict:
    """Extract the landed pages of ``load_date`` into the extracted Parquet tables."""
    from kznews.extract.batch import extract_partition
    from kznews.land import PART_NAME, partition_dir
    from kznews.schema import EXTRACTED_TABLES

    settings = settings or load_settings()
    store = _store(settings)
    partition = _partition(load_date)
    raw_part = partition_dir(settings.raw_dir, load_date)
    if store is not None and not (raw_part / PART_NAME).exists():
        _pull_raw(settings, store, load_date)  # landed on another worker
    result = extract_partition(settings, load_date)
    if store is not None:
        result["remote"] = [
            store.push_partition(
                settings.extracted_dir / table / partition, f"extracted/{table}/{partition}"
            )
            for table in EXTRACTED_TABLES
        ]
    return result


# --- extraction as separate tasks: plan -> one task per shard -> commit --------------------
# The Airflow DAG maps one task over the shards of a plan; the tasks may run on different
# machines. With an object store (KZNEWS_REMOTE_URL), each shard pushes its files under a
# run-scoped prefix and the commit pulls those its machine lacks; without one, every task must
# see the same data folder (docker-compose mounts the kznews-data volume on every worker).

_NO_SHARED_FOLDER = (
    "with no object store (KZNEWS_REMOTE_URL), the extract tasks of a run must all see the "
    "same data folder (docker-compose mounts the kznews-data volume on every worker)"
)


def _shard_rel(run_name: str, shard: int) -> str:
    """Store key of one shard's output: scoped by the run, outside raw_pages/ and extracted/."""
    return f"{_run_rel(run_name)}/shard-{shard:05d}"


def _run_rel(run_name: str) -> str:
    return f"_runs/extract/{run_name.lstrip('.')}"


def _pull_raw(settings: Settings, store, load_date: date, raw_bytes: int | None = None) -> bool:
    """Pull the landing partition of ``load_date`` unless this machine already has it (as the
    plan read it: same size). The date's landing lock serialises the shard tasks of one
    machine, so they do not download it side by side (whoever comes second finds it there),
    and keeps a pull from swapping the folder under a landing of the date. True = pulled."""
    from kznews.land import PART_NAME, partition_dir, partition_lock

    raw_part = partition_dir(settings.raw_dir, load_date)
    if is_file_of_size(raw_part / PART_NAME, raw_bytes):
        return False
    with partition_lock(settings.raw_dir, load_date):
        if is_file_of_size(raw_part / PART_NAME, raw_bytes):
            return False
        store.pull_partition(f"raw_pages/{_partition(load_date)}", raw_part)
    return True


def extract_plan_stage(
    load_date: date, settings: Settings | None = None, shards: int | None = None
) -> dict:
    """Plan the extraction of ``load_date`` into ``shards`` jobs (default
    ``settings.extract_shards``); see :func:`kznews.extract.batch.plan_extraction`.

    Pulls the landing partition first when a store is configured and this machine lacks it.
    ``started_at`` is taken before that pull: the commit reports the stage's wall time from it.
    """
    from kznews.extract.batch import plan_extraction

    started_at = time.time()
    settings = settings or load_settings()
    store = _store(settings)
    if store is not None:
        _pull_raw(settings, store, load_date)
    plan = plan_extraction(settings, load_date, shards or settings.extract_shards)
    plan["started_at"] = started_at
    return plan


def extract_shard_stage(job: dict, load_date: date, settings: Settings | None = None) -> dict:
    """Run one shard of a plan in this process (an Airflow mapped task); returns its counts.

    The job's paths are re-rooted on this machine's data folder. A worker without the landed
    file pulls it from the store (or fails, naming the fix, when there is none); with a store,
    the shard's files are then pushed under the run's prefix for the commit to find, and kept
    here too (a commit on this machine need not download them; the next shard or plan here
    sweeps them after an hour).
    """
    from kznews.extract.batch import run_shard
    from kznews.extract.swap import journaled_roots
    from kznews.fsutil import remove_stale
    from kznews.land import PART_NAME, partition_dir

    settings = settings or load_settings()
    store = _store(settings)
    run_name = Path(str(job["out_root"])).name
    # A worker that only ever runs shards must sweep the roots of earlier runs itself (the
    # commit, perhaps on another machine, removes only its own copy); never one that an
    # interrupted commit's journal still needs.
    keep = {run_name} | journaled_roots(settings.extracted_dir)
    remove_stale(p for p in settings.extracted_dir.glob(".run-*") if p.name not in keep)
    raw_file = partition_dir(settings.raw_dir, load_date) / PART_NAME
    raw_bytes = job.get("raw_bytes")
    raw_bytes = None if raw_bytes is None or int(raw_bytes) < 0 else int(raw_bytes)
    local = {**job, "raw_file": str(raw_file), "out_root": str(settings.extracted_dir / run_name)}
    if not is_file_of_size(raw_file, raw_bytes):
        if store is None:
            raise FileNotFoundError(
                f"shard {job['shard']}: {raw_file} is missing on this machine or is not the "
                f"file the plan read; {_NO_SHARED_FOLDER}"
            )
        _pull_raw(settings, store, load_date, raw_bytes)
    result = run_shard(local)
    if store is not None:
        _push_shard(store, settings.extracted_dir / run_name, int(job["shard"]))
    return result


def _push_shard(store, tmp_root: Path, shard: int) -> dict:
    """Upload one shard's part files (one per table) as ``_runs/extract/<run>/shard-<k>``."""
    import os
    import shutil

    from kznews.extract.batch import shard_file
    from kznews.schema import EXTRACTED_TABLES

    staging = tmp_root / f".push-{shard:05d}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for table in EXTRACTED_TABLES:
            src, dst = shard_file(tmp_root, table, shard), staging / f"{table}.parquet"
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
        return store.push_partition(staging, _shard_rel(tmp_root.name, shard))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _pull_shard(store, tmp_root: Path, shard: int) -> None:
    """Fetch one shard's pushed part files into this machine's copy of the run's root."""
    import os
    import shutil

    from kznews.extract.batch import ExtractionIncomplete, shard_file
    from kznews.schema import EXTRACTED_TABLES

    landing = tmp_root / ".pulled" / f"shard-{shard:05d}"
    try:
        store.pull_partition(_shard_rel(tmp_root.name, shard), landing)
    except FileNotFoundError as exc:
        raise ExtractionIncomplete(
            f"shard {shard}: its output is neither on this machine nor in the object store ({exc})"
        ) from exc
    try:
        for table in EXTRACTED_TABLES:
            dst = shard_file(tmp_root, table, shard)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(landing / f"{table}.parquet", dst)
    finally:
        shutil.rmtree(landing, ignore_errors=True)


def extract_commit_stage(
    plan: dict, results: Any, load_date: date, settings: Settings | None = None
) -> dict:
    """Commit a planned extraction once every shard task has run; see
    :func:`kznews.extract.batch.commit_extraction` (it refuses when a shard result or output
    is missing and then removes the run's temporary root; after any other error it keeps
    the root, so a retry of the commit can still succeed without an object store).

    With a store: shard outputs this machine lacks (or holds stale) are pulled from the run's
    prefix first, the committed partitions are pushed like :func:`extract_stage` does, and the
    run's prefix is deleted (also when the commit refuses; kept after other errors, so that a
    retry can pull the shards again). Returns ``extract_stage``'s dict plus ``shards`` and
    ``seconds`` (wall time from the plan's start to now).
    """
    import contextlib

    from kznews.extract.batch import (
        ExtractionIncomplete,
        commit_extraction,
        run_root,
        shard_output_problems,
    )
    from kznews.extract.swap import committed, finish_interrupted_swaps, remove_root
    from kznews.schema import EXTRACTED_TABLES

    settings = settings or load_settings()
    store = _store(settings)
    results = list(results)  # an Airflow mapped task's lazy XCom sequence: read it once
    tmp_root = run_root(settings, plan)
    partition = _partition(load_date)
    try:
        # A retry after this run's commit died mid-swap: finish the swaps before anything
        # else, and pull no shard files for tables already swapped in.
        finish_interrupted_swaps(settings.extracted_dir, strict=False)
        if store is not None and not committed(settings.extracted_dir, tmp_root):
            _pull_raw(settings, store, load_date, plan.get("raw_bytes"))  # landing quarantine
            by_shard = {int(r["_shard"]): r for r in results if r}
            for job in plan["jobs"]:
                shard = int(job["shard"])
                if shard in by_shard and shard_output_problems(tmp_root, shard, by_shard[shard]):
                    _pull_shard(store, tmp_root, shard)
        result = commit_extraction(settings, load_date, plan, results)
    except ExtractionIncomplete as exc:
        hint = "a refused commit removes the run's files: run the extraction again from a new "
        hint += "plan (in Airflow: clear the whole extract group, plan_shards included)"
        if store is None and "is missing" in str(exc):
            hint += f"; {_NO_SHARED_FOLDER}"
        if store is not None:  # no retry of this run can use its shards' uploads any more
            with contextlib.suppress(Exception):  # best effort: the refusal is what to report
                store.remove_tree(_run_rel(tmp_root.name))
        remove_root(settings.extracted_dir, tmp_root)  # a refusal: this run is over
        raise ExtractionIncomplete(f"{exc}. {hint}") from exc
    # Other errors keep tmp_root (commit_extraction does too), so a retry of this task can
    # still commit without an object store; success has removed it already.
    if store is not None:
        result["remote"] = [
            store.push_partition(
                settings.extracted_dir / table / partition, f"extracted/{table}/{partition}"
            )
            for table in EXTRACTED_TABLES
        ]
        store.remove_tree(_run_rel(tmp_root.name))
    result["shards"] = len(plan["jobs"])
    result["seconds"] = round(time.time() - float(plan["started_at"]), 3)
    return result


def build_stage(
    settings: Settings | None = None,
    full_refresh: bool = False,
    load_date: date | None = None,
    invoker: DbtInvoker | None = None,
) -> dict:
    """``dbt build`` into the private build file (never the published one). ``invoker``:
    how dbt runs (:data:`kznews.warehouse.runner.DbtInvoker`; default a subprocess)."""
    from kznews.warehouse import build

    settings = settings or load_settings()
    pulled = _pull_build_inputs(settings)
    result = build(settings, full_refresh=full_refresh, load_date=load_date, invoker=invoker)
    if pulled is not None:
        result["remote_pulled"] = pulled
    return result


def _pull_build_inputs(settings: Settings) -> dict | None:
    """With an object store, bring the local cache dbt reads up to date with the bucket;
    returns what was pulled per table (None without a store)."""
    from kznews.extract import swap
    from kznews.schema import EXTRACTED_TABLES

    store = _store(settings)
    if store is None:
        return None
    # Swaps a killed commit left here are finished first, so the pull then replaces whole
    # partitions; a date whose swaps cannot be finished is whole again once the pull
    # replaced it in every table (build() refuses the others).
    swap.finish_interrupted_swaps(settings.extracted_dir, strict=False)
    pulled = {
        table: store.pull_table(f"extracted/{table}", settings.path(settings.data_dir))
        for table in EXTRACTED_TABLES
    }
    swap.forget_replaced(
        settings.extracted_dir,
        lambda partition: all(
            store.has_partition(f"extracted/{t}/{partition}") for t in EXTRACTED_TABLES
        ),
    )
    return pulled


def build_plan_stage(
    settings: Settings | None = None, full_refresh: bool = False, load_date: date | None = None
) -> dict:
    """The build stage as separate tasks, one per dbt model (the opt-in per-model DAG):
    what :func:`build_stage` does before dbt runs. Returns the plan
    (:func:`kznews.warehouse.runner.plan_build`: catch-up date, forced full refresh, tests)
    that each model's task runs (:func:`kznews.warehouse.runner.model_args`) and
    :func:`kznews.warehouse.runner.end_build` closes."""
    from kznews.warehouse.runner import begin_build, plan_build

    settings = settings or load_settings()
    pulled = _pull_build_inputs(settings)
    plan = plan_build(settings, full_refresh=full_refresh, load_date=load_date,
                      reuse_views=False)
    begin_build(settings, plan)
    if pulled is not None:
        plan["remote_pulled"] = pulled
    return plan


def gate_fetch(settings: Settings) -> Callable[[date], None] | None:
    """What the gate calls before it reads a load date's inputs: with an object store, pull
    the landing partition this machine lacks (the gate may run on another worker than the
    landing, and checks earlier dates again; the build pulled the extracted partitions).
    None without a store."""
    from kznews.land import PART_NAME, partition_dir

    store = _store(settings)
    if store is None:
        return None

    def fetch(day: date) -> None:
        manifest = store.manifest(f"raw_pages/{_partition(day)}")
        if manifest is None:  # landed before the store was configured, or never
            if not (partition_dir(settings.raw_dir, day) / PART_NAME).is_file():
                raise FileNotFoundError(
                    f"the landing partition of {day} is neither here nor under {store.url}")
            return
        # the bucket's copy unless this machine holds one of the same size (the landing's)
        _pull_raw(settings, store, day, manifest["files"].get(PART_NAME, {}).get("size", -1))

    return fetch


def quality_stage(load_date: date, settings: Settings | None = None) -> dict:
    """Great Expectations gate. Raises :class:`kznews.quality.QualityGateError` on failure;
    on success records that the build file, as it is, passed (:mod:`kznews.gatepass`)."""
    from kznews.quality import run_gate

    settings = settings or load_settings()
    fetch = gate_fetch(settings)
    return gatepass.validate_and_record(settings, lambda: run_gate(settings, load_date, fetch))


def publish_stage(settings: Settings | None = None) -> dict:
    """Publish the validated build file atomically as the BI-facing warehouse file. Refuses
    (:class:`kznews.gatepass.GateNotPassed`) unless the build file, as it is now, passed the
    quality gate: a publish re-run on its own never ships a later, unvalidated build, and a
    build written while the publish copies the file makes the publish fail, the published
    file unchanged."""
    from kznews.publish import publish

    settings = settings or load_settings()
    passed = gatepass.require_pass(settings)

    def still_the_file_that_passed() -> None:
        # another build may have written the file while it was copied (a CLI run beside the
        # DAG: only the Airflow pool serialises the DuckDB writers)
        gatepass.require_pass_of(
            settings,
            passed.get("identity"),
            "changed while it was published; run the quality stage on this build, then "
            "publish again",
        )

    return publish(settings, before_commit=still_the_file_that_passed)


#: The stages in the order a night runs them (the DAG's task groups follow the same order).
STAGES: tuple[str, ...] = ("land", "extract", "build", "quality", "publish")


def run_stage(
    stage: str,
    source: str | Path,
    load_date: date,
    settings: Settings | None = None,
    full_refresh: bool = False,
) -> dict:
    """Run one stage by name: what :func:`run_pipeline` runs in order, and what the
    benchmark and the crash tests run, each stage in a process of its own."""
    settings = settings or load_settings()
    if stage == "land":
        return land_stage(source, load_date, settings)
    if stage == "extract":
        return extract_with_owed(load_date, settings)
    if stage == "build":
        return build_stage(settings, full_refresh=full_refresh, load_date=load_date)
    if stage == "quality":
        return quality_stage(load_date, settings)
    if stage == "publish":
        return publish_stage(settings)
    raise ValueError(f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}")


def run_pipeline(
    source: str | Path,
    load_date: date,
    settings: Settings | None = None,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """Run every stage in order without Airflow; returns a summary with timings.

    An incremental night (``settings.overlap_nightly``, and the build adds partitions
    rather than rebuilding everything) starts dbt and Great Expectations in helper
    processes while the first stages run (:mod:`kznews.overlap`); the stages themselves
    are the same."""
    from kznews import overlap
    from kznews.warehouse.runner import rebuilds_everything

    settings = settings or load_settings()
    # an owed earlier date, once extracted, may make the build rebuild everything
    first = min([load_date, *map(date.fromisoformat, owed_extractions(settings, load_date))])
    if overlap.wanted(settings) and not rebuilds_everything(settings, full_refresh, first):
        return overlap.run_overlapped(source, load_date, settings)
    summary: dict[str, Any] = {"load_date": load_date.isoformat(), "timings_s": {}}
    run_stages(STAGES[:1], source, load_date, settings, summary, full_refresh)
    if quiet_night(source, summary["land"]):
        return finish_quiet_night(source, load_date, settings, summary, full_refresh)
    return run_stages(STAGES[1:], source, load_date, settings, summary, full_refresh)


def run_stages(
    stages: tuple[str, ...], source: str | Path, load_date: date, settings: Settings,
    summary: dict[str, Any], full_refresh: bool = False,
) -> dict[str, Any]:
    """Run ``stages`` in order on ``load_date``, each result and its seconds into
    ``summary`` (``summary["timings_s"]``); returns ``summary``."""
    for stage in stages:
        t0 = time.perf_counter()
        summary[stage] = run_stage(stage, source, load_date, settings, full_refresh)
        summary.setdefault("timings_s", {})[stage] = round(time.perf_counter() - t0, 3)
    return summary


def owed_failures(summary: dict[str, Any]) -> dict[str, str]:
    """The earlier nights a night owed and could not extract (date -> why): by a quiet
    night's catch-up (``extract.failed``) or before a night's own extraction
    (``extract.owed.failed``). The rest was published; they stay owed."""
    extract = summary.get("extract") or {}
    return {**(extract.get("failed") or {}), **((extract.get("owed") or {}).get("failed") or {})}


def describe_owed_failures(failed: dict[str, str]) -> str:
    """What :func:`owed_failures` lists, as words: "the extraction of <dates> failed", or
    "looking back for owed nights failed" (or both)."""
    dates = sorted(d for d in failed if d != LOOK_BACK)
    parts = [f"the extraction of {', '.join(dates)}"] if dates else []
    if LOOK_BACK in failed:
        parts.append("looking back for owed nights")
    return " and ".join(parts) + " failed"


def format_summary(summary: dict[str, Any]) -> str:
    """The short report the main job ends with: rows per mart, validation, published file."""
    lines = [f"kznews run for load date {summary.get('load_date')}"]
    failed = summary.get("failed")
    if failed:  # an Airflow task failed after its last try (dags/kznews_nightly.py)
        lines.append(f"  FAILED in {failed.get('task')} (try {failed.get('try')}): "
                     f"{failed.get('error')}")
    land = summary.get("land") or {}
    extract = summary.get("extract") or {}
    if land or not failed:  # a night that failed before its landing has none to show
        lines.append(
            f"  landed pages: {land.get('rows', '?')}  "
            f"(duplicates quarantined: {land.get('duplicates_quarantined', 0)})"
        )
    counts = extract.get("rows", {})
    if counts:
        lines.append("  extracted rows: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    publish = summary.get("publish") or {}
    marts = publish.get("mart_rows") or (summary.get("build") or {}).get("mart_rows") or {}
    if marts:
        lines.append("  rows per mart:")
        for name, n in marts.items():
            lines.append(f"    {name:<24} {n}")
    quality = summary.get("quality") or {}
    if quality:
        lines.append(
            f"  validation: {'PASSED' if quality.get('success') else 'FAILED'}"
            f" ({quality.get('evaluated', '?')} expectations, "
            f"{quality.get('warnings', 0)} warnings)"
        )
        if quality.get("data_docs"):
            lines.append(f"  data docs: {quality['data_docs']}")
    if publish.get("path"):
        lines.append(f"  published warehouse: {publish['path']}")
    if summary.get("skipped"):
        lines.append(f"  nothing new: {summary['skipped']}")
    if summary.get("catch_up"):
        lines.append(f"  caught up: {summary['catch_up']['reason']}")
    owed = extract.get("owed") or {}
    if owed.get("caught_up"):
        lines.append("  also extracted, owed by earlier nights: "
                     + ", ".join(sorted(owed["caught_up"])))
    for day, why in owed_failures(summary).items():
        lines.append(f"  NOT caught up: {describe_owed_failures({day: why})} ({why})")
    timings = summary.get("timings_s") or {}
    if timings:
        lines.append("  stage seconds: " + ", ".join(f"{k}={v}" for k, v in timings.items()))
    for helper, key in (("dbt", "dbt_warm_up_s"), ("GX", "gx_warm_up_s")):
        warm = (summary.get("overlap") or {}).get(key)
        if isinstance(warm, str):  # the night ran without it: say why it was slower
            lines.append(f"  {helper} helper: {warm}")
    return "\n".join(lines)
