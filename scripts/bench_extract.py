"""Extraction benchmark: kznews vs trafilatura (fast mode) vs a BeautifulSoup baseline.

    .venv/bin/python scripts/bench_extract.py [--pages 3000] [--seed 7] [--no-write]

The same generated pages (``kznews.sitegen``, both layouts) go through each extractor in its
own fresh process (so peak memory is each one's own), one core each. kznews extracts every
field of every contract table; trafilatura extracts title and main text only; the
BeautifulSoup baseline extracts the same fields as kznews with the same selectors. Then the
streaming batch path (land -> extract_partition on all cores) runs at two sizes to show that
its memory stays flat as the page count grows. Figures are printed and written to the
"## Extraction" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchdoc import write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Extraction"


def _pages(n: int, seed: int) -> list[tuple[str, bytes, str | None]]:
    from kznews.sitegen import Site, iter_pages

    out = []
    for page in iter_pages(Site(seed=seed, pages=n)):
        ctype = next((v for k, v in page.headers.items() if k.lower() == "content-type"), None)
        out.append((page.url, page.body, ctype))
        if len(out) >= n:
            break
    return out


def _run_kznews(pages):
    from kznews.extract import extract_page

    rows = 0
    for url, body, ctype in pages:
        out = extract_page(body, url, ctype)
        rows += sum(len(v) for v in out.tables().values())
    return rows


def _run_trafilatura(pages):
    from trafilatura import bare_extraction

    rows = 0
    for _url, body, _ctype in pages:
        doc = bare_extraction(body.decode("utf-8", "replace") if b"utf-8" in body[:600] else body,
                              fast=True, with_metadata=True)
        rows += doc is not None
    return rows


_RATE = re.compile(r"([A-Z]{3})\s*/\s*([A-Z]{3})\s*:?\s*(\d+(?:[.,]\d+)?)")


def _run_bs4(pages):
    """The obvious hand-written scraper: BeautifulSoup + CSS selectors, same fields."""
    from bs4 import BeautifulSoup

    from kznews.extract.text import detect_language, parse_date_line, parse_listing_datetime

    rows = 0
    for _url, body, _ctype in pages:
        soup = BeautifulSoup(body, "lxml")
        for tag in soup(["script", "style"]):
            tag.decompose()
        today = soup.select_one("div.today")
        rows += parse_date_line(today.get_text()) is not None if today else 0
        cur = soup.select_one("div.currency")
        rows += len(_RATE.findall(cur.get_text())) if cur else 0
        for a in soup.select("div.ticker a"):
            detect_language(a.get_text())
            rows += 1
        h1 = soup.select_one("div.news-detail h1") or soup.select_one("h1.entry-title")
        paras = soup.select("div.detail-text p") or soup.select("div.entry-content p")
        rows += bool(h1 and paras)
        "\n\n".join(p.get_text().strip() for p in paras)
        for item in soup.select("div.news-item") or soup.select("div.section__item"):
            link = item.select_one("a.title") or item.select_one("h2.item__title a")
            date_node = item.select_one(".date") or item.select_one(".item__time")
            if link is not None:
                " ".join(link.get_text().split())
                parse_listing_datetime(date_node.get_text() if date_node else "")
                rows += 1
    return rows


RUNNERS = {"kznews": _run_kznews, "trafilatura (fast)": _run_trafilatura, "bs4 baseline": _run_bs4}


def _child(name: str, n: int, seed: int, conn) -> None:
    pages = _pages(n, seed)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runner = RUNNERS[name]
    runner(pages[: min(50, len(pages))])  # warm-up (imports, caches)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = runner(pages)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = sum(len(b) for _u, b, _c in pages) / 1e6
    conn.send({"name": name, "pages": len(pages), "mb": mb, "wall": wall, "cpu": cpu,
               "rows": rows, "peak_mb": peak / 1024, "extra_mb": (peak - base_rss) / 1024})


def _measure(name: str, n: int, seed: int) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(name, n, seed, child))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


def _batch_child(n: int, seed: int, conn) -> None:
    """Generate -> land -> extract_partition (all cores); report wall time and peak RSS."""
    from kznews.config import load_settings
    from kznews.extract.batch import extract_partition
    from kznews.land import land_records
    from kznews.sitegen import Site, iter_pages

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data")
        d = date(2026, 11, 25)
        recs = (p.to_record("bench") for p in iter_pages(Site(seed=seed, pages=n)))
        land_records(recs, settings.raw_dir, d)
        t0 = time.perf_counter()
        result = extract_partition(settings, d)
        wall = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send({"pages": result["pages_in"], "wall": wall, "workers": result["workers"],
               "peak_worker_mb": children, "peak_parent_mb": own})


def _measure_batch(n: int, seed: int) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_batch_child, args=(n, seed, child))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch-sizes", default="2000,8000", help="page counts for the batch run")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    results = [_measure(name, args.pages, args.seed) for name in RUNNERS]
    k = results[0]
    lines = [
        f"Command: `.venv/bin/python scripts/bench_extract.py --pages {args.pages} "
        f"--seed {args.seed}` on {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Same {k['pages']} generated pages "
        f"({k['mb']:.1f} MB of HTML, both layouts) for every extractor, one core each, each in "
        "a fresh process.",
        "",
        "| extractor | fields | pages/s per core | ms/page | CPU s | peak RSS MB | vs kznews |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        fields = "all contract tables" if r["name"] != "trafilatura (fast)" else "title + text"
        rate = r["pages"] / r["cpu"]
        lines.append(
            f"| {r['name']} | {fields} | {rate:,.0f} | {1000 * r['cpu'] / r['pages']:.2f} | "
            f"{r['cpu']:.1f} | {r['peak_mb']:.0f} | "
            f"{(k['pages'] / k['cpu']) / rate:.1f}x |"
        )
    lines += ["", "Streaming batch extraction (land, then `extract_partition` on all cores):", "",
              "| pages | workers | wall s | pages/s | peak RSS per worker MB | parent MB |",
              "|---:|---:|---:|---:|---:|---:|"]
    for n in (int(x) for x in args.batch_sizes.split(",")):
        b = _measure_batch(n, args.seed)
        lines.append(
            f"| {b['pages']} | {b['workers']} | {b['wall']:.1f} | {b['pages'] / b['wall']:,.0f} | "
            f"{b['peak_worker_mb']:.0f} | {b['peak_parent_mb']:.0f} |"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"\nwritten to {ROOT / 'docs' / 'benchmarks.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
