"""A bare aiogram 3 bot that runs the same survey as ours: the yardstick of bench/bench_updates.py.

    BOT_TOKEN=… TELEGRAM_API_URL=http://127.0.0.1:8081 python -m bench.bare_bot

What aiogram's own examples do and nothing more: a plain ``Dispatcher`` with ``MemoryStorage``,
``dp.start_polling``, one router, logging at INFO, no database. It makes the same Telegram calls
per survey as ours, of the same kinds, in the same order and with texts and keyboards of about
the same size (the texts are copies of views/texts/ru.py's survey texts):

    /start s_<token>  → sendMessage (greeting), sendMessage (question 1, 11 score buttons)
    tap a score       → answerCallbackQuery, editMessageText (the score shown, buttons gone),
                        sendMessage (question 2, a "skip" button)
    the reason, typed → editMessageReplyMarkup ("skip" taken off question 2), sendMessage
                        (question 3, yes / no)
    or "skip" tapped  → answerCallbackQuery, editMessageText ("no comment"), sendMessage (q. 3)
    tap yes or no     → answerCallbackQuery, editMessageText, sendMessage (thanks, removing
                        any reply keyboard)

The one non-obvious decision: the state is set before the question is sent, not after. With
``start_polling``'s default (each update a task, the next getUpdates at once) a respondent who
answers as soon as the question arrives would otherwise race the end of the handler that asked.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)

COMPANY = "Ромашка"
GREETING = (
    f"Здравствуйте! Это «{COMPANY}». Ольга просит вас ответить на три коротких вопроса — "
    "это займёт полминуты. Ваши ответы видят только сотрудники компании."
)
Q1 = (
    f"1 из 3. Насколько вероятно, что вы порекомендуете «{COMPANY}» друзьям и коллегам?\n"
    "0 — точно нет, 10 — обязательно порекомендую."
)
Q2 = {
    "promoter": (
        "2 из 3. Спасибо! Что вы цените в нас больше всего? Напишите одним сообщением "
        "или нажмите «Пропустить»."
    ),
    "passive": (
        "2 из 3. Спасибо! Что нам сделать, чтобы в следующий раз вы поставили 10? Напишите "
        "одним сообщением или нажмите «Пропустить»."
    ),
    "detractor": (
        "2 из 3. Спасибо за честность. Что вас разочаровало? Напишите одним сообщением — "
        "мы разберёмся. Или нажмите «Пропустить»."
    ),
}
Q3 = "3 из 3. Можно ли связаться с вами, если у нас будут вопросы о качестве обслуживания?"
NO_CONTACT = (
    "Спасибо, что рассказали. Нам жаль, что так вышло. Мы обязательно разберёмся и примем меры."
)
REFERRAL = (
    "\n\nВаш личный код рекомендации: <b>{code}</b>. Если посоветуете нас друзьям, "
    "перешлите им эту ссылку — мы будем знать, что их привели вы:\n{link}"
)
THANKS = {
    "promoter": "Спасибо за высокую оценку! Нам очень приятно. Будем рады видеть вас снова.",
    "passive": "Спасибо за ответы! Мы учтём ваше мнение, чтобы стать лучше.",
    "detractor": (
        "Спасибо, что рассказали. Нам жаль, что так вышло. В ближайшее время с вами свяжется "
        "сотрудник компании, чтобы разобраться и всё исправить."
    ),
}


class Survey(StatesGroup):
    score = State()
    reason = State()
    consent = State()


def band(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def scores(n: int) -> InlineKeyboardMarkup:
    def row(values: range) -> list[InlineKeyboardButton]:
        return [button(str(v), f"q1:{n}:{v}") for v in values]

    return InlineKeyboardMarkup(inline_keyboard=[row(range(0, 6)), row(range(6, 11))])


def consent_keyboard(n: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button("Да", f"q3:{n}:1"), button("Нет", f"q3:{n}:0")]]
    )


def thanks(score: int, consent: bool, user_id: int, bot_username: str) -> str:
    """The thanks as ours words it: a promoter also gets a referral link, a detractor who may
    not be contacted a different promise."""
    kind = band(score)
    if kind == "detractor" and not consent:
        return NO_CONTACT
    text = THANKS[kind]
    if kind == "promoter":
        code = f"{user_id:x}".upper()[-6:]
        link = f"https://t.me/{bot_username}?start=r_{code}"
        text += REFERRAL.format(code=code, link=link)
    return text


def router() -> Router:
    r = Router()
    surveys = itertools.count(1)  # a survey number, as ours carries its survey id in buttons

    @r.message(CommandStart(deep_link=True))
    async def start(message: Message, command: CommandObject, state: FSMContext) -> None:
        n = next(surveys)
        await state.set_state(Survey.score)
        await state.set_data({"token": command.args, "n": n})
        await message.answer(GREETING)
        await message.answer(Q1, reply_markup=scores(n))

    @r.callback_query(Survey.score, F.data.startswith("q1:"))
    async def score(query: CallbackQuery, state: FSMContext) -> None:
        n, value = (int(x) for x in (query.data or "").split(":")[1:])
        await state.set_state(Survey.reason)
        await state.update_data(score=value)
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"{Q1}\n\n<i>Ваша оценка: {value} из 10</i>")
        skip = InlineKeyboardMarkup(inline_keyboard=[[button("Пропустить ➡️", f"q2:{n}")]])
        asked = await query.message.answer(Q2[band(value)], reply_markup=skip)
        await state.update_data(q2=asked.message_id)

    @r.message(Survey.reason, F.text)
    async def reason(message: Message, state: FSMContext, bot: Bot) -> None:
        await state.set_state(Survey.consent)
        data = await state.update_data(reason=message.text)
        await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data["q2"])
        await message.answer(Q3, reply_markup=consent_keyboard(data["n"]))

    @r.callback_query(Survey.reason, F.data.startswith("q2:"))
    async def skip(query: CallbackQuery, state: FSMContext) -> None:
        await state.set_state(Survey.consent)
        data = await state.update_data(reason=None)
        n = data["n"]
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"{Q2[band(data['score'])]}\n\n<i>Без комментария</i>")
        await query.message.answer(Q3, reply_markup=consent_keyboard(n))

    @r.callback_query(Survey.consent, F.data.startswith("q3:"))
    async def consent(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
        yes = (query.data or "").endswith(":1")
        data = await state.get_data()
        await state.clear()
        await query.answer()
        assert isinstance(query.message, Message)
        answer = "Да" if yes else "Нет"
        await query.message.edit_text(f"{Q3}\n\n<i>Связаться можно: {answer}</i>")
        me = await bot.me()
        text = thanks(int(data.get("score", 10)), yes, query.from_user.id, me.username or "")
        await query.message.answer(text, reply_markup=ReplyKeyboardRemove())

    return r


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(
        os.environ["BOT_TOKEN"],
        session=session,
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )
    dp = Dispatcher(storage=MemoryStorage())
    dp.include_router(router())
    await bot.delete_webhook()
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
