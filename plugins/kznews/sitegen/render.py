"""HTML, HTTP headers and ground truth of one :class:`~kznews.sitegen.model.PageView`.

The old layout copies the markup and class names of ``tests/fixtures/site/page_13178.html``;
the WordPress layout uses the class names public scrapers of exclusive.kz rely on. Ground truth
has the shape of ``page_13178.gold.json`` plus a few keys (``layout``, ``encoding``,
``fetched_at``, ``pager_pages``); for WordPress listings, where only a date is shown,
``published_at`` is null and ``published_on`` holds the date.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from kznews.sitegen import text
from kznews.sitegen.model import CATEGORIES, OLD, RUBRICS, WP, PageView


def _t(s: str) -> str:
    return escape(s, quote=False)


def _a(s: str) -> str:
    return escape(s, quote=True)


def http_date(ts: datetime) -> str:
    return format_datetime(ts.astimezone(UTC), usegmt=True)


# --- old site (Bitrix, 2016) -----------------------------------------------------------------
def _old_head(v: PageView, title: str, canonical: str, description: str = "") -> list[str]:
    return [
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="ru" lang="ru">',
        "<head>",
        f'<meta http-equiv="Content-Type" content="text/html; charset={v.encoding}" />',
        f"<title>{_t(title)} | Exclusive</title>",
        f'<meta name="description" content="{_a(description[:200])}" />' if description else "",
        f'<meta property="og:url" content="{_a(canonical)}" />',
        f'<link rel="canonical" href="{_a(canonical)}" />',
        '<link href="/bitrix/templates/exclusive/styles.css?1466" type="text/css" '
        'rel="stylesheet" />',
        '<script type="text/javascript">var _gaq = _gaq || []; document.write("<div class=\\"ya\\">'
        '" + "USD/KZT: 0.00" + "</div>");</script>',
        "</head>",
        "<body>",
        '<div id="panel"></div>',
        '<div id="wrapper">',
    ]


def _old_header(v: PageView) -> list[str]:
    out = [
        '<div id="header">',
        '<div class="top-line">',
        f'<div class="today">{text.date_line(v.shown_on)}</div>' if v.shown_on else "",
        '<div class="weather"><span class="city"></span>, <span class="temp"></span></div>',
    ]
    if v.rates:
        out.append('<div class="currency">')
        out += [f'<span class="cur-item"><b>{c}/KZT:</b> {r}</span>' for c, r in v.rates]
        out.append("</div>")
    out += [
        "</div>",
        '<div class="logo"><a href="/"><img src="/bitrix/templates/exclusive/images/logo.png" '
        'alt="" width="220" height="60" /></a></div>',
        '<ul class="main-menu"><li><a href="/expertiza/"><img src="/images/m1.png" alt="" />'
        '</a></li><li><a href="/interview/"><img src="/images/m2.png" alt="" /></a></li></ul>',
    ]
    if v.headlines:
        out.append(
            '<div class="ticker"><marquee scrollamount="3" onmouseover="this.stop()" '
            'onmouseout="this.start()">'
        )
        out += [
            f'<a href="{_a(u)}" target="_blank">{_t(t)}</a>&nbsp;&nbsp;&nbsp;'
            for t, u in v.headlines
        ]
        out.append("</marquee></div>")
    out.append("</div>")
    return out


def _old_listing(v: PageView) -> list[str]:
    out = ['<div class="news-list">', f'<h2 class="rubric-title">{_t(v.rubric_name or "")}</h2>']
    for m in v.old_items:
        img = f"/upload/iblock/{m.id % 1000:03d}/{m.id}.jpg"
        out += [
            '<div class="news-item">',
            f'<a class="preview" href="{m.url}"><img src="{img}" alt="" />'
            f'<span class="caption">{_t(m.caption)}</span></a>',
            f'<a class="title" href="{m.url}">{_t(m.title)}</a>',
            f'<div class="author">{_t(m.author)}</div>',
            f'<div class="date">{text.listing_date(m.published_at)}</div>',
            "</div>",
        ]
    out.append("</div>")
    if v.pager_pages and v.pager_pages > 1 and v.list_base:
        n, cur = v.pager_pages, v.page_no or 0
        shown = sorted({1, n, *range(max(1, cur - 2), min(n, max(cur + 3, 6)) + 1)})
        links, prev = [], 0
        for p in shown:
            if p - prev > 1:
                links.append("<span>...</span>")
            links.append(f"<b>{p}</b>" if p == cur else f'<a href="{v.list_base}{p}">{p}</a>')
            prev = p
        out.append('<div class="pager">Страницы:\n' + "\n".join(links) + "</div>")
    return out


def _old_footer() -> list[str]:
    return [
        '<div id="footer"><div class="copy">&copy; 2008-2016 Журнал Exclusive. Все права '
        "защищены.</div><!-- Yandex.Metrika counter --><script "
        'type="text/javascript">(function(){})();</script></div>',
        "</div>",
        "</body>",
        "</html>",
    ]


def render_old(v: PageView) -> str:
    if v.page_type == "article":
        m = v.old_article
        if m is None:
            raise ValueError(f"article page without article: {v.url}")
        lines = _old_head(v, m.title, m.url, " ".join(v.body)[:200])
        lines += _old_header(v)
        lines += ['<div id="content">', '<div class="news-detail">', f"<h1>{_t(m.title)}</h1>"]
        lines.append('<div class="detail-text">')
        lines += [f"<p>{_t(p)}</p>" for p in v.body]
        lines += [
            "</div>",
            '<div class="share"><div class="ya-share2"></div></div>',
            '<div class="comments"><a href="#comment-form" class="add-comment">Оставить '
            f'комментарий</a> <a class="like" href="{WP}/{m.section}/{m.rubric}/{m.id}'
            f'?id={m.id + 80}&amp;post_action=like">Нравится</a></div>',
            "</div>",
        ]
        lines += _old_listing(v)
        lines.append("</div>")
    elif v.page_type == "listing":
        lines = _old_head(v, v.rubric_name or "", v.url)
        lines += _old_header(v)
        lines += ['<div id="content">', *_old_listing(v), "</div>"]
    else:
        lines = _old_head(v, "Журнал Exclusive", v.url)
        lines += _old_header(v)
        lines += ['<div id="content">', '<ul class="rubric-menu">']
        lines += [
            f'<li><a href="{OLD}/{s}/{r}/?PAGEN_1=1">{_t(name)}</a></li>' for s, r, name in RUBRICS
        ]
        lines += ["</ul>", "</div>"]
    lines += _old_footer()
    return "\n".join(x for x in lines if x) + "\n"


# --- current site (WordPress) ----------------------------------------------------------------
def _wp_head(title: str, canonical: str) -> list[str]:
    menu = "".join(
        f'<li class="menu-item"><a href="{WP}/category/{slug}/">{_t(name)}</a></li>'
        for slug, name in CATEGORIES
    )
    return [
        "<!doctype html>",
        '<html lang="ru-RU">',
        "<head>",
        '<meta charset="UTF-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_t(title)} – Exclusive.kz</title>",
        f'<link rel="canonical" href="{_a(canonical)}" />',
        f'<link rel="https://api.w.org/" href="{WP}/wp-json/" />',
        "<script>window._wpemojiSettings = {};</script>",
        "</head>",
        '<body class="wp-theme-exclusive">',
        '<header class="header"><a class="header__logo" href="/">Exclusive.kz</a>',
        f'<nav class="header__nav"><ul class="menu">{menu}</ul></nav></header>',
        '<main class="main">',
    ]


def _wp_foot() -> list[str]:
    return [
        "</main>",
        '<footer class="footer"><p>© Exclusive.kz. При использовании материалов ссылка '
        "обязательна.</p></footer>",
        '<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.7.1"></script>',
        "</body>",
        "</html>",
    ]


def render_wp(v: PageView) -> str:
    if v.page_type == "article":
        m = v.wp_article
        if m is None:
            raise ValueError(f"article page without article: {v.url}")
        loc = text.local(m.published_at)
        lines = _wp_head(m.title, m.url)
        lines += [
            '<article class="post">',
            f'<h1 class="entry-title">{_t(m.title)}</h1>',
            '<div class="entry-meta"><span class="posted-on"><time class="entry-date published" '
            f'datetime="{loc.isoformat()}">{text.wp_date(loc.date())}</time></span> '
            f'<span class="cat-links"><a href="{WP}/category/{m.cat}/" rel="category tag">'
            f"{_t(m.cat_name)}</a></span></div>",
            '<div class="entry-content">',
            *[f"<p>{_t(p)}</p>" for p in v.body],
            "</div>",
            '<div class="share-buttons">Поделиться:</div>',
            "</article>",
        ]
    elif v.page_type == "listing":
        lines = _wp_head(v.rubric_name or "", v.url)
        lines += [
            f'<h1 class="section__title">{_t(v.rubric_name or "")}</h1>',
            '<div class="section">',
        ]
        for m in v.wp_items:
            d = text.local(m.published_at)
            img = f"{WP}/wp-content/uploads/{d.year}/{d.month:02d}/{m.slug[:40]}-300x200.jpg"
            lines += [
                '<div class="section__item item">',
                f'<a href="{m.url}"><img class="item__image" src="{img}" alt="" /></a>',
                f'<h2 class="item__title"><a href="{m.url}">{_t(m.title)}</a></h2>',
                f'<p class="item__time">{text.wp_date(d.date())}</p>',
                "</div>",
            ]
        lines.append("</div>")
        if v.pager_pages and v.pager_pages > 1:
            nav = ['<nav class="navigation pagination"><div class="nav-links">']
            for p in range(1, v.pager_pages + 1):
                if p == v.page_no:
                    nav.append(f'<span aria-current="page" class="page-numbers current">{p}</span>')
                elif abs(p - (v.page_no or 1)) <= 2 or p == v.pager_pages:
                    u = v.url.split("/page/")[0].rstrip("/") + "/"
                    href = u if p == 1 else f"{u}page/{p}/"
                    nav.append(f'<a class="page-numbers" href="{href}">{p}</a>')
            if v.next_url:
                nav.append(f'<a class="next page-numbers" href="{v.next_url}">Далее</a>')
            nav.append("</div></nav>")
            lines += nav
    else:
        lines = _wp_head("Exclusive.kz — деловой журнал", v.url)
        lines.append('<div class="front">Деловой журнал Exclusive</div>')
    lines += _wp_foot()
    return "\n".join(lines) + "\n"


# --- bytes, headers, truth ---------------------------------------------------------------------
def render_bytes(v: PageView) -> bytes:
    html = render_old(v) if v.layout == "old_bitrix" else render_wp(v)
    if v.encoding == "windows-1251":
        return html.encode("cp1251", errors="xmlcharrefreplace")
    return html.encode("utf-8")


def headers_for(v: PageView, body: bytes) -> dict[str, str]:
    server = "nginx/1.10.3" if v.layout == "old_bitrix" else "nginx"
    headers = {
        "Server": server,
        "Date": http_date(v.fetched_at),
        "Content-Type": f"text/html; charset={v.encoding}",
        "Content-Length": str(len(body)),
        "Last-Modified": http_date(v.fetched_at),
        "ETag": '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"',
    }
    if v.layout == "old_bitrix":
        headers["X-Powered-By"] = "PHP/5.6.30"
    else:
        headers["Link"] = f'<{WP}/wp-json/>; rel="https://api.w.org/"'
    return headers


def truth(v: PageView) -> dict:
    """What a correct extraction of the page yields (shape of ``page_13178.gold.json``)."""
    article = None
    if v.old_article is not None:
        m = v.old_article
        article = {
            "url": m.url,
            "article_id": m.id,
            "section": m.section,
            "rubric": m.rubric,
            "title": m.title,
            "body": "\n\n".join(v.body),
            "language": m.lang,
            "published_at": None,
        }
    elif v.wp_article is not None:
        w = v.wp_article
        article = {
            "url": w.url,
            "article_id": w.slug,  # current-site articles are keyed by their slug
            "section": None,
            "rubric": w.cat,
            "title": w.title,
            "body": "\n\n".join(v.body),
            "language": w.lang,
            "published_at": text.iso_z(w.published_at),
        }
    items: list[dict] = [
        {
            "position": n,
            "url": m.url,
            "article_id": m.id,
            "title": " ".join(m.title.split()),
            "author": m.author,
            "published_at": text.iso_z(m.published_at),
        }
        for n, m in enumerate(v.old_items, 1)
    ]
    items += [
        {
            "position": n,
            "url": w.url,
            "article_id": w.slug,
            "title": w.title,
            "author": None,
            "published_at": None,  # the category page shows a date without a time
            "published_on": text.local(w.published_at).date().isoformat(),
        }
        for n, w in enumerate(v.wp_items, 1)
    ]
    return {
        "url": v.url,
        "page_type": v.page_type,
        "layout": v.layout,
        "encoding": v.encoding,
        "fetched_at": text.iso_z(v.fetched_at),
        "shown_on": v.shown_on.isoformat() if v.shown_on else None,
        "rates": [
            {"base_currency": "RUB" if c == "RUR" else c, "quote_currency": "KZT", "rate": r}
            for c, r in v.rates
        ],
        "headlines": [
            {"position": n, "title": t, "url": u, "language": text.language_of(t)}
            for n, (t, u) in enumerate(v.headlines, 1)
        ],
        "article": article,
        "rubric_name": v.rubric_name,
        "listing_items": items,
        "pager_pages": v.pager_pages,
    }
