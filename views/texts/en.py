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
        "/sale — record a deal and get the survey link for the client\n"
        "/nps — the company's NPS, overall and by group\n"
        "/today — your plan for today, /find — a client's card\n"
        "/invite — an invite link for a new manager (one-time, valid for 7 days)\n"
        "/managers — the list of managers; remove or restore access\n"
        "/cases — unhappy clients' cases, /comments — what clients write\n"
        "/trend — the NPS chart for a year, /export — CSV and XLSX export\n"
        "/referrals — who brought whom\n"
        "/settings — company name, plan time, working days and other settings\n"
        "/import — load a client base from a spreadsheet (CSV or XLSX)\n"
        "/help — this help"
    ),
    "start.manager": (
        "Hello, {name}! You are a manager at {company}.\n\n"
        "The bot will remind you to call clients after a sale, of birthdays and offers, and "
        "clients will answer three short questions through your link.\n\n"
        "/sale — record a deal and get the survey link for the client\n"
        "/today — today's plan: calls, birthdays, offers\n"
        "/week — what is coming this week\n"
        "/find name or phone — a client's card\n"
        "/import — load your clients from a spreadsheet (CSV or XLSX)\n"
        "/cancel — cancel what you started\n"
        "/help — this help"
    ),
    "help.guest": (
        "This bot collects feedback from the clients and partners of {company}.\n"
        "To answer a survey, open the link your manager sent you.\n"
        "/forget — delete your data"
    ),
    "command.unknown": "Unknown command: {command}.\n\nHere is what you can do:\n{commands}",
    "command.owner_only": "Only the bot's owner can use {command}. /help — what you can do.",
    "command.staff_only": "Only the company's staff can use {command}. /help — what you can do.",
    "stranger.short": (
        "I can only run the survey from the link your manager sends you. /help — more."
    ),
    "group.only_private": "I only work in private chats. Please write to me directly.",
    "group.leaving": (
        "I only work in private chats, so I am leaving this one. Write to me directly: @{bot}"
    ),
    "group.left": (
        "You added me to the chat “{chat}”. I only work in private chats, so I have left it. "
        "Everything I can do is here: /help"
    ),
    "unknown_message": "I didn't understand that. See /help for what I can do for you.",
    "button.forged": "This button no longer works.",
    "error.generic": (
        "Sorry, something went wrong: this was not done. Try again in a minute, or open /help."
    ),
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
    "managers.btn_deactivate": "🚫 Remove: {name}",
    "managers.btn_reactivate": "✅ Restore: {name}",
    "managers.deactivated": "{name}: access removed.",
    "managers.reactivated": "{name}: access restored.",
    "manager.access_removed": "Your manager access to {company}'s bot has been removed.",
    "manager.access_restored": (
        "Your manager access to {company}'s bot has been restored. /help — what the bot can do."
    ),
    # --- kinds of people ---
    "kind.client": "Client",
    "kind.supplier": "Supplier",
    "kind.contractor": "Contractor",
    "kind.partner": "Partner",
    "kinds.client": "Clients",
    "kinds.supplier": "Suppliers",
    "kinds.contractor": "Contractors",
    "kinds.partner": "Partners",
    "btn.cancel": "❌ Cancel",
    "btn.skip": "Skip ➡️",
    "cancelled": "Cancelled. Nothing was saved.",
    "nothing_to_cancel": "There is nothing to cancel.",
    # --- /sale ---
    "sale.ask_kind": "New deal. Who is this person to the company?\n\n/cancel — cancel at any step",
    "sale.ask_name": "Full name (how to address the person):",
    "sale.name_invalid": (
        "Please type the name as text, {name_min} to {name_max:character|characters}."
    ),
    "sale.ask_org": "Organisation (optional):",
    "sale.org_invalid": (
        "Please type the name as text, up to {org_max:character|characters}, or tap “Skip”."
    ),
    "sale.ask_phone": (
        "Phone (optional): type the number in any format or attach a contact from your "
        "address book."
    ),
    "sale.phone_invalid": (
        "I couldn't read that number. Example: +7 916 123-45-67 or 8 916 123 45 67. Or tap “Skip”."
    ),
    "sale.ask_birthday": (
        "Birthday (optional): DD.MM or DD.MM.YYYY, for example 05.03 or 05.03.1985."
    ),
    "sale.birthday_invalid": (
        "There is no such date, or it is in the future. Example: 05.03 or 05.03.1985. "
        "Or tap “Skip”."
    ),
    "sale.ask_product": (
        "What was sold, or what is the relationship about? Briefly, "
        "up to {product_max:character|characters}:"
    ),
    "sale.product_invalid": (
        "Please type it as text, {product_min} to {product_max:character|characters}."
    ),
    "sale.ask_date": "Date of the deal? Tap a button or type the date as DD.MM.YYYY.",
    "sale.btn_today": "Today, {date}",
    "sale.btn_yesterday": "Yesterday, {date}",
    "sale.date_invalid": (
        "Please type the date as DD.MM.YYYY, e.g. 18.11.2026: not in the future and not older "
        "than 10 years."
    ),
    "sale.text_expected": "Please answer with text or a button.",
    "sale.confirm": (
        "Please check:\n\n"
        "Who: {kind}\nName: {name}\nOrganisation: {org}\nPhone: {phone}\n"
        "Birthday: {birthday}\nDeal: {product}\nDate: {date}"
    ),
    "sale.value": "{value}",
    "sale.label_kind": "Who",
    "sale.label_name": "Name",
    "sale.label_product": "Deal",
    "sale.label_deal_date": "Date",
    "sale.label_org": "Organisation",
    "sale.label_phone": "Phone",
    "sale.label_birthday": "Birthday",
    "sale.btn_rest": "✅ Save, skip the rest",
    "sale.step_done": "This step is already done.",
    "sale.not_set": "—",
    "sale.btn_save": "✅ Save and get the link",
    "sale.btn_edit_kind": "✏️ Who",
    "sale.btn_edit_name": "✏️ Name",
    "sale.btn_edit_org": "✏️ Organisation",
    "sale.btn_edit_phone": "✏️ Phone",
    "sale.btn_edit_birthday": "✏️ Birthday",
    "sale.btn_edit_product": "✏️ Deal",
    "sale.btn_edit_date": "✏️ Date",
    "sale.saved": (
        "Deal saved.{merged}\n\nSurvey link — {kind}: {name}\n{link}\n\n"
        "Forward the next message with the QR code to the person. Only whoever opens the link "
        "first can answer."
    ),
    "sale.merged": " This person is already in the database: the deal was added to their card.",
    "sale.invitation_client": (
        "Hello, {name}! Thank you for choosing {company}. Please answer three short questions — "
        "it takes half a minute:\n{link}"
    ),
    "sale.invitation_partner": (
        "Hello, {name}! We value working with you. Please share your opinion of working with "
        "{company} — three questions, half a minute:\n{link}"
    ),
    # --- the survey ---
    "survey.greeting_client": (
        "Hello! This is {company}. {manager} asks you to answer three short questions — it takes "
        "half a minute. Only the company's staff see your answers."
    ),
    "survey.greeting_partner": (
        "Hello! This is {company}. We value working with you, and {manager} asks you to answer "
        "three short questions about our work together — it takes half a minute. Your opinion "
        "matters a lot to us; only the company's staff see your answers."
    ),
    "survey.manager_fallback": "Our manager",
    "survey.resume_client": "Let's continue where we stopped.",
    "survey.resume_partner": (
        "Let's continue where we stopped. Thank you for giving your time to our work together."
    ),
    "survey.q1_client": (
        "1 of 3. How likely are you to recommend {company} to friends and colleagues?\n"
        "0 — not at all, 10 — definitely."
    ),
    "survey.q1_partner": (
        "1 of 3. How likely are you to recommend {company} as a partner to your colleagues?\n"
        "0 — not at all, 10 — definitely."
    ),
    "survey.score_given": "Your score: {score} of 10",
    "survey.q2_promoter_client": (
        "2 of 3. Thank you! What do you value most about us? Write it in one message or tap “Skip”."
    ),
    "survey.q2_promoter_partner": (
        "2 of 3. Thank you! What do you value most in working with us? Write it in one message "
        "or tap “Skip”."
    ),
    "survey.q2_passive_client": (
        "2 of 3. Thank you! What would make it a 10 next time? Write it in one message or tap "
        "“Skip”."
    ),
    "survey.q2_passive_partner": (
        "2 of 3. Thank you! What should we change in our work together to make it a 10 next "
        "time? Write it in one message or tap “Skip”."
    ),
    "survey.q2_detractor_client": (
        "2 of 3. Thank you for being honest. What disappointed you? Write it in one message — "
        "we will look into it. Or tap “Skip”."
    ),
    "survey.q2_detractor_partner": (
        "2 of 3. Thank you for being honest. What did not work for you in working with us? "
        "Write it in one message — we will look into it. Or tap “Skip”."
    ),
    "survey.reason_skipped": "No comment",
    "survey.q3_client": (
        "3 of 3. May we contact you if we have questions about the quality of our service?"
    ),
    "survey.q3_partner": ("3 of 3. May we contact you if we have questions about our cooperation?"),
    "survey.btn_yes": "Yes",
    "survey.btn_no": "No",
    "survey.consent_given": "May we contact you: {answer}",
    "survey.ask_phone_client": (
        "Thank you! Please leave your phone number: tap “Share my phone” below or type it."
    ),
    "survey.ask_phone_partner": (
        "Thank you! Please leave the number where it suits you to discuss our work together: "
        "tap “Share my phone” below or type it."
    ),
    "survey.btn_share_phone": "📱 Share my phone",
    "survey.btn_no_phone": "No phone",
    "survey.phone_invalid": (
        "That doesn't look like a phone number. Tap “Share my phone” below or type the number, "
        "for example +44 20 7946 0958."
    ),
    "survey.phone_not_own": (
        "Please share your own number with the button below — we don't store other people's "
        "contacts."
    ),
    "survey.use_buttons": "Please answer with a button under the question 👇",
    "survey.text_expected": "Please type your answer or tap “Skip” 👇",
    "survey.thanks_promoter_client": (
        "Thank you for the high score! We are really glad. Hope to see you again."
    ),
    "survey.thanks_promoter_partner": (
        "Thank you for the high score! We value our cooperation and are glad to work with you."
    ),
    "survey.thanks_passive_client": "Thank you for your answers! We will use them to get better.",
    "survey.thanks_passive_partner": (
        "Thank you for your answers! They will help us make our work together easier for you."
    ),
    "survey.thanks_detractor_client": (
        "Thank you for telling us. We are sorry it went this way. Someone from the company will "
        "contact you soon to sort it out and put it right."
    ),
    "survey.thanks_detractor_partner": (
        "Thank you for telling us. We are sorry it went this way: working with you matters to "
        "us. Someone from the company will contact you soon to sort it out and put it right."
    ),
    "survey.thanks_detractor_nocontact_client": (
        "Thank you for telling us. We are sorry it went this way. We will look into it and act."
    ),
    "survey.thanks_detractor_nocontact_partner": (
        "Thank you for telling us. We are sorry it went this way: working with you matters to "
        "us. We will look into it and act."
    ),
    "survey.already_answered": "You have already answered this survey. Thank you!",
    "survey.other_account": (
        "This link has already been opened from another Telegram account. If the survey is for "
        "you, please ask your manager for a new link."
    ),
    "survey.staff": (
        "This is a survey link for a client or partner. Company staff cannot answer surveys — "
        "forward the link to the person it was made for."
    ),
    "survey.paused": "All right, let's stop here. To continue the survey, open the link again.",
    "survey.not_yours": "This button is not for you.",
    "survey.hint_score": "Tap a score from 0 to 10 under the question, or type the number.",
    "survey.hint_consent": "Answer Yes or No: with a button under the question, or in a word.",
    "survey.hint_reason_number": (
        "Your score, {score} of 10, is already recorded. Please tell us in words what "
        "influenced it, or tap “Skip” 👇"
    ),
    "survey.done_already": "Your answer is already recorded, thank you.",
    # --- detractor alerts ---
    # --- /nps ---
    "nps.unreliable": "⚠️ Fewer than 10 answers — the figure is not reliable yet.",
    "nps.by_kind": "By group:",
    "nps.kind_line": "{kind}: NPS {nps} · answered {answered} of {invited}",
    "nps.kind_line_empty": "{kind}: no answers yet · invited {invited}",
    # --- command menu descriptions ---
    "cmd.start": "Start",
    "cmd.help": "What the bot can do",
    "cmd.invite": "Invite a manager",
    "cmd.managers": "Managers",
    "cmd.sale": "Record a deal",
    "cmd.nps": "Company NPS",
    "cmd.cancel": "Cancel",
}
