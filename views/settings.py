"""What `/settings` shows: the list of settings in force, and the screen for changing one."""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain import tunables
from domain.settings import Settings
from views.callbacks import SettingDay, SettingOpen, SettingPick, SettingReset
from views.texts import Raw, plain, t

View = tuple[str, InlineKeyboardMarkup]


def shown(settings: Settings, key: str, lang: str) -> str:
    """A setting's value as a person reads it (HTML-escaped)."""
    value = tunables.value_of(settings, key)
    if key == tunables.DIGEST:
        return t(lang, "settings.show.digest_time", value=value, zone=settings.timezone.key)
    if key == tunables.WORKDAYS:
        return t(lang, "settings.show.workdays", value=days_label(settings, lang))
    if key == tunables.OFFER:
        low, high = value.split("-")
        return t(lang, "settings.show.offer_interval", low=int(low), high=int(high))
    if key in (tunables.BIRTHDAY, tunables.BUDGET):
        suffix = "_zero" if value == "0" else ""
        return t(lang, f"settings.show.{key}{suffix}", value=int(value))
    if key == tunables.COMPANY_EN and not value:
        return t(lang, "settings.show.company_name_en_unset", fallback=settings.company_name)
    if key == tunables.LANGUAGE:
        return t(
            lang, "settings.show.default_language", value=t(lang, f"settings.language.{value}")
        )
    return t(lang, f"settings.show.{key}", value=value)


def days_label(settings: Settings, lang: str) -> str:
    """ "пн–пт", "пн, ср, пт" or "пн–ср, сб": runs of consecutive days joined with a dash."""
    names = t(lang, "settings.days").split(",")
    days = sorted(settings.cadence.workdays)
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        f"{names[run[0]]}–{names[run[-1]]}" if len(run) > 2 else ", ".join(names[d] for d in run)
        for run in runs
    ]
    return ", ".join(parts)


def card(settings: Settings, overrides: dict[str, str], lang: str, note: str = "") -> View:
    lines = [note, ""] if note else []
    lines.append(t(lang, "settings.title"))
    lines.append("")
    for key in tunables.KEYS:
        mark = "✏️ " if key in overrides else ""
        lines.append(f"{mark}{t(lang, f'settings.name.{key}')}: {shown(settings, key, lang)}")
    lines.append("")
    lines.append(t(lang, "settings.hint"))
    buttons = [
        InlineKeyboardButton(
            text=plain(lang, f"settings.name.{key}"), callback_data=SettingOpen(key=key).pack()
        )
        for key in tunables.KEYS
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def editor(settings: Settings, base: Settings, key: str, overridden: bool, lang: str) -> View:
    """The screen for one setting: what it does, its value, presets, and the way back."""
    current = Raw(shown(settings, key, lang))
    text = t(
        lang,
        f"settings.ask.{key}",
        current=current,
        zone=settings.timezone.key,
        limit=tunables.COMPANY_MAX,
    )
    rows: list[list[InlineKeyboardButton]] = []
    if key == tunables.WORKDAYS:
        names = t(lang, "settings.days").split(",")
        on = settings.cadence.workdays
        days = [
            InlineKeyboardButton(
                text=("✅ " if day in on else "▫️ ") + names[day],
                callback_data=SettingDay(day=day, on=day not in on).pack(),
            )
            for day in range(7)
        ]
        rows += [days[:4], days[4:]]  # Monday–Thursday, Friday–Sunday
    elif key == tunables.LANGUAGE:
        rows.append(
            [
                InlineKeyboardButton(
                    text=("✅ " if settings.default_language == code else "")
                    + plain(lang, f"settings.language.{code}"),
                    callback_data=SettingPick(key=key, value=code).pack(),
                )
                for code in ("ru", "en")
            ]
        )
    elif key in tunables.PRESETS:
        rows.append(
            [
                InlineKeyboardButton(
                    text=preset, callback_data=SettingPick(key=key, value=encode(preset)).pack()
                )
                for preset in tunables.PRESETS[key]
            ]
        )
    if overridden:
        default = html.unescape(shown(base, key, lang))  # a button label is plain text
        rows.append(
            [
                InlineKeyboardButton(
                    text=plain(lang, "settings.button.reset", value=default),
                    callback_data=SettingReset(key=key).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                text=plain(lang, "settings.button.back"),
                callback_data=SettingOpen(key="card").pack(),
            )
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def encode(value: str) -> str:
    return value.replace(":", ".")


def decode(value: str) -> str:
    return value.replace(".", ":")
