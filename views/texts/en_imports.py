"""Texts for importing a client base from a CSV or XLSX file."""

TEXTS: dict[str, str] = {
    "cmd.import": "Import a client base",
    "cmd.template": "Template file for importing",
    "import.help": (
        "📥 <b>Importing your client base</b>\n"
        "Send me an <b>XLSX</b> or <b>CSV</b> file (up to 20 MB). The first row holds the column "
        "names, in any order; extra columns do no harm:\n"
        "• <b>Name</b> (or full name) — a name or a phone is needed\n"
        "• <b>Phone</b> — any format: +7 916 123-45-67, 8 (916) 1234567\n"
        "• <b>Kind</b> — client, supplier, contractor or partner (empty: client)\n"
        "• <b>Organisation</b>\n"
        "• <b>Birthday</b> — 15.03, 15.03.1985 or 1985-03-15\n"
        "• <b>Manager</b> — a staff member's name in the bot, @username or id (empty: you)\n"
        "• <b>Last purchase date</b> — 12.09.2026 or 2026-09-12\n"
        "• <b>What was bought</b>\n"
        "• <b>Notes</b>\n\n"
        "A contact whose phone is already known is not duplicated: only its empty fields are "
        "filled. You can send the same file again — nothing is doubled. Rows that could not be "
        "taken come back as a file, with the reason for each.\n\n"
        "A template with an example is below."
    ),
    "import.template_caption": (
        "Template for importing your base: fill it in and send it to me. Column names may be in "
        "English or Russian:\n"
        "Name / Имя · Kind / Тип · Organisation / Организация · Phone / Телефон · "
        "Birthday / День рождения · Manager / Менеджер · "
        "Last purchase date / Дата последней покупки · What was bought / Покупка · "
        "Notes / Заметки\n"
        "Synonyms work too: Full name, Client, Tel, Mobile, Date of birth, Owner, "
        "Last purchase, Product, Comment, Company…"
    ),
    "import.template_file": "client base template.xlsx",
    "import.template_sheet": "Clients",
    "import.kinds_list": "client,supplier,contractor,partner",
    "import.field.name": "Name",
    "import.field.kind": "Kind",
    "import.field.organization": "Organisation",
    "import.field.phone": "Phone",
    "import.field.birthday": "Birthday",
    "import.field.manager": "Manager",
    "import.field.deal_date": "Last purchase date",
    "import.field.product": "What was bought",
    "import.field.note": "Notes",
    "import.sample.name": "Anna Smith",
    "import.sample.kind": "client",
    "import.sample.organization": "Daisy Ltd",
    "import.sample.product": "Kitchen set",
    "import.sample.note": "Prefers calls after 6 pm",
    "import.refuse.format": (
        "I take a client base as an <b>XLSX</b> or <b>CSV</b> file, and «{name}» is another kind "
        "of file. Save the table as .xlsx or .csv and send it again. Example: /template"
    ),
    "import.refuse.xls": (
        "«{name}» is in the old Excel format (.xls). Open it and save it as "
        "“Excel Workbook (*.xlsx)”, then send it again."
    ),
    "import.refuse.sheet": (
        "I cannot read «{name}». Save the table as .xlsx or .csv (“File → Save as” or "
        "“Export”) and send it again."
    ),
    "import.refuse.photo": (
        "This is a photo, and I take a client base as an XLSX or CSV file. Send the table as a "
        "file (paperclip → “File”). Example: /template"
    ),
    "import.refuse.too_big": (
        "«{name}» is {size} MB, and Telegram lets bots download files of up to 20 MB. "
        "Split the base into parts or save it as CSV, which is smaller."
    ),
    "import.busy": (
        "I am still importing your previous file. Wait for its report, then send the next one."
    ),
    "import.received": "📥 Got «{name}», reading…",
    "import.download_failed": (
        "Could not download «{name}» from Telegram. Nothing was changed — send the file again."
    ),
    "import.progress.check": "⏳ Checking «{name}»…\n{bar} {percent}%\nRows read: {done}",
    "import.progress.write": (
        "⏳ Importing the base from «{name}»…\n{bar} {percent}%\n{done} of {total:row|rows}"
    ),
    "import.unreadable": "❌ Could not read «{name}»: {reason}\n\nNothing was changed.",
    "import.unreadable.empty": "the file is empty.",
    "import.unreadable.legacy_xls": (
        "it is in the old Excel format (.xls). Save it as “Excel Workbook (*.xlsx)”."
    ),
    "import.unreadable.not_xlsx": (
        "it is not a real Excel file (.xlsx), or it is damaged. Open it in Excel or Google "
        "Sheets and save it again as .xlsx or .csv."
    ),
    "import.unreadable.not_text": "it is not a text CSV. Save the table as “CSV UTF-8” or .xlsx.",
    "import.unreadable.bad_csv": (
        "the CSV is broken near row {row} (an unclosed quote, for example). "
        "Save the table again as “CSV UTF-8” or .xlsx."
    ),
    "import.unreadable.no_header": (
        "no row with column names found: at least a “Name” or “Phone” column is needed. "
        "The file's first row: «{first}». Example: /template"
    ),
    "import.unreadable.too_many_rows": (
        "the file has more than {limit:row|rows}. Split the base into several files."
    ),
    "import.summary.title": "✅ <b>Base imported</b> from «{name}»",
    "import.summary.rows": "Rows with data: {count}",
    "import.summary.created": "• new contacts: {count}",
    "import.summary.filled": "• already in the base, empty fields filled in: {count}",
    "import.summary.unchanged": "• already in the base, nothing to fill in: {count}",
    "import.summary.duplicates": "• repeated within the file, merged: {count}",
    "import.summary.rejected": "• not imported: {count}",
    "import.summary.reason": "   — {reason}: {count}",
    "import.summary.deals": "Purchases added: {deals} · notes: {notes}",
    "import.summary.unknown": "Columns not recognised and skipped: {columns}",
    "import.summary.notes_cut": "Notes longer than 2000 characters were cut: {count}",
    "import.summary.fix_hint": (
        "The rows not imported are in the file below, with the reason for each. Fix them and "
        "send that file back to me."
    ),
    "import.summary.plans": (
        "From tomorrow morning these people appear in the managers' plans: birthdays, offers, "
        "clients who have not bought for a while."
    ),
    "import.summary.nothing_new": "Nothing new: everything in this file is already in the base.",
    "import.interrupted": (
        "⚠️ Importing «{name}» stopped after {done:row|rows} (new contacts: {created}). "
        "Send the same file again: what was imported is not doubled, the rest is added."
    ),
    "import.stopped": (
        "⚠️ Importing «{name}» was stopped: the bot is restarting. In a minute, send the same "
        "file again — what was imported is not doubled."
    ),
    "import.crashed": (
        "⚠️ Importing «{name}» was cut short: the bot restarted. Send the same file again — "
        "what was imported is not doubled."
    ),
    "import.group.erased": "the person asked us to delete their data",
    "import.group.phone": "bad phone",
    "import.group.no_name_phone": "neither a name nor a phone",
    "import.group.birthday": "impossible birthday",
    "import.group.deal_date": "impossible purchase date",
    "import.group.deal_future": "purchase date in the future",
    "import.group.kind": "unknown kind",
    "import.group.manager": "unknown manager",
    "import.group.too_long": "value too long",
    "import.reason.erased": "the person with this phone asked us to delete their data (/forget): "
    "not loaded again",
    "import.reason.phone": "bad phone «{value}»",
    "import.reason.no_name_phone": "neither a name nor a phone",
    "import.reason.birthday": "impossible birthday «{value}»",
    "import.reason.deal_date": "impossible purchase date «{value}» (DD.MM.YYYY expected)",
    "import.reason.deal_future": "purchase date in the future «{value}»",
    "import.reason.kind": "unknown kind «{value}» (allowed: client, supplier, contractor, partner)",
    "import.reason.manager": "unknown manager «{value}» (not among the staff in the bot)",
    "import.reason.too_long": (
        "value too long in column «{column}» (over {limit:character|characters})"
    ),
    "import.col_row": "Row",
    "import.col_reason": "Reason",
    "import.rejected_file": "{name} — not imported.csv",
    "import.rejected_caption": "Rows not imported: {count}. The reason is in the last column.",
    "import.deal_default": "Purchase from the imported base",
}
