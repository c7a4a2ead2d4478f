from __future__ import annotations

from datetime import date

import pytest

from kznews.config import Settings
from kznews.quality import frames


def test_frames_bound_duckdb_memory_by_the_setting(settings: Settings) -> None:
    """The gate's DuckDB takes settings.duckdb_memory_limit, like the build and the publish;
    a value that is not a size is refused before any file is read."""
    con = frames._connect(settings.replace(duckdb_memory_limit="300MB"))
    try:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    assert limit == "286.1 MiB"  # DuckDB reports 300 MB (10^6 bytes) in MiB
    with pytest.raises(ValueError, match="duckdb_memory_limit"):
        frames.landing_frames(settings.replace(duckdb_memory_limit="lots"), date(2024, 5, 17))
