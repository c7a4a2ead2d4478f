"""The synthetic Exclusive.kz world: which pages exist and what each one holds.

Everything is a pure function of ``(seed, pages)`` and a page's key, so pages can be produced
one at a time in any order (streaming, 100,000 pages in constant memory) and the local server
can answer any URL without rendering the rest. Ground truth is built from the same data the
HTML is rendered from (:mod:`kznews.sitegen.render`).

Page keys: ``("old_home",)``, ``("old_listing", rubric, page)``, ``("old_article", i, form)``
(form 0 canonical ``www`` URL, 1 ``old.exclusive.kz`` without slash, 2 ``exclusive.kz`` comment
vote link), ``("wp_home",)``, ``("wp_category", cat, page)``, ``("wp_article", w)``.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from kznews.sitegen import text

OLD = "http://www.old.exclusive.kz"
OLD_BARE = "http://old.exclusive.kz"
WP = "https://exclusive.kz"

RUBRICS: tuple[tuple[str, str, str], ...] = (
    ("expertiza", "smart", "Smart"),
    ("expertiza", "finance", "Финансы"),
    ("biznes", "kompanii", "Компании"),
    ("interview", "persona", "Персона"),
    ("analitika", "ekonomika", "Экономика"),
    ("obshchestvo", "qogam", "Қоғам"),
    ("biznes", "agro", "Агро"),
    ("analitika", "energetika", "Энергетика"),
)
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("novosti", "Новости"),
    ("ekonomika", "Экономика"),
    ("finansy", "Финансы"),
    ("biznes", "Бизнес"),
    ("zhanalyqtar", "Жаңалықтар"),
    ("obshhestvo", "Общество"),
)
OLD_PAGE_ITEMS = 20
WP_PAGE_ITEMS = 10
DEFAULT_CAPTURE_START = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # 00:00 in Almaty
OFFSET_CHANGE = datetime(2024, 2, 29, 18, 0, tzinfo=UTC)  # Asia/Almaty UTC+6 -> UTC+5


def _piecewise(f: float, knots: list[tuple[float, datetime]]) -> datetime:
    for (f0, t0), (f1, t1) in itertools.pairwise(knots):
        if f <= f1:
            return t0 + (t1 - t0) * ((f - f0) / (f1 - f0))
    return knots[-1][1]


@dataclass(frozen=True)
class OldMeta:
    i: int
    id: int
    section: str
    rubric: str
    rubric_name: str
    lang: str
    title: str
    caption: str
    author: str
    published_at: datetime

    @property
    def url(self) -> str:
        return f"{OLD}/{self.section}/{self.rubric}/{self.id}/"


@dataclass(frozen=True)
class WpMeta:
    w: int
    cat: str
    cat_name: str
    lang: str
    title: str
    author: str
    published_at: datetime
    slug: str = ""

    @property
    def url(self) -> str:
        return f"{WP}/{self.slug}/"


@dataclass(frozen=True)
class PageView:
    """What one page shows: both the renderer and the ground truth read this."""

    key: tuple
    url: str
    layout: str  # old_bitrix, wordpress
    page_type: str  # article, listing, other
    encoding: str
    fetched_at: datetime
    shown_on: date | None = None
    rates: list[tuple[str, str]] = field(default_factory=list)  # (code as shown, "425.67")
    headlines: list[tuple[str, str]] = field(default_factory=list)  # (title, url)
    old_article: OldMeta | None = None
    wp_article: WpMeta | None = None
    body: list[str] = field(default_factory=list)
    rubric_name: str | None = None
    old_items: list[OldMeta] = field(default_factory=list)
    wp_items: list[WpMeta] = field(default_factory=list)
    pager_pages: int | None = None
    page_no: int | None = None
    list_base: str | None = None  # listing URL prefix for pagers
    next_url: str | None = None


class Site:
    """A deterministic synthetic site of exactly ``pages`` pages (for ``pages`` >= 30)."""

    def __init__(
        self,
        seed: int = 0,
        pages: int = 300,
        capture_start: datetime = DEFAULT_CAPTURE_START,
        capture_span: timedelta = timedelta(days=4),
    ) -> None:
        self.seed = seed
        self.capture_start = capture_start
        self.capture_span = capture_span
        n = max(int(pages), 30)
        self.n_variants_target = max(1, n // 16)
        self.n_old, self.n_wp = self._solve(n - self.n_variants_target)
        self.n_variants = n - self._old_pages(self.n_old) - self._wp_pages(self.n_wp)
        self.n_variants = min(self.n_variants, 2 * self.n_old)
        self.n_pages = self._old_pages(self.n_old) + self._wp_pages(self.n_wp) + self.n_variants
        # what the server exposes (the newest articles can be hidden to simulate a site that grows)
        self.visible_old = self.n_old
        self.visible_wp = self.n_wp
        self.max_published = capture_start - timedelta(days=1)
        self._wp_slugs: list[str] | None = None
        self._index: dict[str, tuple] | None = None
        self._prime = next(p for p in (7919, 7907, 7901, 104729) if math.gcd(p, self.n_old) == 1)

    # --- sizes ----------------------------------------------------------------------------
    @staticmethod
    def _listing_pages(n_articles: int, groups: int, per_page: int) -> int:
        return sum(
            max(1, math.ceil(Site._group_size(n_articles, g, groups) / per_page))
            for g in range(groups)
        )

    @staticmethod
    def _group_size(n_articles: int, g: int, groups: int) -> int:
        return (n_articles - g + groups - 1) // groups if n_articles > g else 0

    def _old_pages(self, a: int) -> int:
        return 1 + self._listing_pages(a, len(RUBRICS), OLD_PAGE_ITEMS) + a

    def _wp_pages(self, a: int) -> int:
        return 1 + self._listing_pages(a, len(CATEGORIES), WP_PAGE_ITEMS) + a

    def _solve(self, budget: int) -> tuple[int, int]:
        old_budget = int(budget * 0.65)
        a_old = max(0, old_budget - 1 - len(RUBRICS))
        while a_old > 0 and self._old_pages(a_old) > old_budget:
            a_old -= 1
        rest = budget - self._old_pages(a_old)
        a_wp = max(0, rest - 1 - len(CATEGORIES))
        while a_wp > 0 and self._wp_pages(a_wp) > rest:
            a_wp -= 1
        return a_old, a_wp

    def rubric_pages(self, r: int, visible: int | None = None) -> int:
        vis = self.visible_old if visible is None else visible
        return max(1, math.ceil(self._group_size(vis, r, len(RUBRICS)) / OLD_PAGE_ITEMS))

    def category_pages(self, c: int, visible: int | None = None) -> int:
        vis = self.visible_wp if visible is None else visible
        return max(1, math.ceil(self._group_size(vis, c, len(CATEGORIES)) / WP_PAGE_ITEMS))

    # --- randomness -----------------------------------------------------------------------
    def rng(self, *key: object) -> random.Random:
        # Not for security: a reproducible stream per (seed, key).
        return random.Random("|".join(map(str, (self.seed, *key))))  # noqa: S311

    # --- articles -------------------------------------------------------------------------
    @functools.lru_cache(maxsize=8192)  # noqa: B019 - the Site lives as long as its cache
    def old_meta(self, i: int) -> OldMeta:
        rng = self.rng("o", i)
        section, rubric, rubric_name = RUBRICS[i % len(RUBRICS)]
        lang = "kk" if rng.random() < (0.7 if rubric == "qogam" else 0.1) else "ru"
        title = text.title(rng, lang)
        caption = title
        if rng.random() < 0.1 and " " in title:
            k = title.index(" ")
            caption = title[:k] + "  " + title[k + 1 :]
        f = (i + rng.random()) / max(self.n_old, 1)
        knots = [
            (0.0, datetime(2008, 1, 9, 4, 0, tzinfo=UTC)),
            (0.72, datetime(2024, 2, 24, tzinfo=UTC)),
            (0.84, datetime(2024, 3, 6, tzinfo=UTC)),
            (1.0, self.max_published - timedelta(days=1)),
        ]
        ts = _piecewise(f, knots).replace(second=0, microsecond=0)
        return OldMeta(
            i=i,
            id=1000 + 7 * i + rng.randrange(7),
            section=section,
            rubric=rubric,
            rubric_name=rubric_name,
            lang=lang,
            title=title,
            caption=caption,
            author=rng.choice(text.AUTHORS),
            published_at=text.unambiguous(ts),
        )

    def old_body(self, i: int) -> list[str]:
        meta = self.old_meta(i)
        rng = self.rng("ob", i)
        return text.paragraphs(rng, meta.lang, rng.randint(3, 8))

    def _wp_raw(self, w: int) -> WpMeta:
        rng = self.rng("w", w)
        cat, cat_name = CATEGORIES[w % len(CATEGORIES)]
        lang = "kk" if rng.random() < (0.8 if cat == "zhanalyqtar" else 0.2) else "ru"
        f = (w + rng.random()) / max(self.n_wp, 1)
        knots = [
            (0.0, datetime(2016, 9, 1, 3, 0, tzinfo=UTC)),
            (0.6, datetime(2024, 2, 25, tzinfo=UTC)),
            (0.7, datetime(2024, 3, 5, tzinfo=UTC)),
            (1.0, self.max_published),
        ]
        ts = _piecewise(f, knots).replace(second=0, microsecond=0)
        return WpMeta(
            w=w,
            cat=cat,
            cat_name=cat_name,
            lang=lang,
            title=text.title(rng, lang),
            author=rng.choice(text.AUTHORS),
            published_at=text.unambiguous(ts),
        )

    def wp_slugs(self) -> list[str]:
        """Unique slugs of every current-site article (the only per-site list kept in memory)."""
        if self._wp_slugs is None:
            seen: set[str] = set()
            slugs = []
            for w in range(self.n_wp):
                base = text.slugify(self._wp_raw(w).title) or f"post-{w}"
                slug, k = base, 2
                while slug in seen:
                    slug, k = f"{base[:76]}-{k}", k + 1
                seen.add(slug)
                slugs.append(slug)
            self._wp_slugs = slugs
        return self._wp_slugs

    @functools.lru_cache(maxsize=8192)  # noqa: B019
    def wp_meta(self, w: int) -> WpMeta:
        raw = self._wp_raw(w)
        return WpMeta(**{**raw.__dict__, "slug": self.wp_slugs()[w]})

    def wp_body(self, w: int) -> list[str]:
        rng = self.rng("wb", w)
        return text.paragraphs(rng, self.wp_meta(w).lang, rng.randint(2, 7))

    # --- page keys and URLs -----------------------------------------------------------------
    def page_keys(self) -> Iterator[tuple]:
        """Every page key, in generation order (exactly ``n_pages``)."""
        yield ("old_home",)
        for r in range(len(RUBRICS)):
            for p in range(1, self.rubric_pages(r, self.n_old) + 1):
                yield ("old_listing", r, p)
        for i in range(self.n_old):
            yield ("old_article", i, 0)
        for j in range(self.n_variants):
            yield self.variant_key(j)
        yield ("wp_home",)
        for c in range(len(CATEGORIES)):
            for p in range(1, self.category_pages(c, self.n_wp) + 1):
                yield ("wp_category", c, p)
        for w in range(self.n_wp):
            yield ("wp_article", w)

    def variant_key(self, j: int) -> tuple:
        if j % 2 == 0:
            return ("old_article", ((j // 2) * self._prime) % self.n_old, 1)
        return ("old_article", ((j // 2) * self._prime + 1) % self.n_old, 2)

    def url(self, key: tuple) -> str:
        kind = key[0]
        if kind == "old_home":
            return f"{OLD}/"
        if kind == "old_listing":
            section, rubric, _ = RUBRICS[key[1]]
            return f"{OLD}/{section}/{rubric}/?PAGEN_1={key[2]}"
        if kind == "old_article":
            m = self.old_meta(key[1])
            if key[2] == 1:
                return f"{OLD_BARE}/{m.section}/{m.rubric}/{m.id}"
            if key[2] == 2:
                return f"{WP}/{m.section}/{m.rubric}/{m.id}?id={m.id + 80}&post_action=like"
            return m.url
        if kind == "wp_home":
            return f"{WP}/"
        if kind == "wp_category":
            return self.category_url(key[1], key[2])
        if kind == "wp_article":
            return self.wp_meta(key[1]).url
        raise ValueError(f"unknown page key {key!r}")

    @staticmethod
    def category_url(c: int, p: int) -> str:
        slug = CATEGORIES[c][0]
        return f"{WP}/category/{slug}/" if p == 1 else f"{WP}/category/{slug}/page/{p}/"

    @staticmethod
    def rubric_url(r: int, p: int) -> str:
        section, rubric, _ = RUBRICS[r]
        return f"{OLD}/{section}/{rubric}/?PAGEN_1={p}"

    def lookup(self, url: str) -> tuple | None:
        """The page key served at ``url`` (respecting what is currently visible), else None."""
        key = self._route(url)
        if key is None:
            return None
        kind = key[0]
        if kind == "old_listing" and key[2] > self.rubric_pages(key[1]):
            return None
        if kind == "old_article" and key[1] >= self.visible_old:
            return None
        if kind == "wp_category" and key[2] > self.category_pages(key[1]):
            return None
        if kind == "wp_article" and key[1] >= self.visible_wp:
            return None
        return key

    _ART = re.compile(r"^/([a-z]+)/([a-z]+)/(\d+)/?$")
    _LIST = re.compile(r"^/([a-z]+)/([a-z]+)/$")
    _CAT = re.compile(r"^/category/([a-z0-9-]+)/(?:page/(\d+)/)?$")

    def _route(self, url: str) -> tuple | None:
        parts = urlsplit(url)
        host, path, query = parts.hostname or "", parts.path or "/", parts.query
        if host in ("www.old.exclusive.kz", "old.exclusive.kz", "exclusive.kz"):
            m = self._ART.match(path)
            if m:
                aid = int(m.group(3))
                i = (aid - 1000) // 7
                if 0 <= i < self.n_old:
                    meta = self.old_meta(i)
                    if (meta.id, meta.section, meta.rubric) == (aid, m.group(1), m.group(2)):
                        form = {"www.old.exclusive.kz": 0, "old.exclusive.kz": 1}.get(host, 2)
                        return ("old_article", i, form)
                return None
        if host == "www.old.exclusive.kz":
            if path == "/":
                return ("old_home",)
            m = self._LIST.match(path)
            if m:
                for r, (section, rubric, _) in enumerate(RUBRICS):
                    if (section, rubric) == m.groups():
                        q = re.fullmatch(r"PAGEN_1=(\d+)", query)
                        page = int(q.group(1)) if q else (1 if not query else 0)
                        return ("old_listing", r, page) if page >= 1 else None
            return None
        if host == "exclusive.kz":
            if path == "/":
                return ("wp_home",)
            m = self._CAT.match(path)
            if m:
                for c, (slug, _) in enumerate(CATEGORIES):
                    if slug == m.group(1):
                        page = int(m.group(2) or 1)
                        return ("wp_category", c, page) if page >= 1 else None
                return None
            if self._index is None:
                self._index = {s: ("wp_article", w) for w, s in enumerate(self.wp_slugs())}
            return self._index.get(path.strip("/"))
        return None

    # --- what a page shows ------------------------------------------------------------------
    def fetched_at(self, k: int) -> datetime:
        step = self.capture_span / max(self.n_pages, 1)
        return (self.capture_start + step * k).replace(microsecond=0)

    def rates_on(self, d: date, page_rng: random.Random) -> list[tuple[str, str]]:
        """The day's rates (same on every page of a day); which pairs show varies by page."""
        rng = self.rng("rates", d.isoformat())
        out = []
        for code, base in (("USD", 521.3), ("EUR", 603.8), ("RUR", 6.47), ("CNY", 73.2)):
            value = base * (1 + rng.uniform(-0.015, 0.015))
            if code == "CNY" and page_rng.random() > 0.3:
                continue
            if code != "USD" and page_rng.random() < 0.1:
                continue  # a pair missing on this page
            s = f"{value:.2f}"
            if s.endswith("0"):
                s = s[:-1] + "1"
            out.append((code, s))
        return out

    def _ticker(self, rng: random.Random, fetched: datetime) -> list[tuple[str, str]]:
        if self.n_wp == 0 or rng.random() < 0.12:
            return []
        pool = range(max(0, self.n_wp - 200), self.n_wp)
        picks = rng.sample(list(pool), min(rng.randint(5, 25), len(pool)))
        return [(self.wp_meta(w).title, self.wp_meta(w).url) for w in sorted(picks, reverse=True)]

    def view(self, key: tuple, k: int | None = None) -> PageView:
        """What page ``key`` shows; ``k`` is its position in :meth:`page_keys` (capture time)."""
        url = self.url(key)
        if k is None:
            k = self.position(key)
        fetched = self.fetched_at(k)
        rng = self.rng("page", url)
        kind = key[0]
        if kind.startswith("wp"):
            return self._wp_view(key, url, fetched)
        shown = text.local(fetched).date()
        # a few pages lack the rates block (the quality gate tolerates up to 5%)
        rates = self.rates_on(shown, rng) if rng.random() > 0.03 else []
        headlines = self._ticker(rng, fetched)
        cp1251 = rng.random() < (0.5 if kind == "old_article" and key[2] else 0.2)
        common = dict(
            key=key,
            url=url,
            layout="old_bitrix",
            encoding="windows-1251" if cp1251 else "utf-8",
            fetched_at=fetched,
            shown_on=shown,
            rates=rates,
            headlines=headlines,
        )
        if kind == "old_home":
            return PageView(page_type="other", **common)
        if kind == "old_listing":
            r, p = key[1], key[2]
            idx = self.group_newest(r, self.visible_old, (p - 1) * OLD_PAGE_ITEMS)
            return PageView(
                page_type="listing",
                rubric_name=RUBRICS[r][2],
                old_items=[self.old_meta(i) for i in idx],
                pager_pages=self.rubric_pages(r),
                page_no=p,
                list_base=self.rubric_url(r, 0)[:-1],
                **common,
            )
        i = key[1]
        meta = self.old_meta(i)
        r = i % len(RUBRICS)
        older = [i - len(RUBRICS) * n for n in range(1, OLD_PAGE_ITEMS + 1)]
        return PageView(
            page_type="article",
            old_article=meta,
            body=self.old_body(i),
            rubric_name=meta.rubric_name,
            old_items=[self.old_meta(j) for j in older if j >= 0],
            pager_pages=self.rubric_pages(r, self.n_old),
            page_no=None,
            list_base=self.rubric_url(r, 0)[:-1],
            **common,
        )

    def group_newest(
        self,
        g: int,
        visible: int,
        start: int,
        per_page: int = OLD_PAGE_ITEMS,
        groups: int = len(RUBRICS),
    ) -> list[int]:
        """Article indexes on one listing page of group ``g`` (rubric or category), newest
        first: items ``start`` to ``start + per_page`` of the ``visible`` articles. A higher
        index is a later article."""
        n = self._group_size(visible, g, groups)
        out = []
        for q in range(start, min(start + per_page, n)):
            m = n - 1 - q
            out.append(m * groups + g)
        return out

    def _wp_view(self, key: tuple, url: str, fetched: datetime) -> PageView:
        common = dict(key=key, url=url, layout="wordpress", encoding="utf-8", fetched_at=fetched)
        if key[0] == "wp_home":
            return PageView(page_type="other", **common)
        if key[0] == "wp_category":
            c, p = key[1], key[2]
            n_pages = self.category_pages(c)
            idx = self.group_newest(
                c, self.visible_wp, (p - 1) * WP_PAGE_ITEMS, WP_PAGE_ITEMS, len(CATEGORIES)
            )
            return PageView(
                page_type="listing",
                rubric_name=CATEGORIES[c][1],
                wp_items=[self.wp_meta(w) for w in idx],
                pager_pages=n_pages,
                page_no=p,
                next_url=self.category_url(c, p + 1) if p < n_pages else None,
                **common,
            )
        w = key[1]
        return PageView(
            page_type="article", wp_article=self.wp_meta(w), body=self.wp_body(w), **common
        )

    def position(self, key: tuple) -> int:
        """Position of ``key`` in :meth:`page_keys` (its capture order), computed without a scan."""
        n_r = len(RUBRICS)
        old_list = [self.rubric_pages(r, self.n_old) for r in range(n_r)]
        kind = key[0]
        if kind == "old_home":
            return 0
        if kind == "old_listing":
            return 1 + sum(old_list[: key[1]]) + key[2] - 1
        base_articles = 1 + sum(old_list)
        if kind == "old_article":
            if key[2] == 0:
                return base_articles + key[1]
            # variants: invert variant_key
            inv = pow(self._prime, -1, self.n_old)
            a = key[1] if key[2] == 1 else (key[1] - 1) % self.n_old
            j = 2 * ((a * inv) % self.n_old) + (key[2] - 1)
            return base_articles + self.n_old + j
        base_wp = base_articles + self.n_old + self.n_variants
        if kind == "wp_home":
            return base_wp
        wp_list = [self.category_pages(c, self.n_wp) for c in range(len(CATEGORIES))]
        if kind == "wp_category":
            return base_wp + 1 + sum(wp_list[: key[1]]) + key[2] - 1
        return base_wp + 1 + sum(wp_list) + key[1]
