"""Arrow schemas of the landing (bronze) and extracted (silver) Parquet tables.

These are the contract between the stages: the landing writes ``RAW_PAGES``; extraction writes
one folder per entry of ``EXTRACTED_TABLES``; dbt's sources read exactly these columns.
Every file is written with its full schema, even when it holds no rows, so that readers
(dbt, Great Expectations, BI) never meet a missing column.
"""

from __future__ import annotations

import pyarrow as pa

TS_UTC = pa.timestamp("us", tz="UTC")
RATE_TYPE = pa.decimal128(18, 6)

RAW_PAGES = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),  # as requested / as recorded
        pa.field("final_url", pa.string()),  # after redirects
        pa.field("status", pa.int32()),
        pa.field("headers", pa.string()),  # JSON object of the response headers
        pa.field("content_type", pa.string()),
        pa.field("fetched_at", TS_UTC),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("size_bytes", pa.int64()),
        pa.field("source", pa.string()),  # folder file, WARC record or crawl
        pa.field("body", pa.large_binary()),  # the raw bytes, unchanged
    ]
)

PAGES = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("page_type", pa.string(), nullable=False),  # article, listing, other
        pa.field("layout", pa.string()),  # site profile that matched (old_bitrix, wordpress)
        pa.field("shown_on", pa.date32()),
        pa.field("fetched_at", TS_UTC),
        pa.field("content_sha256", pa.string()),
        pa.field("encoding", pa.string()),
        pa.field("status", pa.int32()),
        pa.field("article_id", pa.string()),
        pa.field("section", pa.string()),
        pa.field("rubric", pa.string()),
        pa.field("rubric_name", pa.string()),
        pa.field("pager_pages", pa.int32()),
        pa.field("n_rates", pa.int32()),
        pa.field("n_headlines", pa.int32()),
        pa.field("n_listing_items", pa.int32()),
        pa.field("has_article", pa.bool_()),
        pa.field("extraction_method", pa.string()),
    ]
)

RATES = pa.schema(
    [
        pa.field("page_url", pa.string(), nullable=False),
        pa.field("shown_on", pa.date32()),
        pa.field("base_currency", pa.string(), nullable=False),
        pa.field("quote_currency", pa.string(), nullable=False),
        pa.field("rate", RATE_TYPE, nullable=False),
        pa.field("fetched_at", TS_UTC),
        pa.field("extraction_method", pa.string()),
    ]
)

HEADLINES = pa.schema(
    [
        pa.field("page_url", pa.string(), nullable=False),
        pa.field("shown_on", pa.date32()),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("language", pa.string()),
        pa.field("fetched_at", TS_UTC),
        pa.field("extraction_method", pa.string()),
    ]
)

ARTICLES = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),  # the article's canonical URL
        pa.field("page_url", pa.string()),  # the URL it was fetched under (one of its forms)
        pa.field("article_id", pa.string()),
        pa.field("site", pa.string()),  # old or current
        pa.field("section", pa.string()),
        pa.field("rubric", pa.string()),
        pa.field("title", pa.string(), nullable=False),
        pa.field("body", pa.string(), nullable=False),
        pa.field("language", pa.string()),
        pa.field("published_at", TS_UTC),  # only where the page itself shows it (current site)
        pa.field("published_on", pa.date32()),  # local (Asia/Almaty) publication date
        pa.field("shown_on", pa.date32()),
        pa.field("fetched_at", TS_UTC),
        pa.field("extraction_method", pa.string()),
    ]
)

LISTING_ITEMS = pa.schema(
    [
        pa.field("page_url", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("article_id", pa.string()),
        pa.field("section", pa.string()),
        pa.field("rubric", pa.string()),
        pa.field("rubric_name", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("published_at", TS_UTC),  # null when the page shows a date without a time
        pa.field("published_on", pa.date32()),  # local (Asia/Almaty) publication date
        pa.field("shown_on", pa.date32()),
        pa.field("fetched_at", TS_UTC),
        pa.field("extraction_method", pa.string()),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),  # URL or file
        pa.field("stage", pa.string(), nullable=False),  # land, extract
        pa.field("reason", pa.string(), nullable=False),  # short machine-readable code
        pa.field("detail", pa.string()),  # human-readable explanation
        pa.field("content_sha256", pa.string()),  # find the raw bytes in the landing
        pa.field("size_bytes", pa.int64()),
        pa.field("status", pa.int32()),
        pa.field("fetched_at", TS_UTC),
    ]
)

EXTRACTED_TABLES: dict[str, pa.Schema] = {
    "pages": PAGES,
    "rates": RATES,
    "headlines": HEADLINES,
    "articles": ARTICLES,
    "listing_items": LISTING_ITEMS,
    "quarantine": QUARANTINE,
}

#: In each date's extracted ``pages`` partition: the load token of the landing it was
#: extracted from (:func:`kznews.land.load_token`; :func:`kznews.extract.batch.
#: extraction_state`). A hidden name, so no reader, digest or check takes it for a
#: partition file; the object store carries it with the partition (kznews.storage).
LANDING_MARKER = ".landing_token"
