"""The OpenAPI 3.1 document, generated: paths from `api.routes.ROUTES` (the table the router is
built from), schemas from the pydantic models that validate the requests and shape the answers.
Nothing here restates a field; a model changed is a document changed."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.models import ErrorBody
from api.routes import PREFIX, ROUTES

_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    400: "Malformed JSON, a bad header or query value",
    401: "No valid token",
    403: "The token's scope does not allow this",
    404: "Not found",
    409: "The Idempotency-Key was used for a different request",
    413: "The body is over 1 MiB",
    422: "A field breaks a rule (its JSON path is named in `errors`)",
    429: "Over the token's requests a second (see Retry-After)",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


@cache
def document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(ErrorBody, "serialization")]
    for route in ROUTES:
        if route.request is not None:
            models.append((route.request, "validation"))
        if route.response is not None:
            models.append((route.response, "serialization"))
    _, schemas = models_json_schema(models, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        op: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "security": [{"bearer": []}] if route.scopes else [],
        }
        if route.scopes:
            op["description"] = "Token scope: " + " or ".join(route.scopes)
        if route.params:
            op["parameters"] = [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required,
                    "description": p.description,
                    "schema": p.schema,
                }
                for p in route.params
            ]
        if route.request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(route.request)}},
            }
        if route.response is not None:
            content = {route.content_type: {"schema": _ref(route.response)}}
        elif route.content_type == "image/png":
            content = {"image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}}}
        else:
            content = {"application/json": {"schema": {"type": "object"}}}
        responses: dict[str, Any] = {str(route.status): {"description": "OK", "content": content}}
        for status in route.errors:
            responses[str(status)] = {
                "description": _STATUS_TEXT[status],
                "content": {"application/json": {"schema": _ref(ErrorBody)}},
            }
        op["responses"] = responses
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Follow-up bot API",
            "version": "1",
            "description": "Deals in, answers and NPS figures out. Tokens are made by an owner "
            "in the bot's chat with /api; send them as `Authorization: Bearer <token>`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
