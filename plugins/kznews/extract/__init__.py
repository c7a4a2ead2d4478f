"""Extraction: raw page bytes -> rows of the contract tables (pure), and batch writing.

``extract_page(body, url, content_type=None)`` is the public, pure entry point; see
:func:`kznews.extract.engine.extract_page` for an example. ``kznews.extract.batch`` streams a
landed partition through it and writes the Parquet tables.
"""

from kznews.extract.engine import PageExtraction, extract_page

__all__ = ["PageExtraction", "extract_page"]
