"""No SQL is built from page content.

Every ``.execute(`` / ``.sql(`` / ``.query(`` call in ``plugins/`` whose statement is built
dynamically (an f-string with fields, ``%`` or ``+`` with a non-constant part, ``.format`` /
``.join``, or a variable) must be in :data:`ALLOWED` with its reason: only identifiers and
paths from the code or the configuration, quoted with an escaping helper, never text of a page.
Values go through parameter binding (``?``). The modules that touch page content (acquire,
extract, sitegen) run no SQL at all. A new dynamic statement fails here until reviewed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
SINKS = {"execute", "executemany", "sql", "query", "from_query"}
PAGE_CONTENT_PACKAGES = ("kznews/acquire/", "kznews/extract/", "kznews/sitegen/")

#: (file under plugins/, function) -> why its dynamic SQL is safe.
ALLOWED: dict[tuple[str, str], str] = {
    ("kznews/publish.py", "_attach"): "build/tmp file paths via _sql_str; storage version a "
    "constant",
    ("kznews/publish.py", "_columns"): "database/schema/table names from the code (MARTS, "
    "'build', 'pub') as literals via _where/_sql_str",
    ("kznews/publish.py", "_table_comment"): "names from the code via _where/_sql_str",
    ("kznews/publish.py", "_column_comments"): "names from the code via _where/_sql_str",
    ("kznews/publish.py", "_sync_comments"): "mart/column names via _ident; the comment text "
    "is dbt's description (code), escaped with _sql_lit (COMMENT ON takes no parameters)",
    ("kznews/publish.py", "_count"): "table names built from MARTS via _ident",
    ("kznews/publish.py", "_copy_mart"): "mart names from MARTS, key column from "
    "duckdb_columns(), via _ident",
    ("kznews/publish.py", "_diff_mart"): "mart names from MARTS, key column from "
    "duckdb_columns() and HASH_COLUMN (a constant), via _ident",
    ("kznews/publish.py", "_waste"): "mart names from MARTS via _ident/_sql_str/_where",
    ("kznews/publish.py", "_pair_digest"): "key column from duckdb_columns() and HASH_COLUMN "
    "via _ident; table names from MARTS via _ident",
    ("kznews/publish.py", "_verify"): "mart names from MARTS via _ident; build path via "
    "_sql_str",
    ("kznews/warehouse/runner.py", "mart_row_counts"): "schema and mart names are constants",
    ("kznews/warehouse/ducklake.py", "connect"): "extension paths, data path and catalog from "
    "Settings, escaped with _quote; LAKE is a constant",
    ("kznews/warehouse/ducklake.py", "_publish_once"): "build path via _quote; mart names "
    "from MARTS; LAKE and MARTS_SCHEMA constants",
    ("kznews/quality/frames.py", "_connect"): "the memory limit is checked by config.memory_limit",
    ("kznews/quality/frames.py", "_register_table"): "view names are constants of the "
    "gate; Parquet paths from Settings via _files_sql; columns from schema.py",
    ("kznews/quality/frames.py", "extraction_frames"): "table names from schema.py, the "
    "method prefix a constant in quality/specs.py, the load date via _sql_str",
    ("kznews/quality/frames.py", "mart_frames"): "mart and column names from quality/specs.py "
    "quoted with _quote; located[] comes from duckdb_tables()",
}


def _dynamic(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return not (isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join", "replace", "format_map")
    return isinstance(node, ast.Name | ast.Attribute | ast.Subscript)


def dynamic_sql_calls() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        rel = path.relative_to(PLUGINS).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SINKS
                    and node.args
                    and _dynamic(node.args[0])
                ):
                    found.setdefault((rel, fn.name), []).append(
                        f"{rel}:{node.lineno}: {ast.unparse(node.args[0])[:120]}"
                    )
    return found


def test_dynamic_sql_only_where_reviewed() -> None:
    found = dynamic_sql_calls()
    unreviewed = {k: v for k, v in found.items() if k not in ALLOWED}
    assert not unreviewed, "dynamic SQL not in ALLOWED (bind values with ?):\n" + "\n".join(
        line for lines in unreviewed.values() for line in lines
    )
    stale = set(ALLOWED) - set(found)
    assert not stale, f"ALLOWED entries with no dynamic SQL left (remove them): {stale}"


def test_page_content_modules_run_no_sql() -> None:
    sql_users = {rel for rel, _ in dynamic_sql_calls()}
    for path in sorted(PLUGINS.rglob("*.py")):
        rel = path.relative_to(PLUGINS).as_posix()
        if rel.startswith(PAGE_CONTENT_PACKAGES):
            text = path.read_text(encoding="utf-8")
            assert "duckdb" not in text and "sqlite3" not in text, rel
            assert rel not in sql_users, rel


def test_the_scanner_sees_each_form() -> None:
    src = """
def f(con, page, name):
    con.execute(f"select * from t where title = '{page}'")
    con.execute("select * from t where a = '%s'" % page)
    con.sql("select " + name)
    con.execute("select {}".format(page))
    q = "x"
    con.execute(q)
    con.execute("select * from t where title = ?", [page])
    con.execute("select 1" "from t")
"""
    tree = ast.parse(src)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "")
             in SINKS]  # fmt: skip
    assert [_dynamic(c.args[0]) for c in calls] == [True, True, True, True, True, False, False]
