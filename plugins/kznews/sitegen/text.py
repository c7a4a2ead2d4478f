"""Deterministic Russian and Kazakh text, names, dates and slugs for the synthetic site.

Pure functions of a ``random.Random`` passed in: no I/O, no global state.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

ALMATY = ZoneInfo("Asia/Almaty")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

MONTHS_GEN = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")

AUTHORS = (
    "Редакция Exclusive", "Редакция Exclusive", "Редакция Exclusive",
    "Карлыгаш Еженова", "Аскар Муминов", "Әлия Нұрланқызы", "Дмитрий Покидаев",
    "Ирина Шишкина", "Ержан Сүлейменов", "Гүлнар Әбдіқадырова", "Сергей Ли",
)  # fmt: skip

_RU_SUBJ = (
    "Национальный банк", "Министерство финансов", "Компания «Кселл»", "АО «Казахтелеком»",
    "Фонд «Самрук-Казына»", "Правительство", "Эксперты", "Аналитики рынка",
    "Банки второго уровня", "Инвесторы", "Мажилис", "Акимат Алматы", "«КазМунайГаз»",
    "Казахстанские экспортеры", "Малый и средний бизнес", "Kaspi.kz", "Halyk Bank",
)  # fmt: skip
_RU_VERB = (
    "объявил о планах пересмотреть", "сообщил о запуске", "планирует увеличить",
    "завершил", "пересмотрел", "обсудил", "прогнозирует рост", "предложил снизить",
    "одобрил", "отложил", "представил", "оценил",
)  # fmt: skip
_RU_OBJ = (
    "инвестиционную программу", "тарифы на связь", "базовую ставку", "объемы экспорта зерна",
    "программу льготного кредитования", "строительство нового терминала", "выпуск облигаций",
    "налоговую нагрузку", "цены на топливо", "модернизацию сетей", "расходы бюджета",
    "поддержку фермеров", "развитие LTE-сетей", "приватизацию активов",
)  # fmt: skip
_RU_TAIL = (
    "в ближайшие месяцы", "по итогам квартала", "несмотря на ослабление тенге",
    "на фоне роста инфляции", "в рамках государственной программы", "до конца года",
    "в регионах страны", "вслед за мировыми рынками",
)  # fmt: skip
_RU_TITLE_Q = (
    "Что ждет {o}?", "Кто заплатит за {o}?", "{s}: {v} {o}", "{s} {v} {o}",
    "Почему {s2} {v2}", "«{S}» {v} {o}",
)  # fmt: skip
_KK_SUBJ = (
    "Ұлттық банк", "Қаржы министрлігі", "Үкімет", "Сарапшылар", "Шағын және орта бизнес",
    "Алматы әкімдігі", "Инвесторлар", "Мәжіліс", "Қазақстандық экспорттаушылар",
    "Жиһаз өндірушілер", "Фермерлер", "Тоқаев",
)  # fmt: skip
_KK_PRED = (
    "жаңа бағдарламаны ұсынды", "базалық мөлшерлемені өзгеріссіз қалдырды",
    "инвестиция көлемін ұлғайтуды жоспарлап отыр", "тарифтерді қайта қарады",
    "экспорт көлемінің өскенін хабарлады", "салық жүктемесін төмендетуді ұсынды",
    "жаңа терминал салуды аяқтады", "шаһар инфрақұрылымын жаңартуды талқылады",
    "қаһарман жұмысшыларды марапаттады", "бағаның өсуіне алаңдаушылық білдірді",
)  # fmt: skip
_KK_TAIL = (
    "биылғы жылдың соңына дейін", "тоқсан қорытындысы бойынша", "теңгенің әлсіреуіне қарамастан",
    "инфляцияның өсуі аясында", "мемлекеттік бағдарлама аясында", "өңірлерде",
)  # fmt: skip

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "jo", "ж": "zh", "з": "z",
    "и": "i", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh",
    "щ": "shh", "ъ": "", "ы": "y", "ь": "", "э": "je", "ю": "ju", "я": "ja",
    "ә": "a", "ғ": "g", "қ": "q", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}  # fmt: skip


def language_of(text: str) -> str:
    """``kk`` when the text holds a letter specific to Kazakh, else ``ru``."""
    return "kk" if any(ch in KAZAKH_LETTERS for ch in text) else "ru"


def slugify(title: str, limit: int = 80) -> str:
    """WordPress-style transliterated slug (Cyrillic and Kazakh letters to Latin), cut at 80."""
    out = "".join(_TRANSLIT.get(ch, ch) for ch in title.lower())
    out = re.sub(r"[^a-z0-9]+", "-", out).strip("-")
    return out[:limit]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def ru_sentence(rng: random.Random) -> str:
    s = rng.choice(_RU_SUBJ)
    parts = [s, rng.choice(_RU_VERB), rng.choice(_RU_OBJ)]
    if rng.random() < 0.5:
        parts.append(f"на {rng.randint(2, 40)},{rng.randint(0, 9)}%")
    if rng.random() < 0.3:
        parts.append(f"в размере {rng.randint(1, 900)} млрд тенге")
    parts.append(rng.choice(_RU_TAIL))
    return _cap(" ".join(parts)) + "."


def kk_sentence(rng: random.Random) -> str:
    parts = [rng.choice(_KK_SUBJ), rng.choice(_KK_TAIL)]
    if rng.random() < 0.4:
        parts.append(f"{rng.randint(2, 40)} пайызға")
    parts.append(rng.choice(_KK_PRED))
    return _cap(" ".join(parts)) + "."


def title(rng: random.Random, lang: str) -> str:
    if lang == "kk":
        t = f"{rng.choice(_KK_SUBJ)} {rng.choice(_KK_PRED)}"
        if not any(ch in KAZAKH_LETTERS for ch in t):
            t += " – сарапшылар"
        return t
    pattern = rng.choice(_RU_TITLE_Q)
    s = rng.choice(_RU_SUBJ)
    return pattern.format(
        s=s,
        S=s.strip("«»"),
        s2=s.lower() if s[0] != "«" else s,
        v=rng.choice(_RU_VERB),
        v2=rng.choice(_RU_VERB),
        o=rng.choice(_RU_OBJ),
    )


def paragraphs(rng: random.Random, lang: str, n: int) -> list[str]:
    make = kk_sentence if lang == "kk" else ru_sentence
    return [" ".join(make(rng) for _ in range(rng.randint(2, 5))) for _ in range(n)]


def date_line(d: date) -> str:
    """``пятница, 17 мая 2024``."""
    return f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS_GEN[d.month - 1]} {d.year}"


def wp_date(d: date) -> str:
    """``25 ноября, 2026``."""
    return f"{d.day} {MONTHS_GEN[d.month - 1]}, {d.year}"


def local(ts: datetime) -> datetime:
    return ts.astimezone(ALMATY)


def listing_date(ts: datetime) -> str:
    """``|19.06.2016 - 00:38`` in Almaty local time."""
    return "|" + local(ts).strftime("%d.%m.%Y - %H:%M")


def is_ambiguous_local(ts: datetime) -> bool:
    """True when the Almaty wall-clock time of ``ts`` occurs twice (2024-02-29 23:xx)."""
    loc = local(ts).replace(tzinfo=None)
    a = loc.replace(tzinfo=ALMATY, fold=0).utcoffset()
    b = loc.replace(tzinfo=ALMATY, fold=1).utcoffset()
    return a != b


def iso_z(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unambiguous(ts: datetime) -> datetime:
    """Shift a time out of the repeated local hour so its listing date has one meaning."""
    while is_ambiguous_local(ts):
        ts += timedelta(hours=1)
    return ts
