"""Webhook URLs in the chat (handlers/hooks.py) through the real dispatcher: an owner adds a URL
(the secret shown in that one reply, then only masked, and never logged), chooses its events,
pauses, resumes, issues a new secret and deletes it; a bad URL gets the rule and the prompt
stays; another command ends the prompt; managers and strangers never reach any of it; the /api
menu's `hooks:menu` button opens the same screen.
"""

from __future__ import annotations

import logging

import pytest
from aiogram.methods import SendMessage

from storage import Database
from storage.events import EVENT_TYPES
from storage.webhooks import MAX_ENDPOINTS, add_endpoint, list_endpoints, mask
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data, buttons, replies
from tests.helpers.callbacks import refusal
from tests.helpers.cases import add_manager
from tests.helpers.survey import MANAGER_ID
from views.callbacks import HookAct
from views.texts import t


def _last(sent: list) -> SendMessage:
    sends = [r for r in sent if isinstance(r, SendMessage)]
    assert sends, sent
    return sends[-1]


async def _add(h: Harness, url: str = "https://crm.example.com/in?token=42") -> SendMessage:
    owner = h.user(OWNER_ID, "Ольга")
    menu = _last(await h.send(owner, "/hooks"))
    await h.tap(owner, button_data(menu, "Добавить адрес"), as_message(menu))
    return _last(await h.send(owner, url))


async def test_an_owner_adds_a_url_and_sees_its_secret_once(
    harness: Harness, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = harness.user(OWNER_ID, "Ольга")
    menu = _last(await harness.send(owner, "/hooks"))
    assert "Адресов пока нет" in menu.text
    asked = replies(await harness.tap(owner, button_data(menu, "Добавить адрес"), as_message(menu)))
    assert "Пришлите адрес" in asked[-1]
    added = _last(await harness.send(owner, "https://crm.example.com/in?token=42"))
    (endpoint,) = await list_endpoints(db)
    assert endpoint.url == "https://crm.example.com/in?token=42"
    assert endpoint.events == EVENT_TYPES
    assert "Адрес добавлен" in added.text and "один раз" in added.text
    assert endpoint.secret in added.text  # shown in this one reply
    # Every later view shows it masked.
    again = _last(await harness.send(owner, "/hooks"))
    assert endpoint.secret not in again.text and "crm.example.com" in again.text
    opened = await harness.tap(owner, button_data(again, "crm.example.com"), as_message(again))
    card = replies(opened)[-1]
    assert endpoint.secret not in card and mask(endpoint.secret) in card
    assert endpoint.secret[-4:] in card and len(mask(endpoint.secret)) < 12
    # (aiosqlite's own debug lines show a database job's arguments: the URL as typed; never
    # a secret, which is made inside the job)
    logged = [r.getMessage() for r in caplog.records if r.name != "aiosqlite"]
    assert all(endpoint.secret not in r.getMessage() for r in caplog.records)
    assert f"webhook {endpoint.id} added by {OWNER_ID} (crm.example.com)" in logged
    leaks = [line for line in logged if endpoint.secret in line or "token=42" in line]
    assert leaks == []


async def test_events_toggle_pause_resume_new_secret_and_delete(
    harness: Harness, db: Database
) -> None:
    owner = harness.user(OWNER_ID, "Ольга")
    card = await _add(harness)
    (endpoint,) = await list_endpoints(db)
    # Turn deal.created off.
    sent = await harness.tap(owner, button_data(card, "deal.created"), as_message(card))
    edited = sent[-1]
    assert "▫️ новая сделка · deal.created" in [b for b, _ in buttons(edited)]
    (endpoint,) = await list_endpoints(db)
    assert "deal.created" not in endpoint.events and len(endpoint.events) == 7
    card = as_message(edited)  # type: ignore[arg-type]
    sent = await harness.tap(owner, button_data(edited, "Пауза"), card)
    assert "на паузе" in replies(sent)[-1]
    assert (await list_endpoints(db))[0].status == "paused"
    sent = await harness.tap(owner, button_data(sent[-1], "Возобновить"), card)
    assert "работает" in replies(sent)[-1]
    assert (await list_endpoints(db))[0].status == "active"
    old = endpoint.secret
    sent = await harness.tap(owner, button_data(sent[-1], "Новый секрет"), card)
    (endpoint,) = await list_endpoints(db)
    assert endpoint.secret != old and endpoint.secret in replies(sent)[-1]
    sent = await harness.tap(owner, button_data(sent[-1], "Удалить"), card)
    assert "Удалить адрес" in replies(sent)[-1]
    assert len(await list_endpoints(db)) == 1  # only asked
    sent = await harness.tap(owner, button_data(sent[-1], "Да, удалить"), card)
    assert await list_endpoints(db) == []
    assert "Адресов пока нет" in replies(sent)[-1]
    # The same confirmation tapped again: the URL is gone.
    assert refusal(await harness.tap(owner, f"hk:delok:{endpoint.id}:0", card))


@pytest.mark.parametrize(
    "bad",
    [
        "crm.example.com/in",
        "ftp://crm.example.com/in",
        "https://",
        "https://user:secret@crm.example.com/in",
        "https://crm.example.com/a b",
        "https://crm.example.com:99999/in",
        "https://crm.example.com/" + "a" * 2000,
    ],
)
async def test_a_bad_url_gets_the_rule_and_the_prompt_stays(
    harness: Harness, db: Database, bad: str
) -> None:
    owner = harness.user(OWNER_ID, "Ольга")
    reply = await _add(harness, bad)
    assert "Это не подходит" in reply.text and "2000 знаков" in reply.text
    assert await list_endpoints(db) == []
    fixed = _last(await harness.send(owner, "http://crm.example.com:8080/hook"))
    assert "Адрес добавлен" in fixed.text
    assert [e.url for e in await list_endpoints(db)] == ["http://crm.example.com:8080/hook"]


async def test_another_command_ends_the_prompt(harness: Harness, db: Database) -> None:
    owner = harness.user(OWNER_ID, "Ольга")
    menu = _last(await harness.send(owner, "/hooks"))
    await harness.tap(owner, button_data(menu, "Добавить адрес"), as_message(menu))
    await harness.send(owner, "/settings")
    await harness.send(owner, "https://crm.example.com/in")
    assert await list_endpoints(db) == []
    # A sticker while asked: told to send text, still asked.
    await harness.tap(owner, button_data(menu, "Добавить адрес"), as_message(menu))
    assert "адрес текстом" in replies(await harness.send_sticker(owner))[-1]
    await harness.tap(owner, "hooks:cancel", as_message(menu))
    await harness.send(owner, "https://crm.example.com/in")
    assert await list_endpoints(db) == []


async def test_the_api_menus_button_opens_the_webhooks_screen(
    harness: Harness, db: Database
) -> None:
    owner = harness.user(OWNER_ID, "Ольга")
    await add_endpoint(db, "https://crm.example.com/in", OWNER_ID, harness.clock())
    sent = await harness.tap(owner, "hooks:menu")
    assert "Вебхуки" in replies(sent)[-1] and "crm.example.com" in replies(sent)[-1]


async def test_english_owner_reads_english(harness: Harness, db: Database) -> None:
    owner = harness.user(OWNER_ID, "Olga", lang="en")
    menu = _last(await harness.send(owner, "/hooks"))
    assert "No URLs yet" in menu.text
    await harness.tap(owner, button_data(menu, "Add a URL"), as_message(menu))
    reply = _last(await harness.send(owner, "not a url"))
    assert "That will not do" in reply.text
    assert t("en", "hooks.too_many").count(str(MAX_ENDPOINTS)) == 1
    bound = HookAct.model_fields["arg"].metadata
    assert [m.le for m in bound if hasattr(m, "le")] == [len(EVENT_TYPES) - 1]
    assert t("ru", "hooks.too_many").count(str(MAX_ENDPOINTS)) == 1


async def test_managers_never_reach_webhooks(harness: Harness, db: Database) -> None:
    await add_manager(db, MANAGER_ID, "Пётр", harness.clock())
    await add_endpoint(db, "https://crm.example.com/in", OWNER_ID, harness.clock())
    manager = harness.user(MANAGER_ID, "Пётр")
    texts = replies(await harness.send(manager, "/hooks"))
    assert not any("Вебхуки" in text or "crm.example.com" in text for text in texts)
    assert refusal(await harness.tap(manager, "hk:open:1:0"))
    assert refusal(await harness.tap(manager, "hk:delok:1:0"))
    assert len(await list_endpoints(db)) == 1


async def test_the_same_message_twice_adds_one_url(db: Database, harness: Harness) -> None:
    first, new = await add_endpoint(
        db, "https://crm.example.com/in", OWNER_ID, harness.clock(), source_key="111:5"
    )
    again, new_again = await add_endpoint(
        db, "https://crm.example.com/in", OWNER_ID, harness.clock(), source_key="111:5"
    )
    assert new and not new_again and again.id == first.id and again.secret == first.secret
    assert len(await list_endpoints(db)) == 1
