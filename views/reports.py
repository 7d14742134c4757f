"""What /trend and /export show: the trend chart's data and caption, the export's period buttons
and the name of the exported period."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from domain.nps import NpsCounts, sum_counts
from domain.vocabulary import KINDS
from storage.reports import (
    Month,
)
from views.callbacks import ExportPeriod
from views.chart import Series, TrendChart
from views.common import day, signed
from views.exports import Written
from views.texts import Raw, plain, t

# ---- /trend ---------------------------------------------------------------------------------


def _month_names(lang: str, key: str) -> list[str]:
    return plain(lang, key).split(",")


def build_chart(
    months: Sequence[Month], counts: dict[tuple[int, str], NpsCounts], lang: str, company: str
) -> TrendChart:
    short = _month_names(lang, "trend.months")
    series = []
    for kind in KINDS:
        per_month = [counts.get((i, kind), NpsCounts()) for i in range(len(months))]
        answered = sum(c.answered for c in per_month)
        if not answered:
            continue
        series.append(
            Series(
                key=kind,
                label=plain(
                    lang, "trend.legend", kind=plain(lang, f"kinds.{kind}"), answered=answered
                ),
                nps=tuple(c.nps for c in per_month),
                answers=tuple(c.answered for c in per_month),
            )
        )
    return TrendChart(
        title=plain(lang, "trend.title", company=company),
        months=tuple(f"{short[m.month - 1]}\n{m.year % 100:02d}" for m in months),
        series=tuple(series),
        footnote=plain(lang, "trend.footnote"),
    )


def trend_caption(
    months: Sequence[Month], counts: dict[tuple[int, str], NpsCounts], lang: str
) -> str:
    """The whole window's NPS, then the latest and the earliest month that have answers."""
    full = _month_names(lang, "trend.months_full")
    per_month = [
        sum_counts(c for (i, _), c in counts.items() if i == index) for index in range(len(months))
    ]
    overall = sum_counts(per_month)
    with_answers = [i for i, c in enumerate(per_month) if c.answered]
    first, last = with_answers[0], with_answers[-1]

    def name(i: int) -> str:
        return f"{full[months[i].month - 1]} {months[i].year}"

    if first == last:
        return t(
            lang,
            "trend.caption_one",
            nps=signed(overall.nps),
            answered=overall.answered,
            month=name(last),
        )
    return t(
        lang,
        "trend.caption",
        nps=signed(overall.nps),
        answered=overall.answered,
        last=name(last).capitalize(),
        last_nps=signed(per_month[last].nps),
        last_answered=per_month[last].answered,
        first=name(first),
        first_nps=signed(per_month[first].nps),
        first_answered=per_month[first].answered,
    )


# ---- /export ---------------------------------------------------------------------------------


def period_keyboard(lang: str) -> InlineKeyboardMarkup:
    def button(code: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=plain(lang, f"export.btn.{code}"), callback_data=ExportPeriod(period=code).pack()
        )

    return InlineKeyboardMarkup(
        inline_keyboard=[[button("30"), button("90")], [button("y"), button("all")]]
    )


def export_period_label(code: str, first: date | None, last: date, lang: str) -> str:
    if first is None:
        return plain(lang, "export.period.all")
    return plain(lang, f"export.period.{code}", first=day(first), last=day(last))


def grouped(number: int, lang: str) -> str:
    """A count with its thousands apart: "250 001" (a no-break space) in Russian, "250,001"."""
    text = f"{number:,}"
    return text.replace(",", "\u00a0") if lang == "ru" else text


def cut_mark(lang: str) -> Callable[[int], str]:
    """What ends a reason cut to fit an Excel cell: "… [обрезано, всего 40 001 знак]"."""

    def mark(length: int) -> str:
        return plain(lang, "export.cut", count=length)

    return mark


def export_caption(lang: str, table: str, written: Written, kind: str, **values: str) -> str:
    """The caption of one exported file: what is in it (which part, which rows and dates) and
    its format (`kind`: csv, zip, xlsx)."""
    what = Raw(t(lang, f"export.format.{kind}"))
    if written.single:
        return t(lang, f"export.caption.{table}", count=written.rows, format=what, **values)
    dates = ""
    if written.first_day and written.last_day:
        dates = plain(lang, "export.part.dates", first=written.first_day, last=written.last_day)
    return t(
        lang,
        f"export.part.{table}",
        number=written.piece.number,
        parts=written.piece.parts,
        first=grouped(written.piece.first, lang),
        last=grouped(written.last, lang),
        dates=dates,
        format=what,
        **values,
    )


def export_progress(lang: str, period: str, table: str, done: int, total: int) -> str:
    """ "⏳ Готовлю выгрузку за всё время: ответы — 480 000 из 3 000 000…" """
    return t(
        lang,
        "export.progress",
        period=period,
        what=plain(lang, f"export.progress.{table}"),
        done=grouped(done, lang),
        total=grouped(total, lang),
    )
