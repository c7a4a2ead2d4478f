"""Sources of raw pages behind one interface.

``open_source(uri, settings)`` returns an iterable of :class:`RawRecord` for
- a folder of ``.html`` files or a single ``.html`` file (``kznews.acquire.folder``),
- a ``.warc`` / ``.warc.gz`` file (``kznews.acquire.warc``),
- an ``http(s)://`` start URL, or ``crawl`` for ``Settings.start_urls``: a polite crawl
  (``kznews.acquire.crawl``), which writes a WARC of what it fetched. Its incremental
  state is saved by ``commit_source(records)``, once the records are landed, and
  ``close_source(records)`` lets it go either way (one crawl at a time holds the state).
Fetching never parses the pages beyond what discovery needs; it never writes the landing.
"""

from kznews.acquire.base import RawRecord, close_source, commit_source, is_crawl, open_source

__all__ = ["RawRecord", "close_source", "commit_source", "is_crawl", "open_source"]
