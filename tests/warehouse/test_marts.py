"""What the marts hold for the gold-page fixture and for the bundled sample."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from . import builds


@pytest.fixture(scope="module")
def con(fixture_wh: builds.Built):
    c = duckdb.connect(str(fixture_wh.settings.build_db), read_only=True)
    yield c
    c.close()


def one(con, sql: str, *params):
    rows = con.execute(sql, list(params)).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def test_url_forms_of_one_article_are_one_row(con) -> None:
    row = one(
        con,
        "select article_url, n_url_forms, has_full_text, title from marts.fct_articles "
        "where article_id = '13178'",
    )
    assert row[0] == "http://www.old.exclusive.kz/expertiza/smart/13178/"
    assert row[1] == 2 and row[2] is True
    assert row[3] == "«Кселл» переходит на усовершенствованную биллинговую систему"


def test_author_and_date_come_from_a_listing_on_another_page(con) -> None:
    author, published_at, local, published_on = one(
        con,
        "select a.author_name, f.published_at, f.published_at_local, f.published_on "
        "from marts.fct_articles f join marts.dim_authors a using (author_id) "
        "where f.article_id = '13178'",
    )
    assert author == "Карлыгаш Еженова"  # shown as "КАРЛЫГАШ\u00a0 ЕЖЕНОВА"
    assert published_at.isoformat().startswith("2016-06-20T19:30:00")
    assert local == datetime(2016, 6, 21, 1, 30)  # UTC+6 in 2016
    assert published_on == date(2016, 6, 21)


def test_listing_only_articles_are_rows_without_text(con) -> None:
    n, with_body, with_author = one(
        con,
        "select count(*), count(body), count(author_id) from marts.fct_articles "
        "where not has_full_text",
    )
    # the 34 items of the seed listing, less 13170 whose page the fixture also holds
    assert n == 33 and with_body == 0 and with_author == n
    seed_item = one(
        con,
        "select published_at, published_on, word_count from marts.fct_articles "
        "where article_id = '13160'",
    )
    assert seed_item[1] == date(2016, 6, 17) and seed_item[2] is None


def test_authors_are_normalised_and_editorial_flagged(con) -> None:
    rows = con.execute(
        "select author_name, is_editorial, article_count from marts.dim_authors order by 1"
    ).fetchall()
    assert [r[0] for r in rows] == ["Аскар Муминов", "Карлыгаш Еженова", "Редакция Exclusive"]
    assert [r[1] for r in rows] == [False, False, True]
    assert sum(r[2] for r in rows) == 35  # every listed article attributed once


def test_rates_one_row_per_day_and_currency_without_invented_days(con) -> None:
    rows = con.execute(
        "select rate_date, rate, n_observations, is_disputed from marts.fct_exchange_rates "
        "where currency = 'USD' order by rate_date"
    ).fetchall()
    assert [r[0] for r in rows] == [date(2024, 5, 17), date(2024, 5, 18), date(2024, 5, 20)]
    # 17th: the seed page under two URL forms agrees; 18th: two pages disagree (tie ->
    # the later fetch); 20th: one page
    assert rows[0][1:] == (Decimal("425.67"), 2, False)
    assert rows[1][1:] == (Decimal("426.5"), 2, True)
    assert rows[2][1:] == (Decimal("427"), 1, False)
    currencies = {
        r[0] for r in con.execute("select currency from marts.fct_exchange_rates").fetchall()
    }
    assert currencies == {"USD", "EUR", "RUB"}  # RUR arrives as RUB


def test_headlines_distinct_with_sightings(con) -> None:
    seen = one(
        con,
        "select times_seen, n_days, first_seen_on, last_seen_on, language "
        "from marts.fct_headlines where headline_title like 'Подведены итоги%'",
    )
    # two URL forms on the 17th + the listing page on the 18th (title with extra spaces)
    assert seen == (3, 2, date(2024, 5, 17), date(2024, 5, 18), "ru")
    total, kk = one(
        con, "select count(*), count(*) filter (where language = 'kk') from marts.fct_headlines"
    )
    assert (total, kk) == (26, 8)
    assert one(con, "select count(*) from marts.fct_headline_sightings")[0] == 53


def test_dim_date_spans_the_data_and_knows_almaty_offsets(con) -> None:
    first, last = one(con, "select min(date_day), max(date_day) from marts.dim_date")
    assert first == date(2015, 12, 28) and last == date(2024, 5, 20)
    offsets = dict(
        con.execute(
            "select date_day, almaty_utc_offset_hours from marts.dim_date "
            "where date_day in ('2024-02-29', '2024-03-01')"
        ).fetchall()
    )
    assert offsets == {date(2024, 2, 29): 6, date(2024, 3, 1): 5}


def test_sample_builds_with_every_dbt_test_passing(sample_wh: builds.Built) -> None:
    statuses = sample_wh.result["dbt"][0]["statuses"]
    assert set(statuses) <= {"success", "pass"}, statuses
    assert sample_wh.result["gate_twin_tests"] == "run"  # a first build runs every test
    rows = sample_wh.result["mart_rows"]
    assert all(n > 0 for n in rows.values()), rows
    c = duckdb.connect(str(sample_wh.settings.build_db), read_only=True)
    try:
        # the seed page, served in two encodings under two URL forms, is one article
        assert c.execute(
            "select n_url_forms, has_full_text from marts.fct_articles where article_id = '13178'"
        ).fetchall() == [(2, True)]
        assert (
            c.execute(
                "select count(*) from marts.fct_articles group by article_id having count(*) > 1"
            ).fetchall()
            == []
        )
        # both site layouts reached the marts
        assert {
            r[0] for r in c.execute("select distinct site from marts.fct_articles").fetchall()
        } == {
            "old",
            "current",
        }
    finally:
        c.close()
