"""Layout drift: the seed page with its markup changed the ways redesigns change it.

Each variant must still yield the same facts, and the rows produced by a fallback must say so
in ``extraction_method`` (that share is what the quality gate watches).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from kznews.extract import extract_page
from tests.conftest import SEED_URL

WANT_RATES = [("USD", Decimal("425.67")), ("EUR", Decimal("496.42")), ("RUB", Decimal("5.81"))]


def _rates(out):
    return [(r["base_currency"], r["rate"]) for r in out.rates]


@pytest.fixture(scope="module")
def html(seed_html) -> str:
    return seed_html.decode("utf-8")


def test_rates_as_span_and_strong(html):
    drifted = re.sub(
        r'<span class="cur-item"><b>([A-Z]{3}/KZT):</b> ([\d.]+)</span>',
        r"<span>\1:</span>&nbsp;<strong>\2</strong>",
        html,
    )
    assert "<strong>425.67</strong>" in drifted
    out = extract_page(drifted.encode(), SEED_URL)
    assert _rates(out) == WANT_RATES
    assert out.rates[0]["extraction_method"] == "profile:old_bitrix"


def test_h1_turned_into_h2(html):
    drifted = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    out = extract_page(drifted.encode(), SEED_URL)
    title = out.articles[0]["title"]
    assert title == "«Кселл» переходит на усовершенствованную биллинговую систему"
    assert out.rubric_name == "Smart"


def test_extra_wrappers(html):
    drifted = html.replace('<div class="news-detail">', '<div class="news-detail"><div><section>')
    drifted = drifted.replace('<div class="comments">', '</section></div><div class="comments">')
    drifted = drifted.replace('<div class="currency">', '<div class="currency"><div class="w">')
    out = extract_page(drifted.encode(), SEED_URL)
    assert _rates(out) == WANT_RATES
    assert len(out.articles) == 1 and out.articles[0]["body"].count("\n\n") == 6
    assert len(out.listing_items) == 34


def test_renamed_classes_fall_back_to_patterns(html):
    drifted = html
    for old in ("today", "currency", "cur-item", "news-item", "news-list", "detail-text",
                "rubric-title", "pager", "author", "date", "title", "caption", "preview"):
        drifted = drifted.replace(f'class="{old}"', f'class="zz-{old}"')
    out = extract_page(drifted.encode(), SEED_URL)
    assert out.page["shown_on"].isoformat() == "2024-05-17"
    assert _rates(out) == WANT_RATES
    assert {r["extraction_method"] for r in out.rates} == {"pattern"}
    # listing found through its dates, with one title per item and the author
    assert len(out.listing_items) == 34
    first = out.listing_items[0]
    assert first["title"] == "Более 10 миллионов гигабайт интернета прошли в мае в сети «Кселл»"
    assert first["author"] == "Редакция Exclusive"
    assert first["published_at"].isoformat() == "2016-06-18T18:38:00+00:00"
    assert first["extraction_method"] == "pattern"
    assert out.page["pager_pages"] == 33


def test_renamed_article_container_uses_generic_extractor(html):
    drifted = html.replace('class="news-detail"', 'class="story"').replace(
        'class="detail-text"', 'class="story-text"'
    )
    drifted = drifted.replace("<h1>", '<h1 class="headline">')
    out = extract_page(drifted.encode(), SEED_URL)
    article = out.articles[0]
    assert article["title"] == "«Кселл» переходит на усовершенствованную биллинговую систему"
    assert article["body"].startswith("С 1 по 5 июля 2016 года")
    assert "Биллинговая система является связующим звеном" in article["body"]
    assert article["extraction_method"] in {"trafilatura", "profile:old_bitrix"}


def test_missing_blocks_give_nulls_not_guesses(html):
    drifted = re.sub(r'<div class="currency">.*?</div>', "", html, flags=re.S)
    drifted = re.sub(r'<div class="today">.*?</div>', "", drifted, flags=re.S)
    out = extract_page(drifted.encode(), SEED_URL)
    assert out.rates == []
    assert out.page["shown_on"] is None
    assert out.page["n_rates"] == 0
    assert len(out.articles) == 1


def test_cny_and_missing_pair_and_decimal_comma(html):
    drifted = html.replace(
        '<span class="cur-item"><b>EUR/KZT:</b> 496.42</span>',
        '<span class="cur-item"><b>CNY/KZT:</b> 58,91</span>',
    )
    out = extract_page(drifted.encode(), SEED_URL)
    assert _rates(out) == [
        ("USD", Decimal("425.67")), ("CNY", Decimal("58.91")), ("RUB", Decimal("5.81"))
    ]
