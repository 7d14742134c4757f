"""Webhook texts: the URLs the bot sends events to, and the notice of a pause."""

TEXTS: dict[str, str] = {
    "hooks.title": "<b>🔗 Webhooks</b>",
    "hooks.intro": (
        "The bot sends events (a new deal, a survey answer, cases) to your URLs as a POST of "
        "JSON signed with HMAC-SHA256 (how to check the signature: see the README)."
    ),
    "hooks.none": "No URLs yet.",
    "hooks.line": (
        "{number}. <code>{url}</code>\n    {state} · events: {events} of {total} · "
        "queued: {pending}"
    ),
    "hooks.state.active": "✅ working",
    "hooks.state.owner": "⏸ paused",
    "hooks.state.failures": "⛔ paused: a day without a successful delivery",
    "hooks.state.gone": "⛔ paused: the receiver answered 410, the URL is gone",
    "hooks.state.held": " · waiting for resume: {held}",
    "hooks.private_url": (
        "This URL leads into an internal network ({host}): localhost, 127.0.0.1, 10.x, "
        "192.168.x, 169.254.x and the like. The bot sends events to public addresses only, "
        "which keeps your server and cloud safe from forged requests. Send a public URL or tap "
        "Cancel. If the receiver really is on an internal network, the administrator can allow "
        "it with the HOOKS_ALLOW_PRIVATE=1 setting."
    ),
    "hooks.btn.add": "➕ Add a URL",
    "hooks.btn.open": "⚙️ {number}. {host}",
    "hooks.btn.cancel": "✖️ Cancel",
    "hooks.btn.back": "⬅️ Back",
    "hooks.btn.pause": "⏸ Pause",
    "hooks.btn.resume": "▶️ Resume",
    "hooks.btn.rotate": "🔑 New secret",
    "hooks.btn.delete": "🗑 Delete",
    "hooks.btn.delete_yes": "🗑 Yes, delete",
    "hooks.btn.delete_no": "⬅️ No, keep it",
    "hooks.ask_url": (
        "Send the URL to post events to: <code>https://…</code> (up to 2,000 characters).\n"
        "It gets every event at first; turn off the ones you do not need."
    ),
    "hooks.bad_url": (
        "That will not do: send a URL like <code>https://example.com/path</code> — http or "
        "https, a host name, no spaces and no user or password, up to 2,000 characters. "
        "Send it again or tap Cancel."
    ),
    "hooks.not_text": "Send the URL as text, or tap Cancel.",
    "hooks.too_many": "No more than 20 URLs: delete one you do not need.",
    "hooks.added": "✅ URL added.",
    "hooks.secret_once": (
        "🔑 The signing secret is shown <b>only once</b>; keep it at the receiver:\n"
        "<code>{secret}</code>"
    ),
    "hooks.rotated": "🔑 A new secret is issued; the old one no longer works.",
    "hooks.card": (
        "<b>🔗 URL #{number}</b>\n<code>{url}</code>\n\n"
        "State: {state}\nSecret: <code>{secret}</code>\nQueued: {pending}\n"
        "Last delivery: {success}"
    ),
    "hooks.card.error": "Last error: {error}",
    "hooks.card.held": (
        "⏸ Waiting for resume: {held}. New events are kept and go in order after “▶️ Resume”; "
        "they are kept {days:day|days}, older ones are dropped."
    ),
    "hooks.card.dropped": "🗑 Events older than {days:day|days} dropped in this pause: {dropped}",
    "hooks.card.events": "Events (tap to turn on or off):",
    "hooks.never": "none yet",
    "hooks.delete_ask": (
        "Delete URL #{number} <code>{url}</code>?\nEvents still queued for it will not be sent."
    ),
    "hooks.deleted": "🗑 URL deleted.",
    "hooks.gone": "This URL is gone.",
    "hooks.paused_notice": (
        "⛔ Webhook paused: <code>{url}</code> has refused events for a day. New events are "
        "kept for it ({days:day|days}) and go in order once it is resumed. When the receiver works "
        "again, open /hooks → the URL → “▶️ Resume”."
    ),
    "hooks.gone_notice": (
        "⛔ Webhook paused: the receiver at <code>{url}</code> answered 410 Gone, “this URL is "
        "no more”. It will not be retried. New events are kept ({days:day|days}). If the URL is "
        "still needed, fix the receiver and open /hooks → the URL → “▶️ Resume”; if not, "
        "delete it there."
    ),
    "hooks.dropped_notice": (
        "🗑 Webhook <code>{url}</code> has been paused for more than {days:day|days}: its "
        "events older than {days:day|days} were dropped; new ones are still kept. Resume or "
        "delete the URL in /hooks."
    ),
    "hooks.event.deal.created": "new deal",
    "hooks.event.survey.opened": "survey opened",
    "hooks.event.answer.completed": "survey answered",
    "hooks.event.case.opened": "case opened",
    "hooks.event.case.taken": "case taken",
    "hooks.event.case.resolved": "case resolved",
    "hooks.event.case.reopened": "case reopened",
    "hooks.event.contact.forgotten": "data deleted",
}
