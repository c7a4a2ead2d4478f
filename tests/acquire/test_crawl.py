"""End-to-end crawls of the local synthetic site (offline: 127.0.0.1 only)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kznews.acquire.crawl import crawl_records, run_crawl
from kznews.acquire.warc import read_warc
from kznews.config import Settings
from kznews.sitegen import Site
from kznews.sitegen.server import Fault, SiteServer

LISTING = "http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=1"


def _linked_urls(site: Site) -> set[str]:
    """Every page reachable by discovery links (alternative article URLs are not linked)."""
    return {site.url(k) for k in site.page_keys() if not (k[0] == "old_article" and k[2] != 0)}


def test_full_crawl_fetches_every_linked_page_and_writes_a_replayable_warc(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    report = run_crawl(settings)
    expected = _linked_urls(site)
    assert report.failed == 0 and report.refused == 0
    assert report.fetched == len(expected) == report.new == report.emitted
    replayed = list(read_warc(report.warc_path))
    assert {r.url for r in replayed} == expected
    by_url = {r.url: r for r in replayed}
    assert all("charset=" in (r.content_type or "") for r in replayed)
    assert all(r.status == 200 for r in replayed)
    # every rubric pager page was followed
    listing_urls = {site.url(k) for k in site.page_keys() if k[0] in ("old_listing", "wp_category")}
    assert listing_urls <= set(by_url)
    # polite: robots.txt asked once per host, clear User-Agent on every request
    assert server.paths_requested("www.old.exclusive.kz").count("/robots.txt") == 1
    assert {r["headers"].get("User-Agent") for r in server.requests} == {settings.user_agent}


def test_robots_txt_is_respected(site: Site, server: SiteServer, settings: Settings) -> None:
    server.robots["www.old.exclusive.kz"] = "User-agent: *\nDisallow: /expertiza/smart/\n"
    report = run_crawl(settings)
    asked = server.paths_requested("www.old.exclusive.kz")
    assert not [p for p in asked if p.startswith("/expertiza/smart/")]
    assert report.robots_disallowed > 0


def test_a_redirected_robots_txt_is_followed(site: Site, server: SiteServer,
                                            settings: Settings) -> None:
    """RFC 9309: robots.txt answering with a redirect (an http -> https move, another host)
    is followed, and the rules found there apply; a redirect loop leaves the origin's URLs
    owed to the next run instead of dropping them."""
    from kznews.acquire.state import CrawlState

    server.robots["exclusive.kz"] = "User-agent: *\nDisallow: /expertiza/smart/\n"
    old_robots = "http://www.old.exclusive.kz/robots.txt"
    server.inject(old_robots, Fault("redirect", status=301,
                                    location="https://exclusive.kz/robots.txt", times=1))
    report = run_crawl(settings)
    old = {r.url for r in read_warc(report.warc_path) if r.url.startswith("http://www.old.")}
    assert old and not any("/expertiza/smart/" in u for u in old)
    assert report.robots_disallowed > 0

    looped = settings.replace(home=settings.home / "loop")
    server.inject(old_robots, Fault("redirect", location=old_robots, times=0))
    server.robots["exclusive.kz"] = "User-agent: *\nAllow: /\n"
    report = run_crawl(looped)
    assert server.paths_requested("www.old.exclusive.kz").count("/robots.txt") == 1 + 6
    reasons = {f["reason"] for f in report.failures if f["url"].startswith("http://www.old.")}
    assert reasons == {"robots_unreachable"}
    pending = {r.url for r in CrawlState.load(looped.state_dir).pending()}
    assert any(u.startswith("http://www.old.") for u in pending)


def test_second_run_over_unchanged_site_fetches_listings_only(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    first = run_crawl(settings)
    n_requests = len(server.requests)
    second = run_crawl(settings)
    assert second.new == 0 and second.changed == 0 and second.emitted == 0
    assert second.fetched == second.listings_fetched == first.listings_fetched
    assert second.articles_fetched == 0
    assert second.not_modified == first.articles_fetched
    conditional = [r for r in server.requests[n_requests:] if "If-None-Match" in r["headers"]]
    assert len(conditional) == second.not_modified
    assert list(read_warc(second.warc_path)) == []


def test_nightly_run_fetches_only_new_articles(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    site.visible_old = site.n_old - 5
    site.visible_wp = site.n_wp - 3
    run_crawl(settings)
    site.visible_old, site.visible_wp = site.n_old, site.n_wp
    report = run_crawl(settings)
    new_articles = {r.url for r in read_warc(report.warc_path)} - {
        site.url(k) for k in site.page_keys() if k[0] in ("old_listing", "wp_category")
    }
    assert report.articles_fetched == 8 == len(new_articles)
    assert report.failed == 0


def test_crawl_records_save_state_only_when_committed(
    server: SiteServer, settings: Settings
) -> None:
    records = crawl_records(None, settings)
    with pytest.raises(RuntimeError, match="before every record"):
        records.commit()
    landed = list(records)
    assert landed and not (settings.state_dir / "crawl_state.parquet").exists()  # not landed yet
    records.commit()
    assert (settings.state_dir / "crawl_state.parquet").exists()
    with pytest.raises(RuntimeError, match="read once"):
        list(records)


def test_a_crawl_landing_that_fails_at_its_last_step_fetches_everything_again(
    server: SiteServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The land stage fails after the crawl's last record was read, before its file is in
    place (the data file's rename): the crawl state is not saved, so the retry fetches and
    lands every page again instead of an empty partition."""
    from kznews.land import read_partition
    from kznews.pipeline import land_stage
    from tests.conftest import fail_landing_renames

    day = date(2026, 11, 22)
    clean = land_stage("crawl", day, settings.replace(home=settings.home / "clean"))["rows"]
    fail_landing_renames(monkeypatch, "disk full")
    with pytest.raises(OSError, match="disk full"):
        land_stage("crawl", day, settings)
    assert not (settings.state_dir / "crawl_state.parquet").exists()
    monkeypatch.undo()
    assert land_stage("crawl", day, settings)["rows"] == clean > 0
    assert read_partition(settings.raw_dir, day).num_rows == clean
    assert (settings.state_dir / "crawl_state.parquet").exists()


def test_a_retry_that_reuses_a_landed_crawl_records_its_fetches_in_the_state(
    site: Site, server: SiteServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The land task dies after its partition is in place, before the crawl saved its state;
    the retry reuses the landing (no second crawl). The next night must then fetch what a
    night after an uninterrupted landing fetches, not every article again."""
    import kznews.acquire
    from kznews.pipeline import land_stage, reuse_landing_stage

    day, next_day = date(2026, 11, 22), date(2026, 11, 23)
    clean = settings.replace(home=settings.home / "clean")
    site.visible_old = site.n_old - 5
    land_stage("crawl", day, clean)

    def killed(records) -> None:
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(kznews.acquire, "commit_source", killed)
    with pytest.raises(KeyboardInterrupt):
        land_stage("crawl", day, settings)
    monkeypatch.undo()
    assert not (settings.state_dir / "crawl_state.parquet").exists()
    reused = reuse_landing_stage(day, settings)
    assert reused["reused"] and reused["crawl_state_caught_up"] == reused["rows"] > 0
    assert "crawl_state_caught_up" not in reuse_landing_stage(day, settings)  # nothing new

    site.visible_old = site.n_old  # five new articles by the next night
    n_requests = len(server.requests)
    after_retry = land_stage("crawl", next_day, settings)
    retry_requests = len(server.requests) - n_requests
    n_requests = len(server.requests)
    after_clean = land_stage("crawl", next_day, clean)
    assert after_retry["rows"] == after_clean["rows"] > 0
    assert retry_requests == len(server.requests) - n_requests


def test_landing_a_crawl_date_again_keeps_the_pages_it_did_not_fetch_again(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    """A second crawl of the same date (a retry with reuse_landing off, say) emits only what
    changed; the date's landing keeps every page of the first one."""
    from kznews.land import read_partition
    from kznews.pipeline import land_stage

    day = date(2026, 11, 22)
    site.visible_old = site.n_old - 5
    first = land_stage("crawl", day, settings)["rows"]
    site.visible_old = site.n_old
    again = land_stage("crawl", day, settings)
    urls = read_partition(settings.raw_dir, day, columns=["url"]).column("url").to_pylist()
    assert len(urls) == len(set(urls)) == again["rows"] > first
    assert 0 < again["kept_from_earlier_landing"] < first


def test_retries_on_500_429_and_timeouts(server: SiteServer, settings: Settings) -> None:
    server.inject(LISTING, Fault("status", status=500, times=2))
    wp_cat = "https://exclusive.kz/category/novosti/"
    server.inject(wp_cat, Fault("status", status=429, retry_after="1"))
    server.inject("http://www.old.exclusive.kz/", Fault("timeout", delay_s=3.0))
    report = run_crawl(settings.replace(request_timeout_s=1.0))  # 3x margin both ways
    assert report.failed == 0
    assert report.retries >= 4
    assert server.paths_requested("www.old.exclusive.kz").count("/expertiza/smart/?PAGEN_1=1") == 3
    assert server.paths_requested("exclusive.kz").count("/category/novosti/") == 2


def test_429_pauses_the_whole_host_for_its_retry_after(
    server: SiteServer, settings: Settings
) -> None:
    """A 429 speaks for the host: while its Retry-After runs, no new request goes to that
    host (other URLs included; requests already on their way may land just after it);
    other hosts go on."""
    wp_cat = "https://exclusive.kz/category/novosti/"
    server.inject(wp_cat, Fault("status", status=429, retry_after="1"))
    # a per-host delay spreads the old host's ~40 requests over more than the pause
    report = run_crawl(settings.replace(per_host_delay_s=0.03))
    assert report.failed == 0 and report.host_pauses == 1
    wp = [r for r in server.requests if r["host"] == "exclusive.kz"]
    refused_at = next(r["at"] for r in wp if r["path"] == "/category/novosti/")
    during = [r for r in wp if refused_at + 0.2 < r["at"] < refused_at + 0.9]
    assert during == []
    assert any(r["at"] > refused_at + 0.9 for r in wp)  # the host resumed after the pause
    old_host = [r for r in server.requests if r["host"] == "www.old.exclusive.kz"]
    assert any(refused_at + 0.2 < r["at"] < refused_at + 0.9 for r in old_host)


def test_retries_are_bounded(server: SiteServer, settings: Settings) -> None:
    server.inject(LISTING, Fault("status", status=503, times=0))
    report = run_crawl(settings)
    assert report.failed == 1
    assert report.failures[0]["url"] == LISTING and report.failures[0]["status"] == 503
    asked = server.paths_requested("www.old.exclusive.kz").count("/expertiza/smart/?PAGEN_1=1")
    assert asked == settings.max_retries + 1


def test_allowlist_refuses_other_hosts(server: SiteServer, settings: Settings) -> None:
    links = (
        '<div class="pager"><a href="http://evil.example.com/">1</a>'
        '<a href="http://127.0.0.1/">2</a></div>'
    )
    agro = "http://www.old.exclusive.kz/biznes/agro/?PAGEN_1=1"
    server.inject(agro, Fault("page", status=200, body=links.encode()))
    server.inject(LISTING, Fault("redirect", status=302, location="http://evil.example.com/x"))
    report = run_crawl(settings)
    assert {r["host"] for r in server.requests} <= {
        "www.old.exclusive.kz",
        "old.exclusive.kz",
        "exclusive.kz",
    }
    assert {"url": LISTING, "reason": "host_not_allowed", "status": None} in report.failures


def test_redirects_to_private_or_link_local_addresses_are_refused(
    server: SiteServer, settings: Settings
) -> None:
    settings = settings.replace(
        allowed_hosts=(*settings.allowed_hosts, "intranet.exclusive.kz", "meta.exclusive.kz"),
        host_overrides=(
            *settings.host_overrides,
            "intranet.exclusive.kz=http://10.1.2.3",
            "meta.exclusive.kz=http://169.254.169.254",
        ),
    )
    server.inject(LISTING, Fault("redirect", location="http://intranet.exclusive.kz/"))
    cat = "https://exclusive.kz/category/novosti/"
    server.inject(cat, Fault("redirect", location="http://meta.exclusive.kz/latest/"))
    report = run_crawl(settings)
    reasons = {f["url"]: f["reason"] for f in report.failures}
    assert reasons[LISTING] == "private_address"
    assert reasons[cat] == "private_address"


def test_loopback_is_refused_unless_explicitly_allowed(
    server: SiteServer, settings: Settings
) -> None:
    report = run_crawl(settings.replace(allowed_private_networks=()))
    assert report.requests == 0 and report.fetched == 0
    assert report.refused == len(settings.start_urls)
    assert server.requests == []


def test_redirects_are_followed_and_capped(server: SiteServer, settings: Settings) -> None:
    target = "http://www.old.exclusive.kz/expertiza/finance/?PAGEN_1=1"
    server.inject(LISTING, Fault("redirect", status=301, location=target))
    loop = "http://www.old.exclusive.kz/biznes/agro/?PAGEN_1=1"
    server.inject(loop, Fault("redirect", location=loop, times=0))
    report = run_crawl(settings)
    records = {r.url: r for r in read_warc(report.warc_path)}
    assert records[LISTING].final_url == target
    assert {"url": loop, "reason": "too_many_redirects", "status": None} in report.failures


def test_body_size_cap(server: SiteServer, settings: Settings) -> None:
    server.inject(LISTING, Fault("oversize", size=2_000_000))
    report = run_crawl(settings.replace(max_body_bytes=1_000_000))
    assert {"url": LISTING, "reason": "body_too_large", "status": 200} in report.failures


def test_page_limit(server: SiteServer, settings: Settings) -> None:
    report = run_crawl(settings.replace(max_pages=10))
    assert report.requests <= 10 and report.page_limit_reached


def test_a_crawl_out_of_time_leaves_the_rest_pending_for_the_next_run(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    """A first crawl of the whole archive outlasts a night: past crawl_time_budget_s it asks
    for nothing more, saves what it got, and the next run starts with what it left."""
    from kznews.acquire.state import CrawlState

    full = run_crawl(settings.replace(home=settings.home / "reference"))
    late = run_crawl(settings.replace(crawl_time_budget_s=0.0))
    assert late.time_budget_reached and late.requests == 0 and late.failed == 0
    pending = CrawlState.load(settings.state_dir).pending()
    assert pending and {row.pending_reason for row in pending} == {"time_budget"}
    caught_up = run_crawl(settings)
    assert not caught_up.time_budget_reached
    assert caught_up.articles_fetched == full.articles_fetched


def test_a_crawl_landing_again_merges_with_the_buckets_copy_of_the_date(
    site: Site, server: SiteServer, settings: Settings, tmp_path: Path
) -> None:
    """With an object store, the date's earlier landing may be in the bucket only (landed on
    another worker, or this one's disk was cleared): the merge pulls it first, so neither
    the local partition nor the bucket ends up with only what the second crawl fetched."""
    import shutil

    from kznews.land import partition_dir, read_partition
    from kznews.pipeline import land_stage
    from kznews.storage import ObjectStore

    day = date(2026, 11, 22)
    s = settings.replace(remote_url=(tmp_path / "bucket").as_uri())
    site.visible_old = site.n_old - 5
    first = land_stage("crawl", day, s)["rows"]
    shutil.rmtree(partition_dir(s.raw_dir, day))
    site.visible_old = site.n_old
    again = land_stage("crawl", day, s)
    assert again["rows"] > first and again["kept_from_earlier_landing"] > 0
    assert read_partition(s.raw_dir, day).num_rows == again["rows"]
    elsewhere = tmp_path / "other-worker" / "load_date=2026-11-22"
    ObjectStore.from_settings(s).pull_partition(f"raw_pages/load_date={day}", elsewhere)
    assert read_partition(elsewhere.parent, day).num_rows == again["rows"]


def test_a_crawl_merge_does_not_download_a_copy_it_already_holds(
    site: Site, server: SiteServer, settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    """A local landing with the bucket's very files (here one pushed before pushes recorded
    the manifest locally) is merged into as it is: no download of the same bytes."""
    from kznews.land import partition_dir
    from kznews.pipeline import land_stage
    from kznews.storage import MANIFEST, ObjectStore

    day = date(2026, 11, 22)
    s = settings.replace(remote_url=(tmp_path / "bucket").as_uri())
    site.visible_old = site.n_old - 5
    land_stage("crawl", day, s)
    (partition_dir(s.raw_dir, day) / MANIFEST).unlink()
    pulls = []
    monkeypatch.setattr(ObjectStore, "pull_partition", lambda *a: pulls.append(a))
    site.visible_old = site.n_old
    again = land_stage("crawl", day, s)
    assert pulls == [] and again["kept_from_earlier_landing"] > 0


def test_a_site_that_answers_nothing_fails_the_landing_and_lands_nothing(
    settings: Settings,
) -> None:
    """Every host down: the land stage raises (the Airflow task's retries apply) and leaves
    no empty landing that a retry would reuse; the crawl state's lock is given back."""
    import socket
    from datetime import date

    from kznews.acquire.crawl import CrawlUnreachable
    from kznews.land import PART_NAME, partition_dir
    from kznews.pipeline import land_stage

    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hosts = ("www.old.exclusive.kz", "old.exclusive.kz", "exclusive.kz")
    down = settings.replace(host_overrides=tuple(f"{h}=http://127.0.0.1:{port}" for h in hosts),
                            max_retries=0)
    day = date(2026, 2, 1)
    for _ in range(2):  # the second attempt is not refused as "another crawl runs"
        with pytest.raises(CrawlUnreachable, match="no page from any host"):
            land_stage("crawl", day, down)
    assert not (partition_dir(down.raw_dir, day) / PART_NAME).exists()
