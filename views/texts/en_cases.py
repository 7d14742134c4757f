"""Texts of /cases, the case card and the "was it resolved?" question (keys as in ru_cases.py)."""

TEXTS: dict[str, str] = {
    "cmd.cases": "Unhappy clients' cases",
    # --- the list ---
    "cases.title": "📂 <b>Open cases: {count}</b>\nOldest first.",
    "cases.scope_own": "These are your clients' cases and the cases you took.",
    "cases.empty": "No open cases. 🎉",
    "cases.page": "Page {page} of {pages}",
    "cases.line": "#{case_id} · {name} · {score} · {age} · {owner}",
    "cases.score": "score {score}",
    "cases.score_call": "call: not suitable",
    "cases.nobody": "nobody",
    "cases.age_hours": "{hours:hour|hours}",
    "cases.age_days": "{days:day|days} {hours:hour|hours}",
    "cases.btn_open": "#{case_id} · {name}",
    "cases.btn_prev": "◀",
    "cases.btn_next": "▶",
    # --- the card ---
    "cases.card_title": "📁 <b>Case #{case_id}</b> · {status}",
    "cases.status_open": "nobody took it",
    "cases.status_taken": "{name} is on it",
    "cases.status_resolved": "resolved ({name})",
    "cases.card_opened": "Opened: {when}, {age} ago",
    "cases.card_score": "Score: {score} of 10",
    "cases.card_call": "From: the call after the sale — “not suitable”",
    "cases.card_reason": "Reason: {reason}",
    "cases.card_contact": "Contact: {contact}",
    "cases.card_who": "Who: {name}{org} ({kind})",
    "cases.card_deal": "Deal: {deal}",
    "cases.card_manager": "Manager: {manager}",
    "cases.card_resolution": "Resolution ({when}): “{text}”",
    "cases.card_reopened": "Reopened: {count:time|times}",
    "cases.client_yes": "The client confirmed: the issue is resolved ✅",
    "cases.client_no": "The client said: the issue is not resolved ❌",
    "cases.client_waiting": "Waiting for the client to say whether the issue is resolved.",
    "cases.history": "<b>History:</b>",
    "cases.history_more": "…and {count:earlier event|earlier events}",
    "cases.ev_actor": "{when} — {actor}: {what}",
    "cases.ev_plain": "{when} — {what}",
    "cases.ev_opened": "case opened",
    "cases.ev_opened_call": "case opened after a call",
    "cases.ev_taken": "took the case",
    "cases.ev_note": "note “{note}”",
    "cases.ev_resolved": "resolved: “{note}”",
    "cases.ev_reopened": "reopened",
    "cases.ev_confirmed": "the client confirmed the issue is resolved",
    "cases.ev_reopened_by_client": "the client said the issue is not resolved — case reopened",
    "cases.ev_other": "{action}",
    "cases.btn_take": "🙋 Take the case",
    "cases.btn_note": "📝 Note",
    "cases.btn_resolve": "✅ Resolved",
    "cases.btn_reopen": "↩️ Reopen",
    "cases.btn_back": "◀ Back to the list",
    # --- actions ---
    "cases.ask_note": (
        "Write a note for case #{case_id} in one message (up to {limit:character|characters}).\n"
        "/cancel — cancel."
    ),
    "cases.ask_resolution": (
        "How was the issue of case #{case_id} resolved? Briefly, in one message "
        "({min} to {limit:character|characters}).\n/cancel — cancel."
    ),
    "cases.note_empty": "The note is empty. Please write some text.",
    "cases.note_too_long": (
        "The note is longer than {limit:character|characters} ({length}). "
        "Please shorten it and send it "
        "again."
    ),
    "cases.resolution_too_short": "That is too short. In a few words, how was it resolved?",
    "cases.resolution_too_long": (
        "The description is longer than {limit:character|characters} ({length}). "
        "Please keep just the "
        "essentials."
    ),
    "cases.text_expected_note": "Please send the note as text — I cannot keep a sticker or photo.",
    "cases.text_expected_resolution": "Please write as text how the issue was resolved.",
    "cases.note_added": "📝 Note added to case #{case_id}.",
    "cases.resolved_done": "✅ Case #{case_id} is resolved.",
    "cases.client_asked": (
        "The bot will ask the client whether the issue is resolved; the answer will appear in "
        "the history."
    ),
    "cases.client_asked_later": (
        "The bot will ask the client whether it is resolved at {when} (it writes to clients "
        "from {start} to {end}); the answer will appear in the history."
    ),
    "cases.client_no_consent": "The client did not agree to be contacted, so the bot does not ask.",
    "cases.client_blocked": "The bot cannot ask the client: {reason}.",
    "cases.not_taken": (
        "Case #{case_id} is not being worked on: only a taken case can be marked resolved."
    ),
    "cases.not_resolved": "Case #{case_id} is not closed anyway.",
    "cases.reopened_done": "Case #{case_id} is being worked on again.",
    "cases.unavailable": "This case is not available to you.",
    "cases.alert_resolved": "✅ Case resolved ({name}).",
    "cases.reopened_notice": (
        "❗ The client said the issue is <b>not resolved</b>.\n\n"
        "Case #{case_id}: {name}{org} — back with you. Please contact the person again."
    ),
    "cases.btn_open_case": "📁 Open the case",
    # --- the question to the person ---
    "confirm.question": (
        "Hello! This is {company}. You told us about a problem, and we have it marked as "
        "resolved.\n\n"
        "Has your issue been resolved?"
    ),
    "confirm.btn_yes": "👍 Yes, resolved",
    "confirm.btn_no": "👎 No, not resolved",
    "confirm.answer_given": "Your answer: {answer}",
    "confirm.thanks_yes": "Thank you! We are glad it is sorted out.",
    "confirm.thanks_no": (
        "Thank you for telling us. We are working on your issue again — someone will contact you."
    ),
    "confirm.done_already": "Your answer is already recorded, thank you.",
    "alert.case": (
        "⚠️ Unhappy feedback: score {score} of 10\n\n"
        "Who: {name}{org} ({kind})\nDeal: {deal}\nManager: {manager}\n"
        "Reason: {reason}\nContact: {contact}\n\n"
        "Case #{case_id}: someone needs to contact the person and solve the problem."
    ),
    "alert.contact_phone": "agreed, phone {phone}",
    "alert.contact_telegram": "agreed, left no phone — write to them in Telegram",
    "alert.contact_no": "did not agree to be contacted",
    "alert.contact_unknown": "did not answer the contact question",
    "alert.contact_not_asked": "not asked about contact",
    "case.late": "✍️ Case #{case_id}, {name}: {facts}",
    "case.late_reason": "reason “{reason}”",
    "case.late_phone": "phone {phone}",
    "alert.reason_none": "not given",
    "alert.pending": "still answering the survey…",
    "alert.deal_none": "—",
    "alert.btn_take": "🙋 I'll take it",
    "alert.taken": "✅ Taken by {name}, {when}",
    "alert.taken_you": "Case #{case_id} is yours. Contact the person as soon as possible.",
    "alert.already_taken": "{name} has already taken this case.",
    "case.remind": (
        "⏰ Case #{case_id} ({name}, score {score}) has not been taken for "
        "{hours:working hour|working hours}. Please take it — the person is waiting for an answer."
    ),
    "case.escalate": (
        "🚨 Case #{case_id} ({name}, score {score}) is not resolved after "
        "{days:working day|working days}. "
        "Owner: {owner}."
    ),
    "case.nobody": "nobody",
}
