"""Site profiles are data: a third site is one more profile, the engine is untouched."""

from __future__ import annotations

import doctest
import os
from decimal import Decimal

import kznews.extract.engine
import kznews.extract.urls
from kznews.extract import extract_page
from kznews.extract.profiles import PROFILES, ListingSpec, SiteProfile, UrlRule
from kznews.extract.urls import classify_url
from tests.conftest import ROOT

HOSTS = frozenset({"kapital.example"})
THIRD = SiteProfile(
    name="kapital",
    site="kapital",
    hosts=HOSTS,
    markers=("div.kp-article", "ul.kp-list"),
    url_rules=(
        UrlRule("article", r"^/news/(?P<rubric>[a-z]+)/(?P<id>\d+)\.html$", HOSTS,
                section="news"),
        UrlRule("listing", r"^/news/(?P<rubric>[a-z]+)/$", HOSTS, section="news"),
    ),
    date_line=("span.kp-today",),
    rates=("div.kp-fx",),
    article_title=("div.kp-article h1",),
    article_body=("div.kp-article div.kp-text p",),
    listing=ListingSpec(item=("ul.kp-list li",), link=("a",), author=("i",), date=("time",)),
)

ARTICLE = """<html><head><meta charset="utf-8"></head><body>
<span class="kp-today">среда, 25 ноября 2026</span>
<div class="kp-fx">USD/KZT 521,30 · EUR/KZT 603,80</div>
<div class="kp-article"><h1>Нацбанк сохранил базовую ставку</h1>
<div class="kp-text"><p>Первый абзац.</p><p>Второй абзац.</p></div></div>
<ul class="kp-list"><li><a href="/news/finance/77.html">Ставка и инфляция</a>
<i>Айгерим Сатпаева</i><time>|24.11.2026 - 18:05</time></li></ul>
</body></html>""".encode()


def test_third_site_needs_only_a_profile():
    profiles = (*PROFILES, THIRD)
    url = "https://kapital.example/news/finance/101.html"
    out = extract_page(ARTICLE, url, profiles=profiles)
    assert out.page["layout"] == "kapital"
    assert out.page["shown_on"].isoformat() == "2026-11-25"
    assert [(r["base_currency"], r["rate"]) for r in out.rates] == [
        ("USD", Decimal("521.30")), ("EUR", Decimal("603.80"))
    ]
    (article,) = out.articles
    assert (article["site"], article["article_id"], article["section"], article["rubric"]) == (
        "kapital", "101", "news", "finance"
    )
    assert article["body"] == "Первый абзац.\n\nВторой абзац."
    (item,) = out.listing_items
    assert item["url"] == "https://kapital.example/news/finance/77.html"
    assert item["article_id"] == "77" and item["author"] == "Айгерим Сатпаева"
    assert item["published_at"].isoformat() == "2026-11-24T13:05:00+00:00"


def test_default_profiles_do_not_know_the_third_site():
    assert classify_url("https://kapital.example/news/finance/101.html").site is None


def test_docstring_examples_run():
    cwd = os.getcwd()
    os.chdir(ROOT)  # the examples read the bundled fixture by a relative path
    try:
        for module in (kznews.extract.engine, kznews.extract.urls):
            result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
            assert result.failed == 0 and result.attempted > 0, module.__name__
    finally:
        os.chdir(cwd)
