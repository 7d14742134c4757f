"""English texts (the second language). Keys match `ru.py`; a test checks that."""

TEXTS: dict[str, str] = {
    # --- roles, start, help ---
    "start.guest": (
        "Hello! This is {company}'s bot for feedback after a purchase.\n\n"
        "If your manager sent you a survey link, please open it: it takes half a minute.\n"
        "If you work for the company, ask your head for an invite link."
    ),
    "start.owner": (
        "Hello, {name}! You are the owner of {company}'s bot.\n\n"
        "What you can do:\n"
        "/invite — an invite link for a new manager (one-time, valid for 7 days)\n"
        "/managers — the list of managers; remove or restore access\n"
        "/help — this help"
    ),
    "start.manager": (
        "Hello, {name}! You are a manager at {company}.\n\n"
        "The bot will remind you to call clients after a sale, of birthdays and offers, and "
        "clients will answer three short questions through your link.\n\n"
        "/help — this help"
    ),
    "help.guest": (
        "This bot collects feedback from the clients and partners of {company}.\n"
        "To answer a survey, open the link your manager sent you."
    ),
    "not_allowed": "This command is not available to you. See /help for what I can do for you.",
    "unknown_message": "I didn't understand that. See /help for what I can do for you.",
    "button.forged": "This button no longer works.",
    "error.generic": "Sorry, something went wrong. Please try again a little later.",
    # --- invites ---
    "invite.created": (
        "Invite link for a manager:\n{link}\n\n"
        "Forward it to the manager. It works once and is valid until {expires}."
    ),
    "invite.welcome": (
        "Welcome, {name}! You are registered as a manager at {company}.\n\n"
        "/help — what the bot can do"
    ),
    "invite.reactivated": (
        "Welcome back, {name}! Your manager access at {company} is restored.\n\n"
        "/help — what the bot can do"
    ),
    "invite.invalid": (
        "This invite link does not work: it has been used, has expired or is wrong. "
        "Please ask your head for a new one."
    ),
    "invite.already_staff": "You are already registered as a manager. /help — what the bot can do.",
    "invite.owner_self": (
        "You are an owner and need no invite. Forward the link to the manager it was made for."
    ),
    "invite.notify_owner": "A new manager has registered with an invite: {name}.",
    "link.invalid": (
        "This link does not work. Check that it was copied in full, or ask whoever sent it "
        "for a new one."
    ),
    # --- managers list ---
    "managers.empty": "No managers yet. Invite the first one with /invite.",
    "managers.header": "Managers ({count}):",
    "managers.line_active": "{n}. {name} — active since {since}",
    "managers.line_inactive": "{n}. {name} — access removed",
    "managers.btn_deactivate": "🚫 Remove: {name}",
    "managers.btn_reactivate": "✅ Restore: {name}",
    "managers.deactivated": "{name}: access removed.",
    "managers.reactivated": "{name}: access restored.",
    "managers.not_found": "There is no such manager.",
    "manager.access_removed": "The owner has removed your manager access to {company}'s bot.",
    "manager.access_restored": (
        "The owner has restored your manager access to {company}'s bot. /help — what the bot "
        "can do."
    ),
    # --- command menu descriptions ---
    "cmd.start": "Start",
    "cmd.help": "What the bot can do",
    "cmd.invite": "Invite a manager",
    "cmd.managers": "Managers",
}
