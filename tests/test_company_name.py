"""The company's name per language (`/settings`: the name and the name in English): English
readers get the English one, and the Russian one only while none is set."""

from __future__ import annotations

import re
from pathlib import Path

from domain import tunables
from domain.settings import Settings
from storage import Database
from tests.harness import Harness, replies
from tests.helpers.chat_settings import Owner, stored
from tests.helpers.survey import Respondent, setup_sale
from views.callbacks import SettingReset

ROOT = Path(__file__).resolve().parent.parent


async def test_english_readers_get_the_english_name_russian_ones_the_russian(
    harness: Harness, db: Database
) -> None:
    owner = Owner(harness)
    card = await owner.settings()
    assert "Название по-английски: не задано, в английских текстах — «Ромашка»" in card.text
    editor = await owner.open("Название по-английски")
    assert "Пока его нет, в них стоит русское название." in editor.text
    saved = await owner.type("Romashka Ltd")
    assert saved.text.startswith("✅ Сохранено: Название по-английски — «Romashka Ltd».")
    assert await stored(db) == {"company_name_en": "Romashka Ltd"}

    english = Respondent(harness, user_id=5101, lang="en")
    greeting, question = await english.open(await setup_sale(harness, db, name="Ann Smith"))
    assert greeting.startswith("Hello! This is Romashka Ltd.")
    assert "recommend Romashka Ltd to friends" in question
    assert "Ромашка" not in greeting + question

    russian = Respondent(harness, user_id=5102)
    greeting, question = await russian.open(await setup_sale(harness, db, name="Анна Белова"))
    assert greeting.startswith("Здравствуйте! Это «Ромашка».")
    assert "порекомендуете «Ромашка»" in question

    # a stranger's greeting and /help follow the reader's language too
    guest = harness.user(5103, "Guest", lang="en")
    assert "This is Romashka Ltd's bot" in replies(await harness.send(guest, "/start"))[0]
    assert "partners of Romashka Ltd." in replies(await harness.send(guest, "/help"))[0]


async def test_without_an_english_name_english_texts_use_the_russian_one(
    harness: Harness, db: Database
) -> None:
    owner = Owner(harness)
    await owner.open("Название по-английски")
    await owner.type("Romashka Ltd")
    await owner.open("Название по-английски")
    await harness.tap(owner.user, SettingReset(key="company_name_en").pack())
    assert await stored(db) == {}
    english = Respondent(harness, user_id=5101, lang="en")
    greeting, _ = await english.open(await setup_sale(harness, db, name="Ann Smith"))
    assert greeting.startswith("Hello! This is Ромашка.")


def test_the_rule_and_the_env_setting(settings: Settings) -> None:
    assert settings.company("en") == settings.company("ru") == "Ромашка"
    named = tunables.apply(settings, {"company_name_en": "Romashka Ltd"})
    assert (named.company("en"), named.company("ru")) == ("Romashka Ltd", "Ромашка")
    assert tunables.value_of(named, tunables.COMPANY_EN) == "Romashka Ltd"


def test_every_text_takes_the_name_for_its_reader() -> None:
    """`company=settings.company_name` would give English readers the Russian name: every place
    that renders the name asks `settings.company(lang)`."""
    found = []
    for folder in ("handlers", "views", "scheduler", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if re.search(r"company=\s*settings\.company_name\b", line) or re.search(
                    r"\(\s*[a-z_]+,\s*[a-z_]+,\s*[a-z_]+,\s*settings\.company_name\)", line
                ):
                    found.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert found == []
