"""Wiring: the one factory that builds the dispatcher (used by `main()` and by every test), the
bot, and the start-up and shutdown hooks; `run` picks long polling (`bot.polling`) or a webhook."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.types import ErrorEvent

from api import server as api_server
from bot import webhook
from bot.clock import shifted_clock, system_clock
from bot.config import DEFAULT_API_URL, ConfigError
from bot.dispatching import Dispatcher
from bot.heap import freeze_start_up_heap
from bot.middlewares import ContextMiddleware
from bot.polling import Poller
from bot.response_types import install as keep_response_types
from bot.retries import install as install_retries
from bot.retries import no_retries
from bot.routers import build_router
from crm.service import CrmService
from domain import tunables
from domain.clock import Clock
from domain.settings import Settings
from handlers.membership import blocked_by_the_person, blocked_mid_update
from scheduler.failures import Failure, classify, describe
from scheduler.followup import FollowUp
from scheduler.jobs import create_scheduler, move_digest
from scheduler.menus import set_all_menus
from scheduler.sender import Sender
from scheduler.webhooks import Webhooks
from storage import Database
from storage.fsm import SQLiteStorage
from storage.settings import LiveSettings
from storage.strangers import prune_strangers
from storage.updates import prune_updates
from views.hooks import paused_notice
from views.texts import pick_language, t

log = logging.getLogger(__name__)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """The bot with the project's defaults: every call retried on Telegram's transient errors
    (bot/retries.py), whatever the session; tests pass a recording session."""
    if session is None:
        api = TelegramAPIServer.from_base(settings.telegram_api_url or DEFAULT_API_URL)
        session = AiohttpSession(api=api, timeout=settings.telegram_timeout)
    keep_response_types(session)  # outermost: once per call, not once per retry
    install_retries(session, settings.telegram_retry_seconds)
    return Bot(
        token=settings.bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(
    settings: Settings, db: Database, sender: Sender, clock: Clock = system_clock
) -> Dispatcher:
    """The dispatcher with everything long-lived in its workflow data (used by tests too).

    `settings` in workflow data are the `.env` ones; each update gets the ones in force (with the
    owner's chat changes) from `live_settings`, through the context middleware.
    """
    live = LiveSettings(settings, db)
    dp = Dispatcher(
        storage=SQLiteStorage(db, clock),
        settings=settings,
        live_settings=live,
        db=db,
        clock=clock,
        sender=sender,
        followup=FollowUp(db, live, clock, sender),
        webhooks=create_webhooks(settings, db, clock),
        crm=CrmService(db, live, clock, sender),
    )
    dp.update.outer_middleware(ContextMiddleware())
    dp.include_router(build_router())
    # A person who blocked the bot mid-update is marked, not apologised to (handlers/membership).
    dp.errors.register(blocked_mid_update, blocked_by_the_person)
    dp.errors.register(on_error)
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return dp


def create_webhooks(settings: Settings, db: Database, clock: Clock) -> Webhooks:
    """The deliverer of signed webhooks (scheduler/webhooks.py); started with the bot."""

    def notice(kind: str, url: str, language: str | None) -> dict[str, object]:
        return paused_notice(url, language or settings.default_language, kind)

    return Webhooks(
        db,
        clock,
        owner_ids=settings.owner_ids,
        notice=notice,
        timeout=settings.hooks_timeout,
        max_in_flight=settings.hooks_max_in_flight,
        allow_private=settings.hooks_allow_private,
    )


async def on_startup(
    bot: Bot,
    dispatcher: Dispatcher,
    live_settings: LiveSettings,
    db: Database,
    sender: Sender,
    followup: FollowUp,
    webhooks: Webhooks,
    clock: Clock,
    crm: CrmService,
) -> None:
    me = await bot.me()
    log.info("bot @%s (id %s) started", me.username, me.id)
    if not me.supports_inline_queries:
        # getMe is asked once (aiogram keeps the answer): a change at @BotFather needs a restart.
        log.info(
            'inline mode is off: no "Send to the client" button under survey links '
            "(turn it on with /setinline at @BotFather, then restart the bot)"
        )
    settings = await live_settings.get()
    await set_all_menus(bot, settings, db)
    await prune_updates(db, clock())
    await prune_strangers(db, clock())
    await sender.start()
    await webhooks.start()
    scheduler = create_scheduler(settings, followup)
    scheduler.start()  # needs the running loop, hence here and not in create_dispatcher
    dispatcher["scheduler"] = scheduler

    menu_tasks: set[asyncio.Task[None]] = set()

    async def follow_changes(current: Settings, key: str) -> None:
        if key == tunables.DIGEST:
            move_digest(scheduler, current)
        elif key == tunables.LANGUAGE:
            # One request per person: in the background, so the owner's tap is answered now.
            task = asyncio.create_task(set_all_menus(bot, current, db))
            menu_tasks.add(task)
            task.add_done_callback(menu_tasks.discard)

    live_settings.subscribe(follow_changes)
    # Whatever fell due while the bot was down, in the background: people are answered from the
    # first second, however big the base and however much there is to plan.
    followup.start_catch_up()
    await crm.start(bot)  # CRM events stored earlier are processed from the table


async def on_shutdown(
    dispatcher: Dispatcher,
    sender: Sender,
    followup: FollowUp,
    webhooks: Webhooks,
    crm: CrmService,
) -> None:
    scheduler = dispatcher.workflow_data.pop("scheduler", None)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    await crm.stop()
    await followup.stop()
    await webhooks.stop()
    await sender.stop()


async def on_error(event: ErrorEvent, bot: Bot, live_settings: LiveSettings) -> bool:
    """Log an unexpected failure and tell the person politely; the bot keeps working."""
    update = event.update
    if classify(event.exception) is not Failure.FINAL:
        # Telegram did not take a reply even after the retries (or it may have arrived: a
        # timeout). An apology would go the same way, or come after an answer that did arrive.
        log.warning(
            "update %s: a reply did not go through: %s", update.update_id, describe(event.exception)
        )
        return True
    log.exception("update %s failed", update.update_id, exc_info=event.exception)
    user = None
    if update.message is not None:
        user = update.message.from_user
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        user = update.callback_query.from_user
        chat_id = user.id
    if user is None:
        return True
    lang = pick_language(user.language_code, live_settings.current.default_language)
    text = t(lang, "error.generic")
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text, show_alert=True)
            return True
        except Exception:  # the handler had already answered it: say it in the chat instead
            log.debug("callback %s already answered", update.callback_query.id)
    try:
        await bot.send_message(chat_id, text)
    except Exception:  # the apology itself failed (network, blocked): nothing more to do
        log.warning("could not tell user %s about the failure", chat_id)
    return True


async def wait_for_telegram(bot: Bot, settings: Settings) -> None:
    """Check the token before anything else: a refused token is a configuration error (one clear
    line, exit 2); an unreachable or failing Bot API (5xx, an error page, 429) is retried with
    back-off, saying so in the log."""
    delay = 1.0
    while True:
        try:
            with no_retries():  # this loop retries and says so in its own words
                await bot.me()
            return
        except TelegramUnauthorizedError:
            raise ConfigError(
                "BOT_TOKEN was refused by Telegram (401 Unauthorized): check the token from "
                "@BotFather in .env (see .env.example)."
            ) from None
        except Exception as exc:  # unreachable, 5xx, an error page, 429: wait and try again
            if classify(exc) is Failure.FINAL:
                raise
            where = settings.telegram_api_url or "api.telegram.org"
            wait = max(delay, float(getattr(exc, "retry_after", 0)))
            log.warning(
                "cannot reach the Bot API at %s (%s); retrying in %.0f s",
                where,
                describe(exc),
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, 60.0)


async def run(settings: Settings, clock: Clock = system_clock) -> None:
    if settings.test_clock_start is not None:
        log.warning("TEST_CLOCK_START is set: the clock starts at %s", settings.test_clock_start)
        clock = shifted_clock(settings.test_clock_start)
    db = Database(settings.database_path, timezone=settings.timezone)
    await db.open()
    bot = create_bot(settings)
    try:
        await wait_for_telegram(bot, settings)
        sender = Sender(bot, db, clock, rate=settings.send_rate)
        dp = create_dispatcher(settings, db, sender, clock)
        freeze_start_up_heap()  # what lives as long as the process, out of every collection
        if settings.webhook_url:
            await webhook.serve(dp, bot, settings)
        else:
            await webhook.delete_leftover_webhook(bot)
            try:
                api_runner = await api_server.start(dp, bot, settings)
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {settings.api_listen}:{settings.api_port} "
                    f"(API_LISTEN, API_PORT): {exc.strerror or exc}."
                ) from None
            try:
                await Poller(dp, bot).run(handle_signals=True)
            finally:
                if api_runner is not None:
                    await api_runner.cleanup()
    finally:
        await bot.session.close()
        await db.close()
