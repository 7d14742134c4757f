"""Webhook mode: Telegram posts each update to WEBHOOK_URL instead of the bot long-polling.

The one non-obvious decision is the order of things, which is why aiogram's request handlers and
`setup_application` are not used. An update is answered 200 only after it was handled, however
long that takes (aiogram's handler answers anyway after 55 s and lets the handler run on), so a
process killed mid-handler gets the update again from Telegram, and the update journal
(`bot.dispatching`) recognises it, as in long polling. On SIGTERM the server stops
listening, waits for the updates in hand, and only then are the sender and the scheduler stopped
(`setup_application` runs the shutdown hooks first and aiogram's handler closes the bot's session
there, under the feet of a handler still at work). The webhook stays set when the bot stops, so
Telegram keeps the updates that arrive during a restart and delivers them afterwards. Updates
long polling stored and left unfinished (`bot.polling`'s inbox) are handled before listening:
Telegram was told they were delivered.

Each request must carry WEBHOOK_SECRET in `X-Telegram-Bot-Api-Secret-Token`; anything else gets
401 and is never handled. `GET /healthz` answers 200 "ok" for Docker and load balancers. The
HTTP API (api/) is served by the same server under /api/v1.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Update
from aiohttp import web

from api import server as api_server
from bot.config import ConfigError
from bot.polling import handle_leftovers
from crm import web as crm_web
from domain.settings import Settings

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Docker gives 10 s between SIGTERM and SIGKILL: finish the updates in hand well before that.
DRAIN_SECONDS = 7.0


def build_app(dp: Dispatcher, bot: Bot, settings: Settings) -> web.Application:
    """The aiohttp application: the webhook route (the path of WEBHOOK_URL), /healthz and the
    HTTP API under /api/v1 (api/)."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.encode()

    async def receive(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not hmac.compare_digest(given, secret):
            log.warning("webhook: a request with a wrong or missing secret refused")
            return web.Response(status=401, text="Unauthorized")
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except ValueError:  # not JSON, or not an Update (pydantic's error is one): not Telegram
            log.warning("webhook: a request with an unreadable body refused")
            return web.Response(status=400, text="Bad Request")
        # Handled to the end before the answer. A failure has been logged and apologised for by
        # the error handler, and the journal counts it as finished: a redelivery is skipped.
        await dp.feed_update(bot, update)
        return web.json_response({})

    async def health(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post(urlsplit(settings.webhook_url).path or "/", receive)
    app.router.add_get(HEALTH_PATH, health)
    api_server.mount(app, dp, bot, settings)
    if "crm" in dp.workflow_data:  # the CRM connectors' events (crm/web.py)
        crm_web.add_routes(app, dp["crm"])
    return app


async def serve(
    dp: Dispatcher, bot: Bot, settings: Settings, stop: asyncio.Event | None = None
) -> None:
    """Run in webhook mode until SIGTERM/SIGINT (or `stop` is set)."""
    assert settings.webhook_url is not None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    workflow: dict[str, Any] = {"dispatcher": dp, "bots": (bot,), **dp.workflow_data}
    runner = web.AppRunner(
        build_app(dp, bot, settings), access_log=None, shutdown_timeout=DRAIN_SECONDS
    )
    await dp.emit_startup(bot=bot, **workflow)
    try:
        await handle_leftovers(dp, bot)  # long polling's, before anything newer
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_listen, settings.webhook_port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {settings.webhook_listen}:{settings.webhook_port} "
                f"(WEBHOOK_LISTEN, WEBHOOK_PORT): {exc.strerror or exc}."
            ) from None
        await _register(bot, dp, settings)
        log.info(
            "webhook mode: listening on %s:%d, Telegram posts to %s",
            settings.webhook_listen,
            settings.webhook_port,
            settings.webhook_url,
        )
        await stop.wait()
        log.info("stopping: finishing the updates in hand")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        await dp.emit_shutdown(bot=bot, **workflow)
        log.info("webhook mode stopped")


async def _register(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    """setWebhook. Telegram refusing the URL is a configuration error (exit 2: restarting would
    not help); a network error, a 5xx or a 429 is retried with back-off, as at start-up."""
    assert settings.webhook_url is not None
    delay = 1.0
    while True:
        try:
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=dp.resolve_used_update_types(),
                drop_pending_updates=False,
            )
            return
        except (TelegramBadRequest, TelegramUnauthorizedError, TelegramForbiddenError) as exc:
            raise ConfigError(f"Telegram refused WEBHOOK_URL: {exc.message}") from None
        except TelegramRetryAfter as exc:
            wait = float(exc.retry_after)
        except (TelegramNetworkError, TelegramServerError) as exc:
            wait = delay
            delay = min(delay * 2, 60.0)
            log.warning("setWebhook failed (%s); retrying in %.0f s", exc, wait)
        await asyncio.sleep(wait)


async def delete_leftover_webhook(bot: Bot) -> None:
    """Before long polling: a webhook left by an earlier webhook run makes getUpdates fail with
    409 forever (aiogram's polling does not remove it). Pending updates are kept."""
    info = await bot.get_webhook_info()
    if info.url:
        log.info("a webhook was set (%s): removing it to poll instead", info.url)
        await bot.delete_webhook(drop_pending_updates=False)
