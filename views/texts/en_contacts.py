"""English texts of /find and the contact card. Keys match `ru_contacts.py`; a test checks that."""

TEXTS: dict[str, str] = {
    "cmd.find": "Find a contact",
    # --- the search ---
    "find.usage": (
        "Contact search: after /find type a part of the name, the organisation or a phone.\n\n"
        "For example: <code>/find Smith</code> or <code>/find +7 916 123-45-67</code>"
    ),
    "find.too_long": (
        "The query is too long ({length:character|characters}). "
        "Please type up to {limit}: a part of the "
        "name, the organisation or a phone."
    ),
    "find.too_short": (
        "Please type at least 3 letters of the name or organisation, or a phone.\n\n"
        "For example: <code>/find Smi</code> or <code>/find +7 916 123-45-67</code>"
    ),
    "find.nothing_text": (
        "Nothing found for “{query}”: I searched names and organisations. Try a part of the "
        "surname or a phone."
    ),
    "find.nothing_phone": "No contact has the phone {phone}.",
    "find.scope_own": "Only your own contacts are searched.",
    "find.list_header": "Found: {count}. Choose a contact:",
    "find.list_header_many": "Found more than {count}: please narrow it down. Some of them:",
    "find.list_line": "{n}. {name}{details}",
    "find.list_more": "…and {count} more. Please refine the query.",
    "find.btn_open": "{n}. {name}",
    "find.no_name": "No name",
    # --- the card ---
    "find.card_title": "👤 <b>{name}</b>",
    "find.card_kind": "Who: {kind}",
    "find.card_org": "Organisation: {org}",
    "find.card_phone": "Phone: {phone}",
    "find.card_birthday": "Birthday: {birthday}",
    "find.card_manager": "Manager: {manager}",
    "find.not_set": "—",
    "find.flag_consent_yes": "✅ Agreed to be contacted about the survey",
    "find.flag_consent_no": "🚫 Did not agree to be contacted about the survey",
    "find.flag_opted_out": "🔕 Opted out of bot messages ({date})",
    "find.flag_unreachable": (
        "⚠️ Since {date} the bot cannot write to this person: the bot is blocked or the account "
        "deleted"
    ),
    "find.deals_header": "<b>Deals</b> ({count}):",
    "find.deal_line": "• {date} — {text}",
    "find.answers_header": "<b>Survey answers</b> ({count}):",
    "find.answer_line": "• {date} — {score} of 10, {category}: {reason}",
    "find.answer_no_reason": "no comment",
    "find.cat_promoter": "promoter",
    "find.cat_passive": "passive",
    "find.cat_detractor": "detractor",
    "find.comments_header": "<b>Comments</b> ({count}):",
    "find.comment_line": "• {date}, {source}: {text}",
    "find.source_manual": "note",
    "find.source_call": "after a call",
    "find.source_import": "import",
    "find.source_survey": "survey",
    "find.calls_header": "<b>Calls</b> ({count}):",
    "find.call_line": "• {date} — {outcome}",
    "find.outcome_likes": "uses it and likes it",
    "find.outcome_not_yet": "has not started using it yet",
    "find.outcome_unsuitable": "not suitable — a meeting is needed",
    "find.outcome_no_answer": "no answer",
    "find.outcome_done": "done",
    "find.outcome_other": "outcome “{code}”",
    "find.tasks_header": "<b>Open tasks</b> ({count}):",
    "find.task_line": "• {kind} — due {date}",
    "find.task_call": "Call after the deal",
    "find.task_call_back": "Call back",
    "find.task_meet": "Meeting",
    "find.task_birthday": "Birthday greeting",
    "find.task_birthday_lead": "Birthday soon: prepare a gift",
    "find.task_offer": "Individual offer",
    "find.task_refresh": "Thank the promoter",
    "find.task_passive": "Remind them of us",
    "find.task_resend": "Send the survey link again",
    "find.task_other": "Task “{kind}”",
    "find.more": "   …and {count} more",
    "find.btn_deal": "➕ New deal",
    "find.btn_comment": "💬 Add comment",
    "find.btn_birthday": "🎂 Set birthday",
    # --- the card's buttons ---
    "find.ask_comment": (
        "A comment about “{name}”: type it in one message, "
        "up to {limit:character|characters}.\n\n"
        "/cancel — cancel"
    ),
    "find.comment_too_long": (
        "The comment is longer than {limit:character|characters} ({length}). "
        "Please shorten it and send "
        "it again."
    ),
    "find.text_expected": "Please send it as a text message.",
    "find.comment_saved": "Comment saved.",
    "find.ask_birthday": (
        "Birthday of “{name}”: DD.MM or DD.MM.YYYY, for example 05.03 or 05.03.1985.\n\n"
        "/cancel — cancel"
    ),
    "find.birthday_invalid": (
        "There is no such date, or it is in the future. Please type DD.MM or DD.MM.YYYY, for "
        "example 05.03 or 05.03.1985."
    ),
    "find.birthday_saved": "Birthday saved: {birthday}.",
    "find.gone": "This contact is no longer available. Nothing was saved.",
}
