"""Owner, manager and stranger, driven through the production dispatcher with real updates."""

from __future__ import annotations

import re

from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMyCommands,
    EditMessageText,
    SendMessage,
    SetMyCommands,
)

from storage import Database
from storage.staff import get_member, list_managers
from tests.conftest import OWNER_ID
from tests.harness import BOT_USERNAME, Harness, as_message, button_data, buttons, replies

MANAGER_ID = 222
STRANGER_ID = 333
LINK_RE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=(i_[A-Za-z0-9_-]+)")
OWNER_ONLY = (
    "Команда {command} вам недоступна: она только для владельца бота. /help — что вы можете."
)
INVALID_INVITE = "Эта ссылка-приглашение не действует"


async def invite_payload(h: Harness) -> str:
    sent = await h.send(h.user(OWNER_ID, "Ольга"), "/invite")
    match = LINK_RE.search(replies(sent)[0])
    assert match, replies(sent)
    return match.group(1)


async def register_manager(h: Harness, user_id: int = MANAGER_ID, name: str = "Пётр") -> None:
    payload = await invite_payload(h)
    sent = await h.send(h.user(user_id, name), f"/start {payload}")
    assert "зарегистрированы как менеджер" in replies(sent)[0]


async def test_owner_is_recognised_in_russian(harness: Harness) -> None:
    text = replies(await harness.send(harness.user(OWNER_ID, "Ольга"), "/start"))[0]
    assert "Ольга" in text and "владелец" in text and "«Ромашка»" in text
    assert "/invite" in text and "/managers" in text


async def test_owner_in_english(harness: Harness) -> None:
    sent = await harness.send(harness.user(OWNER_ID, "Olga", lang="en-GB"), "/start")
    assert "You are the owner of Ромашка's bot" in replies(sent)[0]


async def test_stranger_gets_explanation_and_no_access(harness: Harness) -> None:
    stranger = harness.user(STRANGER_ID, "Гость")
    text = replies(await harness.send(stranger, "/start"))[0]
    assert "ссылку на опрос" in text and "/invite" not in text
    for command in ("/invite", "/managers"):
        refusal = OWNER_ONLY.format(command=command)
        assert replies(await harness.send(stranger, command)) == [refusal]
    unknown = replies(await harness.send(stranger, "/nonexistent"))[0]
    assert unknown.startswith("Неизвестная команда: /nonexistent.")
    assert "/forget — Удалить мои данные" in unknown and "/sale" not in unknown
    help_text = replies(await harness.send(stranger, "/help"))[0]
    assert "откройте ссылку" in help_text
    # the greeting came with /start: free text right after it is not answered again, and a
    # sticker a few minutes later gets the short line, not the greeting
    assert replies(await harness.send(stranger, "привет")) == []
    harness.clock.advance(minutes=5)
    assert "опрос по ссылке" in replies(await harness.send_sticker(stranger))[0]


async def test_invite_link_format_and_expiry(harness: Harness, db: Database) -> None:
    sent = await harness.send(harness.user(OWNER_ID, "Ольга"), "/invite")
    text = replies(sent)[0]
    payload = LINK_RE.search(text).group(1)  # type: ignore[union-attr]
    token = payload[2:]
    assert len(payload) <= 64 and len(token) >= 22  # 22 base64url chars = 132 bits
    assert "27.11.2026 10:00" in text  # 7 days from 20.11 10:00 Moscow time


async def test_manager_registers_through_invite(harness: Harness, db: Database) -> None:
    await register_manager(harness)
    member = await get_member(db, MANAGER_ID)
    assert member is not None and member.role == "manager" and member.active
    assert member.full_name == "Пётр"
    # the owner is told, and the manager gets their command menu
    assert "По приглашению зарегистрирован новый менеджер: Пётр." in harness.texts(OWNER_ID)
    menus = [r for r in harness.session.requests if isinstance(r, SetMyCommands)]
    assert any(getattr(m.scope, "chat_id", None) == MANAGER_ID for m in menus)
    # and is now recognised as a manager
    text = replies(await harness.send(harness.user(MANAGER_ID, "Пётр"), "/help"))[0]
    assert "Вы — менеджер компании «Ромашка»" in text
    # but owner commands stay closed to managers
    assert replies(await harness.send(harness.user(MANAGER_ID, "Пётр"), "/invite")) == [
        OWNER_ONLY.format(command="/invite")
    ]


async def test_used_invite_is_refused(harness: Harness) -> None:
    payload = await invite_payload(harness)
    await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    sent = await harness.send(harness.user(STRANGER_ID, "Чужой"), f"/start {payload}")
    assert INVALID_INVITE in replies(sent)[0]
    again = await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    assert "уже зарегистрированы" in replies(again)[0]


async def test_expired_invite_is_refused(harness: Harness, db: Database) -> None:
    payload = await invite_payload(harness)
    harness.clock.advance(days=7, seconds=1)
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    assert INVALID_INVITE in replies(sent)[0]
    assert await get_member(db, MANAGER_ID) is None


async def test_invite_just_before_expiry_works(harness: Harness) -> None:
    payload = await invite_payload(harness)
    harness.clock.advance(days=6, hours=23, minutes=59)
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    assert "зарегистрированы как менеджер" in replies(sent)[0]


async def test_forged_and_garbage_payloads_are_refused(harness: Harness, db: Database) -> None:
    user = harness.user(STRANGER_ID, "Чужой")
    forged = "i_" + "A" * 24
    sent = await harness.send(user, f"/start {forged}")
    assert INVALID_INVITE in replies(sent)[0]
    for garbage in ("hello", "x_abc", "i_", "<script>", "i_" + "a" * 80, "s_doesnotexist"):
        sent = await harness.send(user, f"/start {garbage}")
        text = replies(sent)[0]
        assert "не действует" in text, garbage
        assert garbage not in text  # nothing of the payload is echoed back
    assert await get_member(db, STRANGER_ID) is None


async def test_owner_opening_an_invite_is_told_to_forward_it(
    harness: Harness, db: Database
) -> None:
    payload = await invite_payload(harness)
    sent = await harness.send(harness.user(OWNER_ID, "Ольга"), f"/start {payload}")
    assert "перешлите ссылку менеджеру" in replies(sent)[0].lower()
    # the invite was not consumed by the owner
    await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    assert (await get_member(db, MANAGER_ID)) is not None


async def test_managers_list_and_deactivate_reactivate(harness: Harness, db: Database) -> None:
    await register_manager(harness, MANAGER_ID, "Пётр")
    await register_manager(harness, 223, "Анна")
    owner = harness.user(OWNER_ID, "Ольга")
    listing = (await harness.send(owner, "/managers"))[0]
    assert isinstance(listing, SendMessage)
    assert "Менеджеры</b> · 30 дней" in listing.text
    assert "<b>Анна</b>" in listing.text and "сделок 0 · опросов 0" in listing.text
    toggles = [b[0] for b in buttons(listing) if "Отключить" in b[0] or "Вернуть" in b[0]]
    assert toggles == ["🚫 Отключить: Анна", "🚫 Отключить: Пётр"]
    assert [b[0] for b in buttons(listing)][:4] == ["7 дней", "• 30 дней", "90 дней", "Этот год"]

    data = button_data(listing, "Пётр")
    sent = await harness.tap(owner, data, as_message(listing))
    answer = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert answer.text == "Пётр: доступ отключён."
    edit = next(r for r in sent if isinstance(r, EditMessageText))
    assert "<b>Пётр</b> (доступ отключён)" in edit.text
    assert [b[0] for b in buttons(edit)][4:] == ["🚫 Отключить: Анна", "✅ Вернуть: Пётр"]
    assert "доступ менеджера в боте компании «Ромашка» отключён" in harness.last_text(MANAGER_ID)
    assert any(
        isinstance(r, DeleteMyCommands) and r.scope.chat_id == MANAGER_ID  # type: ignore[union-attr]
        for r in sent
    )
    # the deactivated manager is now a stranger
    peter = harness.user(MANAGER_ID, "Пётр")
    assert "ссылку на опрос" in replies(await harness.send(peter, "/start"))[0]

    # reactivate
    sent = await harness.tap(owner, button_data(edit, "Вернуть: Пётр"), as_message(listing))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Пётр: доступ возвращён."
    )
    assert "Вы — менеджер" in replies(await harness.send(peter, "/start"))[0]
    assert [m.active for m in await list_managers(db)] == [True, True]


async def test_double_tap_on_deactivate_is_harmless(harness: Harness, db: Database) -> None:
    await register_manager(harness)
    owner = harness.user(OWNER_ID, "Ольга")
    listing = (await harness.send(owner, "/managers"))[0]
    data = button_data(listing, "Пётр")
    await harness.tap(owner, data, as_message(listing))
    harness.session.fail_next(
        "EditMessageText",
        error_code=400,
        description="Bad Request: message is not modified: specified new message content and "
        "reply markup are exactly the same as a current content and reply markup of the message",
    )
    sent = await harness.tap(owner, data, as_message(listing))
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Пётр: доступ отключён."
    )
    member = await get_member(db, MANAGER_ID)
    assert member is not None and not member.active


async def test_forged_manager_button_from_non_owner(harness: Harness, db: Database) -> None:
    await register_manager(harness)
    sent = await harness.tap(harness.user(MANAGER_ID, "Пётр"), f"mg:{MANAGER_ID}:0:30:0")
    answer = next(r for r in sent if isinstance(r, AnswerCallbackQuery))
    assert answer.text == "Эта кнопка больше не действует." and answer.show_alert
    member = await get_member(db, MANAGER_ID)
    assert member is not None and member.active  # nothing changed
    # a forged id from the owner: the same refusal, nothing created
    sent = await harness.tap(harness.user(OWNER_ID, "Ольга"), "mg:999999:0:30:0")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).text == (
        "Эта кнопка больше не действует."
    )
    # garbage callback data
    sent = await harness.tap(harness.user(OWNER_ID, "Ольга"), "mg:abc:zz")
    assert next(r for r in sent if isinstance(r, AnswerCallbackQuery)).show_alert


async def test_names_are_html_escaped(harness: Harness) -> None:
    payload = await invite_payload(harness)
    sent = await harness.send(harness.user(MANAGER_ID, "<b>Вася</b>"), f"/start {payload}")
    assert "&lt;b&gt;Вася&lt;/b&gt;" in replies(sent)[0]
    listing = (await harness.send(harness.user(OWNER_ID, "Ольга"), "/managers"))[0]
    assert "&lt;b&gt;Вася" in listing.text  # type: ignore[union-attr]
    assert buttons(listing)[4][0] == "🚫 Отключить: <b>Вася</b>"  # buttons are plain text


async def test_failed_owner_notification_does_not_break_registration(
    harness: Harness, db: Database
) -> None:
    payload = await invite_payload(harness)
    harness.session.fail_next(
        "SendMessage",
        error_code=403,
        description="Forbidden: bot was blocked by the user",
        chat_id=OWNER_ID,
    )
    sent = await harness.send(harness.user(MANAGER_ID, "Пётр"), f"/start {payload}")
    assert "зарегистрированы как менеджер" in replies(sent)[0]
    assert (await get_member(db, MANAGER_ID)) is not None


async def test_unexpected_error_gets_polite_answer(harness: Harness) -> None:
    harness.session.fail_next(
        "SendMessage", error_code=400, description="Bad Request: something odd", chat_id=OWNER_ID
    )
    sent = await harness.send(harness.user(OWNER_ID, "Ольга"), "/start")
    assert replies(sent)[-1] == (
        "Извините, что-то пошло не так: это не выполнено. "
        "Повторите через минуту или откройте /help."
    )
    # and the bot keeps working
    assert "владелец" in replies(await harness.send(harness.user(OWNER_ID, "Ольга"), "/start"))[0]
