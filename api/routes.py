"""The API's endpoints, as one table (`ROUTES`) that both the router and the OpenAPI document are
built from, so no route can be served undocumented (tests/test_api_openapi.py checks).

Bad input is answered as JSON naming the field: malformed JSON 400, a body over 1 MiB 413,
wrong types / unknown fields / over-long values 422 (pydantic, the same models the document
shows), and /import's refusals (a phone that is not a phone, a date in the future, a forgotten
person, an unknown manager) 422 from `storage.deals_in`, which writes nothing when it refuses.

Keys: a deal's `external_id` is its key (the same id again answers the first result); without
one the `Idempotency-Key` header is (the same key with a different body is 409); with neither
the deal is recorded once per call. In a batch the header key is suffixed with the position.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.auth import RateLimiter, authorize, error
from api.models import (
    AnswersPage,
    CaseFigures,
    DealCreated,
    DealsCreated,
    DealShown,
    ErrorBody,
    Figures,
    ManagerLinked,
    NpsFigures,
    Period,
    SurveyLink,
    SurveyProgress,
)
from domain.clock import Clock
from domain.deals_in import (
    MAX_EXTERNAL_ID,
    DealBatchIn,
    DealIn,
    DealOut,
    DealRefused,
    Intake,
    KeyReused,
    StaffRef,
)
from domain.deeplinks import LinkKind, make_link
from domain.nps import NpsCounts, margin_of_error
from handlers.owner import nps_report
from storage import Database
from storage.answers_feed import BadCursor, answers_page
from storage.api_tokens import ApiToken
from storage.deals_in import deal_status, map_external_manager, new_key, record_deals
from storage.settings import LiveSettings
from views.qr import qr_png

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 1024 * 1024  # aiohttp's own default limit, answered as JSON here
SOURCE = "api"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable ASCII, as Stripe's keys


@dataclass
class Api:
    db: Database
    live_settings: LiveSettings
    clock: Clock
    bot: Bot
    limiter: RateLimiter
    public_url: str | None = None
    # One API write at a time: SQLite has one writer anyway, and eight clients' transactions
    # queued for the lock made every respondent's tap wait behind all of them.
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def link(self, token: str) -> str:
        me = await self.bot.me()
        return make_link(me.username or "", LinkKind.SURVEY, token)

    def qr_url(self, request: web.Request, token: str) -> str:
        base = self.public_url or str(request.url.origin())
        return f"{base}{PREFIX}/qr/{token}.png"


Handler = Callable[[Api, web.Request, ApiToken | None], Awaitable[web.Response]]


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path or query
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # after PREFIX, OpenAPI style
    scopes: tuple[str, ...]  # empty: no token needed
    handler: Handler
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    params: tuple[Param, ...] = ()
    content_type: str = "application/json"
    errors: tuple[int, ...] = field(default=(400, 401, 403, 429))

    @property
    def aiohttp_path(self) -> str:
        return PREFIX + self.path.replace("{token}", "{token:[A-Za-z0-9_-]{8,64}}").replace(
            "{deal_id}", "{deal_id:[0-9]{1,18}}"
        ).replace("{external_id}", "{external_id:[^/]{1,100}}")


def invalid(errors: list[dict[str, str]], status: int = 422) -> web.Response:
    body = ErrorBody.model_validate(
        {"error": "invalid", "message": "the request breaks the rules below", "errors": errors}
    )
    return web.json_response(body.model_dump(), status=status)


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
    if (request.content_length or 0) > MAX_BODY:
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        if any(p["type"] == "json_invalid" for p in problems):
            return error(400, "bad_json", "the body is not valid JSON")
        return invalid(
            [
                {
                    "field": ".".join(str(part) for part in p["loc"]) or "body",
                    "code": p["type"],
                    "message": p["msg"],
                }
                for p in problems
            ]
        )


def _refused(exc: DealRefused) -> web.Response:
    return invalid([{"field": e.field, "code": e.code, "message": e.message} for e in exc.errors])


async def _intake(api: Api, token: ApiToken) -> Intake:
    settings = await api.live_settings.get()
    return Intake(
        default_manager_id=token.created_by,
        now=api.clock(),
        timezone=settings.timezone,
        region=settings.phone_region,
    )


async def _created(api: Api, request: web.Request, out: DealOut) -> DealCreated:
    return DealCreated(
        deal=out.deal,
        contact=out.contact,
        survey=SurveyLink(
            token=out.survey.token,
            link=await api.link(out.survey.token),
            qr_url=api.qr_url(request, out.survey.token),
        ),
    )


def _header_key(request: web.Request) -> str | web.Response | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY_RE.match(key):
        return invalid(
            [{"field": "Idempotency-Key", "code": "bad_key", "message": "1-100 printable ASCII"}],
            status=400,
        )
    return key


def _key(deal: DealIn, header: str | None, suffix: str = "") -> tuple[str, bool]:
    """The deal's key and whether it is strict (an Idempotency-Key: reuse with another body
    is refused)."""
    if deal.external_id is not None:
        return "ext:" + deal.external_id, False
    if header is not None:
        return "idem:" + header + suffix, True
    return new_key(), False


async def _record(
    api: Api, request: web.Request, token: ApiToken, deals: list[DealIn], batch: bool
) -> web.Response:
    header = _header_key(request)
    if isinstance(header, web.Response):
        return header
    keyed = [_key(d, header, f":{i}" if batch else "") for i, d in enumerate(deals)]
    strict = any(s for _, s in keyed)
    intake = await _intake(api, token)
    try:
        async with api.writing:
            outs = await record_deals(
                api.db,
                [(k, d) for (k, _), d in zip(keyed, deals, strict=True)],
                intake,
                source=SOURCE,
                strict_key=strict,
            )
    except DealRefused as exc:
        log.info("api: token %r (id %d): deals refused: %s", token.name, token.id, exc)
        return _refused(exc)
    except KeyReused:
        return invalid(
            [
                {
                    "field": "Idempotency-Key",
                    "code": "key_reused",
                    "message": "this key was used for a different request",
                }
            ],
            status=409,
        )
    created = [await _created(api, request, out) for out in outs]
    replayed = all(out.replayed for out in outs)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    log.info(
        "api: token %r (id %d): %d deal(s) %s (first %d)",
        token.name,
        token.id,
        len(outs),
        "replayed" if replayed else "recorded",
        outs[0].deal.id,
    )
    body: BaseModel = DealsCreated(deals=created) if batch else created[0]
    return web.json_response(body.model_dump(mode="json"), status=201, headers=headers)


async def create_deal(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    assert token is not None
    deal = await _body(request, DealIn)
    if isinstance(deal, web.Response):
        return deal
    assert isinstance(deal, DealIn)
    return await _record(api, request, token, [deal], batch=False)


async def create_deals(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    assert token is not None
    batch = await _body(request, DealBatchIn)
    if isinstance(batch, web.Response):
        return batch
    assert isinstance(batch, DealBatchIn)
    return await _record(api, request, token, batch.deals, batch=True)


async def link_manager(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    assert token is not None
    external_id = request.match_info["external_id"]
    ref = await _body(request, StaffRef)
    if isinstance(ref, web.Response):
        return ref
    assert isinstance(ref, StaffRef)
    user_id = await map_external_manager(api.db, SOURCE, external_id, ref.as_cell(), api.clock())
    if user_id is None:
        return invalid(
            [
                {
                    "field": "telegram_id" if ref.telegram_id else "username",
                    "code": "unknown_manager",
                    "message": "not an active staff member of the bot",
                }
            ]
        )
    log.info("api: token %r (id %d) mapped a manager id to %d", token.name, token.id, user_id)
    body = ManagerLinked(external_id=external_id, telegram_id=user_id)
    return web.json_response(body.model_dump())


async def show_deal(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    found = await deal_status(api.db, int(request.match_info["deal_id"]))
    if found is None:
        return error(404, "not_found", "no such deal")
    out, progress = found
    body = DealShown(
        deal=out.deal,
        contact=out.contact,
        survey=SurveyProgress(
            token=out.survey.token,
            link=await api.link(out.survey.token),
            qr_url=api.qr_url(request, out.survey.token),
            **progress,  # type: ignore[arg-type]
        ),
    )
    return web.json_response(body.model_dump(mode="json"))


async def list_answers(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    since = request.query.get("since") or None
    limit_text = request.query.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        return invalid([{"field": "limit", "code": "bad_limit", "message": "1-1000"}], 400)
    try:
        items, cursor = await answers_page(api.db, since, int(limit_text))
    except BadCursor:
        return invalid(
            [{"field": "since", "code": "bad_cursor", "message": "use a `next` answered"}], 400
        )
    page = AnswersPage.model_validate({"answers": items, "next": cursor})
    return web.json_response(page.model_dump(mode="json"))


def _figures(counts: NpsCounts) -> Figures:
    return Figures(
        nps=counts.nps,
        promoters=counts.promoters,
        passives=counts.passives,
        detractors=counts.detractors,
        answered=counts.answered,
        invited=counts.invited,
        responded=counts.responded,
        response_rate=counts.response_rate,
    )


async def nps(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    period = request.query.get("period", "30")
    kind = request.query.get("kind", "all")
    manager_text = request.query.get("manager", "0")
    if not manager_text.isdigit() or len(manager_text) > 18:
        return invalid([{"field": "manager", "code": "bad_manager", "message": "a user id"}], 400)
    settings = await api.live_settings.get()
    report = await nps_report(api.db, settings, api.clock, period, kind, int(manager_text))
    if report is None:
        return invalid(
            [
                {
                    "field": "period,kind,manager",
                    "code": "unknown_filter",
                    "message": "period 7, 30, 90, y, all or YYYY-MM; kind all or one kind; "
                    "manager 0 or a staff member's id",
                }
            ],
            400,
        )
    p = report.period
    cases = report.cases
    body = NpsFigures(
        period=Period(
            code=p.code,
            first_day=p.first_day.isoformat() if p.first_day else None,
            last_day=p.last_day.isoformat(),
        ),
        kind=report.kind,
        manager_id=int(manager_text) or None,
        manager_name=report.manager_name,
        figures=_figures(report.counts),
        previous=_figures(report.previous) if report.previous else None,
        by_kind={k: _figures(c) for k, c in report.by_kind.items()},
        margin_of_error=margin_of_error(report.counts),
        median_hours_to_answer=report.median_hours,
        cases=CaseFigures(
            opened=cases.opened,
            resolved=cases.resolved,
            resolved_share=cases.resolved_share,
            median_hours_to_resolve=cases.median_hours_to_resolve,
        )
        if cases
        else None,
    )
    return web.json_response(body.model_dump(mode="json"))


async def qr(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    """The survey token is the secret the QR shows anyway: no API token is asked for, so the URL
    works in an <img> of a CRM or an e-mail. A forgotten person's old token is unknown: 404."""
    survey_token = request.match_info["token"]
    async with api.db.read() as conn:
        row = await (
            await conn.execute("SELECT 1 FROM surveys WHERE token = ?", (survey_token,))
        ).fetchone()
    if row is None:
        return error(404, "not_found", "no such survey")
    png = qr_png(await api.link(survey_token))
    return web.Response(
        body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


async def openapi(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    from api.openapi import document  # built from ROUTES, which this module defines

    return web.json_response(document())


_DEAL_ID = Param("deal_id", "path", {"type": "integer", "minimum": 1}, "The deal's id", True)
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/deals",
        ("deals:write",),
        create_deal,
        "Record a deal: contact created or merged, survey link, next-day call",
        request=DealIn,
        response=DealCreated,
        status=201,
        params=(
            Param(
                "Idempotency-Key",
                "header",
                {"type": "string", "maxLength": 100},
                "Used when the deal has no external_id: the same key answers the first result",
            ),
        ),
        errors=(400, 401, 403, 409, 413, 422, 429),
    ),
    Route(
        "POST",
        "/deals/batch",
        ("deals:write",),
        create_deals,
        "Record up to 1,000 deals in one transaction (one refused deal refuses them all)",
        request=DealBatchIn,
        response=DealsCreated,
        status=201,
        params=(
            Param(
                "Idempotency-Key",
                "header",
                {"type": "string", "maxLength": 100},
                "Keys the deals without external_id, suffixed with their position",
            ),
        ),
        errors=(400, 401, 403, 409, 413, 422, 429),
    ),
    Route(
        "PUT",
        "/managers/{external_id}",
        ("deals:write",),
        link_manager,
        "Map your system's user id to a staff member: deals naming it go to them",
        request=StaffRef,
        response=ManagerLinked,
        params=(
            Param(
                "external_id",
                "path",
                {"type": "string", "maxLength": MAX_EXTERNAL_ID},
                "Your user id, as deals name it in manager.external_id",
                True,
            ),
        ),
        errors=(400, 401, 403, 413, 422, 429),
    ),
    Route(
        "GET",
        "/deals/{deal_id}",
        ("read", "deals:write"),
        show_deal,
        "A deal, its contact and its survey's progress",
        response=DealShown,
        params=(_DEAL_ID,),
        errors=(401, 403, 404, 429),
    ),
    Route(
        "GET",
        "/answers",
        ("read",),
        list_answers,
        "Answers in the order they were scored, a page at a time",
        response=AnswersPage,
        params=(
            Param("since", "query", {"type": "string"}, "The `next` of the previous page"),
            Param(
                "limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "Default 100"
            ),
        ),
    ),
    Route(
        "GET",
        "/nps",
        ("read",),
        nps,
        "The figures /nps shows, with its filters",
        response=NpsFigures,
        params=(
            Param(
                "period",
                "query",
                {"type": "string", "pattern": r"^(7|30|90|y|all|m?[0-9]{4}-[0-9]{2})$"},
                "7, 30, 90 (days), y (this year), all, or a month YYYY-MM; default 30",
            ),
            Param(
                "kind",
                "query",
                {"enum": ["all", "client", "supplier", "contractor", "partner"]},
                "Default all",
            ),
            Param("manager", "query", {"type": "integer", "minimum": 0}, "0 (default): all"),
        ),
    ),
    Route(
        "GET",
        "/qr/{token}.png",
        (),
        qr,
        "The QR code of a survey link, as PNG",
        params=(Param("token", "path", {"type": "string"}, "The survey's token", True),),
        content_type="image/png",
        errors=(404,),
    ),
    Route(
        "GET",
        "/openapi.json",
        (),
        openapi,
        "This document",
        errors=(),
    ),
)


def handler_for(api: Api, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        token = None
        if route.scopes:
            checked = await authorize(request, api.db, api.limiter, route.scopes)
            if isinstance(checked, web.Response):
                return checked
            token = checked
        try:
            return await route.handler(api, request, token)
        except Exception:
            log.exception("api: %s %s failed", request.method, route.path)
            return error(500, "internal", "something went wrong on our side; try again")

    return handle
