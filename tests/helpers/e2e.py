"""What end-to-end tests share: the bot process's environment and the steps users take in it.

The `api` fixture (the fake Bot API these tests talk to) is in tests/conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.harness import TOKEN

OWNER_ID = 111


BOT_ID = int(TOKEN.split(":")[0])


def bot_env(api: FakeBotAPI, tmp_path: Path) -> dict[str, str]:
    return {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.url,
        "OWNER_IDS": str(OWNER_ID),
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
        "COMPANY_NAME": "Ромашка",
    }


MANAGER_ID = 222


def has(text: str):
    return lambda m: text in (m.text or "")


async def invite_manager(server: FakeBotAPI) -> tuple[FakeUser, FakeUser]:
    """The owner makes an invite and the manager registers by it: (owner, manager)."""
    owner = server.user(OWNER_ID, "Ольга")
    await owner.send("/invite")
    invite = await owner.wait_message(has("t.me/"))
    match = re.search(r"start=(i_[A-Za-z0-9_-]+)", invite.text or "")
    assert match, invite.text
    manager = server.user(MANAGER_ID, "Пётр")
    await manager.send(f"/start {match.group(1)}")
    await manager.wait_message(has("зарегистрированы"))
    return owner, manager


async def record_sale(
    manager: FakeUser, name: str, phone: str | None, product: str
) -> tuple[str, SentMessage]:
    await manager.send("/sale")
    kinds = await manager.wait_message(has("Новая сделка"))
    await manager.tap(kinds, kinds.button("Клиент"))
    await manager.wait_message(has("Имя и фамилия"))
    await manager.send(name)
    org = await manager.wait_message(has("Организация"))
    await manager.tap(org, org.button("Пропустить"))
    ask_phone = await manager.wait_message(has("Телефон"))
    if phone:
        await manager.send(phone)
    else:
        await manager.tap(ask_phone, ask_phone.button("Пропустить"))
    bday = await manager.wait_message(has("День рождения"))
    await manager.tap(bday, bday.button("Пропустить"))
    await manager.wait_message(has("Что продано"))
    await manager.send(product)
    when = await manager.wait_message(has("Дата сделки"))
    await manager.tap(when, when.button("Сегодня"))
    confirm = await manager.wait_message(has("Проверьте"))
    await manager.tap(confirm, confirm.button("Сохранить"))
    saved = await manager.wait_message(has("Сделка сохранена"))
    match = re.search(r"start=(s_[A-Za-z0-9_-]+)", saved.text or "")
    assert match, saved.text
    qr = await manager.wait_message(lambda m: m.method.lower() == "sendphoto")
    return match.group(1), qr
