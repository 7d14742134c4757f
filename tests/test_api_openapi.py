"""The OpenAPI 3.1 document at /api/v1/openapi.json: valid against the specification
(openapi-spec-validator), every route the application serves documented with its method, the
request models' schemas exactly the ones pydantic generates from the models that validate the
requests (so the document cannot drift from the validation)."""

from __future__ import annotations

from typing import Any

from aiohttp import test_utils, web
from openapi_spec_validator import validate

from api.openapi import document
from api.routes import ROUTES
from api.server import standalone
from domain.deals_in import DealBatchIn, DealIn
from domain.settings import Settings
from storage import Database
from tests.harness import Harness


def _served(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, OpenAPI path) of every route the application answers under /api/v1 (a
    sub-application's resources carry the prefix)."""
    found = set()
    for sub in app._subapps:
        for route in sub.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter", "")
            # aiohttp writes a regex-constrained variable as {name}: the OpenAPI form.
            if route.method != "HEAD":
                found.add((route.method, path))
    return found


async def test_the_document_is_valid_and_documents_every_route(
    harness: Harness, db: Database, settings: Settings
) -> None:
    app = standalone(harness.dp, harness.bot, settings)
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        r = await client.get("/api/v1/openapi.json")
        assert r.status == 200
        doc: dict[str, Any] = await r.json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = _served(app)
    assert len(served) == len(ROUTES)
    assert {"/api/v1/deals", "/api/v1/answers", "/api/v1/nps"} <= {p for _, p in served}
    assert served == documented


def test_request_schemas_are_the_validating_models() -> None:
    doc = document()
    schemas = doc["components"]["schemas"]
    ref = "#/components/schemas/{model}"
    for model in (DealIn, DealBatchIn):
        generated = model.model_json_schema(ref_template=ref)
        generated.pop("$defs", None)
        assert schemas[model.__name__] == generated
    deal = schemas["DealIn"]
    assert deal["additionalProperties"] is False
    assert set(deal["required"]) == {"person", "product"}
    assert schemas["PersonIn"]["properties"]["name"]["anyOf"][0]["maxLength"] == 200
    assert schemas["DealBatchIn"]["properties"]["deals"]["maxItems"] == 1000
    post = doc["paths"]["/api/v1/deals"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("DealIn")
    assert {"201", "401", "403", "409", "413", "422", "429"} <= post["responses"].keys()
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["responses"], path
