"""Referrals: a promoter's link brings a new person, who leaves a name and a phone and becomes a
lead of the promoter's manager (told at once); /referrals shows owners who brought whom."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from domain.clock import Clock
from domain.parsing import format_phone
from domain.roles import Role
from domain.settings import Settings
from domain.vocabulary import LIMITS
from handlers.filters import HasRole, not_command
from handlers.phone_input import read_own_phone
from handlers.states import ReferralFlow
from scheduler.sender import Sender
from storage import Database
from storage.followup import staff_language
from storage.referral import (
    Promoter,
    is_known_person,
    promoter_by_code,
    record_lead,
    referral_table,
)
from views.common import payload
from views.survey import share_phone
from views.texts import t


def router() -> Router:
    r = Router(name="referral")
    r.message.register(referrals_command, Command("referrals"), HasRole(Role.OWNER))
    r.message.register(on_name, ReferralFlow.name, F.text, not_command)
    r.message.register(on_phone, ReferralFlow.phone, F.contact | (F.text & not_command))
    r.message.register(on_other, StateFilter(ReferralFlow), not_command)
    return r


async def open_referral(
    message: Message,
    code: str,
    state: FSMContext,
    role: Role,
    is_staff_record: bool,
    lang: str,
    settings: Settings,
    db: Database,
) -> None:
    """A new person opened `t.me/<bot>?start=r_<code>`."""
    assert message.from_user is not None
    if role.is_staff or is_staff_record:
        await message.answer(t(lang, "referral.staff"))
        return
    promoter = await promoter_by_code(db, code)
    if promoter is None:
        await message.answer(t(lang, "link.invalid"))
        return
    if await is_known_person(db, message.from_user.id):
        await message.answer(t(lang, "referral.known"))
        return
    await state.set_state(ReferralFlow.name)
    await state.set_data({"promoter": promoter.contact_id, "code": code})
    first = (promoter.name or "").split()[0] if promoter.name else ""
    if first:
        text = t(lang, "referral.greeting", promoter=first, company=settings.company(lang))
    else:
        text = t(lang, "referral.greeting_anonymous", company=settings.company(lang))
    await message.answer(text)


async def on_name(message: Message, state: FSMContext, lang: str) -> None:
    name = " ".join((message.text or "").split())
    if not LIMITS["name"].allows(name):
        await message.answer(
            t(lang, "referral.name_invalid", min=LIMITS["name"].min, max=LIMITS["name"].max)
        )
        return
    await state.update_data(name=name)
    await state.set_state(ReferralFlow.phone)
    await message.answer(t(lang, "referral.ask_phone", name=name), reply_markup=share_phone(lang))


async def _finish(
    message: Message,
    phone: str | None,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    await state.clear()
    promoter = await promoter_by_code(db, str(data.get("code", "")))
    if promoter is None or promoter.contact_id != data.get("promoter"):
        await message.answer(t(lang, "link.invalid"), reply_markup=ReplyKeyboardRemove())
        return
    name = str(data.get("name", ""))
    notice = await _notice(db, settings, promoter, name, phone, str(data.get("code", "")))
    created = await record_lead(
        db, promoter, message.from_user.id, name, phone, lang, clock(), notice
    )
    if created:
        sender.kick()
    key = "referral.done" if created else "referral.known"
    await message.answer(
        t(lang, key, company=settings.company(lang)), reply_markup=ReplyKeyboardRemove()
    )


async def _notice(
    db: Database, settings: Settings, promoter: Promoter, name: str, phone: str | None, code: str
) -> dict[str, object] | None:
    if promoter.manager_id is None:
        return None
    language = (await staff_language(db, [promoter.manager_id]))[promoter.manager_id]
    lang = language or settings.default_language
    text = t(
        lang,
        "referral.lead_notice",
        name=name,
        phone=f", {format_phone(phone)}" if phone else "",
        promoter=promoter.name or "—",
        code=code,
    )
    return payload(text)


async def on_phone(
    message: Message,
    state: FSMContext,
    lang: str,
    settings: Settings,
    db: Database,
    clock: Clock,
    sender: Sender,
) -> None:
    reply = await read_own_phone(message, lang, settings)
    if reply is not None:
        await _finish(message, reply.phone, state, lang, settings, db, clock, sender)


async def on_other(message: Message, state: FSMContext, lang: str) -> None:
    if await state.get_state() == ReferralFlow.name.state:
        await message.answer(
            t(lang, "referral.name_invalid", min=LIMITS["name"].min, max=LIMITS["name"].max)
        )
    else:
        await message.answer(t(lang, "survey.phone_invalid"), reply_markup=share_phone(lang))


async def referrals_command(message: Message, lang: str, db: Database) -> None:
    rows = await referral_table(db)
    if not rows:
        await message.answer(t(lang, "referrals.head") + "\n\n" + t(lang, "referrals.empty"))
        return
    lines = [t(lang, "referrals.head"), ""]
    for n, row in enumerate(rows, start=1):
        lines.append(
            t(
                lang,
                "referrals.line",
                n=n,
                name=row.name or "—",
                code=row.code,
                leads=row.leads,
                customers=row.customers,
                deals=row.deals,
            )
        )
    await message.answer("\n".join(lines))
