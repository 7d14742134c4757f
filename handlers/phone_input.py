"""Reading a person's own phone: the one-tap "share my phone" button, a typed number, or the
"no phone" button. Shared by the survey and the referral conversation."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import Message

from domain.parsing import parse_phone, parse_shared_phone
from domain.settings import Settings
from views.survey import share_phone
from views.texts import plain, t


@dataclass(frozen=True, slots=True)
class PhoneReply:
    phone: str | None  # None: the person chose not to leave one


async def read_own_phone(message: Message, lang: str, settings: Settings) -> PhoneReply | None:
    """The phone the person gave, or None after politely asking again (someone else's contact,
    something that is not a number)."""
    assert message.from_user is not None
    if message.contact is not None:
        if message.contact.user_id != message.from_user.id:
            await message.answer(t(lang, "survey.phone_not_own"), reply_markup=share_phone(lang))
            return None
        # The account's own number comes in international form, usually without the "+".
        phone = parse_shared_phone(message.contact.phone_number, settings.phone_region, own=True)
    else:
        text = (message.text or "").strip()
        if text == plain(lang, "survey.btn_no_phone"):
            return PhoneReply(None)
        phone = parse_phone(text, settings.phone_region)
    if phone is None:
        await message.answer(t(lang, "survey.phone_invalid"), reply_markup=share_phone(lang))
        return None
    return PhoneReply(phone)
