"""The webhooks screens an owner sees (the list, one URL's card, the questions) and the owners'
notice of a paused URL. The secret appears in full only in the message that issues it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from storage.events import EVENT_TYPES
from storage.webhooks import HOLD_FOR, MAX_ENDPOINTS, Endpoint
from views.callbacks import HookAct, HooksMenu
from views.texts import plain, t

Screen = tuple[str, InlineKeyboardMarkup]
HOLD_DAYS = HOLD_FOR.days


def _button(text: str, data: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data)]


def _state(endpoint: Endpoint, lang: str, held: bool = False) -> str:
    """Working or paused (and why); with `held`, how many events wait for the resume."""
    if endpoint.status == "active":
        return t(lang, "hooks.state.active")
    reason = endpoint.paused_by if endpoint.paused_by in ("failures", "gone") else "owner"
    state = t(lang, f"hooks.state.{reason}")
    return state + t(lang, "hooks.state.held", held=endpoint.held) if held else state


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url)[:40]


def menu(endpoints: list[Endpoint], lang: str, note: str | None = None) -> Screen:
    lines = [note] if note else []
    lines += [t(lang, "hooks.title"), t(lang, "hooks.intro"), ""]
    if not endpoints:
        lines.append(t(lang, "hooks.none"))
    for e in endpoints:
        lines.append(
            t(
                lang,
                "hooks.line",
                number=e.id,
                url=e.url if len(e.url) <= 80 else e.url[:79] + "…",
                state=_state(e, lang, held=True),
                events=len(e.events),
                total=len(EVENT_TYPES),
                pending=e.pending,
            )
        )
    rows = [
        _button(
            plain(lang, "hooks.btn.open", number=e.id, host=_host(e.url)),
            HookAct(action="open", endpoint_id=e.id).pack(),
        )
        for e in endpoints
    ]
    if len(endpoints) < MAX_ENDPOINTS:
        rows.append(_button(plain(lang, "hooks.btn.add"), HooksMenu(action="add").pack()))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def ask_url(lang: str) -> Screen:
    return t(lang, "hooks.ask_url"), cancel_keyboard(lang)


def private_url(url: str, lang: str) -> Screen:
    """The refusal of a URL into an internal network; the prompt stays open."""
    return t(lang, "hooks.private_url", host=_host(url)), cancel_keyboard(lang)


def cancel_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _button(plain(lang, "hooks.btn.cancel"), HooksMenu(action="cancel").pack())
        ]
    )


def card(endpoint: Endpoint, lang: str, notes: list[str] | None = None) -> Screen:
    success = endpoint.last_success_at
    lines = list(notes or [])
    lines.append(
        t(
            lang,
            "hooks.card",
            number=endpoint.id,
            url=endpoint.url,
            state=_state(endpoint, lang),
            secret=endpoint.masked_secret,
            pending=endpoint.pending,
            success=f"{success} UTC" if success else plain(lang, "hooks.never"),
        )
    )
    if endpoint.last_error:
        lines.append(t(lang, "hooks.card.error", error=endpoint.last_error))
    if endpoint.status == "paused":
        lines.append(t(lang, "hooks.card.held", held=endpoint.held, days=HOLD_DAYS))
    if endpoint.dropped:
        lines.append(t(lang, "hooks.card.dropped", dropped=endpoint.dropped, days=HOLD_DAYS))
    lines += ["", t(lang, "hooks.card.events")]
    rows = []
    for index, type_ in enumerate(EVENT_TYPES):
        mark = "✅" if type_ in endpoint.events else "▫️"
        label = f"{mark} {plain(lang, f'hooks.event.{type_}')} · {type_}"
        rows.append(_button(label, HookAct(action="ev", endpoint_id=endpoint.id, arg=index).pack()))
    pause = (
        ("resume", "hooks.btn.resume")
        if endpoint.status == "paused"
        else ("pause", "hooks.btn.pause")
    )
    rows.append(
        [
            InlineKeyboardButton(
                text=plain(lang, pause[1]),
                callback_data=HookAct(action=pause[0], endpoint_id=endpoint.id).pack(),  # type: ignore[arg-type]
            ),
            InlineKeyboardButton(
                text=plain(lang, "hooks.btn.rotate"),
                callback_data=HookAct(action="rotate", endpoint_id=endpoint.id).pack(),
            ),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                text=plain(lang, "hooks.btn.delete"),
                callback_data=HookAct(action="del", endpoint_id=endpoint.id).pack(),
            ),
            InlineKeyboardButton(
                text=plain(lang, "hooks.btn.back"), callback_data=HooksMenu(action="menu").pack()
            ),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def secret_once(secret: str, lang: str) -> str:
    return t(lang, "hooks.secret_once", secret=secret)


def delete_ask(endpoint: Endpoint, lang: str) -> Screen:
    rows = [
        _button(
            plain(lang, "hooks.btn.delete_yes"),
            HookAct(action="delok", endpoint_id=endpoint.id).pack(),
        ),
        _button(
            plain(lang, "hooks.btn.delete_no"),
            HookAct(action="open", endpoint_id=endpoint.id).pack(),
        ),
    ]
    text = t(lang, "hooks.delete_ask", number=endpoint.id, url=endpoint.url)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


_NOTICES = {
    "failures": "hooks.paused_notice",
    "gone": "hooks.gone_notice",
    "dropped": "hooks.dropped_notice",
}


def paused_notice(url: str, lang: str, kind: str = "failures") -> dict[str, Any]:
    """The outbox payload of an owners' notice about a URL: paused after a day of failures
    ('failures'), paused by its receiver's 410 Gone ('gone'), or held events dropped after
    HOLD_FOR in a pause ('dropped')."""
    return {"text": t(lang, _NOTICES[kind], url=url, days=HOLD_DAYS)}
