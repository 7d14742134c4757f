"""The survey as the respondent sees it: three questions answered with taps (or a typed score
0-10 and a typed yes/no, taken through the tap's own path), one short hint at most for anything
else, and the question re-asked only once it has scrolled out of sight (`domain.scrolling`).
A lone 0-10 typed at the reason question is never taken as the reason: it is the score sent
twice (or an attempt to change it, which typing cannot do), and gets a hint asking for words.

The survey row in SQLite is the truth about where the person is; the FSM state only routes their
next typed message, and is written in the answer's own transaction (`_Route`), as are a
detractor's alerts: an answer costs one write transaction, whatever follows from it. Buttons
carry the survey id and are re-checked against the person who pressed them, so a forged or
replayed button records nothing.

Every question sent is noted on the survey row (`asked_step`) right after it went out. An update
handled again after a crash (`replayed`), a repeated answer and the catch-up at start-up send the
next question only when the person does not have it yet; only the person asking for it (reopening
the link, "continue", a sticker where a button is expected) gets a question again.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove, ReplyParameters

from domain.clock import Clock
from domain.deeplinks import LinkKind, make_link
from domain.roles import Role
from domain.scrolling import scrolled_away
from domain.settings import Settings
from handlers.filters import not_command
from handlers.phone_input import read_own_phone
from handlers.replies import (
    answer,
    append_note,
    edit_markup,
    edit_message,
    forged,
    send_or_log,
    strip_buttons,
)
from handlers.states import SurveyFlow
from scheduler.alerts import alert_renderer, bring_case_up_to_date, case_update_in, edit_alerts
from scheduler.failures import Failure, classify, describe
from scheduler.sender import Sender
from storage import Database
from storage.cases import AlertUpdate, queue_alerts_in
from storage.fsm import SQLiteStorage
from storage.referral import code_for_contact
from storage.settings import LiveSettings
from storage.surveys import (
    Opened,
    Step,
    Survey,
    get_survey,
    mark_asked,
    open_survey,
    record_consent,
    record_phone,
    record_reason,
    record_score,
    surveys_left_waiting,
)
from views.callbacks import Consent, ReasonSkip, Score, SurveyResume
from views.survey import question, survey_text
from views.texts import pick_language, plain, t

log = logging.getLogger(__name__)

Answered = Callable[[Survey], bool]
"""Whether the survey has the answer a button gives (so a tap that stored nothing was a repeat)."""


def _has_score(survey: Survey) -> bool:
    return survey.score is not None


def _has_reason(survey: Survey) -> bool:
    return survey.reason_at is not None


def _has_consent(survey: Survey) -> bool:
    return survey.consent is not None


def router() -> Router:
    r = Router(name="survey")
    r.callback_query.register(on_score, Score.filter())
    r.callback_query.register(on_reason_skip, ReasonSkip.filter())
    r.callback_query.register(on_consent, Consent.filter())
    r.callback_query.register(on_resume, SurveyResume.filter())
    r.message.register(on_typed_score, SurveyFlow.score, F.text, not_command)
    r.message.register(on_typed_consent, SurveyFlow.consent, F.text, not_command)
    r.message.register(on_reason, SurveyFlow.reason, F.text, not_command)
    r.message.register(on_phone, SurveyFlow.phone, F.contact | (F.text & not_command))
    r.message.register(on_other, StateFilter(SurveyFlow), not_command)
    r.startup.register(catch_up_waiting)
    return r


async def open_link(
    message: Message,
    token: str,
    state: FSMContext,
    bot: Bot,
    role: Role,
    is_staff_record: bool,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    replayed: bool = False,
) -> None:
    """The person opened `t.me/<bot>?start=s_<token>`."""
    user = message.from_user
    assert user is not None
    # Honest figures: nobody in the company answers for a client, including a manager whose
    # access was removed.
    if role.is_staff or is_staff_record:
        await message.answer(t(lang, "survey.staff"))
        return
    route = _Route(state)
    outcome, survey = await open_survey(db, token, user.id, lang, clock(), then=route.then)
    route.settle()
    if replayed and survey is not None and survey.asked_step == survey.step:
        return  # handled before a crash, up to the question: the person has it
    if outcome is Opened.NOT_FOUND:
        await message.answer(t(lang, "link.invalid"))
    elif outcome is Opened.OTHER_ACCOUNT:
        await message.answer(t(lang, "survey.other_account"))
    elif outcome is Opened.ANSWERED:
        await _clear(state)
        await message.answer(t(lang, "survey.already_answered"))
    else:
        assert survey is not None
        if survey.step is Step.SCORE:
            manager = survey.manager_name or t(lang, "survey.manager_fallback")
            greeting = survey_text(
                lang,
                "survey.greeting",
                survey.kind,
                company=settings.company(lang),
                manager=manager,
            )
            await _greet(message, greeting)
        else:
            await _greet(message, survey_text(lang, "survey.resume", survey.kind))
        await ask(bot, user.id, survey, state, lang, settings, db)


async def _greet(message: Message, text: str) -> None:
    """The greeting before the question. If Telegram's answer to it is lost (a timeout: it most
    likely arrived) or it cannot be sent at all, the question still follows: without it the
    person would have nothing to tap and would have to open the link again."""
    try:
        await message.answer(text)
    except Exception as exc:
        if classify(exc) is Failure.FINAL:
            raise
        log.warning("survey greeting not confirmed (%s); the question follows", describe(exc))


async def ask(
    bot: Bot,
    chat_id: int,
    survey: Survey,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    """Ask the question the survey is at, route the person's next message to it, and note that
    it was sent.

    Sent by chat id rather than as a reply, so it works for a button on a message Telegram no
    longer gives us (an "inaccessible" message older than 48 hours)."""
    step = survey.step
    if step is Step.DONE:
        await _clear(state)
        await bot.send_message(chat_id, t(lang, "survey.already_answered"))
        return
    await _put(state, getattr(SurveyFlow, step.value), {"survey_id": survey.id})
    if survey.asked_step == step.value and survey.asked_message_id is not None:
        # The same question asked again (the link reopened, "continue", scrolled away): the
        # old copy loses its buttons, so only the newest can be tapped.
        await strip_buttons(bot, chat_id, survey.asked_message_id)
    text, markup = question(survey, lang, settings)
    sent = await send_or_log(
        bot.send_message(chat_id, text, reply_markup=markup), "survey question"
    )
    await mark_asked(db, survey.id, step, sent.message_id if sent is not None else None)


async def _put(state: FSMContext, step: State | None, data: dict[str, int]) -> None:
    """Route the person's next message: state and data in one statement at most (aiogram's
    `set_state` + `set_data` are two steps), none when the answer's transaction already did."""
    storage = state.storage
    if isinstance(storage, SQLiteStorage):
        await storage.put(state.key, step, data)
    else:
        await state.set_state(step)
        await state.set_data(data)


async def _clear(state: FSMContext) -> None:
    await _put(state, None, {})


class _Route:
    """What an answer's own transaction does besides storing it, in the database thread: route
    the person's next message (the FSM state of the question that follows, none once the survey
    is done), so routing costs no transaction of its own; and for a detractor, queue the staff's
    alerts with the case the score opened (`score`), or bring them up to date with the answer
    (queued ones re-rendered, what came after a delivered one queued as a short message), so the
    answer and what the staff are told commit together. `settle()` once it committed.
    """

    def __init__(
        self,
        state: FSMContext,
        settings: Settings | None = None,
        now: datetime | None = None,
        *,
        score: bool = False,
    ) -> None:
        self._state = state
        storage = state.storage
        self._storage = storage if isinstance(storage, SQLiteStorage) else None
        self._settings = settings
        self._now = now
        self._score = score
        self._staged = False
        self.alerted = 0
        self.update: AlertUpdate | None = None

    def then(self, conn: sqlite3.Connection, survey: Survey) -> None:
        settings, now = self._settings, self._now
        if settings is not None and now is not None and survey.case_id is not None:
            # What the staff are told must never cost the person's answer: should it fail (a
            # bug in a template, a bad row), only it rolls back, and the next tick of the
            # follow-up loop queues the alerts of every case still without them.
            conn.execute("SAVEPOINT alerts")
            try:
                if self._score:
                    renderer = alert_renderer(settings)
                    self.alerted = queue_alerts_in(conn, settings.owner_ids, now, renderer)
                if not self.alerted:
                    self.update = case_update_in(conn, settings, survey.case_id, now)
            except Exception:
                conn.execute("ROLLBACK TO alerts")
                self.alerted, self.update = 0, None
                log.exception("case %d: alerts left to the next tick", survey.case_id)
            conn.execute("RELEASE alerts")
        if self._storage is None:
            return
        if survey.step is Step.DONE:
            self._storage.stage(conn, self._state.key, None, {})
        else:
            next_state = getattr(SurveyFlow, survey.step.value)
            self._storage.stage(conn, self._state.key, next_state, {"survey_id": survey.id})
        self._staged = True

    def settle(self) -> None:
        if self._staged and self._storage is not None:
            self._storage.settle(self._state.key)


async def _close_question(query: CallbackQuery, note: str) -> None:
    """Replace a question's buttons by the answer given, so it cannot be tapped again."""
    await append_note(query, note)


async def _after_answer(
    bot: Bot,
    chat_id: int,
    survey: Survey,
    route: _Route,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    """Edit the detractor's delivered alerts to the answer (their queued ones and what came
    after were written with it), then ask the next question or say thank you."""
    update = route.update
    if route.alerted or (update is not None and update.told):
        sender.kick()
    if update is not None and survey.case_id is not None:
        await edit_alerts(bot, survey.case_id, update)
    await deliver_next(bot, chat_id, survey, state, lang, settings, db)


async def deliver_next(
    bot: Bot,
    chat_id: int,
    survey: Survey,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    """What follows the last answer: the next question, or the closing thank-you."""
    if survey.step is not Step.DONE:
        await ask(bot, chat_id, survey, state, lang, settings, db)
        return
    await _clear(state)
    if survey.category == "detractor":
        base = "survey.thanks_detractor" if survey.consent else "survey.thanks_detractor_nocontact"
    else:
        base = f"survey.thanks_{survey.category}"
    text = survey_text(lang, base, survey.kind)
    if survey.category == "promoter" and survey.consent:
        # Method 8: a promoter who agreed to contact gets a personal code; whoever comes with
        # it is attributed to them.
        code = survey.referral_code or await code_for_contact(db, survey.contact_id)
        me = await bot.me()
        link = make_link(me.username or "", LinkKind.REFERRAL, code)
        text += survey_text(lang, "referral.thanks", survey.kind, code=code, link=link)
    thanks = bot.send_message(chat_id, text, reply_markup=ReplyKeyboardRemove())
    await send_or_log(thanks, "survey thanks")
    await mark_asked(db, survey.id, Step.DONE)


async def _catch_up(
    bot: Bot,
    chat_id: int,
    survey_id: int,
    user_id: int,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock | None = None,
) -> None:
    """An answer already stored (a double tap, or an update handled again after a crash): send
    what follows it only if the person does not have it yet. A detractor's case is brought up
    to date again (with `clock`): the crash may have come before its alerts were, and what was
    already told is not told twice."""
    survey = await get_survey(db, survey_id)
    if survey is None or survey.respondent_tg_id != user_id:
        return
    if clock is not None and survey.category == "detractor" and survey.case_id is not None:
        await bring_case_up_to_date(db, bot, settings, survey.case_id, clock())
    if survey.asked_step == survey.step:
        return
    await deliver_next(bot, chat_id, survey, state, lang, settings, db)


async def catch_up_waiting(
    bot: Bot, dispatcher: Dispatcher, db: Database, live_settings: LiveSettings
) -> None:
    """At start-up: everyone whose answer was stored but whose next question never went out
    (the process died in between) gets it now, once."""
    waiting = await surveys_left_waiting(db)
    if not waiting:
        return
    settings = await live_settings.get()
    sent = 0
    for survey in waiting:
        user_id = survey.respondent_tg_id
        assert user_id is not None
        lang = pick_language(survey.language, settings.default_language)
        key = StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id)
        state = FSMContext(storage=dispatcher.storage, key=key)
        try:
            await deliver_next(bot, user_id, survey, state, lang, settings, db)
            sent += 1
        except TelegramForbiddenError:
            log.info("survey %s: the respondent blocked the bot; not asked", survey.id)
            await mark_asked(db, survey.id, survey.step)
        except Exception:  # the next start tries again
            log.exception("survey %s: the waiting question could not be sent", survey.id)
    log.info(
        "after the restart: %d of %d waiting respondents got their question", sent, len(waiting)
    )


async def _resume(
    bot: Bot,
    chat_id: int,
    survey_id: int,
    user_id: int,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    """A stale or repeated answer: show the person where their survey really is."""
    survey = await get_survey(db, survey_id)
    if survey is None or survey.respondent_tg_id != user_id:
        await _clear(state)
        return
    await ask(bot, chat_id, survey, state, lang, settings, db)


async def _answered_before(
    query: CallbackQuery,
    survey_id: int,
    answered: Answered,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock | None = None,
) -> None:
    """A tap that stored nothing; if it was the person's own answer, stored by a first tap that a
    crash cut short, the next question goes out now unless it already did."""
    await _not_recorded(query, survey_id, lang, db, answered)
    await _catch_up(
        bot, query.from_user.id, survey_id, query.from_user.id, state, lang, settings, db, clock
    )


async def _not_recorded(
    query: CallbackQuery, survey_id: int, lang: str, db: Database, answered: Answered
) -> None:
    """A tap that stored nothing, answered with what is true: "your answer is already recorded"
    only to the respondent who did answer that question (a double tap, an old message);
    "this button is not for you" to anyone else (somebody else's survey, one nobody opened, a
    forged id); "no longer works" for a button of the person's own survey that never asked it."""
    survey = await get_survey(db, survey_id)
    if survey is None or survey.respondent_tg_id != query.from_user.id:
        await answer(query, plain(lang, "survey.not_yours"), alert=True)
    elif answered(survey):
        await answer(query, plain(lang, "survey.done_already"))
    else:
        await forged(query, lang)


async def _survey_id(state: FSMContext) -> int | None:
    value = (await state.get_data()).get("survey_id")
    return value if isinstance(value, int) else None


async def on_score(
    query: CallbackQuery,
    callback_data: Score,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    if not 0 <= callback_data.score <= 10:
        await forged(query, lang)
        return
    user_id = query.from_user.id
    taken = await _take_score(
        callback_data.survey_id, user_id, callback_data.score, state, settings, db, clock
    )
    if taken is None:  # a double tap, an old message, or somebody else's survey
        await _answered_before(
            query, callback_data.survey_id, _has_score, bot, state, lang, settings, db, clock
        )
        return
    survey, route = taken
    await answer(query)
    await _close_question(query, t(lang, "survey.score_given", score=callback_data.score))
    await _after_answer(bot, user_id, survey, route, state, lang, settings, db, clock, sender)


async def _take_score(
    survey_id: int,
    user_id: int,
    score: int,
    state: FSMContext,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> tuple[Survey, _Route] | None:
    """Store a score, tapped or typed: one path, so both are idempotent and alert alike."""
    now = clock()
    route = _Route(state, settings, now, score=True)
    survey = await record_score(db, survey_id, user_id, score, now, then=route.then)
    if survey is None:
        return None
    route.settle()
    return survey, route


async def _take_consent(
    survey_id: int,
    user_id: int,
    yes: bool,
    state: FSMContext,
    settings: Settings,
    db: Database,
    clock: Clock,
) -> tuple[Survey, _Route] | None:
    """Store the consent, tapped or typed (see `_take_score`)."""
    now = clock()
    route = _Route(state, settings, now)
    survey = await record_consent(db, survey_id, user_id, yes, now, then=route.then)
    if survey is None:
        return None
    route.settle()
    return survey, route


async def on_reason_skip(
    query: CallbackQuery,
    callback_data: ReasonSkip,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    user_id = query.from_user.id
    now = clock()
    route = _Route(state, settings, now)
    survey = await record_reason(db, callback_data.survey_id, user_id, None, now, then=route.then)
    if survey is None:
        await _answered_before(
            query, callback_data.survey_id, _has_reason, bot, state, lang, settings, db, clock
        )
        return
    route.settle()
    await answer(query)
    await _close_question(query, t(lang, "survey.reason_skipped"))
    await _after_answer(bot, user_id, survey, route, state, lang, settings, db, clock, sender)


async def on_reason(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
    replayed: bool = False,
) -> None:
    assert message.from_user is not None and message.text is not None
    user_id = message.from_user.id
    number = typed_score(message.text)
    if number is not None:
        # A lone 0-10 is the score typed again (or an attempt to change it), not a reason.
        await on_other(
            message, bot, state, lang, settings, db, replayed, clock,
            hint=lambda survey: _number_at_reason(survey, number, lang),
        )  # fmt: skip
        return
    survey_id = await _survey_id(state)
    if survey_id is None:
        await _clear(state)
        return
    text = message.text.strip()
    now = clock()
    route = _Route(state, settings, now)
    survey = await record_reason(db, survey_id, user_id, text or None, now, then=route.then)
    if survey is None:
        await _catch_up(bot, message.chat.id, survey_id, user_id, state, lang, settings, db, clock)
        return
    route.settle()
    if survey.asked_message_id is not None:  # the typed reason is below it: "Skip" goes
        await strip_buttons(bot, message.chat.id, survey.asked_message_id)
    await _after_answer(
        bot, message.chat.id, survey, route, state, lang, settings, db, clock, sender
    )


async def on_consent(
    query: CallbackQuery,
    callback_data: Consent,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    user_id = query.from_user.id
    taken = await _take_consent(
        callback_data.survey_id, user_id, callback_data.yes, state, settings, db, clock
    )
    if taken is None:
        await _answered_before(
            query, callback_data.survey_id, _has_consent, bot, state, lang, settings, db, clock
        )
        return
    survey, route = taken
    await answer(query)
    given = t(lang, "survey.btn_yes" if callback_data.yes else "survey.btn_no")
    await _close_question(query, t(lang, "survey.consent_given", answer=given))
    await _after_answer(bot, user_id, survey, route, state, lang, settings, db, clock, sender)


# Typed answers taken as taps: only what cannot mean anything else. A score is a whole number
# 0-10 alone in the message (spaces around it allowed; "9/10", "9.5", "девять" are not taken);
# the consent is one word, yes or no, in either language and any case.
_TYPED_SCORE = re.compile(r"\s*(10|[0-9])\s*")
_TYPED_CONSENT = {"да": True, "yes": True, "нет": False, "no": False}


def typed_score(text: str) -> int | None:
    match = _TYPED_SCORE.fullmatch(text)
    return int(match.group(1)) if match else None


def typed_consent(text: str) -> bool | None:
    return _TYPED_CONSENT.get(text.strip().casefold())


async def _close_typed(
    bot: Bot, chat_id: int, survey: Survey, asked: Survey, note: str, lang: str, settings: Settings
) -> None:
    """A typed answer closes its question as a tap does: the answer noted, the buttons gone.
    `asked` is the survey as it was when the question was asked (to render its text)."""
    if survey.asked_message_id is None:
        return
    text, _ = question(asked, lang, settings)
    await edit_message(bot, chat_id, survey.asked_message_id, f"{text}\n\n<i>{note}</i>")


async def on_typed_score(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
    replayed: bool = False,
) -> None:
    assert message.text is not None
    score = typed_score(message.text)
    await _typed_answer(
        message, bot, state, lang, settings, db, clock, sender, replayed,
        given=score,
        take=_take_score,
        unasked=lambda survey: replace(survey, score=None),
        note=lambda: t(lang, "survey.score_given", score=score),
    )  # fmt: skip


async def on_typed_consent(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
    replayed: bool = False,
) -> None:
    assert message.text is not None
    yes = typed_consent(message.text)
    await _typed_answer(
        message, bot, state, lang, settings, db, clock, sender, replayed,
        given=yes,
        take=_take_consent,
        unasked=lambda survey: replace(survey, consent=None, answered_at=None),
        note=lambda: t(
            lang,
            "survey.consent_given",
            answer=t(lang, "survey.btn_yes" if yes else "survey.btn_no"),
        ),
    )  # fmt: skip


async def _typed_answer(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
    replayed: bool,
    *,
    given: int | bool | None,
    take: Callable[..., Awaitable[tuple[Survey, _Route] | None]],
    unasked: Callable[[Survey], Survey],
    note: Callable[[], str],
) -> None:
    """A typed answer taken as the tap on its button would be (`take`, the tap's own storage
    path); anything that does not read as one (`given` None) is a wrong input. `unasked` is the
    survey as it was when the question was asked (to render its text), `note` what was given."""
    assert message.from_user is not None
    survey_id = await _survey_id(state)
    if given is None or survey_id is None:
        await on_other(message, bot, state, lang, settings, db, replayed, clock)
        return
    user_id, chat_id = message.from_user.id, message.chat.id
    taken = await take(survey_id, user_id, given, state, settings, db, clock)
    if taken is None:
        await _catch_up(bot, chat_id, survey_id, user_id, state, lang, settings, db, clock)
        return
    survey, route = taken
    await _close_typed(bot, chat_id, survey, unasked(survey), note(), lang, settings)
    await _after_answer(bot, chat_id, survey, route, state, lang, settings, db, clock, sender)


async def _store_phone(
    message: Message,
    phone: str | None,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    assert message.from_user is not None
    user_id = message.from_user.id
    survey_id = await _survey_id(state)
    if survey_id is None:
        await _clear(state)
        return
    now = clock()
    route = _Route(state, settings, now)
    survey = await record_phone(db, survey_id, user_id, phone, now, then=route.then)
    if survey is None:
        await _catch_up(bot, message.chat.id, survey_id, user_id, state, lang, settings, db, clock)
        return
    route.settle()
    await _after_answer(
        bot, message.chat.id, survey, route, state, lang, settings, db, clock, sender
    )


async def on_phone(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    reply = await read_own_phone(message, lang, settings)
    if reply is not None:
        await _store_phone(message, reply.phone, bot, state, lang, settings, db, clock, sender)


_HINTS = {
    Step.SCORE: "survey.hint_score",
    Step.REASON: "survey.text_expected",
    Step.CONSENT: "survey.hint_consent",
    Step.PHONE: "survey.use_buttons",
}


def _number_at_reason(survey: Survey, number: int, lang: str) -> str | None:
    """The hint for a lone number typed at the reason question: the score once more gets the
    question's own hint; another number is told that the score is taken and words are wanted
    (typing cannot change a score). None at any other question: its own hint."""
    if survey.step is not Step.REASON:
        return None
    if survey.score is None or survey.score == number:
        return t(lang, _HINTS[Step.REASON])
    return t(lang, "survey.hint_reason_number", score=survey.score)


async def on_other(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    replayed: bool = False,
    clock: Clock | None = None,
    *,
    hint: Callable[[Survey], str | None] | None = None,
) -> None:
    """A sticker, photo or text where a button is expected: one short line at most, and the
    question's buttons stay where they are.

    While the question is in sight (`domain.scrolling`), the first wrong input gets a short hint
    that quotes the question (a reply to it), and further ones nothing: the person has been told
    once, and every reply would push the question further up. Once it has scrolled away, the
    question itself is asked again at the bottom and the old one loses its buttons.

    Handled again after a crash, this is usually the person's answer itself, routed here because
    the state had already moved on: no hint then, only the question if it never went out.
    `hint` may give another text than the question's own for this input (None: the own); the
    dispatcher never passes it (no such key in its data), only `on_reason` does."""
    assert message.from_user is not None
    user_id = message.from_user.id
    survey_id = await _survey_id(state)
    if replayed:
        if survey_id is not None:
            await _catch_up(
                bot, message.chat.id, survey_id, user_id, state, lang, settings, db, clock
            )
        return
    survey = await get_survey(db, survey_id) if survey_id is not None else None
    if survey is None or survey.respondent_tg_id != user_id:
        await _clear(state)
        await message.answer(t(lang, "survey.use_buttons"))
        return
    step = survey.step
    shown = survey.asked_message_id if survey.asked_step == step.value else None
    if step is Step.DONE or scrolled_away(shown, message.message_id):
        await ask(bot, message.chat.id, survey, state, lang, settings, db)
        return
    assert shown is not None
    data = await state.get_data()
    if data.get("hinted") == shown:
        return  # told once, the question is in sight
    quote = ReplyParameters(message_id=shown, allow_sending_without_reply=True)
    text = (hint(survey) if hint is not None else None) or t(lang, _HINTS[step])
    await message.answer(text, reply_parameters=quote)
    await _put(state, getattr(SurveyFlow, step.value), {"survey_id": survey.id, "hinted": shown})


async def on_resume(
    query: CallbackQuery,
    callback_data: SurveyResume,
    bot: Bot,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    replayed: bool = False,
) -> None:
    """ "Continue the survey" on the gentle nudge."""
    survey = await get_survey(db, callback_data.survey_id)
    if survey is None or survey.respondent_tg_id != query.from_user.id:
        await forged(query, lang)
        return
    if replayed and survey.asked_step == survey.step:
        return
    await answer(query)
    await edit_markup(query, None)  # the nudge's button has done its work
    await ask(bot, query.from_user.id, survey, state, lang, settings, db)
