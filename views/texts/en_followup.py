"""Texts of the daily plan, tasks, reminders and opt-out (same keys as ru_followup.py)."""

TEXTS: dict[str, str] = {
    # --- the daily plan ---
    "plan.title": "📋 Plan for {date}: {count}",
    "plan.title_empty": "📋 Plan for {date}",
    "plan.more": "… plus {count} — tap ▶ to see them.",
    "plural.task": "task|tasks",
    "plan.kind.meet": "Meet urgently",
    "plan.kind.call_back": "Call back",
    "plan.kind.call": "Calls after the purchase",
    "plan.kind.birthday": "Birthdays",
    "plan.kind.birthday_lead": "Birthdays soon: prepare a gift",
    "plan.kind.offer": "Individual offers",
    "plan.kind.refresh": "Thank the promoters",
    "plan.kind.resend": "Resend the survey",
    "plan.kind.passive": "No purchase for a while",
    "plan.score": "score {score}",
    "plan.last_deal": "last purchase {date}",
    "plan.birthday_on": "birthday on {date}",
    "plan.empty": "Nothing to do today. Have a good day!",
    "plan.pick": "Tap an item to open it and record the outcome.",
    "plan.overdue": " · since {date}",
    "plan.page": "Page {page} of {pages}",
    "plan.btn_prev": "◀",
    "plan.btn_next": "▶",
    "plan.btn_back": "◀ Back to the plan",
    "week.more": "… and {count} more (they open in that day's plan)",
    "item.call": "📞 Call after purchase: {name}",
    "item.call_back": "📞 Call back: {name}",
    "item.meet": "🤝 Meet urgently: {name}",
    "item.offer": "🛍 Offer: {name}",
    "item.birthday": "🎂 Birthday: {name}",
    "item.birthday_lead": "🎁 Birthday soon: {name}",
    "item.refresh": "💐 Say thank you: {name}",
    "item.passive": "🔄 No purchase for a while: {name}",
    "item.resend": "✉️ Resend the survey: {name}",
    # --- task cards ---
    "card.who": "{name}{org}{phone}",
    "card.call": (
        "📞 <b>Call after purchase</b>\n{who}\nDeal: {deal}\n\n"
        "Ask whether they already use it:\n"
        "• they like it — thank them, ask about the effect, tell them how to get more from it;\n"
        "• not started yet — find out when they will start, and call back after that;\n"
        "• not suitable — arrange to meet as soon as possible and listen carefully."
    ),
    "card.call_attempt": "Attempt {n} of {max}.",
    "card.call_back": (
        "📞 <b>Call back</b>\n{who}\nDeal: {deal}\n{note}\n\n"
        "Ask how it is going: do they like it, is there an effect, do they need help."
    ),
    "card.call_back_note": "You agreed the client would start using it on {date}.",
    "card.call_back_likes": "The client likes it — ask about the effect in detail.",
    "card.meet": (
        "🤝 <b>Meet urgently</b>\n{who}\nDeal: {deal}\n\n"
        "The purchase did not suit them. Meet as soon as possible, listen carefully and solve "
        "the problem."
    ),
    "card.offer": (
        "🛍 <b>Individual offer</b>\n{who}\n\n<b>Purchases:</b>\n{purchases}\n\n"
        "<b>What they said:</b>\n{comments}\n\n"
        "Offer 1–2 items that are useful to this person in particular."
    ),
    "card.none": "—",
    "card.birthday_lead": (
        "🎁 <b>Birthday in {days:day|days} — {date}</b>\n{who}\n\n"
        "Prepare a useful gift so it arrives on time."
    ),
    "card.birthday": "🎂 <b>Birthday today</b>\n{who}\n\nCongratulate them in person.",
    "card.birthday_greet_hint": "You can also send the bot's greeting — button below.",
    "card.refresh": (
        "💐 <b>Six months after a great score</b>\n{who}\nScore: {score} of 10{reason}\n\n"
        "Thank them for their trust and make a small surprise — it renews the impression."
    ),
    "card.passive": (
        "🔄 <b>No purchase for a while</b>\n{who}\nLast purchase: {date}\n\n"
        "Remind them of the company: they already know you, so buying again is easier."
    ),
    "card.resend": "✉️ <b>Survey not opened</b>\n{who}\n\nForward the link again:\n{link}",
    "card.due": "Due: {date}",
    # --- buttons ---
    "btn.likes": "👍 Uses it, likes it",
    "btn.not_yet": "⏳ Not started yet",
    "btn.unsuitable": "👎 Not suitable",
    "btn.no_answer": "📵 No answer",
    "btn.snooze": "⏰ Snooze",
    "btn.snooze_1h": "1 hour",
    "btn.snooze_3h": "3 hours",
    "btn.snooze_tomorrow": "Tomorrow",
    "btn.snooze_week": "⏰ A week",
    "btn.start_tomorrow": "Tomorrow",
    "btn.start_3d": "In 3 days",
    "btn.start_week": "In a week",
    "btn.start_date": "📅 Another date",
    "btn.call_tomorrow": "📞 Call again tomorrow",
    "btn.no_more": "No need",
    "btn.done": "✅ Done",
    "btn.done_note": "📝 Done, with a note",
    "btn.skip_task": "⏭ Skip",
    "btn.greet": "🤖 Send the bot's greeting",
    "btn.continue_survey": "Continue the survey",
    # --- outcomes ---
    "task.done": "Done.",
    "task.skipped": "Skipped.",
    "task.snoozed": "Snoozed until {when}.",
    "task.gone": "This task is already closed.",
    "task.likes_next": "Great! Call again tomorrow to ask about the effect?",
    "task.when_start": "When will the client start using it?",
    "task.call_back_set": "Call back on {date}: it is in your plan.",
    "task.retry_set": "We'll try again on {date}.",
    "task.retries_exhausted": "No answer {n:time|times} — the task is closed.",
    "task.meet_set": "An urgent meeting for today and case #{case_id} were created.",
    "task.ask_date": "Type the date: DD.MM or DD.MM.YYYY (not in the past).",
    "task.date_invalid": "I couldn't read that date. Example: 25.11 or 25.11.2026.",
    "task.ask_note": "Type a note in one message: what you offered and how they reacted.",
    "task.note_invalid": "Please type the note as text, up to 2000 characters.",
    "task.note_saved": "Note saved.",
    "task.greeted": "The greeting was sent.",
    "task.greet_later": (
        "The greeting goes at {when}: the bot writes to clients from {start} to {end}."
    ),
    "task.greet_blocked": "The bot cannot write first: {reason}",
    "greet.reason_optout": "the person opted out of messages",
    "greet.reason_unreachable": "the person blocked the bot",
    "greet.reason_unlinked": "the person has never opened the bot",
    "greet.reason_noconsent": "the person did not agree to be contacted",
    "greet.reason_budget": (
        "the bot already wrote to them, and writes at most once in {days:day|days}"
    ),
    "greet.text": (
        "🎂 Happy birthday, {name}! We wish you joy, health and all the best. Thank you for "
        "being with us!\n\n{company}"
    ),
    # --- reminders sent by the bot ---
    "reminder.title": "⏰ <b>Reminder</b>",
    "nudge.text_client": (
        "Hello! Could you spare a minute for our three questions? It takes half a minute."
    ),
    "nudge.text_partner": (
        "Hello! Could you spare a minute for three questions about our cooperation? It takes "
        "half a minute, and your opinion matters a lot to us."
    ),
    "unreachable.notice": (
        "⚠️ {name}: the bot can no longer write to this person (they blocked the bot or deleted "
        "the account). Contact them directly{phone}."
    ),
    # --- /stop, /today, /week ---
    "stop.done": (
        "All right, we will not write to you first any more. Changed your mind? Send /start."
    ),
    "stop.staff": "This command is for clients and partners: it turns off messages from the bot.",
    "stop.resumed": "Welcome back! We may write to you again.",
    "week.title": "📅 <b>The next 7 days</b>",
    "week.empty": "Nothing planned for the next week.",
    "week.day": "<b>{date}</b>",
    "cmd.today": "Today's plan",
    "cmd.week": "What is coming",
    "cmd.stop": "Don't write to me first",
}
