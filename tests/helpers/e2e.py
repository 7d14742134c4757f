"""What end-to-end tests share: the bot process's environment and the steps users take in it.

The `api` fixture (the fake Bot API these tests talk to) is in tests/conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.fakes.bot_api import FakeBotAPI, FakeUser, SentMessage
from tests.harness import TOKEN
from tests.helpers.chat import assert_one_live_set, bot_messages, chat_of

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


async def on_card(manager: FakeUser, card: SentMessage, text: str) -> SentMessage:
    """Wait until the /sale card (one message, edited question by question) shows `text`."""
    await manager.api.wait_until(
        lambda: text in (card.visible_text or ""), description=f"the /sale card to show {text!r}"
    )
    return card


async def record_sale(
    manager: FakeUser, name: str, phone: str | None, product: str
) -> tuple[str, SentMessage]:
    """The whole /sale on its one card; checks the chat keeps one set of /sale buttons."""
    await manager.send("/sale")
    card = await manager.wait_message(has("Новая сделка"))
    await manager.tap(card, card.button("Клиент"))
    await on_card(manager, card, "Имя и фамилия")
    await manager.send(name)
    await on_card(manager, card, "Что продано")
    await manager.send(product)
    await on_card(manager, card, "Дата сделки")
    await manager.tap(card, card.button("Сегодня"))
    await on_card(manager, card, "Организация")
    if phone:
        await manager.tap(card, card.button("Пропустить"))
        await on_card(manager, card, "Телефон (необязательно)")
        await manager.send(phone)
        await on_card(manager, card, "День рождения (необязательно)")
    await manager.tap(card, card.button("Сохранить без остального"))
    qr = await manager.wait_message(lambda m: m.method.lower() == "sendphoto")
    await on_card(manager, card, "Сделка сохранена")
    match = re.search(r"start=(s_[A-Za-z0-9_-]+)", card.text or "")
    assert match, card.text
    chat = chat_of(manager.api, manager)
    assert len(bot_messages(chat)) == 2 + sum(  # the card and the QR (after earlier messages)
        1 for m in manager.messages if m.message_id < card.message_id and not m.deleted
    )
    assert assert_one_live_set(chat) is None
    return match.group(1), qr
