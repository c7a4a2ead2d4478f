"""The synthetic site: deterministic, exact in size, realistic in the ways extraction cares."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from kznews.acquire import open_source
from kznews.sitegen import Site, iter_pages, render_page
from kznews.sitegen.__main__ import generate
from kznews.sitegen.server import serve_site
from kznews.sitegen.text import ALMATY, KAZAKH_LETTERS

ROOT = Path(__file__).resolve().parents[2]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = generate(80, 5, tmp_path / "a")
    generate(80, 5, tmp_path / "b")
    generate(80, 6, tmp_path / "c")
    assert a["pages"] == 80
    for name in ("site.warc.gz", "site.truth.jsonl.gz"):
        assert _digest(tmp_path / "a" / name) == _digest(tmp_path / "b" / name)
        assert _digest(tmp_path / "a" / name) != _digest(tmp_path / "c" / name)


def test_bundled_sample_is_reproducible(tmp_path: Path) -> None:
    generate(300, 13178, tmp_path)
    for name in ("site.warc.gz", "site.truth.jsonl.gz"):
        assert _digest(tmp_path / name) == _digest(ROOT / "sample" / name)
    assert (ROOT / "sample" / "site.warc.gz").stat().st_size < 3_000_000


def test_exact_page_counts_unique_urls_and_truth_per_page() -> None:
    for n in (30, 97, 500):
        site = Site(seed=1, pages=n)
        keys = list(site.page_keys())
        assert len(keys) == n == site.n_pages
        urls = [site.url(k) for k in keys]
        assert len(set(urls)) == n
        assert all(site.lookup(u) == k for u, k in zip(urls, keys, strict=True))
        assert [site.position(k) for k in keys] == list(range(n))


def test_large_site_streams() -> None:
    site = Site(seed=2, pages=100_000)
    assert site.n_pages == 100_000
    first = next(iter_pages(site))
    assert first.url == "http://www.old.exclusive.kz/"
    last_key = ("wp_article", site.n_wp - 1)
    assert render_page(site, last_key).truth["article"]["title"]


def test_old_layout_matches_the_reconstructed_page_and_truth_agrees() -> None:
    site = Site(seed=13178, pages=400)
    pages = list(iter_pages(site))
    old = [p for p in pages if p.truth["layout"] == "old_bitrix"]
    wp = [p for p in pages if p.truth["layout"] == "wordpress"]
    assert old and wp
    for cls in (
        'class="today"',
        'class="cur-item"',
        'class="news-detail"',
        'class="detail-text"',
        'class="rubric-title"',
        'class="news-item"',
        'class="caption"',
        'class="pager"',
        'class="ticker"',
        'class="author"',
        'class="date"',
    ):
        assert any(cls.encode() in p.body for p in old), cls
    for cls in (
        'class="section__item item"',
        'class="item__title"',
        'class="item__image"',
        'class="item__time"',
        'class="next page-numbers"',
        'class="entry-content"',
    ):
        assert any(cls.encode() in p.body for p in wp), cls
    truths = [p.truth for p in pages]
    assert any(not t["rates"] for t in truths if t["layout"] == "old_bitrix")
    assert any(not t["headlines"] for t in truths if t["layout"] == "old_bitrix")
    codes = {r["base_currency"] for t in truths for r in t["rates"]}
    assert codes == {"USD", "EUR", "RUB", "CNY"}
    assert all(b"RUB/KZT" not in p.body for p in old)
    assert {t["article"]["language"] for t in truths if t["article"]} == {"ru", "kk"}
    authors = {i["author"] for t in truths for i in t["listing_items"]}
    assert "Редакция Exclusive" in authors and len(authors) > 5
    # one article under several URL forms
    forms = {k[2] for k in site.page_keys() if k[0] == "old_article"}
    assert forms == {0, 1, 2}
    # windows-1251 pages carry Kazakh letters as numeric character references
    cp = [p for p in old if p.truth["encoding"] == "windows-1251"]
    assert cp and any(b"&#1179;" in p.body or b"&#1241;" in p.body for p in cp)
    for p in cp:
        text = p.body.decode("cp1251")
        assert not set(text) & (KAZAKH_LETTERS - set("іІ"))  # і is in windows-1251
        assert p.headers["Content-Type"].endswith("windows-1251")


def test_listing_dates_span_years_and_the_almaty_offset_change() -> None:
    site = Site(seed=4, pages=2000)
    stamps = {}
    for k in site.page_keys():
        if k[0] == "old_listing":
            for page in [render_page(site, k)]:
                body = page.body.decode(page.headers["Content-Type"].split("=")[1])
                for item in page.truth["listing_items"]:
                    stamps[item["published_at"]] = item
                    assert item["url"] in body
    years = {s[:4] for s in stamps}
    assert min(years) == "2008" and max(years) == "2026"
    before = [s for s in stamps if "2024-02-20" <= s < "2024-02-29T18:00"]
    after = [s for s in stamps if "2024-02-29T18:00" <= s < "2024-03-10"]
    assert before and after
    # the listing shows local time: UTC+6 before, UTC+5 since 2024-03-01
    for s in before[:3] + after[:3]:
        utc = datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)
        assert (
            utc.astimezone(ALMATY).utcoffset().total_seconds() == (6 if s in before else 5) * 3600
        )


def test_truth_file_lines_match_warc_records(tmp_path: Path) -> None:
    generate(60, 3, tmp_path)
    with gzip.open(tmp_path / "site.truth.jsonl.gz") as fh:
        truth = [json.loads(x) for x in fh]
    recs = list(open_source(tmp_path / "site.warc.gz"))
    assert [t["url"] for t in truth] == [r.url for r in recs]
    assert all(
        t["fetched_at"] == r.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        for t, r in zip(truth, recs, strict=True)
    )


def test_html_format_is_a_folder_source(tmp_path: Path) -> None:
    generate(40, 3, tmp_path, fmt="html")
    recs = list(open_source(tmp_path / "html"))
    assert len(recs) == 40 and all(r.url.startswith("http") for r in recs)


def test_server_serves_robots_and_answers_conditional_requests() -> None:
    site = Site(seed=3, pages=40)
    with serve_site(site) as srv:
        url = srv.base_url + "/"
        robots = httpx.get(srv.base_url + "/robots.txt", headers={"Host": "www.old.exclusive.kz"})
        assert "Disallow" in robots.text
        first = httpx.get(url, headers={"Host": "www.old.exclusive.kz"})
        assert first.status_code == 200 and first.headers["etag"]
        again = httpx.get(
            url, headers={"Host": "www.old.exclusive.kz", "If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304
        since = httpx.get(
            url,
            headers={
                "Host": "www.old.exclusive.kz",
                "If-Modified-Since": first.headers["last-modified"],
            },
        )
        assert since.status_code == 304
        missing = httpx.get(srv.base_url + "/nope/", headers={"Host": "exclusive.kz"})
        assert missing.status_code == 404
