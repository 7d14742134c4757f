"""Texts for /forget: erasing a person's personal data."""

TEXTS: dict[str, str] = {
    "cmd.forget": "Delete my data",
    "forget.ask": (
        "<b>Delete your data?</b>\n\n"
        "We will delete everything that says who you are:\n"
        "• your name, organisation, phone and birthday;\n"
        "• the link to your Telegram account and your language;\n"
        "• your words in surveys (“what influenced your score”) and any phone you left there;\n"
        "• comments and staff notes about you, your calls and complaints, and what you bought;\n"
        "• your personal referral code — it will stop working.\n\n"
        "Only anonymous scores from 0 to 10 stay in the company's figures, with the dates of "
        "your purchases — no name and no descriptions.\n\n"
        "After that the bot will not write to you, and old survey links will stop working. "
        "The data disappear from the database backups by themselves within {days:day|days}. "
        "This cannot be undone."
    ),
    "forget.btn_yes": "🗑 Yes, delete my data",
    "forget.btn_no": "No, keep it",
    "forget.done": (
        "Done: your personal data have been deleted. Your scores remain only as anonymous "
        "figures, and the bot will not write to you again. Thank you for being with us!"
    ),
    "forget.cancelled": "All right, nothing is deleted. If you change your mind, send /forget.",
    "forget.nothing": "We hold no data about you — there is nothing to delete.",
    "forget.nothing_left": "There is nothing left to delete: we hold no data about you.",
    "forget.staff_owner": (
        "/forget is for clients and partners: it lets a person delete their own data.\n"
        "To delete a contact's personal data, open their card (/find name or phone) and press "
        "“🗑 Delete personal data”."
    ),
    "forget.staff_manager": (
        "/forget is for clients and partners: it lets a person delete their own data.\n"
        "An owner of the company can delete a contact's data at their request, from the "
        "contact's card."
    ),
    "forget.btn_card": "🗑 Delete personal data",
    "forget.owner_ask": (
        "<b>Delete this contact's personal data?</b>\n\n"
        "👤 {name}\n\n"
        "To be deleted: name, organisation, phone, birthday, Telegram link, answers to “what "
        "influenced your score”, comments, notes on calls and cases, deal descriptions, referral "
        "code. The contact's tasks are cancelled, unsent messages about them are not sent, and "
        "the name and answers are wiped from case alerts already delivered.\n\n"
        "What stays: anonymous scores in the NPS figures, deal dates and the manager. The data "
        "disappear from backups within {days:day|days}. This cannot be undone."
    ),
    "forget.owner_btn_yes": "🗑 Yes, delete",
    "forget.owner_btn_no": "← Cancel",
    "forget.owner_done": (
        "The personal data of contact #{contact_id} have been deleted. Their scores stay in the "
        "NPS figures without a name."
    ),
    "forget.owner_already": "This contact's data have already been deleted.",
}
