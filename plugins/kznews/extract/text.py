"""Pure text helpers: Russian dates, Almaty time, rates, language, whitespace. No I/O."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

SITE_TZ = "Asia/Almaty"

MONTHS_GENITIVE = {
    "января": 1,
    "февраля": 2,
    "марта": 3,
    "апреля": 4,
    "мая": 5,
    "июня": 6,
    "июля": 7,
    "августа": 8,
    "сентября": 9,
    "октября": 10,
    "ноября": 11,
    "декабря": 12,
}
WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")

_MONTH_ALT = "|".join(MONTHS_GENITIVE)
# "пятница, 17 мая 2024" (the old site's date line: the day the page was served)
DATE_LINE_RE = re.compile(
    rf"(?:{'|'.join(WEEKDAYS)})\s*,\s*(\d{{1,2}})\s+({_MONTH_ALT})\s+((?:19|20)\d\d)",
    re.IGNORECASE,
)
# "25 ноября, 2026" or "25 ноября 2026" (the current site's dates)
RU_DATE_RE = re.compile(rf"(\d{{1,2}})\s+({_MONTH_ALT}),?\s+((?:19|20)\d\d)", re.IGNORECASE)
# "|19.06.2016 - 00:38" (old-site listing dates, local Almaty time)
LISTING_DT_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.((?:19|20)\d\d)\s*[-–]?\s*(\d{1,2}):(\d{2})")
# "USD/KZT: 425.67", "RUR/KZT 5,81", "USD/KZT:\xa0425.67", "USD/KZT: 1 425.67"
# The codes may touch a preceding number or tag ("425.67EUR/KZT: 496.42" when the rate
# items have no space between them), not a preceding letter. Thousands are grouped by
# spaces (incl. no-break ones) in groups of exactly three digits; a bare integer followed by
# a space and a digit ("1 42.5") is ambiguous and not read (never half of a number).
_GROUP_SEP = " \xa0\u202f"
RATE_RE = re.compile(
    r"(?<![^\W\d_])([A-Z]{3})\s*/\s*([A-Z]{3})\s*:?\s*("
    rf"\d{{1,3}}(?:[{_GROUP_SEP}]\d{{3}})+(?:[.,]\d{{1,6}}|(?![{_GROUP_SEP}]\d))"
    r"|\d{1,7}[.,]\d{1,6}"
    rf"|\d{{1,7}}(?![{_GROUP_SEP}]\d)"
    r")(?![\d.,]*\d)"
)
_GROUP_SEP_RE = re.compile(f"[{_GROUP_SEP}]")

# Old or non-standard codes the site uses, mapped to ISO 4217.
CURRENCY_ALIASES = {"RUR": "RUB"}

KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
_KAZAKH_RE = re.compile(f"[{KAZAKH_LETTERS}]")
_WS = re.compile(r"\s+")


def collapse_ws(text: str) -> str:
    """Runs of whitespace (incl. no-break spaces) become one space; ends are trimmed."""
    return _WS.sub(" ", text).strip()


def detect_language(text: str) -> str:
    """``kk`` when a Kazakh-specific letter appears, else ``ru``.

    Kazakh Cyrillic has nine letters Russian lacks; the ticker and the archive mix only
    these two languages, and one such letter is a reliable marker in a headline.
    """
    return "kk" if _KAZAKH_RE.search(text) else "ru"


# A word: letters, joined by inner hyphens or apostrophes ("Нұр-Сұлтан" is one word).
_WORD_RE = re.compile(r"[^\W\d_]+(?:[-\u2010'\u2019][^\W\d_]+)*")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")
# Share of Cyrillic words with a Kazakh-specific letter from which an article is Kazakh.
KK_ARTICLE_WORD_SHARE = 0.2


def detect_article_language(text: str) -> str:
    """``kk`` when at least ``KK_ARTICLE_WORD_SHARE`` (20 %) of the Cyrillic words hold a
    Kazakh-specific letter, else ``ru`` (also when there is no Cyrillic word).

    The one-letter rule of :func:`detect_language` fits a headline, not an article: a Russian
    article quoting one Kazakh name ("Нұр-Сұлтан") would be Kazakh. In Kazakh prose a large
    share of words carry one of the nine letters (40 % and more; the generated Kazakh
    articles: 65 % and more), in Russian prose only quoted names and places (a few %),
    so 20 % separates the two with a margin either way. Latin words (Kcell, USD) are not
    counted.
    """
    if not _KAZAKH_RE.search(text):
        return "ru"  # no Kazakh word at all: the common case, without counting words
    words = [w for w in _WORD_RE.findall(text) if _CYRILLIC_RE.search(w)]
    if not words:
        return "ru"
    kazakh = sum(1 for w in words if _KAZAKH_RE.search(w))
    return "kk" if kazakh >= KK_ARTICLE_WORD_SHARE * len(words) else "ru"


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_date_line(text: str) -> date | None:
    """``пятница, 17 мая 2024`` -> ``date(2024, 5, 17)``; None when absent or impossible."""
    m = DATE_LINE_RE.search(text)
    if not m:
        return None
    return _safe_date(int(m.group(3)), MONTHS_GENITIVE[m.group(2).lower()], int(m.group(1)))


def parse_ru_date(text: str) -> date | None:
    """``25 ноября, 2026`` -> ``date(2026, 11, 25)``."""
    m = RU_DATE_RE.search(text)
    if not m:
        return None
    return _safe_date(int(m.group(3)), MONTHS_GENITIVE[m.group(2).lower()], int(m.group(1)))


@lru_cache(maxsize=1)
def _site_zone() -> ZoneInfo:
    return ZoneInfo(SITE_TZ)


def local_date(ts: datetime) -> date:
    """The Asia/Almaty calendar date of an aware timestamp (what the site would print)."""
    return ts.astimezone(_site_zone()).date()


def almaty_to_utc(local: datetime) -> datetime:
    """Local Asia/Almaty wall time -> aware UTC, using the tz database's historical offsets."""
    return local.replace(tzinfo=_site_zone()).astimezone(UTC)


@lru_cache(maxsize=65_536)  # the same listing dates recur on many pages
def parse_listing_datetime(text: str) -> datetime | None:
    """``|19.06.2016 - 00:38`` (Almaty) -> ``2016-06-18T18:38:00+00:00``."""
    m = LISTING_DT_RE.search(text)
    if not m:
        return None
    d, mo, y, hh, mm = (int(g) for g in m.groups())
    try:
        local = datetime(y, mo, d, hh, mm)
    except ValueError:
        return None
    return almaty_to_utc(local)


def parse_iso_datetime(text: str) -> datetime | None:
    """An ISO 8601 timestamp (``<time datetime=...>``) -> aware UTC; naive means Almaty."""
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return almaty_to_utc(ts) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_rate_value(raw: str) -> Decimal | None:
    """``425,67`` -> ``Decimal('425.67')``; ``1 425.67`` (grouped thousands) -> ``1425.67``."""
    try:
        value = Decimal(_GROUP_SEP_RE.sub("", raw).replace(",", "."))
    except InvalidOperation:
        return None
    return value if value > 0 else None


def find_rates(text: str) -> list[tuple[str, str, Decimal]]:
    """Every ``XXX/YYY: n.nn`` pair in ``text``, in order, first occurrence of a pair wins."""
    out: list[tuple[str, str, Decimal]] = []
    seen: set[tuple[str, str]] = set()
    for base, quote, raw in RATE_RE.findall(text):
        base = CURRENCY_ALIASES.get(base, base)
        quote = CURRENCY_ALIASES.get(quote, quote)
        value = parse_rate_value(raw)
        if value is None or base == quote or (base, quote) in seen:
            continue
        seen.add((base, quote))
        out.append((base, quote, value))
    return out
