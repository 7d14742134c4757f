"""The owner's figures as messages: /nps for a period, kind and manager, and /managers' table
with the access toggles, a page of PER_PAGE managers at a time (each page with its own toggles)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from domain.nps import NpsCounts, round_half_away
from domain.periods import CODES, Period
from domain.roles import StaffMember
from domain.settings import Settings
from domain.vocabulary import DATE, KINDS
from storage.stats import CaseStats, ManagerRow
from views.callbacks import ManagersPeriod, ManagerToggle, NpsPickManager, NpsView
from views.common import cut, signed
from views.texts import plain, t


def period_label(period: Period, lang: str) -> str:
    last = period.last_day.strftime(DATE)
    if period.first_day is None:
        return t(lang, "period.since_start", last=last)
    first = period.first_day.strftime(DATE)
    name = t(lang, f"period.{period.code}") if not period.code.startswith("m") else period.code[1:]
    return f"{name} ({t(lang, 'period.range', first=first, last=last)})"


def duration(hours: float | None, lang: str) -> str:
    if hours is None:
        return "—"
    if hours < 48:
        return t(lang, "duration.hours", value=f"{hours:.1f}".replace(".", ","))
    return t(lang, "duration.days", value=f"{hours / 24:.1f}".replace(".", ","))


@dataclass(frozen=True, slots=True)
class NpsReport:
    period: Period
    kind: str  # "all" or a kind
    manager_name: str | None
    counts: NpsCounts
    previous: NpsCounts | None
    by_kind: dict[str, NpsCounts]
    median_hours: float | None
    cases: CaseStats | None  # the slice's cases (same kind and manager); None: not shown


def nps_text(report: NpsReport, lang: str, margin: float | None) -> str:
    counts = report.counts
    kind = t(lang, "nps.all_kinds") if report.kind == "all" else t(lang, f"kinds.{report.kind}")
    manager = t(lang, "nps.head_manager", name=report.manager_name) if report.manager_name else ""
    lines = [
        t(lang, "nps.head", kind=kind, period=period_label(report.period, lang), manager=manager),
        "",
    ]
    if not counts.answered:
        lines.append(t(lang, "nps.none_in_period"))
        lines.append(
            t(
                lang,
                "nps.rate",
                answered=counts.responded,
                invited=counts.invited,
                rate=counts.response_rate,
            )
        )
    else:
        value = t(lang, "nps.value", nps=signed(counts.nps or 0))
        if counts.answered < 10:
            lines += [value, t(lang, "nps.unreliable")]
        else:
            lines.append(value + t(lang, "nps.moe", moe=round_half_away(margin or 0)))
        if report.previous is not None:
            if report.previous.answered:
                before = report.previous.nps or 0
                lines.append(
                    t(
                        lang,
                        "nps.change",
                        delta=signed((counts.nps or 0) - before),
                        before=signed(before),
                    )
                )
            else:
                lines.append(t(lang, "nps.change_none"))
        lines += [
            "",
            t(
                lang,
                "nps.parts",
                p=counts.promoters,
                p_share=counts.share(counts.promoters),
                n=counts.passives,
                n_share=counts.share(counts.passives),
                d=counts.detractors,
                d_share=counts.share(counts.detractors),
            ),
            t(
                lang,
                "nps.rate",
                answered=counts.responded,
                invited=counts.invited,
                rate=counts.response_rate,
            ),
            t(lang, "nps.median", value=duration(report.median_hours, lang)),
        ]
    if report.cases is not None:
        cases = report.cases
        if cases.opened:
            lines.append(
                t(
                    lang,
                    "nps.cases",
                    resolved=cases.resolved,
                    opened=cases.opened,
                    share=cases.resolved_share,  # domain.nps.percent: halves away from zero
                    median=duration(cases.median_hours_to_resolve, lang),
                )
            )
        else:
            lines.append(t(lang, "nps.cases_none"))
    if report.kind == "all" and report.by_kind:
        lines += ["", t(lang, "nps.by_kind")]
        for kind_name in KINDS:
            part = report.by_kind.get(kind_name)
            if part is None:
                continue
            name = t(lang, f"kinds.{kind_name}")
            if part.answered:
                lines.append(
                    t(
                        lang,
                        "nps.kind_line",
                        kind=name,
                        nps=signed(part.nps or 0),
                        answered=part.answered,
                        invited=part.invited,
                    )
                )
            else:
                lines.append(t(lang, "nps.kind_line_empty", kind=name, invited=part.invited))
    lines += ["", t(lang, "nps.hint")]
    return "\n".join(lines)


def _mark(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def nps_keyboard(
    period: str, kind: str, manager: int, manager_name: str | None, lang: str
) -> InlineKeyboardMarkup:
    def view(p: str, k: str, m: int) -> str:
        return NpsView(period=p, kind=k, manager=m).pack()

    periods = [
        InlineKeyboardButton(
            text=_mark(plain(lang, f"period.{code}"), code == period),
            callback_data=view(code, kind, manager),
        )
        for code in CODES
    ]
    kinds = [
        InlineKeyboardButton(
            text=_mark(plain(lang, "nps.btn_all_kinds"), kind == "all"),
            callback_data=view(period, "all", manager),
        )
    ] + [
        InlineKeyboardButton(
            text=_mark(plain(lang, f"kinds.{k}"), kind == k), callback_data=view(period, k, manager)
        )
        for k in KINDS
    ]
    who = manager_name or plain(lang, "nps.btn_all_managers")
    pick = InlineKeyboardButton(
        text=plain(lang, "nps.btn_manager", name=who)[:60],
        callback_data=NpsPickManager(period=period, kind=kind).pack(),
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[periods[:3], periods[3:], kinds[:3], kinds[3:], [pick]]
    )


def manager_picker(
    period: str, kind: str, managers: list[tuple[int, str]], lang: str
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=plain(lang, "nps.btn_all_managers"),
                callback_data=NpsView(period=period, kind=kind, manager=0).pack(),
            )
        ]
    ]
    for user_id, name in managers[:30]:
        rows.append(
            [
                InlineKeyboardButton(
                    text=name[:60],
                    callback_data=NpsView(period=period, kind=kind, manager=user_id).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def managers_period_row(period: str, lang: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=_mark(plain(lang, f"period.{code}"), code == period),
            callback_data=ManagersPeriod(period=code).pack(),
        )
        for code in ("7", "30", "90", "y")
    ]


# Telegram refuses a message over 4096 characters. A page holds PER_PAGE managers, each on whole
# lines (cutting the HTML could cut a tag or an entity, which Telegram refuses); names are cut to
# NAME_CUTS[0] characters, which keeps a page near 3,500 characters, and shorter in turn should the
# figures be huge. The raw length bounds what Telegram counts: markup only adds characters.
PER_PAGE = 15
NAME_CUTS = (40, 20, 10)
TEXT_LIMIT = 4096


def managers_pages(rows: int) -> int:
    return max(1, -(-rows // PER_PAGE))


def _stats_line(n: int, row: ManagerRow, name_cut: int, lang: str) -> str:
    nps = row.counts.nps
    return t(
        lang,
        "managers.stats_line",
        n=n,
        name=cut(row.name, name_cut),
        inactive=t(lang, "managers.inactive_mark") if not row.active else "",
        deals=row.deals,
        sent=row.sent,
        opened=row.opened,
        answered=row.counts.responded,
        share=row.counts.response_rate,
        nps=signed(nps) if nps is not None else t(lang, "managers.stats_none"),
        overdue=row.overdue,
        missed=row.missed,
        cases=row.open_cases,
    )


def render_managers(
    managers: list[StaffMember],
    rows: list[ManagerRow],
    period: Period,
    lang: str,
    settings: Settings,
    page: int = 0,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the managers' discipline for a period (problems on top), with the access
    toggles of that page's managers, the period buttons and ◀ ▶. A page past the end shows the
    last one."""
    if not managers:
        return t(lang, "managers.empty"), None
    pages = managers_pages(len(rows))
    page = min(page, pages - 1)
    first = page * PER_PAGE
    shown = rows[first : first + PER_PAGE]
    text = ""
    for name_cut in NAME_CUTS:
        lines = [t(lang, "managers.stats_head", period=period_label(period, lang)), ""]
        lines += [_stats_line(first + n, row, name_cut, lang) for n, row in enumerate(shown, 1)]
        if pages > 1:
            lines += ["", t(lang, "managers.page", page=page + 1, pages=pages, total=len(rows))]
        text = "\n".join(lines)
        if len(text) <= TEXT_LIMIT:
            break
    by_id = {m.user_id: m for m in managers}
    buttons: list[list[InlineKeyboardButton]] = [managers_period_row(period.code, lang)]
    for row in shown:
        member = by_id.get(row.user_id)
        if member is None:  # an owner who made deals: listed, but not a manager to switch off
            continue
        key = "managers.btn_deactivate" if member.active else "managers.btn_reactivate"
        data = ManagerToggle(
            user_id=member.user_id, active=not member.active, period=period.code, page=page
        ).pack()
        name = cut(member.full_name, NAME_CUTS[0])
        buttons.append([InlineKeyboardButton(text=plain(lang, key, name=name), callback_data=data)])
    nav = []
    if page > 0:
        back = ManagersPeriod(period=period.code, page=page - 1).pack()
        nav.append(InlineKeyboardButton(text="◀", callback_data=back))
    if page < pages - 1:
        forward = ManagersPeriod(period=period.code, page=page + 1).pack()
        nav.append(InlineKeyboardButton(text="▶", callback_data=forward))
    if nav:
        buttons.append(nav)
    return text, InlineKeyboardMarkup(inline_keyboard=buttons)
