"""What an owner sees in /crm: each connection's state, and the buttons to connect, match users
and disconnect. Secrets are shown masked; the full event address only right after connecting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.roles import StaffMember
from views.callbacks import CrmDisconnect, CrmMenu, CrmUserMatch, CrmUserPick
from views.common import local_datetime
from views.texts import plain, t


@dataclass(frozen=True, slots=True)
class ConnectionView:
    id: int
    kind: str
    account: str
    secret: str  # masked already
    address: str  # masked already
    last_event_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    auth_failed_at: datetime | None
    deals_today: int
    events_waiting: int
    notes_waiting: int
    unmatched: int


def _when(moment: datetime | None, tz: ZoneInfo, lang: str) -> str:
    return local_datetime(moment, tz) if moment else t(lang, "crm.status.never")


def status(
    views: list[ConnectionView], lang: str, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    rows: list[list[InlineKeyboardButton]] = []
    if not views:
        text = t(lang, "crm.status.none")
    else:
        parts = [t(lang, "crm.status.head")]
        for v in views:
            error = t(lang, "crm.status.never")
            if v.last_error:
                error = f"{_when(v.last_error_at, tz, lang)} · {v.last_error}"
            block = t(
                lang,
                "crm.status.connection",
                crm=plain(lang, f"crm.kind.{v.kind}"),
                account=v.account,
                secret=v.secret,
                address=v.address,
                last_event=_when(v.last_event_at, tz, lang),
                last_error=error,
                deals_today=v.deals_today,
                events=v.events_waiting,
                notes=v.notes_waiting,
            )
            if v.auth_failed_at:
                block += "\n" + t(
                    lang, "crm.status.auth_failed", since=_when(v.auth_failed_at, tz, lang)
                )
            if v.unmatched:
                block += "\n" + t(lang, "crm.status.unmatched", count=v.unmatched)
            parts.append(block)
        text = "\n\n".join(parts)
        unmatched = sum(v.unmatched for v in views)
        if unmatched:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=plain(lang, "crm.btn.users", count=unmatched),
                        callback_data=CrmMenu(action="users").pack(),
                    )
                ]
            )
    rows.append(
        [
            InlineKeyboardButton(
                text=plain(lang, f"crm.btn.{kind}"), callback_data=CrmMenu(action=kind).pack()
            )
            for kind in ("bitrix24", "amocrm")
        ]
    )
    for v in views:
        rows.append(
            [
                InlineKeyboardButton(
                    text=plain(lang, "crm.btn.disconnect", crm=plain(lang, f"crm.kind.{v.kind}")),
                    callback_data=CrmDisconnect(connection_id=v.id).pack(),
                )
            ]
        )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def users(unmatched: list[tuple[int, str, str]], lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """(connection id, CRM user id, label) of each unmatched user."""
    back = [
        InlineKeyboardButton(
            text=plain(lang, "crm.btn.back"), callback_data=CrmMenu(action="menu").pack()
        )
    ]
    if not unmatched:
        return t(lang, "crm.users.none"), InlineKeyboardMarkup(inline_keyboard=[back])
    rows = [
        [
            InlineKeyboardButton(
                text=label[:60], callback_data=CrmUserPick(connection_id=c, user=u).pack()
            )
        ]
        for c, u, label in unmatched
    ]
    return t(lang, "crm.users.head"), InlineKeyboardMarkup(inline_keyboard=[*rows, back])


def staff_picker(
    connection_id: int,
    user: str,
    name: str,
    crm: str,
    staff: list[StaffMember],
    lang: str,
) -> tuple[str, InlineKeyboardMarkup]:
    back = [
        InlineKeyboardButton(
            text=plain(lang, "crm.btn.back"), callback_data=CrmMenu(action="users").pack()
        )
    ]
    if not staff:
        return t(lang, "crm.users.no_staff"), InlineKeyboardMarkup(inline_keyboard=[back])
    rows = [
        [
            InlineKeyboardButton(
                text=(m.full_name + (f" @{m.username}" if m.username else ""))[:60],
                callback_data=CrmUserMatch(
                    connection_id=connection_id, user=user, staff_id=m.user_id
                ).pack(),
            )
        ]
        for m in staff[:40]
    ]
    text = t(lang, "crm.users.pick", name=name, crm=crm)
    return text, InlineKeyboardMarkup(inline_keyboard=[*rows, back])
