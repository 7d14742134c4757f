"""Every text exists in both languages with the same placeholders, and every key used exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

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
