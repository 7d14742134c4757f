"""The manager's day as messages: the plan (one message, paginated), task cards with their outcome
buttons, and the payloads of what the bot sends first (reminders, nudges, deadlines, greetings).

The plan is one message that the manager navigates: tapping an item turns it into that task's
card, an outcome turns it back into the plan. Button data carries ids only.
"""

from __future__ import annotations

import html
import math
import re
from datetime import date, datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.deeplinks import LinkKind, make_link
from domain.outcomes import Action
from domain.parsing import format_phone
from domain.planning import next_birthday
from domain.settings import Settings
from domain.vocabulary import DATE
from storage.tasks import TaskView
from views.callbacks import PlanPage, TaskAct, TaskOpen
from views.common import cut, local_datetime, payload
from views.invitation import send_to_client_row
from views.texts import CATALOGS, Raw, plain, plural, t

# A manager's usual day fits one message; 20 bounded lines stay far inside 4,096 characters.
PAGE_SIZE = 20
NAME_CUT = 40
DETAIL_CUT = 40
REASON_CUT = 1000  # a survey reason is stored whole (up to 4096 characters): quote this much
KIND_EMOJI = {
    "call": "📞",
    "call_back": "📞",
    "meet": "🤝",
    "offer": "🛍",
    "birthday": "🎂",
    "birthday_lead": "🎁",
    "refresh": "💐",
    "passive": "🔄",
    "resend": "✉️",
}
_TAG = re.compile(r"<[^>]*>")
WEEK_PER_DAY = 6
LABEL_LIMIT = 60
CALL_KINDS = ("call", "call_back")


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _act(lang: str, key: str, task: TaskView, action: Action, page: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=plain(lang, key),
        callback_data=TaskAct(task_id=task.id, action=action, page=page).pack(),
    )


def _back(lang: str, page: int) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=plain(lang, "plan.btn_back"), callback_data=PlanPage(page=page).pack()
        )
    ]


def telegram_length(html_text: str) -> int:
    """The length Telegram checks against its 4,096 limit: the text after entity parsing (tags
    gone, `&amp;` one character), in UTF-16 code units (an emoji counts two), the stricter count."""
    visible = html.unescape(_TAG.sub("", html_text))
    return len(visible.encode("utf-16-le")) // 2


def _detail(task: TaskView, lang: str, today: date) -> str:
    """A few words that tell one item from another: what was bought, the birthday, the score."""
    kind = task.kind
    if kind == "birthday_lead" and task.birth_day and task.birth_month:
        upcoming = next_birthday(task.birth_day, task.birth_month, today)
        return plain(lang, "plan.birthday_on", date=upcoming.strftime("%d.%m"))
    if kind == "refresh" and task.survey_score is not None:
        return plain(lang, "plan.score", score=task.survey_score)
    if kind == "passive":
        last = task.meta.get("last_deal") or (
            task.deal_date.isoformat() if task.deal_date else None
        )
        if last:
            shown = date.fromisoformat(last).strftime(DATE)
            return plain(lang, "plan.last_deal", date=shown)
    if kind in ("birthday", "birthday_lead", "refresh", "passive"):
        return task.organization or ""
    return task.deal_description or task.organization or ""


def _plan_line(task: TaskView, lang: str, today: date) -> str:
    # Cut before escaping, so an entity is never cut in half and the visible length is bounded.
    line = (
        f"{KIND_EMOJI.get(task.kind, '•')} {html.escape(cut(task.contact_name or '—', NAME_CUT))}"
    )
    detail = _detail(task, lang, today)
    if detail:
        line += ", " + html.escape(cut(detail, DETAIL_CUT))
    if task.due_date < today:
        line += t(lang, "plan.overdue", date=task.due_date.strftime("%d.%m"))
    return line


def plan_message(
    tasks: list[TaskView], page: int, lang: str, today: date
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The day's plan as a message that reads as the plan: the page's items listed by kind (an
    emoji, the person, a few words), then one button per item that opens its card.

    PAGE_SIZE items a page, each line bounded, so a page always fits Telegram's 4,096 characters
    (checked with `telegram_length` in the tests on 200 items of the longest kinds); the rest is
    announced as "… and N more" behind ▶. Items come grouped in the order `due_tasks` gives.
    """
    day = today.strftime(DATE)
    if not tasks:
        return t(lang, "plan.title_empty", date=day) + "\n\n" + t(lang, "plan.empty"), None
    pages = math.ceil(len(tasks) / PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = tasks[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [t(lang, "plan.title", date=day, count=plural(lang, len(tasks), "plural.task"))]
    if pages > 1:
        lines.append(t(lang, "plan.page", page=page + 1, pages=pages))
    kind = None
    for task in shown:
        if task.kind != kind:
            kind = task.kind
            lines.append("")
            if f"plan.kind.{kind}" in CATALOGS["ru"]:
                lines.append(f"<b>{t(lang, f'plan.kind.{kind}')}</b>")
        lines.append(_plan_line(task, lang, today))
    rest = len(tasks) - (page + 1) * PAGE_SIZE
    lines.append("")
    if rest > 0:
        lines.append(t(lang, "plan.more", count=plural(lang, rest, "plural.task")))
    lines.append(t(lang, "plan.pick"))
    rows = []
    for task in shown:
        label = plain(lang, f"item.{task.kind}", name=task.contact_name or "—")
        if task.due_date < today:
            label += plain(lang, "plan.overdue", date=task.due_date.strftime("%d.%m"))
        data = TaskOpen(task_id=task.id, page=page).pack()
        rows.append([InlineKeyboardButton(text=cut(label, LABEL_LIMIT), callback_data=data)])
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text=plain(lang, "plan.btn_prev"), callback_data=PlanPage(page=page - 1).pack()
            )
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(
                text=plain(lang, "plan.btn_next"), callback_data=PlanPage(page=page + 1).pack()
            )
        )
    if nav:
        rows.append(nav)
    return "\n".join(lines), _markup(rows)


def _who(task: TaskView, lang: str) -> Raw:
    # Escaped once here; Raw so the card's template does not escape "&lt;" a second time.
    return Raw(
        t(
            lang,
            "card.who",
            name=task.contact_name or "—",
            org=f", {task.organization}" if task.organization else "",
            phone=f", {format_phone(task.phone)}" if task.phone else "",
        )
    )


def _deal(task: TaskView, lang: str) -> str:
    if not task.deal_description:
        return t(lang, "card.none")
    when = task.deal_date.strftime(DATE) if task.deal_date else ""
    return f"{task.deal_description}, {when}".strip(", ")


def task_card(
    task: TaskView,
    lang: str,
    settings: Settings,
    today: date,
    page: int = 0,
    *,
    bot_username: str = "",
    purchases: list[tuple[date, str]] | None = None,
    comments: list[str] | None = None,
    inline: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    """A task as the manager works it: what to do, the script, and the outcome buttons
    (`inline`: the bot's inline mode is on, so a link to resend comes with "Send to the client")."""
    who = _who(task, lang)
    kind = task.kind
    rows: list[list[InlineKeyboardButton]] = []
    if kind in CALL_KINDS:
        if kind == "call":
            text = t(lang, "card.call", who=who, deal=_deal(task, lang))
            attempt = int(task.meta.get("attempt", 1))
            if attempt > 1:
                text += "\n\n" + t(
                    lang, "card.call_attempt", n=attempt, max=settings.cadence.max_call_attempts
                )
        else:
            note = ""
            if task.meta.get("start"):
                start = date.fromisoformat(task.meta["start"]).strftime(DATE)
                note = t(lang, "card.call_back_note", date=start)
            elif task.meta.get("likes"):
                note = t(lang, "card.call_back_likes")
            text = t(lang, "card.call_back", who=who, deal=_deal(task, lang), note=note)
        rows = [
            [_act(lang, "btn.likes", task, Action.LIKES, page)],
            [_act(lang, "btn.not_yet", task, Action.NOT_YET, page)],
            [_act(lang, "btn.unsuitable", task, Action.UNSUITABLE, page)],
            [
                _act(lang, "btn.no_answer", task, Action.NO_ANSWER, page),
                _act(lang, "btn.snooze", task, Action.SNOOZE, page),
            ],
        ]
    elif kind == "offer":
        # Telegram refuses a message over 4096 characters: at most 5 purchases and 5 comments,
        # each line cut, so the card always fits.
        bought = [f"{when.strftime(DATE)} — {what}" for when, what in (purchases or [])[:5]]
        listed = "\n".join(f"• {html.escape(cut(p, 120))}" for p in bought)
        said = "\n".join(f"• «{html.escape(cut(c, 250))}»" for c in (comments or [])[:5])
        listed = listed or t(lang, "card.none")
        said = said or t(lang, "card.none")
        text = t(lang, "card.offer", who=who, purchases=Raw(listed), comments=Raw(said))
        rows = [
            [
                _act(lang, "btn.done", task, Action.DONE, page),
                _act(lang, "btn.done_note", task, Action.NOTE, page),
            ],
            [
                _act(lang, "btn.skip_task", task, Action.SKIP, page),
                _act(lang, "btn.snooze_week", task, Action.SNOOZE_WEEK, page),
            ],
        ]
    elif kind in ("birthday", "birthday_lead"):
        if kind == "birthday":
            text = t(lang, "card.birthday", who=who)
        else:
            upcoming = task.due_date
            if task.birth_day and task.birth_month:
                upcoming = next_birthday(task.birth_day, task.birth_month, today)
            text = t(
                lang,
                "card.birthday_lead",
                who=who,
                days=(upcoming - today).days,
                date=upcoming.strftime("%d.%m"),
            )
        rows = [[_act(lang, "btn.done", task, Action.DONE, page)]]
        if kind == "birthday" and task.tg_linked and task.consent:
            text += "\n\n" + t(lang, "card.birthday_greet_hint")
            rows.append([_act(lang, "btn.greet", task, Action.GREET, page)])
    else:
        if kind == "refresh":
            # stored whole (up to 4096 characters): the card quotes the start, /find opens it all
            quoted = cut(task.survey_reason, REASON_CUT) if task.survey_reason else ""
            reason = f": «{html.escape(quoted)}»" if quoted else ""
            text = t(
                lang, "card.refresh", who=who, score=task.survey_score or "—", reason=Raw(reason)
            )
        elif kind == "passive":
            last = task.meta.get("last_deal") or (
                task.deal_date.isoformat() if task.deal_date else None
            )
            shown = date.fromisoformat(last).strftime(DATE) if last else t(lang, "card.none")
            text = t(lang, "card.passive", who=who, date=shown)
        elif kind == "resend":
            link = make_link(bot_username, LinkKind.SURVEY, task.survey_token or "")
            text = t(lang, "card.resend", who=who, link=link)
            if task.survey_token:
                send = send_to_client_row(inline, task.survey_token, task.contact_kind, lang)
                rows.extend([send] if send else [])
        else:  # meet
            text = t(lang, "card.meet", who=who, deal=_deal(task, lang))
        rows += [
            [
                _act(lang, "btn.done", task, Action.DONE, page),
                _act(lang, "btn.skip_task", task, Action.SKIP, page),
            ],
            [
                _act(lang, "btn.snooze_tomorrow", task, Action.SNOOZE_TOMORROW, page),
                _act(lang, "btn.snooze_week", task, Action.SNOOZE_WEEK, page),
            ],
        ]
    if task.due_date != today:
        text += "\n" + t(lang, "card.due", date=task.due_date.strftime(DATE))
    rows.append(_back(lang, page))
    return text, _markup(rows)


def not_yet_menu(task: TaskView, lang: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    return t(lang, "task.when_start"), _markup(
        [
            [
                _act(lang, "btn.start_tomorrow", task, Action.START_TOMORROW, page),
                _act(lang, "btn.start_3d", task, Action.START_IN_3_DAYS, page),
                _act(lang, "btn.start_week", task, Action.START_IN_A_WEEK, page),
            ],
            [_act(lang, "btn.start_date", task, Action.START_DATE, page)],
            _back(lang, page),
        ]
    )


def snooze_menu(task: TaskView, lang: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    return t(lang, "btn.snooze"), _markup(
        [
            [
                _act(lang, "btn.snooze_1h", task, Action.SNOOZE_HOUR, page),
                _act(lang, "btn.snooze_3h", task, Action.SNOOZE_3_HOURS, page),
                _act(lang, "btn.snooze_tomorrow", task, Action.SNOOZE_TOMORROW, page),
            ],
            _back(lang, page),
        ]
    )


def likes_menu(task: TaskView, lang: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    return t(lang, "task.likes_next"), _markup(
        [
            [
                _act(lang, "btn.call_tomorrow", task, Action.AGAIN, page),
                _act(lang, "btn.no_more", task, Action.NO_MORE, page),
            ],
        ]
    )


def reminder_payload(
    task: TaskView,
    lang: str,
    settings: Settings,
    today: date,
    bot_username: str,
    inline: bool = False,
) -> dict[str, Any]:
    text, markup = task_card(task, lang, settings, today, bot_username=bot_username, inline=inline)
    return payload(t(lang, "reminder.title") + "\n\n" + text, markup)


def unreachable_payload(name: str | None, phone: str | None, lang: str) -> dict[str, Any]:
    shown = f": {format_phone(phone)}" if phone else ""
    return payload(t(lang, "unreachable.notice", name=name or "—", phone=shown))


def greeting_payload(name: str | None, lang: str, settings: Settings) -> dict[str, Any]:
    first = (name or "").split()[0] if name else ""
    return payload(t(lang, "greet.text", name=first or "—", company=settings.company_name))


def week_message(tasks: list[TaskView], lang: str) -> str:
    if not tasks:
        return t(lang, "week.title") + "\n\n" + t(lang, "week.empty")
    lines = [t(lang, "week.title")]
    by_day: dict[date, list[TaskView]] = {}
    for task in tasks:
        by_day.setdefault(task.due_date, []).append(task)
    # Telegram refuses over 4096 characters: a few items a day (the most urgent kinds first),
    # and how many more there are.
    for day, items in by_day.items():
        lines += ["", t(lang, "week.day", date=day.strftime(DATE))]
        for task in items[:WEEK_PER_DAY]:
            name = cut(task.contact_name or "—", 40)
            lines.append(t(lang, f"item.{task.kind}", name=name))
        if len(items) > WEEK_PER_DAY:
            lines.append(t(lang, "week.more", count=len(items) - WEEK_PER_DAY))
    return "\n".join(lines)


def snoozed_until(moment: datetime, settings: Settings) -> str:
    return local_datetime(moment, settings.timezone)
