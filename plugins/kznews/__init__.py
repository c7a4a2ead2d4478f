"""kznews: Exclusive.kz pages -> Parquet -> dbt -> Great Expectations -> DuckDB.

Stages live in their own modules: ``acquire`` (sources of raw HTML), ``land`` (bronze Parquet),
``extract`` (pure parsing), ``warehouse`` (dbt), ``quality`` (Great Expectations), ``publish``
(the BI-facing DuckDB file). ``pipeline`` strings them together for the CLI and the DAGs.
"""

__version__ = "0.1.0"
