"""Every text exists in both languages with the same placeholders, and every key used exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from domain.vocabulary import KINDS
from views.survey import SURVEY_TEXTS, audience, survey_text
from views.texts import CATALOGS, Raw, pick_language, plain, t

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
