"""Texts for /api: HTTP API tokens."""

TEXTS: dict[str, str] = {
    "cmd.api": "HTTP API tokens",
    "api.menu": (
        "<b>HTTP API</b>\n"
        "Through the API your CRM or accounting system sends deals to the bot and reads the "
        "answers.\nA “deals” token (deals:write) records deals, a “read” token (read) reads "
        "answers and NPS. A token is shown once; the bot keeps only its fingerprint.\n\n"
        "{tokens}\n\n"
        "A token with a name of your own: <code>/api new name deals</code> or "
        "<code>/api new name read</code>."
    ),
    "api.none": "No tokens yet.",
    "api.line": "• <b>{name}</b> — {scope}, made {date}",
    "api.btn_new_write": "➕ Token for deals",
    "api.btn_new_read": "➕ Token for reading",
    "api.btn_revoke": "🗑 Revoke “{name}”",
    "api.btn_hooks": "Webhooks",
    "api.created": (
        "Token <b>{name}</b> ({scope}) made:\n\n<code>{token}</code>\n\n"
        "Copy it now: the bot will not show it again. Send it in the "
        "<code>Authorization: Bearer …</code> header. If it leaks, revoke it in /api."
    ),
    "api.revoked": "Token “{name}” revoked: requests with it are refused from now on.",
    "api.gone": "This token has already been revoked.",
    "api.new_usage": (
        "Like this: <code>/api new name deals</code> (recording deals) or "
        "<code>/api new name read</code> (reading answers and NPS). A name has up to 40 "
        "characters."
    ),
    "api.owners_only": "Only owners make and revoke API tokens.",
}
