"""Delivery texts: the owners' daily line when messages could not be sent."""

TEXTS: dict[str, str] = {
    "health.title": "⚠️ <b>Delivery</b>: messages not sent since the last summary: {total}.",
    "health.expired": "• Telegram did not take them for a day: {n}",
    "health.refused": "• refused by Telegram (a bad request): {n}",
    "health.maybe_arrived": (
        "• Telegram did not answer in time: they may have arrived, not sent again: {n}"
    ),
    "health.where": "Details are in the bot's log (lines with “outbox N”).",
}
