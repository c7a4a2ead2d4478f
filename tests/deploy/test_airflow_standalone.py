"""A real Airflow (`airflow standalone`, SQLite) runs kznews_nightly end to end over REST."""

from __future__ import annotations

import json
import time

import pytest
from kz_airflow_harness import ROOT, LiveAirflow, check_published

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _seed_crawl(tmp_path, server, env: dict[str, str]) -> str:
    """Crawl the local site once outside Airflow (the crawl state the DAG's run then finds),
    so that the DAG's crawl of it finds nothing new; returns the start URL. Its pages land
    under the date the first DAG run lands the sample folder over (a file source replaces
    the date's landing), so no night is owed when the quiet night comes."""
    from datetime import date

    from kznews.config import load_settings
    from kznews.pipeline import land_stage

    settings = load_settings(
        home=ROOT, data_dir=tmp_path / "data", warehouse_dir=tmp_path / "warehouse",
        host_overrides=server.overrides(), per_host_delay_s=0.0,
        allowed_private_networks=("127.0.0.1/32",),
    )
    start = "http://www.old.exclusive.kz/"
    assert land_stage(start, date(2026, 11, 20), settings)["rows"] > 0
    env.update({
        "KZNEWS_HOST_OVERRIDES": ",".join(server.overrides()),
        "KZNEWS_PER_HOST_DELAY_S": "0",
        "KZNEWS_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32",
    })
    return start


def _land_a_night_that_died(tmp_path, day: str) -> None:
    """Land one page (a WARC of the seed page) for ``day`` outside Airflow: a night that
    died after its landing, before anything reached BI."""
    from datetime import date

    from kznews.acquire.base import RawRecord
    from kznews.acquire.warc import WarcSink
    from kznews.config import load_settings
    from kznews.pipeline import land_stage

    warc = tmp_path / f"{day}.warc.gz"
    page = ROOT / "tests" / "fixtures" / "site" / "page_13178.html"
    with WarcSink(warc, info={"software": "test"}) as sink:
        sink.write(RawRecord(url="http://www.old.exclusive.kz/expertiza/smart/13178/",
                             body=page.read_bytes()))
    settings = load_settings(home=ROOT, data_dir=tmp_path / "data",
                             warehouse_dir=tmp_path / "warehouse")
    assert land_stage(warc, date.fromisoformat(day), settings)["rows"] == 1


def test_standalone_runs_nightly_via_rest(tmp_path):
    from kznews.sitegen import Site
    from kznews.sitegen.server import serve_site

    with serve_site(Site(seed=5, pages=60)) as server:
        crawl_env: dict[str, str] = {}
        start = _seed_crawl(tmp_path, server, crawl_env)
        _nightly_then_quiet_night(tmp_path, crawl_env, start)


def _nightly_then_quiet_night(tmp_path, crawl_env: dict[str, str], start: str) -> None:
    af = LiveAirflow(tmp_path, crawl_env)
    af.prepare()
    af.start("standalone", "standalone")
    try:
        af.wait_ready()
        af.wait_dag("kznews_nightly")
        af.wait_dag("kznews_rates_report")
        af.unpause("kznews_nightly")
        af.unpause("kznews_rates_report")
        t0 = time.monotonic()
        run_id = af.trigger(
            "kznews_nightly",
            {
                "source": str(ROOT / "sample"),
                "load_date": "2026-11-20",
                "full_refresh": True,
            },
        )
        run = af.wait_run("kznews_nightly", run_id, timeout=1200)
        states = af.task_states("kznews_nightly", run_id)
        print(f"\nkznews_nightly via REST: {run['state']} in {time.monotonic() - t0:.1f}s {states}")
        assert run["state"] == "success", f"{states}\n{af.logs_tail()}"
        counts = check_published(tmp_path)
        print(f"published marts: {counts}")
        summary = tmp_path / "data" / "state" / "airflow" / "summary_2026-11-20.txt"
        assert "published warehouse" in summary.read_text(encoding="utf-8")

        # The published Asset triggers the rates report.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not af.runs("kznews_rates_report"):
            time.sleep(3)
        reports = af.runs("kznews_rates_report")
        assert reports, "kznews_rates_report was not triggered by the warehouse Asset"
        for report in reports:
            report = af.wait_run("kznews_rates_report", report["dag_run_id"], timeout=300)
            assert report["state"] == "success", af.logs_tail()
        page = tmp_path / "data" / "reports" / "rates_2026-11-20.html"
        assert "<svg" in page.read_text(encoding="utf-8")

        # The docs plugin is mounted on the api-server.
        status, page = af.request("GET", "/kznews-docs/", auth=False)
        assert status == 200 and "not built yet" not in page, page
        for site in ("dbt", "gx"):
            status, page = af.request("GET", f"/kznews-docs/{site}/", auth=False)
            assert status == 200 and "<html" in page.lower(), (site, status)
        status, body = af.request("GET", "/api/v2/plugins")
        views = [v["name"] for p in body["plugins"] for v in p["external_views"]]
        assert "dbt docs (kznews)" in views and "Data Docs (kznews)" in views

        # A quiet night: the crawl finds nothing new, lands nothing, and the rest is
        # skipped; the run succeeds and the published file is the one before.
        published = tmp_path / "warehouse" / "kznews.duckdb"
        before = published.stat()
        quiet = af.wait_run("kznews_nightly", af.trigger(
            "kznews_nightly", {"source": start, "load_date": "2026-11-21"}), timeout=600)
        states = af.task_states("kznews_nightly", quiet["dag_run_id"])
        assert quiet["state"] == "success", f"{states}\n{af.logs_tail()}"
        assert states["acquire.land"] == "success", states
        skipped = {t for t, state in states.items() if state == "skipped"}
        assert {"extract.plan_shards", "warehouse.dbt_build", "quality.gate",
                "publish.publish", "publish.summary"} <= skipped, states
        after = published.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

        # A night that died after its landing is owed: the next quiet night runs it.
        _land_a_night_that_died(tmp_path, "2026-11-22")
        owed = af.wait_run("kznews_nightly", af.trigger(
            "kznews_nightly", {"source": start, "load_date": "2026-11-23"}), timeout=600)
        states = af.task_states("kznews_nightly", owed["dag_run_id"])
        assert owed["state"] == "success", f"{states}\n{af.logs_tail()}"
        # extracted by plan_shards: no shard mapped, the commit ran after none
        assert states["extract.extract_shard"] == "skipped", states
        assert states["extract.commit"] == "success", states
        assert states["publish.publish"] == "success", states
        summary = tmp_path / "data" / "state" / "airflow" / "summary_2026-11-23.txt"
        assert "caught up: nothing new landed for 2026-11-23" in summary.read_text("utf-8")
        assert published.stat().st_ino != after.st_ino
        reads = json.loads((tmp_path / "warehouse" / "build" / "published_reads.json").read_text())
        assert {"2026-11-20", "2026-11-22"} <= set(reads[str(published)])
    finally:
        af.stop()
