"""The current (WordPress) layout: category listings and article pages."""

from __future__ import annotations

from datetime import date

from kznews.extract import extract_page
from tests.conftest import SITE

CATEGORY_URL = "https://exclusive.kz/category/economy/"
ARTICLE_URL = "https://exclusive.kz/tenge-ostaetsja-vo-vlasti-emocij/"


def test_category_listing():
    out = extract_page((SITE / "wp_category_economy.html").read_bytes(), CATEGORY_URL)
    assert out.page["layout"] == "wordpress"
    assert out.page["page_type"] == "listing"
    assert out.rubric_name == "Экономика"
    assert out.pager_pages == 12
    assert out.next_page == "https://exclusive.kz/category/economy/page/2/"
    items = out.listing_items
    assert [i["title"] for i in items] == [
        "Тенге остается во власти эмоций",  # whitespace collapsed
        "Цены на сахар за год выросли на 61%",
        "Нью-Делиде Абай мүсіні орнатылды",
    ]
    assert [i["published_on"] for i in items] == [
        date(2026, 11, 25), date(2026, 11, 24), date(2024, 3, 1)
    ]
    # a date without a time is not turned into an invented timestamp
    assert all(i["published_at"] is None for i in items)
    assert items[0]["article_id"] == "tenge-ostaetsja-vo-vlasti-emocij"
    assert {i["rubric"] for i in items} == {"economy"}
    assert out.rates == []  # the script's fake rate does not leak


def test_article_page():
    out = extract_page((SITE / "wp_article_tenge.html").read_bytes(), ARTICLE_URL)
    (article,) = out.articles
    assert article["site"] == "current"
    assert article["article_id"] == "tenge-ostaetsja-vo-vlasti-emocij"
    assert article["title"] == "Тенге остается во власти эмоций"
    assert article["body"].split("\n\n") == [
        "Курс тенге к доллару на биржевых торгах снова колебался в широком диапазоне.",
        "Аналитики связывают это с ожиданиями участников рынка, "
        "а не с фундаментальными факторами.",
    ]
    assert article["rubric"] == "economy"
    # 10:15 at UTC+5 (Almaty since 2024-03-01)
    assert article["published_at"].isoformat() == "2026-11-25T05:15:00+00:00"
    assert article["published_on"] == date(2026, 11, 25)
    assert article["extraction_method"] == "profile:wordpress"
    assert out.rates == [] and out.quarantine == []


# A sidebar ahead of the article: related posts (themes reuse the entry template, so
# time.entry-date) and a latest-posts list in the listing style (p.item__time).
SIDEBAR = (
    '<aside class="widget related-posts"><ul>'
    '<li><a href="https://exclusive.kz/drugaja-novost/">Другая новость</a>'
    '<time class="entry-date published" datetime="2026-11-27T09:00:00+05:00">'
    "27 ноября, 2026</time></li>"
    '<li><a href="https://exclusive.kz/eshhe-odna/">Еще одна</a>'
    '<p class="item__time">26 ноября, 2026</p></li></ul></aside>'
)


def _with_sidebar(html: str) -> bytes:
    return html.replace('<main class="site-main">', f'<main class="site-main">{SIDEBAR}').encode()


def test_a_sidebar_date_before_the_article_is_not_the_articles_date():
    html = (SITE / "wp_article_tenge.html").read_text(encoding="utf-8")
    (article,) = extract_page(_with_sidebar(html), ARTICLE_URL).articles
    assert article["published_at"].isoformat() == "2026-11-25T05:15:00+00:00"
    assert article["published_on"] == date(2026, 11, 25)


def test_an_article_without_its_own_date_does_not_take_a_sidebar_date():
    html = (SITE / "wp_article_tenge.html").read_text(encoding="utf-8")
    start, end = html.index("      <time "), html.index("</time>") + len("</time>")
    html = html[:start] + html[end:]  # the article header without its date
    (article,) = extract_page(_with_sidebar(html), ARTICLE_URL).articles
    assert article["published_at"] is None
    assert article["published_on"] is None
