"""What the person importing sees: the progress bar, the summary, the reason a file was refused.

Numbers are grouped as each language writes them ("10 000", "10,000"): an import report is
read for its figures.
"""

from __future__ import annotations

from domain.importing.report import ImportReport, Unreadable
from views.texts import Raw, t

BAR_CELLS = 10
MAX_UNKNOWN_SHOWN = 10
REASON_ORDER = (
    "erased",
    "phone",
    "no_name_phone",
    "birthday",
    "deal_date",
    "deal_future",
    "kind",
    "manager",
    "too_long",
)


def number(lang: str, value: int) -> str:
    grouped = f"{value:,}"
    return grouped.replace(",", "\u00a0") if lang == "ru" else grouped


def progress_text(
    lang: str, file_name: str, phase: str, done: int, total: int | None, share: float
) -> str:
    share = min(max(share, 0.0), 1.0)
    filled = int(share * BAR_CELLS)
    bar = "▓" * filled + "░" * (BAR_CELLS - filled)
    return t(
        lang,
        f"import.progress.{phase}",
        name=file_name,
        bar=bar,
        percent=int(share * 100),
        done=number(lang, done),
        total=number(lang, total or 0),
    )


def unreadable_text(lang: str, file_name: str, error: Unreadable) -> str:
    values = {k: v for k, v in error.values.items() if k != "detail"}
    if "limit" in values:
        values["limit"] = number(lang, int(values["limit"]))
    reason = t(lang, f"import.unreadable.{error.code}", **values)
    return t(lang, "import.unreadable", name=file_name, reason=Raw(reason))


def summary_text(lang: str, file_name: str, report: ImportReport) -> str:
    counts = report.counts
    lines = [
        t(lang, "import.summary.title", name=file_name),
        t(lang, "import.summary.rows", count=number(lang, report.rows)),
        t(lang, "import.summary.created", count=number(lang, counts.created)),
    ]
    if counts.filled:
        lines.append(t(lang, "import.summary.filled", count=number(lang, counts.filled)))
    if counts.merged - counts.filled:
        unchanged = number(lang, counts.merged - counts.filled)
        lines.append(t(lang, "import.summary.unchanged", count=unchanged))
    if counts.duplicates:
        lines.append(t(lang, "import.summary.duplicates", count=number(lang, counts.duplicates)))
    lines.append(t(lang, "import.summary.rejected", count=number(lang, report.rejected)))
    for code in sorted(report.reasons, key=REASON_ORDER.index):
        lines.append(
            t(
                lang,
                "import.summary.reason",
                reason=t(lang, f"import.group.{code}"),
                count=number(lang, report.reasons[code]),
            )
        )
    lines.append(
        t(
            lang,
            "import.summary.deals",
            deals=number(lang, counts.deals),
            notes=number(lang, counts.comments),
        )
    )
    if report.unknown_columns:
        shown = [f"«{c[:40]}»" for c in report.unknown_columns[:MAX_UNKNOWN_SHOWN]]
        more = len(report.unknown_columns) - len(shown)
        columns = ", ".join(shown) + (f" +{more}" if more > 0 else "")
        lines.append(t(lang, "import.summary.unknown", columns=columns))
    if report.notes_cut:
        lines.append(t(lang, "import.summary.notes_cut", count=number(lang, report.notes_cut)))
    lines.append("")
    if report.rejected:
        lines.append(t(lang, "import.summary.fix_hint"))
    # Only what happened: a file sent again adds nobody and nothing to plan.
    if counts.created or counts.filled or counts.deals:
        lines.append(t(lang, "import.summary.plans"))
    elif not (counts.comments or report.rejected) and counts.merged + counts.duplicates:
        lines.append(t(lang, "import.summary.nothing_new"))
    return "\n".join(lines).rstrip()


def interrupted_text(lang: str, file_name: str, report: ImportReport) -> str:
    return t(
        lang,
        "import.interrupted",
        name=file_name,
        done=number(lang, report.written),
        created=number(lang, report.counts.created),
    )
