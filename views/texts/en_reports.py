"""English texts of /trend and /export. Keys match `ru_reports.py`; a test checks that."""

TEXTS: dict[str, str] = {
    "cmd.trend": "NPS chart for 12 months",
    "cmd.export": "Export answers and contacts",
    # --- /trend ---
    "trend.busy": "⏳ I am still preparing your previous report; it will arrive in a minute.",
    "trend.empty": (
        "📈 Nobody has answered a survey in the last 12 months, so there is nothing to chart yet. "
        "The chart appears after the first answers; meanwhile /managers shows whether the links "
        "went out."
    ),
    "trend.title": "NPS by month — {company}",
    "trend.footnote": "Numbers at the points: answers that month",
    "trend.legend": "{kind} ({answered})",
    "trend.months": "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec",
    "trend.months_full": (
        "January,February,March,April,May,June,July,August,September,October,November,December"
    ),
    "trend.caption": (
        "📈 NPS over 12 months: {nps} (answers: {answered}). {last}: {last_nps} (answers: "
        "{last_answered}); {first}: {first_nps} (answers: {first_answered})."
    ),
    "trend.caption_one": "📈 NPS over 12 months: {nps} (answers: {answered}, all in {month}).",
    # --- /export ---
    "export.busy": "⏳ I am still preparing your previous report; it will arrive in a minute.",
    "export.ask": (
        "📤 <b>Export for Excel</b>\n\nFor which period should I export the answers? All "
        "contacts are included.\nYou will get two files each for answers and contacts: CSV and "
        "XLSX."
    ),
    "export.btn.30": "30 days",
    "export.btn.90": "90 days",
    "export.btn.y": "This year",
    "export.btn.all": "All time",
    "export.period.30": "for 30 days ({first} – {last})",
    "export.period.90": "for 90 days ({first} – {last})",
    "export.period.y": "for this year ({first} – {last})",
    "export.period.all": "for all time",
    "export.preparing": "⏳ Preparing the export {period}…",
    "export.crashed": "⚠️ The export {name} was interrupted: the bot restarted. Ask again: /export",
    "export.done": (
        "✅ The export {period} is ready: {answers:answer|answers}, {contacts:contact|contacts}. "
        "The files are "
        "below, each in two forms: CSV (UTF-8, separated by “;”) and XLSX for Excel."
    ),
    "export.caption.answers": "Answers {period}: {count}. {format}",
    "export.caption.contacts": "Contacts (all but those erased on request): {count}. {format}",
    "export.format.csv": "CSV: UTF-8, separated by “;”; Excel opens it with a double click.",
    "export.format.zip": "CSV in a ZIP archive: unpacked it is over 50 MB, too big for Telegram.",
    "export.format.xlsx": "XLSX for Excel.",
    "export.too_large": (
        "The file {name} came out over 50 MB, and Telegram does not accept files that big from "
        "bots. Please choose a shorter period."
    ),
    "export.progress": "⏳ Preparing the export {period}: {what} — {done} of {total}…",
    "export.progress.answers": "answers",
    "export.progress.contacts": "contacts",
    "export.part.answers": (
        "Answers {period} — part {number} of {parts}: rows {first}–{last}{dates}. {format}"
    ),
    "export.part.contacts": (
        "Contacts (all but those erased on request) — part {number} of {parts}: "
        "rows {first}–{last}. {format}"
    ),
    "export.part.dates": " ({first} – {last})",
    "export.cut": " … [cut, {count:character|characters} in all]",
    "export.sheet.answers": "Answers",
    "export.sheet.contacts": "Contacts",
    "export.yes": "yes",
    "export.no": "no",
    "export.erased": "data erased",
    "export.cat.promoter": "promoter",
    "export.cat.passive": "passive",
    "export.cat.detractor": "detractor",
    # --- column headers ---
    "export.a.answered": "Answered",
    "export.a.name": "Name",
    "export.a.org": "Organisation",
    "export.a.kind": "Kind",
    "export.a.manager": "Manager",
    "export.a.deal": "Deal",
    "export.a.deal_date": "Deal date",
    "export.a.score": "Score",
    "export.a.category": "Category",
    "export.a.reason": "What influenced the score",
    "export.a.consent": "May contact",
    "export.a.phone": "Phone",
    "export.a.created": "Survey created",
    "export.a.opened": "Survey opened",
    "export.c.name": "Name",
    "export.c.kind": "Kind",
    "export.c.org": "Organisation",
    "export.c.phone": "Phone",
    "export.c.birthday": "Birthday",
    "export.c.manager": "Manager",
    "export.c.last_deal": "Last deal",
    "export.c.deals": "Deals",
    "export.c.last_score": "Last score",
    "export.c.consent": "May contact",
    "export.c.opted_out": "Opted out",
    "export.c.unreachable": "Unreachable in Telegram",
    "export.c.created": "Added",
}
