"""
# kznews_rates_report

Daily **exchange-rates report**, scheduled on the Asset `kznews_warehouse`: it runs each time
`kznews_nightly` publishes the warehouse, never on a clock.

It opens the published DuckDB file **read-only** (as any BI tool would; the DuckLake with
`KZNEWS_WAREHOUSE_BACKEND=ducklake`), reads the mart
`fct_exchange_rates` (one row per rate date and currency, in KZT) and writes
`data/reports/rates_<load_date>.html` (plus `rates_latest.html`): a table of the latest rates
and an inline SVG chart drawn with matplotlib. Nothing is written to DuckDB, so no pool is needed.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

TZ = "Asia/Almaty"
# Same Asset as in kznews_nightly.py (matched by name + uri).
WAREHOUSE = Asset(name="kznews_warehouse", uri="kznews://warehouse/published", group="kznews")
REPORT = Asset(name="kznews_rates_report", uri="kznews://reports/rates", group="kznews")
_RETRIES = os.environ.get("KZNEWS_AIRFLOW_RETRIES")


def _find_rates_table(con) -> str:
    """Qualified name of fct_exchange_rates in whatever schema dbt put it."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_name = 'fct_exchange_rates' and table_catalog = current_database() "
        "order by table_schema = 'main' desc"
    ).fetchall()
    if not rows:
        raise LookupError("fct_exchange_rates not found in the published warehouse")
    schema, name = rows[0]
    return f'"{schema}"."{name}"'


def render_report(db_path: str, out_dir: str, load_date: str, con=None) -> dict:
    """Read the published warehouse read-only and write the HTML report; returns paths/counts.
    ``con``: an open read-only connection to read instead of opening ``db_path`` (which then
    only names the source on the page); it is closed here."""
    import html
    import io
    from pathlib import Path

    import duckdb
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with con or duckdb.connect(db_path, read_only=True) as con:
        table = _find_rates_table(con)
        rows = con.execute(
            f"select rate_date, currency, cast(rate as double) from {table} "  # noqa: S608
            "order by currency, rate_date"
        ).fetchall()

    series: dict[str, list[tuple]] = {}
    for rate_date, currency, rate in rows:
        series.setdefault(currency, []).append((rate_date, rate))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for currency, points in sorted(series.items()):
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.plot(xs, ys, marker="o", label=f"{currency}/KZT")
    ax.set_title("Exchange rates shown on exclusive.kz (KZT per unit)")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(loc="best", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no rates in the warehouse", ha="center", transform=ax.transAxes)
    fig.autofmt_xdate()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog: the SVG is inlined in HTML

    latest_rows = "\n".join(
        f"<tr><td>{html.escape(c)}</td><td>{pts[-1][0]}</td><td>{pts[-1][1]:.2f}</td>"
        f"<td>{len(pts)}</td></tr>"
        for c, pts in sorted(series.items())
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>kznews rates report {html.escape(load_date)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:right}}</style>
</head><body>
<h1>Exchange rates — load date {html.escape(load_date)}</h1>
<p>Source: published warehouse <code>{html.escape(db_path)}</code> (opened read-only),
mart <code>fct_exchange_rates</code>, {len(rows)} rows.</p>
<table><tr><th>currency</th><th>latest rate date</th><th>rate (KZT)</th><th>days</th></tr>
{latest_rows}
</table>
{svg}
</body></html>
"""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"rates_{load_date}.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    (out / "rates_latest.html").write_text(page, encoding="utf-8")
    return {"path": str(target), "rows": len(rows), "currencies": sorted(series)}


@dag(
    dag_id="kznews_rates_report",
    doc_md=__doc__,
    schedule=[WAREHOUSE],
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "kznews-data",
        "retries": int(_RETRIES or 2),
        "retry_delay": timedelta(minutes=1),
    },
    tags=["kznews", "report"],
)
def kznews_rates_report():
    @task(outlets=[REPORT])
    def rates_report() -> dict:
        from kznews.config import load_settings

        ctx = get_current_context()
        settings = load_settings()
        # The load date travels in the Asset event's extra (set by kznews_nightly.publish).
        load_date = None
        for events in (ctx.get("triggering_asset_events") or {}).values():
            for event in events:
                load_date = (event.extra or {}).get("load_date") or load_date
        if not load_date:
            ref = ctx.get("logical_date") or ctx["dag_run"].run_after
            load_date = pendulum.instance(ref).in_timezone(TZ).date().isoformat()
        from kznews.publish import open_published

        # the published file, or the lake with KZNEWS_WAREHOUSE_BACKEND=ducklake
        con, source = open_published(settings)
        result = render_report(
            source, str(settings.path(settings.data_dir) / "reports"), load_date, con=con
        )
        print(f"rates report: {result}")
        return result

    rates_report()


kznews_rates_report()
