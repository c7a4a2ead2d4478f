"""The engine's own rules: how element text is joined, and what a page is quarantined for."""

from __future__ import annotations

from decimal import Decimal

from selectolax.lexbor import LexborHTMLParser

from kznews.extract import extract_page
from kznews.extract.engine import _text

OLD_ARTICLE = "http://www.old.exclusive.kz/expertiza/smart/13178/"


def _old_page(*, currency: str = "", title: str = "Заголовок", body: str = "<p>Текст.</p>",
              ticker: str = "", author: str = "Редакция Exclusive") -> bytes:
    return (
        "<html><body><div id='header'><div class='today'>пятница, 17 мая 2024</div>"
        f"<div class='currency'>{currency}</div>"
        f"<div class='ticker'><marquee>{ticker}</marquee></div></div>"
        f"<div class='news-detail'><h1>{title}</h1><div class='detail-text'>{body}</div></div>"
        "<div class='news-list'><h2 class='rubric-title'>Smart</h2><div class='news-item'>"
        "<a class='title' href='/expertiza/smart/13177/'>Другая статья</a>"
        f"<div class='author'>{author}</div><div class='date'>|19.06.2016 - 00:38</div>"
        "</div></div></body></html>"
    ).encode()


def _node_text(html: str) -> str:
    return _text(LexborHTMLParser(html).css_first("#x"))


def test_br_and_block_edges_separate_words_inline_tags_do_not():
    assert _node_text("<div id=x>переходит<br>на</div>") == "переходит\nна"
    assert _node_text("<div id=x><p>один</p><p>два</p>три<hr>четыре</div>").split() == [
        "один", "два", "три", "четыре"]
    assert _node_text("<div id=x><b>Ка</b>зах<i>стан</i> <a href=#>и</a><span>дальше</span>"
                      "</div>") == "Казахстан идальше"
    assert _node_text("<div id=x>a<!-- comment -->b</div>") == "ab"


def test_deeply_nested_markup_is_read_without_recursion():
    html = "<div id=x>" + "<span>" * 5000 + "глубоко" + "</span>" * 5000 + "</div>"
    assert _node_text(html) == "глубоко"


def test_br_in_title_body_author_and_ticker_keeps_words_apart():
    page = _old_page(
        title="Kcell переходит<br>на новый биллинг",
        body="<p>Первая строка<br>вторая <b>Ка</b>захстан.</p>",
        ticker="<a href='https://exclusive.kz/news-1/'>Тенге<br>укрепился</a>",
        author="Редакция<br>Exclusive",
    )
    out = extract_page(page, OLD_ARTICLE)
    (article,) = out.articles
    assert article["title"] == "Kcell переходит на новый биллинг"
    assert article["body"] == "Первая строка\nвторая Казахстан."
    assert out.headlines[0]["title"] == "Тенге укрепился"
    assert out.listing_items[0]["author"] == "Редакция Exclusive"


def test_container_body_without_paragraphs_is_not_split_at_inline_tags():
    html = (
        "<html><head><link rel='stylesheet' href='/wp-content/x.css'></head>"
        "<body class='wp-theme'><article class='post'><h1 class='entry-title'>Заголовок</h1>"
        "<div class='entry-content'>Первый <b>Ка</b>захстан абзац<br>Второй абзац</div>"
        "</article></body></html>"
    ).encode()
    (article,) = extract_page(html, "https://exclusive.kz/zagolovok/").articles
    assert article["body"].split("\n\n") == ["Первый Казахстан абзац", "Второй абзац"]



def test_rates_found_when_rate_items_touch_or_are_split_by_br():
    for sep in ("", "<br>", "<br/>\n"):
        items = sep.join(
            f"<span class='cur-item'><b>{c}/KZT:</b> {r}</span>"
            for c, r in (("USD", "425.67"), ("EUR", "496.42"), ("RUR", "5.81"))
        )
        out = extract_page(_old_page(currency=items), OLD_ARTICLE)
        assert [(r["base_currency"], r["rate"]) for r in out.rates] == [
            ("USD", Decimal("425.67")), ("EUR", Decimal("496.42")), ("RUB", Decimal("5.81"))
        ], sep


def test_a_russian_article_quoting_a_kazakh_name_is_russian():
    body = ("<p>Столицу вновь переименовали: вместо названия «Нұр-Сұлтан» возвращено прежнее "
            "имя Астана.</p><p>Решение приняли депутаты парламента после обсуждения.</p>")
    (article,) = extract_page(_old_page(body=body), OLD_ARTICLE).articles
    assert article["language"] == "ru"


def test_pager_numbers_in_touching_links_are_not_glued():
    links = "".join(f"<a href='/expertiza/smart/?PAGEN_1={n}'>{n}</a>" for n in (1, 2, 3, 33))
    page = _old_page().replace(b"</body>", f"<div class='pager'>{links}</div></body>".encode())
    assert extract_page(page, OLD_ARTICLE).pager_pages == 33


def test_a_redirected_page_is_read_at_its_final_address(seed_html):
    """A page fetched under one URL and redirected to another: its relative links resolve
    against where it landed, and it is classified by that address; its rows keep the URL
    fetched as their key (page_url), which joins back to the landing."""
    final = "http://www.old.exclusive.kz/expertiza/smart/13178/"
    html = seed_html.replace(b'href="http://www.old.exclusive.kz/expertiza/smart/', b'href="../')
    html = html.replace(b'rel="canonical"', b'rel="x-none"')
    fetched = "http://old.exclusive.kz/go/13178"
    out = extract_page(html, fetched, "text/html; charset=utf-8", final_url=final)
    assert out.page["url"] == fetched and out.page["article_id"] == "13178"
    article = out.articles[0]
    assert (article["page_url"], article["url"]) == (fetched, final)
    assert (article["section"], article["rubric"]) == ("expertiza", "smart")
    first = out.listing_items[0]
    assert first["url"] == "http://www.old.exclusive.kz/expertiza/smart/13170/"
    assert first["article_id"] == "13170" and first["page_url"] == fetched
    # without a redirect, the URL fetched is the address
    same = extract_page(html, final, "text/html; charset=utf-8")
    assert same.listing_items[0]["url"] == first["url"]


def test_the_batch_extraction_reads_the_landed_final_url(seed_html, tmp_path):
    from datetime import date

    import pyarrow.parquet as pq

    from kznews.acquire.base import RawRecord
    from kznews.config import load_settings
    from kznews.extract.batch import extract_partition
    from kznews.land import land_records

    settings = load_settings(data_dir=tmp_path / "data")
    day = date(2026, 11, 2)
    fetched, final = "http://old.exclusive.kz/go/13178", "http://www.old.exclusive.kz/expertiza/smart/13178/"
    land_records([RawRecord(url=fetched, final_url=final, body=seed_html,
                            headers={"Content-Type": "text/html; charset=utf-8"})],
                 settings.raw_dir, day)
    extract_partition(settings, day)
    articles = pq.read_table(settings.extracted_dir / "articles").to_pylist()
    assert [(a["page_url"], a["article_id"]) for a in articles] == [(fetched, "13178")]
    # python -m kznews extract (no landing) reads the records the same way
    from kznews.extract.batch import extract_records_to

    record = RawRecord(url=fetched, final_url=final, body=seed_html,
                       headers={"Content-Type": "text/html; charset=utf-8"})
    extract_records_to([record], tmp_path / "cli", day, max_bytes=10_000_000)
    cli = pq.read_table(tmp_path / "cli" / "articles").to_pylist()
    assert [(a["page_url"], a["article_id"]) for a in cli] == [(fetched, "13178")]
