"""The HTTP API for other systems: deals in, answers and figures out (README: "HTTP API").

Served by the bot's own aiohttp server (bot/webhook.py in webhook mode; in long polling its own
server when API_PORT is set). Sits above handlers in the layer contract: it reuses what the chat
uses (the deal-recording path, the /nps figures) and nothing below imports it."""
