"""Fuzz ``extract_page`` with random and mutated HTML; count crashes.

    .venv/bin/python scripts/fuzz_extract.py [--inputs 100000] [--seed 1] [--workers 2]

Inputs are mutations of real-shaped pages (the seed page, WordPress fixtures, generated
pages): byte flips, truncations, spliced fragments, duplicated or deleted tags, hostile
fragments (impossible dates, huge numbers, deep nesting, stray encodings), plus pure random
bytes. A crash is an exception escaping ``extract_page`` **or** a ``parse_error`` quarantine
(an exception the engine caught: still a bug to fix). Also checked on every output: no
article with an empty title or body, no non-positive rate. Prints a summary; exit 1 on any
crash. The test suite runs a smaller sample of the same generator (tests/extract/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "tests" / "fixtures" / "site"

FRAGMENTS = [
    b"<div class=\"today\">\xd0\xbf\xd1\x8f\xd1\x82\xd0\xbd\xd0\xb8\xd1\x86\xd0\xb0, 31 \xd1\x84"
    b"\xd0\xb5\xd0\xb2\xd1\x80\xd0\xb0\xd0\xbb\xd1\x8f 2024</div>",
    b"<span class=\"cur-item\"><b>USD/KZT:</b> 99999999999999999999.99</span>",
    b"<span class=\"cur-item\"><b>EUR/KZT:</b> -1</span>",
    b"<div class=\"date\">|99.99.2016 - 25:61</div>",
    b"<div class=\"date\">|29.02.2023 - 10:00</div>",
    b"<a class=\"title\" href=\"javascript:alert(1)\">x</a>",
    b"<a class=\"title\" href=\"http://[::1\">broken</a>",
    b"<a href=\"http://www.old.exclusive.kz/a/b/99999999999999999999999/\">t</a>",
    b"<div>" * 300 + b"deep" + b"</div>" * 300,
    b"<h1></h1><div class=\"detail-text\"><p></p><p>   </p></div>",
    b"<meta charset=\"x-unknown\">",
    b"<meta charset=\"utf-16\">",
    b"\xef\xbb\xbf",
    b"\xff\xfe<\x00h\x001\x00>\x00",
    b"&#0; &#xD800; &#99999999; &#1179;",
    b"<script>document.write('USD/KZT: 1.00')",
    b"<!--", b"<![CDATA[", b"<?xml version=\"1.0\"?>", b"</html>", b"<body>",
    b"<p class=\"item__time\">31 \xd0\xbd\xd0\xbe\xd1\x8f\xd0\xb1\xd1\x80\xd1\x8f, 2026</p>",
    b"<time datetime=\"not-a-date\">x</time>",
    b"<time class=\"entry-date\" datetime=\"9999-12-31T23:59:59+14:00\">x</time>",
    b"<div class=\"pager\"><a>999999999999999999999999</a></div>",
]

URLS = [
    "http://www.old.exclusive.kz/expertiza/smart/13178/",
    "http://old.exclusive.kz/expertiza/smart/13178",
    "https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like",
    "https://exclusive.kz/category/economy/",
    "https://exclusive.kz/tenge-ostaetsja-vo-vlasti-emocij/",
    "http://[::1/broken",
    "",
]
CONTENT_TYPES = [None, "text/html; charset=utf-8", "text/html; charset=windows-1251",
                 "text/html; charset=nonsense", "application/octet-stream", "text/html; charset="]


def corpus() -> list[bytes]:
    pages = [p.read_bytes() for p in sorted(SITE.glob("*.html"))]
    try:
        from kznews.sitegen import Site, iter_pages

        for i, page in enumerate(iter_pages(Site(seed=3, pages=60))):
            if i % 6 == 0:
                pages.append(page.body)
    except ImportError:  # the generator is optional for fuzzing
        pass
    return pages


def mutate(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        n = len(data)
        if op == 0 and n:  # flip bytes
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(n)] = rng.randrange(256)
        elif op == 1 and n:  # truncate
            del data[rng.randrange(n):]
        elif op == 2:  # splice a hostile fragment
            at = rng.randint(0, n)
            data[at:at] = rng.choice(FRAGMENTS)
        elif op == 3 and n > 10:  # delete a range
            a = rng.randrange(n)
            del data[a : a + rng.randint(1, 3000)]
        elif op == 4 and n > 10:  # duplicate a range
            a = rng.randrange(n)
            chunk = data[a : a + rng.randint(1, 2000)]
            at = rng.randint(0, len(data))
            data[at:at] = chunk
        elif op == 5:  # random bytes
            at = rng.randint(0, n)
            data[at:at] = rng.randbytes(rng.randint(1, 200))
        else:  # swap two tags' names
            data = bytearray(bytes(data).replace(b"<h1", b"<h2").replace(b"<p>", b"<li>"))
    return bytes(data)


def check_one(args: tuple[int, int]) -> list[str]:
    """Run a slice of inputs; returns descriptions of crashes (empty when none)."""
    from kznews.extract import extract_page

    seed, count = args
    rng = random.Random(seed)  # noqa: S311 - reproducible fuzzing, not cryptography
    base = corpus()
    problems: list[str] = []
    for i in range(count):
        body = rng.randbytes(rng.randint(0, 3000)) if rng.random() < 0.1 else mutate(
            rng, rng.choice(base)
        )
        url, ctype = rng.choice(URLS), rng.choice(CONTENT_TYPES)
        try:
            out = extract_page(body, url, ctype)
        except Exception as exc:
            problems.append(f"seed={seed} i={i}: raised {type(exc).__name__}: {exc}")
            continue
        for q in out.quarantine:
            if q["reason"] == "parse_error":
                problems.append(f"seed={seed} i={i}: parse_error {q['detail']}")
        for a in out.articles:
            if not a["title"].strip() or not a["body"].strip():
                problems.append(f"seed={seed} i={i}: empty article title/body")
        for r in out.rates:
            if r["rate"] <= 0:
                problems.append(f"seed={seed} i={i}: non-positive rate {r['rate']}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    chunk = 2_000
    jobs = [(args.seed * 1_000_003 + k, min(chunk, args.inputs - k * chunk))
            for k in range((args.inputs + chunk - 1) // chunk)]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        problems = [p for ps in pool.imap_unordered(check_one, jobs) for p in ps]
    wall = time.perf_counter() - t0
    print(f"fuzzed {args.inputs} inputs in {wall:.0f} s with {args.workers} workers: "
          f"{len(problems)} crashes")
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
