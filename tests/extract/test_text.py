"""Dates, time zones, rates, language and URL forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kznews.extract import text as tx
from kznews.extract.urls import classify_url


def test_date_line():
    assert tx.parse_date_line("пятница, 17 мая 2024") == date(2024, 5, 17)
    assert tx.parse_date_line("Понедельник,  1 января 2018 ") == date(2018, 1, 1)
    assert tx.parse_date_line("пятница, 31 февраля 2024") is None  # impossible: not guessed
    assert tx.parse_date_line("17 мая 2024") is None


def test_ru_date():
    assert tx.parse_ru_date("25 ноября, 2026") == date(2026, 11, 25)
    assert tx.parse_ru_date("3 марта 2009") == date(2009, 3, 3)


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("|19.06.2016 - 00:38", "2016-06-18T18:38:00+00:00"),  # UTC+6
        ("|29.02.2024 - 23:59", "2024-02-29T17:59:00+00:00"),  # last minute of UTC+6
        ("|01.03.2024 - 00:30", "2024-02-29T19:30:00+00:00"),  # first day of UTC+5
        ("|25.11.2026 - 10:00", "2026-11-25T05:00:00+00:00"),
    ],
)
def test_listing_datetime_uses_historical_almaty_offsets(local, utc):
    assert tx.parse_listing_datetime(local).isoformat() == utc


def test_rates():
    assert tx.find_rates("USD/KZT: 425.67 EUR/KZT: 496,42 RUR/KZT: 5.81 CNY/KZT:58.9") == [
        ("USD", "KZT", Decimal("425.67")),
        ("EUR", "KZT", Decimal("496.42")),
        ("RUB", "KZT", Decimal("5.81")),
        ("CNY", "KZT", Decimal("58.9")),
    ]
    assert tx.find_rates("USD/KZT: 0") == []
    assert tx.find_rates("USD/KZT:\xa0425.67") == [("USD", "KZT", Decimal("425.67"))]


def test_rates_whose_items_touch():
    # rate items without a space between them: a code right after the previous number
    assert tx.find_rates("USD/KZT: 425.67EUR/KZT: 496.42RUR/KZT: 5.81") == [
        ("USD", "KZT", Decimal("425.67")),
        ("EUR", "KZT", Decimal("496.42")),
        ("RUB", "KZT", Decimal("5.81")),
    ]
    # ...but not a code glued to a word
    assert tx.find_rates("XUSD/KZT: 425.67") == []
    assert tx.find_rates("курсUSD/KZT: 425.67") == []


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("USD/KZT: 1 425.67", Decimal("1425.67")),
        ("USD/KZT: 1\xa0425,67", Decimal("1425.67")),
        ("USD/KZT: 1\u202f425.67", Decimal("1425.67")),
        ("USD/KZT: 12 345 678.9", Decimal("12345678.9")),
        ("USD/KZT: 1 425", Decimal("1425")),
        ("USD/KZT: 425.67 17 мая", Decimal("425.67")),  # a number after the rate is not a group
    ],
)
def test_rates_with_thousands_groups(text, rate):
    assert tx.find_rates(text) == [("USD", "KZT", rate)]


@pytest.mark.parametrize(
    "text",
    [
        "USD/KZT: 1 42.5",  # a group of two digits: not a thousands group
        "USD/KZT: 1 4256.7",  # of four digits
        "USD/KZT: 1 425 67",  # a grouped integer followed by more digits
        "USD/KZT: 425 2024",  # an integer followed by a number: ambiguous
        "USD/KZT: 1,425.67",  # a comma is the decimal mark, never a group separator
    ],
)
def test_ambiguous_rates_are_not_read_as_their_first_group(text):
    assert tx.find_rates(text) == []


def test_language():
    assert tx.detect_language("Екінші Республиканың негізін қалаймыз – Тоқаев") == "kk"
    assert tx.detect_language("Референдум - проверка общества на гражданскую зрелость") == "ru"


RU_QUOTING_KK = (
    "Столицу вновь переименовали: вместо названия «Нұр-Сұлтан» возвращено прежнее имя Астана. "
    "Решение приняли депутаты парламента после обсуждения поправок в Конституцию страны."
)
KK_PROSE = (
    "Бұл жаңалық туралы министрлік бүгін хабарлады. Ол мемлекеттік бағдарлама аясында "
    "жүзеге асырылады және бюджет есебінен қаржыландырылады."
)


def test_article_language_is_the_share_of_kazakh_words_not_one_letter():
    assert tx.detect_language(RU_QUOTING_KK) == "kk"  # the headline rule: one letter is enough
    assert tx.detect_article_language(RU_QUOTING_KK) == "ru"  # 1 Kazakh word of 21
    assert tx.detect_article_language(KK_PROSE) == "kk"
    assert tx.detect_article_language(f"{RU_QUOTING_KK}\n\n{KK_PROSE}") == "kk"  # half Kazakh
    assert tx.detect_article_language("Kcell USD 2024") == "ru"  # no Cyrillic word
    assert tx.detect_article_language("") == "ru"


@pytest.mark.parametrize(
    "url",
    [
        "http://www.old.exclusive.kz/expertiza/smart/13178/",
        "http://old.exclusive.kz/expertiza/smart/13178",
        "http://www.old.exclusive.kz/expertiza/smart/13178",
        "https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like",
    ],
)
def test_every_url_form_names_the_same_article(url):
    info = classify_url(url)
    assert (info.site, info.kind, info.article_id, info.section, info.rubric) == (
        "old", "article", "13178", "expertiza", "smart"
    )


def test_other_urls():
    assert classify_url("http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=2").kind == "listing"
    cat = classify_url("https://exclusive.kz/category/economy/page/2/")
    assert (cat.site, cat.kind, cat.rubric) == ("current", "listing", "economy")
    wp = classify_url("https://exclusive.kz/tenge-ostaetsja-vo-vlasti-emocij/")
    slug = "tenge-ostaetsja-vo-vlasti-emocij"
    assert (wp.site, wp.kind, wp.article_id) == ("current", "article", slug)
    assert classify_url("https://example.com/a/b/1/").site is None
    assert classify_url("not a url").kind == "other"


def test_default_profiles_answer_alike_by_identity_or_by_value():
    """classify_url caches the default profiles by URL alone; an equal tuple of the same
    profiles (another object) goes through the keyed cache and must answer the same."""
    from kznews.extract.profiles import PROFILES

    copy = tuple(list(PROFILES))
    assert copy is not PROFILES
    for url in ("http://www.old.exclusive.kz/expertiza/smart/13178/",
                "https://exclusive.kz/category/economy/page/2/",
                "https://exclusive.kz/tenge-ostaetsja-vo-vlasti-emocij/",
                "https://example.com/a/b/1/", "not a url"):
        assert classify_url(url) == classify_url(url, copy) == classify_url(url, PROFILES)
    only_wp = tuple(p for p in PROFILES if p.site == "current")
    assert classify_url("http://old.exclusive.kz/expertiza/smart/13178", only_wp).site is None
