"""Every text exists in both languages with the same placeholders, and every key used exists."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from pathlib import Path

import pytest

from domain.vocabulary import KINDS
from views.survey import SURVEY_TEXTS, audience, survey_text
from views.texts import CATALOGS, Raw, pick_language, plain, plural, t

ROOT = Path(__file__).resolve().parent.parent


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_in_every_language() -> None:
    ru, en = CATALOGS["ru"], CATALOGS["en"]
    assert set(ru) == set(en), set(ru) ^ set(en)


def test_same_placeholders_in_every_language() -> None:
    ru, en = CATALOGS["ru"], CATALOGS["en"]
    mismatched = {k for k in ru if _fields(ru[k]) != _fields(en[k])}
    assert not mismatched


def test_no_empty_texts_and_within_telegram_limit() -> None:
    for lang, catalog in CATALOGS.items():
        for key, text in catalog.items():
            assert text.strip(), (lang, key)
            assert len(text) < 3500, (lang, key)


def test_every_key_used_in_code_exists() -> None:
    pattern = re.compile(r"""\b(?:t|plain)\(\s*[a-z_]+,\s*["']([a-z0-9_.]+)["']""")
    used: set[str] = set()
    for folder in ("bot", "handlers", "scheduler", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no text keys at all"
    missing = used - set(CATALOGS["ru"])
    assert not missing


def test_every_survey_text_has_a_partner_form() -> None:
    """Each text a respondent reads exists for clients and for partners, in both languages, with
    the same placeholders; no un-forked key is left for a caller to pick by mistake."""
    for lang, catalog in CATALOGS.items():
        for base in SURVEY_TEXTS:
            client, partner = catalog[f"{base}_client"], catalog[f"{base}_partner"]
            assert client != partner, (lang, base)
            assert _fields(client) == _fields(partner), (lang, base)
            assert base not in catalog, (lang, base)
    # Whatever the code asks survey_text for is one of the listed bases.
    pattern = re.compile(r"""survey_text\(\s*[a-z_]+,\s*f?["']([a-z0-9_.{}]+)["']""")
    asked: set[str] = set()
    for folder in ("handlers", "scheduler", "views"):
        for path in (ROOT / folder).rglob("*.py"):
            asked |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert "survey.greeting" in asked and "nudge.text" in asked
    unknown = {a for a in asked if "{" not in a} - set(SURVEY_TEXTS)
    assert not unknown


def test_partner_wording_has_no_client_phrases() -> None:
    client_only = {
        "ru": ("видеть вас снова", "друзьям", "качестве обслуживания", "Что вас разочаровало"),
        "en": ("see you again", "to friends", "quality of our service", "What disappointed you"),
    }
    for lang, phrases in client_only.items():
        for base in SURVEY_TEXTS:
            text = CATALOGS[lang][f"{base}_partner"]
            assert not [p for p in phrases if p in text], (lang, base)


def test_suppliers_contractors_and_partners_are_partners() -> None:
    assert {kind: audience(kind) for kind in KINDS} == {
        "client": "client",
        "supplier": "partner",
        "contractor": "partner",
        "partner": "partner",
    }
    assert audience(None) == "client"
    assert "сотрудничество" in survey_text("ru", "survey.thanks_promoter", "contractor")
    assert "cooperation" in survey_text("en", "survey.thanks_promoter", "partner")
    assert "видеть вас снова" in survey_text("ru", "survey.thanks_promoter", "client")


def test_values_are_escaped_unless_raw() -> None:
    assert "&lt;b&gt;" in t("ru", "invite.welcome", name="<b>", company="A&B")
    assert "A&amp;B" in t("ru", "invite.welcome", name="x", company="A&B")
    assert "<i>x</i>" in t("ru", "invite.welcome", name=Raw("<i>x</i>"), company="c")
    assert plain("ru", "managers.btn_deactivate", name="<b>") == "🚫 Отключить: <b>"


def test_language_choice() -> None:
    assert pick_language("en") == "en"
    assert pick_language("en-US") == "en"
    assert pick_language("ru") == "ru"
    assert pick_language("uk") == "ru"  # everybody else gets the default
    assert pick_language(None) == "ru"
    assert pick_language("de", default="en") == "en"


# --- counts and names (issue 13, D7) ---------------------------------------------------------

NUMBERS = (0, 1, 2, 5, 11, 21, 22, 25, 101)
# The CLDR category of each number, written out by hand (not computed by domain/plurals.py):
# Russian 1, 21, 101 день · 2, 22 дня · 0, 5, 11, 25 дней; English 1 day, every other n days.
RU_CATEGORY = {0: "many", 1: "one", 2: "few", 5: "many", 11: "many", 21: "one", 22: "few",
               25: "many", 101: "one"}  # fmt: skip
EN_CATEGORY = {n: "one" if n == 1 else "other" for n in NUMBERS}
ORDER = {"ru": ("one", "few", "many", "other"), "en": ("one", "other")}

# The words, as (Russian one|few|many|other, English one|other); None where that language needs
# no form ("ответов 5" is a label, "5 answers" is not). After "до", "из", "длиннее", "после",
# "больше" a count takes the genitive: до 1 символа, до 2 символов, из 21 приглашённого.
CHARS = ("символ|символа|символов|символа", "character|characters")
CHARS_GEN = ("символа|символов|символов|символа", "character|characters")
ROWS_GEN = ("строки|строк|строк|строки", "row|rows")
DAYS = ("день|дня|дней|дня", "day|days")
DAYS_GEN = ("дня|дней|дней|дня", "day|days")  # старше 1 дня, дольше 3 дней
HOURS = ("час|часа|часов|часа", "hour|hours")
TIMES = ("раз|раза|раз|раза", "time|times")

# Every text with a counted word: key → {field: its words}. A new counted text must be added here.
COUNTED: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "sale.name_invalid": {"name_max": CHARS_GEN},
    "sale.org_invalid": {"org_max": CHARS_GEN},
    "sale.ask_product": {"product_max": CHARS_GEN},
    "sale.product_invalid": {"product_max": CHARS_GEN},
    "cases.age_hours": {"hours": HOURS},
    "cases.age_days": {"days": DAYS, "hours": HOURS},
    "cases.card_reopened": {"count": TIMES},
    "cases.history_more": {
        "count": ("событие|события|событий|события", "earlier event|earlier events")
    },
    "cases.ask_note": {"limit": CHARS_GEN},
    "crm.status.connection": {
        "events": (None, "event|events"),
        "notes": (None, "comment|comments"),
    },
    "cases.ask_resolution": {"limit": CHARS_GEN},
    "cases.note_too_long": {"limit": CHARS_GEN},
    "cases.resolution_too_long": {"limit": CHARS_GEN},
    "case.remind": {
        "hours": (
            "рабочий час|рабочих часа|рабочих часов|рабочего часа",
            "working hour|working hours",
        )
    },
    "case.escalate": {
        "days": (
            "рабочий день|рабочих дня|рабочих дней|рабочего дня",
            "working day|working days",
        )
    },
    "find.too_long": {"length": CHARS},
    "find.ask_comment": {"limit": CHARS_GEN},
    "find.comment_too_long": {"limit": CHARS_GEN},
    "card.birthday_lead": {"days": DAYS},
    "task.retries_exhausted": {"n": TIMES},
    "greet.reason_budget": {"days": DAYS},
    "forget.ask": {"days": DAYS},
    "hooks.paused_notice": {"days": DAYS},
    "hooks.gone_notice": {"days": DAYS},
    "hooks.dropped_notice": {"days": DAYS_GEN},
    "hooks.card.held": {"days": DAYS},
    "hooks.card.dropped": {"days": DAYS_GEN},
    "forget.owner_ask": {"days": DAYS},
    "import.progress.write": {"total": ROWS_GEN},
    "import.unreadable.too_many_rows": {"limit": ROWS_GEN},
    "import.interrupted": {"done": ROWS_GEN},
    "import.reason.too_long": {"limit": CHARS_GEN},
    "nps.rate": {"invited": ("приглашённого|приглашённых|приглашённых|приглашённого", None)},
    "duration.hours": {"value": HOURS},
    "duration.days": {"value": DAYS},
    "referral.name_invalid": {"max": CHARS_GEN},
    "export.cut": {"count": ("знак|знака|знаков|знака", "character|characters")},
    "export.done": {"answers": (None, "answer|answers"), "contacts": (None, "contact|contacts")},
    "settings.show.offer_interval": {"high": DAYS},
    "settings.show.birthday_lead_days": {"value": DAYS},
    "settings.show.contact_min_days": {"value": DAYS},
    "settings.ask.company_name": {"limit": CHARS_GEN},
    "settings.ask.company_name_en": {"limit": CHARS_GEN},
    "settings.bad.company": {"limit": CHARS_GEN},
    "settings.bad.company_long": {"length": CHARS},
}
# Form sets kept under their own key, for `plural()`: "21 дело" in the day plan's title.
PLURAL_KEYS = {
    "plural.task": ("дело|дела|дел|дела", "task|tasks"),
    "plural.char": ("знак|знака|знаков|знака", "character|characters"),
}

# Fields that carry a number: a word right after one of them must come from its forms.
NUMBER_FIELDS = {
    "answered", "answers", "cases", "contacts", "count", "created", "customers", "d", "days",
    "deals", "done", "first_answered", "high", "hours", "invited", "last_answered", "leads",
    "length", "limit", "low", "max", "merged", "min", "missed", "n", "name_max", "name_min",
    "notes", "opened", "org_max", "overdue", "p", "page", "pages", "product_max", "product_min",
    "purchases", "resolved", "row", "rows", "score", "sent", "shown", "size", "total", "value",
    "parts", "part", "seconds", "minutes", "more", "number",
}  # fmt: skip
# Words that read right after any number: "2 из 10", "до 5", "1 of 3", "3 more", "20 МБ".
INVARIANT_AFTER = {
    "из", "до", "и", "мб", "of", "to", "and", "more", "in", "invited", "resolved", "allowed", "mb",
}  # fmt: skip
# Name fields, and the prepositions that would put a name in an oblique case ("у Ольга").
NAME_FIELDS = ("name", "manager", "owner", "promoter", "actor", "who", "full_name")
OBLIQUE = ("у", "для", "от", "с", "со", "о", "об", "обо", "к", "ко", "по", "про", "без", "при",
           "за", "над", "под", "перед", "через", "между", "на", "в", "во")  # fmt: skip


def _spec_fields(template: str) -> dict[str, str]:
    """The fields written with forms ("{count:раз|раза|раз|раза}") and their forms."""
    return {
        name: spec
        for _, name, spec, _ in string.Formatter().parse(template)
        if name and spec and "|" in spec
    }


def _render(lang: str, key: str, number: object) -> str:
    template = CATALOGS[lang][key]
    numbers = NUMBER_FIELDS | set(_spec_fields(template))
    values = {f: number if f in numbers else "X" for f in _fields(template)}
    return t(lang, key, **values)


def test_counted_lists_every_text_with_forms_and_their_words() -> None:
    """COUNTED pins the list: a new counted text, or a changed word, shows up here."""
    for lang, column in (("ru", 0), ("en", 1)):
        found = {
            key: fields
            for key, text in CATALOGS[lang].items()
            if (fields := _spec_fields(text)) and not key.startswith("plural.")
        }
        pinned = {
            key: {f: pair[column] for f, pair in fields.items() if pair[column]}
            for key, fields in COUNTED.items()
        }
        assert found == {key: fields for key, fields in pinned.items() if fields}, lang
        plurals = {key: text for key, text in CATALOGS[lang].items() if key.startswith("plural.")}
        assert plurals == {key: pair[column] for key, pair in PLURAL_KEYS.items()}, lang


def test_every_counted_text_reads_right_for_0_1_2_5_11_21_22_25_101() -> None:
    for lang, categories in (("ru", RU_CATEGORY), ("en", EN_CATEGORY)):
        column = 0 if lang == "ru" else 1
        for key, fields in COUNTED.items():
            words = [w for w in (pair[column] for pair in fields.values()) if w]
            for n in NUMBERS:
                text = _render(lang, key, n)
                for forms in words:
                    word = forms.split("|")[ORDER[lang].index(categories[n])]
                    assert f"{n} {word}" in text, (lang, key, n, text)
            # A fraction ("1,5 дня") takes CLDR's "other", with the language's decimal mark.
            text = _render(lang, key, Decimal("1.5"))
            mark = "1,5" if lang == "ru" else "1.5"
            for forms in words:
                assert f"{mark} {forms.split('|')[-1]}" in text, (lang, key, text)
        for key, pair in PLURAL_KEYS.items():
            for n in NUMBERS:
                word = pair[column].split("|")[ORDER[lang].index(categories[n])]
                assert plural(lang, n, key) == f"{n} {word}", (lang, key, n)


def test_plural_words_have_every_form_of_their_language() -> None:
    for lang, catalog in CATALOGS.items():
        for key, text in catalog.items():
            specs = list(_spec_fields(text).values())
            if key.startswith("plural."):
                specs.append(text)
            for spec in specs:
                assert len(spec.split("|")) == len(ORDER[lang]), (lang, key, spec)


def test_big_counts_are_grouped_and_still_agree() -> None:
    ru = t("ru", "import.interrupted", name="f", done=12_341, created="7")
    assert "после 12\u00a0341 строки" in ru
    en = t("en", "import.progress.write", name="f", bar="", percent=1, done="5", total=1_000_002)
    assert "5 of 1,000,002 rows" in en
    assert "Открывался заново: 1\u00a0001 раз" in t("ru", "cases.card_reopened", count=1001)


def test_a_number_passed_as_text_to_a_counted_field_fails_loudly() -> None:
    """ "2 раз" can never be printed: a counted field refuses a string instead of guessing."""
    with pytest.raises(ValueError):
        t("ru", "cases.card_reopened", count="2")


def _guessed_words(text: str) -> list[str]:
    """Words that guess their number or gender ("раз(а)", "взял(а)", "time(s)"), and words right
    after a bare number field ("{days} дн.", "{total} строк"), which cannot agree with it."""
    found = [m.group() for m in re.finditer(r"[^\W\d_]\([^\W\d_]{1,3}\)", text)]
    for m in re.finditer(r"\{([a-z_0-9]+)(:[^}]*)?\}", text):
        if m.group(1) not in NUMBER_FIELDS or (m.group(2) and "|" in m.group(2)):
            continue
        word = re.match(r"[ \u00a0]?([^\W\d_]+)", text[m.end() :])
        if word and word.group(1).lower() not in INVARIANT_AFTER:
            found.append(m.group() + " " + word.group(1))
    return found


def test_no_word_guesses_its_number() -> None:
    bad = [
        (lang, key, word)
        for lang, catalog in CATALOGS.items()
        for key, text in catalog.items()
        for word in _guessed_words(text)
    ]
    assert not bad


def test_the_scan_for_guessed_words_can_fail() -> None:
    """The scan catches the defects the issue quotes, and lets correct texts through."""
    assert _guessed_words("Открывался заново: {count} раз(а)") == ["з(а)", "{count} раз"]
    assert _guessed_words("{done} из {total} строк") == ["{total} строк"]
    assert _guessed_words("Reopened: {count} time(s)") == ["e(s)", "{count} time"]
    assert _guessed_words("за {value} дн.") == ["{value} дн"]
    assert _guessed_words("{score} из 10 (95%) · {count:раз|раза|раз|раза} · {name} Ивановна") == []


def test_names_stay_in_the_nominative() -> None:
    """Russian declines names, and a template cannot: "в работе у Ольга", "ссылка для Анна
    Смирнова" are wrong. A name stands after a label instead ("ответственный: Ольга")."""
    frames = re.compile(
        r"(?<![^\W\d_])(" + "|".join(OBLIQUE) + r")\s+[«\"“]?\{(" + "|".join(NAME_FIELDS) + r")\}",
        re.IGNORECASE,
    )
    bad = [(key, m.group()) for key, text in CATALOGS["ru"].items() for m in frames.finditer(text)]
    assert not bad
    assert frames.search("в работе у {name}") and frames.search("ссылка для {name}")
    assert frames.search("Привет от «{manager}»") and not frames.search("менеджер {name}")
    assert "ответственный: Ольга" in t("ru", "cases.status_taken", name="Ольга")
    assert "— клиент: Анна Смирнова" in t(
        "ru", "sale.saved", merged="", kind="клиент", name="Анна Смирнова", link="L"
    )


# --- a person's gender (issue 15) --------------------------------------------------------------

# A Russian past-tense verb or short adjective agrees with its subject's gender, which a template
# cannot know: "Клиент подтвердил" is wrong for Анна, "🚫 Просил не связываться с ним" twice so.
# Role nouns followed by such a word, and the card's old subject-less flags, are refused; the
# texts say it another way ("Ответ клиента: проблема решена", "Согласия на связь … нет").
_ROLE_VERB = re.compile(
    r"\b(?:[Кк]лиент|[Мм]енеджер|[Рр]уководитель|[Сс]отрудник|[Чч]еловек|[Пп]артн[её]р"
    r"|[Кк]онтакт)\s+(?:(?:не|уже|ещё|сам)\s+)*[а-яё]+(?:л|лся|ен|ена)\b"
)
_GENDERED_FLAGS = re.compile(
    r"(?:^|\n)\W*(?:Просил|Отписался|Согласен|Недоступен|Заблокировал|Не дозвонился)\b"
    r"|связываться с ним"
)


def _gendered(text: str) -> list[str]:
    return [
        m.group().strip() for m in (*_ROLE_VERB.finditer(text), *_GENDERED_FLAGS.finditer(text))
    ]


def test_no_text_guesses_a_persons_gender() -> None:
    bad = [(key, found) for key, text in CATALOGS["ru"].items() if (found := _gendered(text))]
    assert not bad


def test_the_gender_scan_can_fail() -> None:
    assert _gendered("🚫 Просил не связываться с ним") == ["🚫 Просил", "связываться с ним"]
    assert _gendered("Клиент подтвердил: проблема решена") == ["Клиент подтвердил"]
    assert _gendered("человек ещё не открывал бота") == ["человек ещё не открывал"]
    assert _gendered("🔕 Отписался от сообщений бота") == ["🔕 Отписался"]
    assert _gendered("Ответ клиента: проблема решена · Согласия на связь нет") == []
    assert "Согласия на связь по итогам опроса нет" in t("ru", "find.flag_consent_no")
    assert "Did not agree to be contacted about the survey" in t("en", "find.flag_consent_no")
