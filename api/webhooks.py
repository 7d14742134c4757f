"""Webhook URLs over the HTTP API: the same registrations an owner makes with /hooks in the chat
(storage/webhooks.py), for a system that sets itself up.

    GET    /api/v1/webhooks        the URLs (secrets masked)            scope read or deals:write
    POST   /api/v1/webhooks        add one; its secret, once            scope deals:write
    PATCH  /api/v1/webhooks/{id}   events and/or paused                 scope deals:write
    DELETE /api/v1/webhooks/{id}   remove it and what is queued for it  scope deals:write

The decision: registering is a write (`deals:write`, the scope an integration that pushes deals
already holds), since the URL will receive names and phones; reading the list is either scope.
The routes are built here and added to the API's one table (`api.routes.ROUTES`), so the router
and the OpenAPI document see them like every other route; this module takes the table's types
as arguments instead of importing them, as api/routes.py imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth import error
from domain.hooks import URL_LIMIT, private_url, webhook_url
from storage.events import EVENT_TYPES
from storage.webhooks import (
    HOLD_FOR,
    Endpoint,
    TooMany,
    add_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    set_events,
    set_paused,
)

if TYPE_CHECKING:
    from api.routes import Api
    from storage.api_tokens import ApiToken

EventType = Literal[
    "deal.created",
    "survey.opened",
    "answer.completed",
    "case.opened",
    "case.taken",
    "case.resolved",
    "case.reopened",
    "contact.forgotten",
]
assert get_args(EventType) == EVENT_TYPES  # one list of events: storage/events.py's

PRIVATE = (
    "the URL points into an internal network (loopback, private, link-local or reserved "
    "address, or localhost); webhooks go to public addresses only, unless the bot runs with "
    "HOOKS_ALLOW_PRIVATE=1"
)

_STRICT = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


def _checked_url(value: str) -> str:
    url = webhook_url(value)
    if url is None:
        raise ValueError(
            f"an http(s) URL with a host, no spaces, no user or password, up to {URL_LIMIT} "
            "characters"
        )
    return url


class WebhookIn(BaseModel):
    model_config = _STRICT
    url: str = Field(max_length=URL_LIMIT, description="Where to POST the events")
    events: list[EventType] = Field(
        default_factory=lambda: list(EVENT_TYPES),
        min_length=1,
        description="The events it receives; all of them if left out",
    )

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        return _checked_url(value)


class WebhookPatch(BaseModel):
    model_config = _STRICT
    events: list[EventType] | None = Field(default=None, min_length=1)
    paused: bool | None = Field(default=None, description="true pauses, false resumes")


class Webhook(BaseModel):
    id: int
    url: str
    events: list[EventType]
    status: Literal["active", "paused"]
    paused_by: Literal["owner", "failures", "gone"] | None = Field(
        description="failures: a day without a successful delivery; gone: the receiver "
        "answered 410 Gone"
    )
    secret_hint: str = Field(description="The secret's last four characters, masked")
    pending: int = Field(description="Deliveries waiting")
    held: int = Field(
        description="Of those, events kept while the webhook is paused: sent in order per "
        f"contact when it is resumed, dropped after {HOLD_FOR.days} days"
    )
    dropped: int = Field(
        description=f"Held events dropped after {HOLD_FOR.days} days in the current pause"
    )
    last_success_at: str | None
    last_error: str | None


class WebhookCreated(Webhook):
    secret: str = Field(
        description="The HMAC-SHA256 key of X-Followup-Signature; shown only in this answer"
    )


class Webhooks(BaseModel):
    webhooks: list[Webhook]


class Deleted(BaseModel):
    deleted: int = Field(description="The id of the webhook removed")


def _shown(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "status": endpoint.status,
        "paused_by": endpoint.paused_by,
        "secret_hint": endpoint.masked_secret,
        "pending": endpoint.pending,
        "held": endpoint.held,
        "dropped": endpoint.dropped,
        "last_success_at": endpoint.last_success_at,
        "last_error": endpoint.last_error,
    }


async def _parse(request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
    from api.routes import _body  # the API's one reading of a body (400/413/422 as JSON)

    return await _body(request, model)


def _id(request: web.Request) -> int:
    return int(request.match_info["webhook_id"])


async def list_webhooks(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    body = Webhooks.model_validate({"webhooks": [_shown(e) for e in await list_endpoints(api.db)]})
    return web.json_response(body.model_dump(mode="json"))


async def create_webhook(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    assert token is not None
    parsed = await _parse(request, WebhookIn)
    if isinstance(parsed, web.Response):
        return parsed
    assert isinstance(parsed, WebhookIn)
    if not (await api.live_settings.get()).hooks_allow_private and private_url(parsed.url):
        from api.routes import invalid  # (api/routes.py imports this module)

        return invalid([{"field": "url", "code": "private_address", "message": PRIVATE}])
    events = tuple(t for t in EVENT_TYPES if t in parsed.events)
    try:
        endpoint, _ = await add_endpoint(
            api.db, parsed.url, token.created_by, api.clock(), events=events
        )
    except TooMany:
        return error(409, "too_many", "no more webhooks can be added: delete one first")
    body = WebhookCreated.model_validate({**_shown(endpoint), "secret": endpoint.secret})
    return web.json_response(body.model_dump(mode="json"), status=201)


async def update_webhook(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    parsed = await _parse(request, WebhookPatch)
    if isinstance(parsed, web.Response):
        return parsed
    assert isinstance(parsed, WebhookPatch)
    endpoint_id = _id(request)
    endpoint = await get_endpoint(api.db, endpoint_id)
    if endpoint is not None and parsed.events is not None:
        events = tuple(t for t in EVENT_TYPES if t in parsed.events)
        endpoint = await set_events(api.db, endpoint_id, events, api.clock())
    if endpoint is not None and parsed.paused is not None:
        endpoint = await set_paused(api.db, endpoint_id, parsed.paused, api.clock())
    if endpoint is None:
        return error(404, "not_found", "no such webhook")
    return web.json_response(Webhook.model_validate(_shown(endpoint)).model_dump(mode="json"))


async def delete_webhook(api: Api, request: web.Request, token: ApiToken | None) -> web.Response:
    endpoint_id = _id(request)
    if not await delete_endpoint(api.db, endpoint_id):
        return error(404, "not_found", "no such webhook")
    return web.json_response(Deleted(deleted=endpoint_id).model_dump())


def webhook_routes(route: Any, param: Any) -> tuple[Any, ...]:
    """The routes, built with the API table's `Route` and `Param` (api/routes.py)."""
    webhook_id = param(
        "webhook_id", "path", {"type": "integer", "minimum": 1}, "The webhook's id", True
    )
    return (
        route(
            "GET",
            "/webhooks",
            ("read", "deals:write"),
            list_webhooks,
            "The webhook URLs events are sent to (secrets masked)",
            response=Webhooks,
        ),
        route(
            "POST",
            "/webhooks",
            ("deals:write",),
            create_webhook,
            "Add a webhook URL; the answer holds its signing secret, shown only here",
            request=WebhookIn,
            response=WebhookCreated,
            status=201,
            errors=(400, 401, 403, 409, 413, 422, 429),
        ),
        route(
            "PATCH",
            "/webhooks/{webhook_id}",
            ("deals:write",),
            update_webhook,
            "Change a webhook's events, pause it or resume it",
            request=WebhookPatch,
            response=Webhook,
            params=(webhook_id,),
            errors=(400, 401, 403, 404, 413, 422, 429),
        ),
        route(
            "DELETE",
            "/webhooks/{webhook_id}",
            ("deals:write",),
            delete_webhook,
            "Remove a webhook and the deliveries still queued for it",
            response=Deleted,
            params=(webhook_id,),
            errors=(401, 403, 404, 429),
        ),
    )
