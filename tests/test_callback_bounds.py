"""Callback data as stored data and as attack surface: the prefixes and field order pinned (buttons
already in chats and in outbox rows hold them), the bounds every field has, the forged buttons of
issue 10 answered as "no longer works" for every role, and Telegram's refusals of an edit or an
answer ("message is not modified", "message to edit not found", "query is too old") handled in
one place (handlers/replies.py), which no handler goes around."""

from __future__ import annotations

import ast
import typing
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
)
from aiogram.types import ErrorEvent

import bot.app
from domain import tunables
from domain.vocabulary import KINDS
from handlers.reports import PERIODS
from handlers.sale import FIELD_STATE, SKIPPABLE
from storage import Database
from storage.comments import CATEGORIES
from storage.settings import LiveSettings
from tests.conftest import OWNER_ID
from tests.harness import Harness, as_message, button_data
from tests.helpers.callbacks import GENERIC, all_factories, refusal, refusal_as, texts
from tests.helpers.cases import add_manager, detractor
from tests.helpers.survey import CLIENT_ID, MANAGER_ID
from views import callbacks
from views.settings import encode

HUGE = "99999999999999999999"  # beyond SQLite's signed 64-bit INTEGER
STRANGER = 999

# prefix and field order of every CallbackData: changing one breaks the buttons people have.
PINNED: dict[str, tuple[str, tuple[str, ...]]] = {
    "ManagerToggle": ("mg", ("user_id", "active", "period", "page")),
    "SaleKind": ("sk", ("kind",)),
    "SaleSkip": ("ss", ("field",)),
    "SaleDate": ("sd", ("day",)),
    "SaleAction": ("sa", ("action",)),
    "Score": ("q1", ("survey_id", "score")),
    "ReasonSkip": ("q2", ("survey_id",)),
    "Consent": ("q3", ("survey_id", "yes")),
    "CaseTake": ("ct", ("case_id",)),
    "NpsView": ("nv", ("period", "kind", "manager")),
    "NpsPickManager": ("nm", ("period", "kind")),
    "ManagersPeriod": ("ms", ("period", "page")),
    "CommentsView": ("cm", ("category", "kind", "page", "anchor", "back")),
    "AnswerText": ("aw", ("survey_id",)),
    "CaseReason": ("kw", ("case_id",)),
    "PlanPage": ("pp", ("page",)),
    "TaskOpen": ("to", ("task_id", "page")),
    "TaskAct": ("ta", ("task_id", "action", "page")),
    "SurveyResume": ("sr", ("survey_id",)),
    "FindOpen": ("fc", ("contact_id",)),
    "FindDeal": ("fn", ("contact_id",)),
    "FindComment": ("fm", ("contact_id",)),
    "FindBirthday": ("fb", ("contact_id",)),
    "CaseList": ("kl", ("page",)),
    "CaseOpen": ("ko", ("case_id", "page")),
    "CaseAct": ("ka", ("case_id", "action", "page")),
    "CaseConfirm": ("kc", ("case_id", "yes")),
    "ExportPeriod": ("xp", ("period",)),
    "SettingOpen": ("so", ("key",)),
    "SettingPick": ("sv", ("key", "value")),
    "SettingDay": ("sw", ("day", "on")),
    "SettingReset": ("sz", ("key",)),
    "ForgetMe": ("fg", ("yes",)),
    "ForgetContact": ("fo", ("contact_id", "action")),
    "CrmMenu": ("cr", ("action",)),
    "CrmDisconnect": ("cx", ("connection_id",)),
    "CrmUserPick": ("cu", ("connection_id", "user")),
    "CrmUserMatch": ("cz", ("connection_id", "user", "staff_id")),
    "ApiTokenAction": ("at", ("action", "scope", "token_id")),
    "HooksMenu": ("hooks", ("action",)),
    "HookAct": ("hk", ("action", "endpoint_id", "arg")),
}


def test_prefixes_and_field_order_are_pinned() -> None:
    found = {
        name: (cls.__prefix__, tuple(cls.model_fields)) for name, cls in all_factories().items()
    }
    assert found == PINNED
    prefixes = [prefix for prefix, _ in PINNED.values()]
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize(
    ("button", "packed"),
    [
        (callbacks.Score(survey_id=5, score=10), "q1:5:10"),
        (callbacks.Consent(survey_id=5, yes=True), "q3:5:1"),
        (callbacks.TaskAct(task_id=7, action="stdate"), "ta:7:stdate:0"),
        (callbacks.CaseAct(case_id=3, action="reopen", page=2), "ka:3:reopen:2"),
        (callbacks.NpsView(period="m2026-11", kind="all", manager=0), "nv:m2026-11:all:0"),
        (callbacks.SaleDate(day="2026-11-20"), "sd:2026-11-20"),
        (callbacks.SettingPick(key="digest_time", value="08.00"), "sv:digest_time:08.00"),
        (callbacks.SettingDay(day=6, on=False), "sw:6:0"),
        (callbacks.ForgetContact(contact_id=9, action="ask"), "fo:9:ask"),
        (callbacks.ManagerToggle(user_id=2**40, active=False), f"mg:{2**40}:0:30:0"),
        (callbacks.ManagersPeriod(period="y", page=2), "ms:y:2"),
        (callbacks.CommentsView(category="all", kind="all", page=0), "cm:all:all:0:0:0"),
        (
            callbacks.CommentsView(
                category="detractor", kind="contractor", page=3, anchor=77, back=True
            ),
            "cm:detractor:contractor:3:77:1",
        ),
        (callbacks.AnswerText(survey_id=5), "aw:5"),
        (callbacks.CaseReason(case_id=5), "kw:5"),
    ],
)
def test_buttons_pack_as_they_always_did(button: CallbackData, packed: str) -> None:
    assert button.pack() == packed
    assert type(button).unpack(packed) == button


def test_the_longest_buttons_with_pages_fit_telegrams_64_bytes() -> None:
    longest = [
        callbacks.CommentsView(
            category="detractor",
            kind="contractor",
            page=callbacks.MAX_PAGE,
            anchor=callbacks.SQLITE_MAX_INT,
            back=True,
        ),
        callbacks.ManagerToggle(
            user_id=callbacks.SQLITE_MAX_INT,
            active=True,
            period="m2026-11",
            page=callbacks.MAX_PAGE,
        ),
        callbacks.ManagersPeriod(period="m2026-11", page=callbacks.MAX_PAGE),
    ]
    assert [len(b.pack().encode()) <= 64 for b in longest] == [True] * len(longest)


def literal(cls: type[CallbackData], field: str) -> set[str]:
    return set(typing.get_args(cls.model_fields[field].annotation))


def test_enum_fields_list_exactly_what_the_bot_offers() -> None:
    assert literal(callbacks.SaleKind, "kind") == set(KINDS)
    assert literal(callbacks.NpsView, "kind") == {"all", *KINDS}
    assert literal(callbacks.CommentsView, "category") == set(CATEGORIES)
    assert literal(callbacks.SaleSkip, "field") == set(SKIPPABLE)
    assert literal(callbacks.SaleAction, "action") == {"save", "cancel", "rest", *FIELD_STATE}
    assert literal(callbacks.ExportPeriod, "period") == set(PERIODS)
    assert literal(callbacks.SettingReset, "key") == set(tunables.KEYS)
    assert literal(callbacks.SettingOpen, "key") == {"card", *tunables.KEYS}
    assert literal(callbacks.SettingPick, "key") == {*tunables.PRESETS, tunables.LANGUAGE}
    presets = {encode(v) for values in tunables.PRESETS.values() for v in values}
    assert literal(callbacks.SettingPick, "value") == presets | {"ru", "en"}


@pytest.mark.parametrize(
    "data",
    [
        f"q1:{HUGE}:5",
        "q1:1:11",
        "q1:1:-1",
        "q1:0:5",
        "q1:-5:5",
        "q1:abc:5",
        "q1:1.5:5",
        "q1:1",
        "q1:1:5:7",
        f"q2:{HUGE}",
        f"q3:{HUGE}:1",
        "q3:1:maybe",
        f"sr:{HUGE}",
        f"ct:{HUGE}",
        f"ko:{HUGE}:0",
        "ko:1:-1",
        f"ko:1:{HUGE}",
        f"ka:{HUGE}:take:0",
        "ka:1:delete:0",
        f"kc:{HUGE}:1",
        f"kl:{HUGE}",
        f"to:{HUGE}:0",
        f"ta:{HUGE}:done:0",
        "ta:1:explode:0",
        f"pp:{HUGE}",
        f"fc:{HUGE}",
        f"fn:{HUGE}",
        f"fm:{HUGE}",
        f"fb:{HUGE}",
        f"fo:{HUGE}:yes",
        "fo:1:burn",
        f"mg:{HUGE}:0:30:0",
        f"mg:1:0:30:{HUGE}",
        "mg:1:0:31:0",
        f"ms:30:{HUGE}",
        "ms:30:-1",
        f"nv:30:all:{HUGE}",
        "nv:30:all:-1",
        "nv:31:all:0",
        "nv:30:alien:0",
        f"cm:all:all:{HUGE}:0:0",
        "cm:all:all:-1:0:0",
        "cm:happy:all:0:0:0",
        f"cm:all:all:1:{HUGE}:0",
        "cm:all:all:1:-5:0",
        "cm:all:all:1:5:maybe",
        "cm:all:all:1",  # a button from before /comments paged by key
        f"aw:{HUGE}",
        "aw:0",
        f"kw:{HUGE}",
        "kw:0",
        "sd:2026-02-30",
        "sd:20261120",
        "sk:friend",
        "ss:name",
        "sa:drop",
        "xp:1000",
        "so:bot_token",
        "sv:digest_time:07.00",
        "sw:7:1",
        "sz:bot_token",
        "fg:2",
        f"hk:open:{HUGE}:0",
        "hk:open:0:0",
        "hk:ev:1:8",
        "hk:open:1:3",
        "hk:burn:1:0",
        "hk:open:1",
        "hooks:drop",
        "hooks:menu:1",
        "",
        "x" * 200,
        "q1:" + "9" * 5000 + ":5",  # longer than Telegram allows, and than int() parses
    ],
)
async def test_forged_buttons_are_refused_alike_for_everybody(
    world: Harness, errors: list[BaseException], data: str
) -> None:
    for who in (OWNER_ID, MANAGER_ID, CLIENT_ID, STRANGER):
        sent = await world.tap(world.user(who, "Кто-то"), data)
        assert errors == []
        assert refusal(sent), (who, sent)


async def test_a_well_formed_button_for_somebody_elses_record_is_refused_too(
    world: Harness, errors: list[BaseException]
) -> None:
    """In range, but not the presser's: a refusal (not "already recorded"); a survey's button
    says so in words ("this button is not for you")."""
    for who, data in [
        (STRANGER, "q1:1:5"),  # Anna's survey
        (STRANGER, "q2:1"),
        (STRANGER, "q3:1:1"),
        (CLIENT_ID, "q1:424242:5"),  # no such survey
    ]:
        sent = await world.tap(world.user(who, "Кто-то"), data)
        assert refusal_as(sent, "Эта кнопка не для вас."), (who, data)
    for who, data in [
        (STRANGER, "kc:1:1"),  # a case about Anna
        (MANAGER_ID, "kc:1:0"),
        (OWNER_ID, "mg:424242:1:30:0"),  # no such manager
        (OWNER_ID, f"mg:{CLIENT_ID}:0:30:0"),  # not a manager at all
        (OWNER_ID, "mg:424242:1"),  # a button from before /managers had pages
        (OWNER_ID, "aw:424242"),  # no such answer
        (OWNER_ID, "kw:424242"),  # no such case
        (OWNER_ID, "cm:all:all:1:424242:0"),  # no such answer to page from
        (OWNER_ID, "hk:open:424242:0"),  # no such webhook URL
        (OWNER_ID, "hk:delok:424242:0"),
        (MANAGER_ID, "hooks:menu"),  # webhooks are the owners'
        (CLIENT_ID, "hooks:add"),
    ]:
        assert refusal(await world.tap(world.user(who, "Кто-то"), data)), (who, data)
    assert errors == []
    # Anna's own repeat is still "already recorded"
    sent = await world.tap(world.user(CLIENT_ID, "Анна"), "q1:1:5")
    assert [r.text for r in sent if isinstance(r, AnswerCallbackQuery)] == [
        "Ответ уже записан, спасибо."
    ]


# --- Telegram's refusals ---------------------------------------------------------------------


async def test_double_tap_on_manager_under_nps_is_not_an_error(
    world: Harness, errors: list[BaseException]
) -> None:
    owner = world.user(OWNER_ID, "Ольга")
    (report,) = [r for r in await world.send(owner, "/nps") if isinstance(r, SendMessage)]
    data = button_data(report, "👤")
    first = await world.tap(owner, data, as_message(report))
    assert any(isinstance(r, EditMessageReplyMarkup) for r in first)
    # the second tap asks for the very same buttons: Telegram refuses the identical edit
    world.session.fail_next(
        "EditMessageReplyMarkup",
        error_code=400,
        description="Bad Request: message is not modified: specified new message content and "
        "reply markup are exactly the same as a current content and reply markup of the message",
    )
    second = await world.tap(owner, data, as_message(report))
    assert errors == []
    assert [type(r) for r in second] == [AnswerCallbackQuery, EditMessageReplyMarkup]
    assert second[0].text is None  # answered quietly, as the first tap was
    assert GENERIC not in texts(second)


async def test_an_edit_telegram_cannot_make_is_sent_anew(
    world: Harness, errors: list[BaseException]
) -> None:
    owner = world.user(OWNER_ID, "Ольга")
    world.session.fail_next(
        "EditMessageText", error_code=400, description="Bad Request: message to edit not found"
    )
    sent = await world.tap(owner, "kl:0")
    assert errors == []
    assert [type(r) for r in sent] == [AnswerCallbackQuery, EditMessageText, SendMessage]
    assert sent[1].text == sent[2].text and "Открытые случаи: 1" in sent[2].text


async def test_a_view_tapped_twice_is_not_sent_again(
    world: Harness, errors: list[BaseException]
) -> None:
    owner = world.user(OWNER_ID, "Ольга")
    world.session.fail_next(
        "EditMessageText", error_code=400, description="Bad Request: message is not modified"
    )
    sent = await world.tap(owner, "kl:0")
    assert errors == []
    assert [type(r) for r in sent] == [AnswerCallbackQuery, EditMessageText]


async def test_a_tap_answered_too_late_still_does_its_work(
    world: Harness, errors: list[BaseException]
) -> None:
    """The bot was busy (or restarting) for longer than Telegram waits for an answer."""
    owner = world.user(OWNER_ID, "Ольга")
    world.session.fail_next(
        "AnswerCallbackQuery",
        error_code=400,
        description="Bad Request: query is too old and response timeout expired or query ID is "
        "invalid",
    )
    sent = await world.tap(owner, "kl:0")
    assert errors == []
    assert "Открытые случаи: 1" in texts(sent)[0]
    # a refused forged-button alert is only logged too
    world.session.fail_next(
        "AnswerCallbackQuery", error_code=400, description="Bad Request: query ID is invalid"
    )
    sent = await world.tap(owner, f"kl:{HUGE}")
    assert errors == [] and GENERIC not in texts(sent)


async def test_other_refusals_still_reach_the_error_handler(
    world: Harness, errors: list[BaseException]
) -> None:
    """Only the refusals named above are swallowed: a real failure is not hidden."""
    world.session.fail_next(
        "AnswerCallbackQuery", error_code=400, description="Bad Request: BUTTON_DATA_INVALID"
    )
    await world.tap(world.user(OWNER_ID, "Ольга"), "kl:0")
    assert len(errors) == 1


def test_no_handler_calls_telegram_around_the_shared_helpers() -> None:
    """Answers and edits of a tapped message go through handlers/replies.py only."""
    guarded = {"answer", "edit_text", "edit_reply_markup", "edit_caption"}
    direct = {"edit_message_text", "edit_message_reply_markup", "edit_message_caption"}
    offenders = []
    for path in sorted((Path(__file__).parents[1] / "handlers").glob("*.py")):
        if path.name == "replies.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = ast.unparse(node.func.value)
            name = node.func.attr
            tapped = owner.endswith("query") if name == "answer" else "query" in owner
            if (name in guarded and tapped) or name in direct:
                offenders.append(f"{path}:{node.lineno} {ast.unparse(node.func)}")
    assert offenders == []


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Every exception that reached the error handler (the dispatcher is built after this)."""
    caught: list[BaseException] = []
    real = bot.app.on_error

    async def recording(event: ErrorEvent, bot: Bot, live_settings: LiveSettings) -> bool:
        caught.append(event.exception)
        return await real(event, bot, live_settings)

    monkeypatch.setattr(bot.app, "on_error", recording)
    return caught


@pytest.fixture
async def world(
    errors: list[BaseException], harness: Harness, db: Database
) -> AsyncIterator[Harness]:
    """An owner, a manager, and Anna (a client) whose detractor answer opened case 1."""
    await add_manager(db, MANAGER_ID, "Пётр Иванов", harness.clock())
    await detractor(harness, db)
    yield harness
