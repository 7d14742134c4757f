"""Putting the API on an aiohttp server: as a sub-application of the webhook server (webhook
mode), or on a server of its own started only when API_PORT is set (long polling).

The API shares the dispatcher's long-lived objects (the database, the live settings, the clock),
so a deal recorded over HTTP is planned and counted exactly as one typed into /sale."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiohttp import web

from api.auth import RateLimiter
from api.routes import MAX_BODY, PREFIX, ROUTES, Api, handler_for
from crm import web as crm_web
from domain.settings import Settings

log = logging.getLogger(__name__)


def build_api(dp: Dispatcher, bot: Bot, settings: Settings) -> web.Application:
    """The API's routes, to mount under /api/v1 (`mount`) or serve alone (`standalone`)."""
    api = Api(
        db=dp["db"],
        live_settings=dp["live_settings"],
        clock=dp["clock"],
        bot=bot,
        limiter=RateLimiter(settings.api_rate),
        public_url=settings.api_public_url,
        owner_ids=settings.owner_ids,
    )
    app = web.Application(client_max_size=MAX_BODY)
    for route in ROUTES:
        app.router.add_route(
            route.method, route.aiohttp_path.removeprefix(PREFIX), handler_for(api, route)
        )
    return app


def mount(root: web.Application, dp: Dispatcher, bot: Bot, settings: Settings) -> None:
    root.add_subapp(PREFIX, build_api(dp, bot, settings))


def standalone(dp: Dispatcher, bot: Bot, settings: Settings) -> web.Application:
    """The API alone (long polling with API_PORT), with /healthz like the webhook server."""

    async def health(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    root = web.Application(client_max_size=MAX_BODY)
    root.router.add_get("/healthz", health)
    mount(root, dp, bot, settings)
    if "crm" in dp.workflow_data:  # the CRM connectors' events (crm/web.py), as in webhook mode
        crm_web.add_routes(root, dp["crm"])
    return root


async def start(dp: Dispatcher, bot: Bot, settings: Settings) -> web.AppRunner | None:
    """In long polling: the API's own server if API_PORT is set (None otherwise)."""
    if settings.api_port is None:
        return None
    runner = web.AppRunner(standalone(dp, bot, settings), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.api_listen, settings.api_port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    log.info("HTTP API listening on %s:%d%s", settings.api_listen, settings.api_port, PREFIX)
    return runner
