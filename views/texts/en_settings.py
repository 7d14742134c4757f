"""Texts for the owner's /settings."""

TEXTS: dict[str, str] = {
    "cmd.settings": "Bot settings",
    "settings.title": "⚙️ <b>Settings</b>",
    "settings.hint": (
        "✏️ — changed in the chat; the rest comes from the .env file. "
        "Tap a setting to change it. Changes apply at once, with no restart."
    ),
    "settings.saved": "✅ Saved: {name} — {value}.",
    "settings.was_reset": "↩️ Back to the .env value: {name} — {value}.",
    "settings.unchanged": "This value is already in force.",
    "settings.name.company_name": "Company name",
    "settings.name.company_name_en": "Name in English",
    "settings.name.digest_time": "Managers' plan",
    "settings.name.workdays": "Working days",
    "settings.name.offer_interval": "Offer to a client",
    "settings.name.birthday_lead_days": "Birthday reminder",
    "settings.name.contact_min_days": "The bot writes to a person first",
    "settings.name.default_language": "Default language",
    "settings.show.company_name": "“{value}”",
    "settings.show.company_name_en": "“{value}”",
    "settings.show.company_name_en_unset": "not set; English texts use “{fallback}”",
    "settings.show.digest_time": "at {value} ({zone}), on working days",
    "settings.show.workdays": "{value}",
    "settings.show.offer_interval": "every {low}–{high:day|days}",
    "settings.show.birthday_lead_days": "{value:day|days} ahead",
    "settings.show.birthday_lead_days_zero": "on the day itself",
    "settings.show.contact_min_days": "at most once in {value:day|days}",
    "settings.show.contact_min_days_zero": "no limit",
    "settings.show.default_language": "{value}",
    "settings.language.ru": "Russian",
    "settings.language.en": "English",
    "settings.days": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
    "settings.ask.company_name": (
        "<b>Company name</b> — how the bot names the company in surveys and messages to clients "
        "(in English ones too, until a name in English is set).\n"
        "Now: {current}\n\nWrite the new name (up to {limit:character|characters})."
    ),
    "settings.ask.company_name_en": (
        "<b>Name in English</b> — how the bot names the company in English texts. Until it is "
        "set, they use the main company name.\n"
        "Now: {current}\n\n"
        "Write the name in Latin letters (up to {limit:character|characters}), e.g. Romashka Ltd."
    ),
    "settings.ask.digest_time": (
        "<b>Plan time</b> — when managers get the day's plan (time zone {zone}).\n"
        "Now: {current}\n\nPick or write a time, e.g. 08:30."
    ),
    "settings.ask.offer_interval": (
        "<b>Offer to a client</b> — how often to remind the manager to make a client an offer. "
        "The bot picks a day inside the interval.\nNow: {current}\n\n"
        "Pick or write two numbers of days with a hyphen, e.g. 30-60."
    ),
    "settings.ask.birthday_lead_days": (
        "<b>Birthday reminder</b> — how many days ahead to tell the manager.\n"
        "Now: {current}\n\nPick or write a number from 0 to 30."
    ),
    "settings.ask.contact_min_days": (
        "<b>The bot writes to a person first</b> at most once in N days (greetings, survey "
        "reminders), so as not to annoy.\nNow: {current}\n\n"
        "Pick or write a number from 0 to 90 (0 — no limit)."
    ),
    "settings.ask.workdays": (
        "<b>Working days</b> — on these days managers get the plan and call clients.\n"
        "Tap a day to switch it on or off."
    ),
    "settings.ask.default_language": (
        "<b>Default language</b> — for people whose Telegram language the bot does not know.\n"
        "Now: {current}"
    ),
    "settings.bad.company": "The name can't be empty or span several lines. "
    "Write it on one line, up to {limit:character|characters}.",
    "settings.bad.company_long": "Too long: {length:character|characters}, up to {limit} allowed. "
    "Please make it shorter.",
    "settings.bad.time": "That doesn't look like a time. Write hours and minutes, e.g. 09:30.",
    "settings.bad.offer": "Write two numbers of days with a hyphen, each from {low} to {high}, "
    "e.g. 30-60.",
    "settings.bad.offer_order": "The first number must not exceed the second, e.g. 30-60.",
    "settings.bad.number": "Write a whole number from {low} to {high}.",
    "settings.bad.workdays": "At least one working day must remain.",
    "settings.bad.language": "Please pick the language with a button.",
    "settings.bad.unknown": "There is no such setting. Open /settings again.",
    "settings.bad.not_text": "Write the value as text or tap a button.",
    "settings.button.reset": "↩️ As in .env ({value})",
    "settings.button.back": "⬅️ Back to settings",
}
