"""Texts of the CRM set-up (/crm) and of the comments the bot writes to Bitrix24 and amoCRM."""

TEXTS: dict[str, str] = {
    "cmd.crm": "Connect a CRM",
    "crm.kind.bitrix24": "Bitrix24",
    "crm.kind.amocrm": "amoCRM",
    "crm.status.none": (
        "🔗 <b>CRM</b>\n\nNo CRM is connected. When a deal is won in your CRM, the bot records "
        "it by itself and puts the survey link and the client's answer back on the deal.\n\n"
        "Pick your CRM:"
    ),
    "crm.status.head": "🔗 <b>CRM</b>",
    "crm.status.connection": (
        "<b>{crm}</b> · {account}\n"
        "Access: <code>{secret}</code>\n"
        "Event address: <code>{address}</code>\n"
        "Last event: {last_event}\n"
        "Last error: {last_error}\n"
        "Deals created today: {deals_today}\n"
        "Waiting: {events:event|events}, {notes:comment|comments}"
    ),
    "crm.status.auth_failed": "⛔️ The CRM refuses access since {since}: paste a new key (below).",
    "crm.status.unmatched": "Not matched to staff: {count}",
    "crm.status.never": "—",
    "crm.status.token_waiting": "expected with the first event",
    "crm.btn.bitrix24": "Connect Bitrix24",
    "crm.btn.amocrm": "Connect amoCRM",
    "crm.btn.users": "Match responsible users ({count})",
    "crm.btn.disconnect": "Disconnect {crm}",
    "crm.btn.back": "← Back",
    "crm.ask.bitrix_url": (
        "Paste your Bitrix24 inbound webhook URL (Developer resources → Other → Inbound webhook, "
        "scopes crm and user). It looks like\n<code>https://your-portal.bitrix24.com/rest/1/"
        "code/</code>\n\n/cancel to stop."
    ),
    "crm.ask.amo_account": (
        "Type your amoCRM account: the subdomain (<code>mycompany</code>) or "
        "<code>mycompany.kommo.com</code>.\n\n/cancel to stop."
    ),
    "crm.ask.amo_token": (
        "Now paste the long-lived token (Settings → Integrations → your integration → Keys and "
        "scopes → Long-lived token).\n\n/cancel to stop."
    ),
    "crm.bad.bitrix_url": (
        "That does not look like an inbound webhook URL. It should be like "
        "<code>https://your-portal.bitrix24.com/rest/1/code/</code>: copy it whole."
    ),
    "crm.bad.amo_account": (
        "I did not understand the account. Example: <code>mycompany</code> or "
        "<code>mycompany.kommo.com</code>."
    ),
    "crm.bad.amo_token": "That does not look like an amoCRM token: copy it whole, in one line.",
    "crm.check.auth": (
        "The CRM refused the access ({detail}). Check the URL or token and send it again."
    ),
    "crm.check.unreachable": (
        "Could not reach the CRM ({detail}). Check the address and try again a little later."
    ),
    "crm.no_public_url": (
        "The connection is saved, but the bot does not know its public address: set API_PUBLIC_URL "
        "(or WEBHOOK_URL) in .env, restart the bot and open /crm again."
    ),
    "crm.connected.bitrix24": (
        "✅ Bitrix24 connected: {account} (webhook of {user}).\n\n"
        "Now create an outbound webhook (Developer resources → Other → Outbound webhook):\n"
        "• Handler URL: <code>{address}</code>\n"
        "• Events: <b>ONCRMDEALUPDATE</b> (deal updated) and <b>ONCRMDEALADD</b> "
        "(deal created).\n\n"
        "The bot keeps the application token of the first event and then refuses events with "
        "another one. Your message with the webhook URL was deleted from the chat."
    ),
    "crm.connected.amocrm": (
        "✅ amoCRM connected: {account} ({user}).\n\n"
        "Add a webhook (Settings → Integrations → Web hooks):\n"
        "• URL: <code>{address}</code>\n"
        "• Event: <b>Lead status changed</b>.\n\n"
        "Your message with the token was deleted from the chat."
    ),
    "crm.users.head": (
        "CRM users with no staff member in the bot. Until matched, their deals go to you. Pick one:"
    ),
    "crm.users.none": "Every responsible CRM user is matched to a staff member. 👍",
    "crm.users.pick": "Who in the bot is “{name}” of {crm}?",
    "crm.users.no_staff": "There are no managers in the bot yet: invite them with /invite.",
    "crm.users.matched": "Done: deals of “{name}” now go to {staff}.",
    "crm.disconnected": "{crm} disconnected. New events are no longer accepted.",
    "crm.cancelled": "CRM set-up cancelled.",
    "crm.owner.unmatched": (
        "🔗 Deal #{deal} from {crm} ({name}) was recorded for you: the responsible user "
        "“{user}” is not matched to staff yet. Match them in /crm and their next deals go to them."
    ),
    "crm.owner.auth_failed": (
        "⛔️ {crm} ({account}) refuses the bot's access: the webhook or token was revoked. New "
        "deals wait and are not lost. Paste a new key in /crm."
    ),
    "crm.note.link": (
        "Post-sale survey for {name}: {link}\n"
        "Send the link to the client: three questions in Telegram."
    ),
    "crm.note.no_phone": "The contact has no phone: send the link to the client yourself.",
    "crm.note.answer": "The client answered: {score} of 10 ({category}). Reason: {reason}",
    "crm.note.answer_no_reason": "The client answered: {score} of 10 ({category}).",
    "crm.note.case_opened": (
        "Case #{case} opened: the client is unhappy; the owner handles it in the bot."
    ),
    "crm.note.case_resolved": "Case #{case} resolved.",
    "crm.cat.promoter": "promoter",
    "crm.cat.passive": "passive",
    "crm.cat.detractor": "detractor",
}
