"""``python -m kznews.sitegen --pages N --seed S --out DIR [--format warc|html]``.

Writes ``DIR/site.warc.gz`` (or ``DIR/html/<nnn>/<nnnnnn>.html`` with ``.json`` sidecars) and
``DIR/site.truth.jsonl.gz`` (one ground-truth object per page, same order), streaming.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from kznews.acquire.base import RawRecord
from kznews.acquire.warc import WarcSink
from kznews.sitegen import Site, iter_pages
from kznews.sitegen.render import http_date


def generate(pages: int, seed: int, out: Path, fmt: str = "warc") -> dict:
    """Write the site and its ground truth under ``out``; returns counts and paths."""
    site = Site(seed=seed, pages=pages)
    out.mkdir(parents=True, exist_ok=True)
    truth_path = out / "site.truth.jsonl.gz"
    warc_path = out / "site.warc.gz"
    n = size = 0
    with (
        truth_path.open("wb") as raw_truth,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw_truth, mtime=0) as truth,
    ):
        sink = None
        if fmt == "warc":
            info = {
                "software": "kznews.sitegen",
                "seed": str(seed),
                "pages": str(pages),
                "format": "WARC File Format 1.1",
            }
            sink = WarcSink(warc_path, info=info, created=site.capture_start)
        try:
            for page in iter_pages(site):
                rec = page.to_record()
                if sink is not None:
                    sink.write(rec)
                else:
                    _write_html(out / "html", n, rec)
                line = json.dumps(page.truth, ensure_ascii=False, sort_keys=True)
                truth.write(line.encode("utf-8") + b"\n")
                n += 1
                size += len(page.body)
        finally:
            if sink is not None:
                sink.close()
    return {
        "pages": n,
        "html_bytes": size,
        "truth": str(truth_path),
        "warc": str(warc_path) if fmt == "warc" else None,
        "html_dir": str(out / "html") if fmt == "html" else None,
    }


def _write_html(root: Path, n: int, rec: RawRecord) -> None:
    folder = root / f"{n // 1000:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{n:06d}.html"
    path.write_bytes(rec.body)
    side = {
        "url": rec.url,
        "status": rec.status,
        "headers": rec.headers,
        "fetched_at": rec.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_modified": http_date(rec.fetched_at),
    }
    path.with_name(path.name + ".json").write_text(
        json.dumps(side, ensure_ascii=False, sort_keys=True), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kznews.sitegen", description=__doc__)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--format", choices=("warc", "html"), default="warc")
    args = ap.parse_args(argv)
    result = generate(args.pages, args.seed, args.out, args.format)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
