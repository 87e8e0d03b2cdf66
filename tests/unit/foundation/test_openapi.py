"""Every service's OpenAPI says how to send the API key and documents its errors as problem+json."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import asynccontextmanager
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import Depends, FastAPI
from schemathesis.core.result import Ok

from services.escalation.settings import EscalationSettings
from services.ingest.settings import IngestSettings
from services.insights.settings import InsightsSettings
from services.router.settings import RouterSettings
from services.sla.settings import SlaSettings
from shared.auth.keys import Principal
from shared.auth.web import require
from shared.migrations import SERVICES
from shared.settings import BaseServiceSettings
from shared.web.openapi import ServiceApp
from shared.web.problems import ProblemDocument, install_problem_handlers

SETTINGS: dict[str, type[BaseServiceSettings]] = {
    "ingest": IngestSettings,
    "router": RouterSettings,
    "sla": SlaSettings,
    "escalation": EscalationSettings,
    "insights": InsightsSettings,
}
KEY_SCHEMES = {"bearer", "apiKey", "basic"}
METHODS = {"get", "put", "post", "delete", "patch"}


def _app(service: str) -> FastAPI:
    create_app = import_module(f"services.{service}.entrypoints.api").create_app
    app: FastAPI = create_app(SETTINGS[service](_env_file=None))
    return app


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.fixture(scope="module", params=SERVICES)
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _app(request.param).openapi()


def test_the_three_ways_to_send_a_key_are_security_schemes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>`"}
    assert schemes["apiKey"]["type"] == "apiKey"
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "X-Api-Key")
    assert schemes["basic"]["type"] == "http" and schemes["basic"]["scheme"] == "basic"
    assert "password" in schemes["basic"]["description"]


def test_every_v1_operation_takes_any_of_the_key_schemes_and_operations_endpoints_none(
    document: dict[str, Any],
) -> None:
    for path, method, operation in _operations(document):
        if not path.startswith("/v1/"):
            assert "security" not in operation, f"{method} {path} is public"
            continue
        alternatives = operation.get("security")
        assert alternatives, f"{method} {path} declares no security"
        named = {name for requirement in alternatives for name in requirement}
        assert named == KEY_SCHEMES, f"{method} {path}: {alternatives}"
    assert {"/healthz", "/readyz", "/metrics"} <= set(document["paths"])


def test_every_v1_operation_documents_its_error_answers_as_problems(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        expected = {"401", "403", "404", "422", "503"}
        expected |= {"409"} if method != "get" else set()
        expected |= {"413"} if method in ("post", "put", "patch") else set()
        responses = operation["responses"]
        assert expected <= set(responses), f"{method} {path}: {sorted(responses)}"
        for code in expected:
            content = responses[code]["content"]
            assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                f"{method} {path} {code}: {content}"
            )
            assert responses[code]["description"]
        assert "Retry-After" in responses["503"]["headers"]


def test_fastapis_own_validation_error_schema_is_gone(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(document)
    assert "ValidationError" not in document["components"]["schemas"]


def test_the_problem_schema_names_the_rfc_9457_members_and_the_field_errors(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance", "errors"}
    assert problem["additionalProperties"] is True  # extensions such as readiness `checks`
    item = problem["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[item]["required"]) == {"field", "message"}


def test_the_document_is_valid_openapi_to_a_client_generator(document: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(document)
    results = list(schema.get_all_operations())
    assert results and all(isinstance(result, Ok) for result in results)


def test_routes_that_require_a_role_name_it_in_the_requirement_and_the_description() -> None:
    operation = _app("router").openapi()["paths"]["/v1/agents"]["get"]
    assert operation["security"] == [{name: ["admin", "manager"]} for name in ("bearer", "apiKey", "basic")]
    assert "`admin` or `manager`" in operation["description"]


def test_routes_that_authenticate_some_callers_only_make_the_key_optional() -> None:
    operation = _app("ingest").openapi()["paths"]["/v1/webhooks/{source_name}"]["post"]
    assert {} in operation["security"]  # a signed webhook needs no key
    assert {name for requirement in operation["security"] for name in requirement} == KEY_SCHEMES


def test_readyz_documents_its_503_as_a_problem() -> None:
    answer = _app("sla").openapi()["paths"]["/readyz"]["get"]["responses"]["503"]
    assert "application/problem+json" in answer["content"]


async def test_the_answers_the_app_gives_fit_the_documented_problem_schema() -> None:
    app = _app("router")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        missing = await client.get("/v1/nowhere")
        invalid = await client.get("/v1/agents", params={"q": "\x00"})
    for response in (missing, invalid):
        assert response.headers["content-type"] == "application/problem+json"
        ProblemDocument.model_validate(response.json())
    assert ProblemDocument.model_validate(invalid.json()).errors[0].field == "q"


# documenting the schemes must not change which keys are accepted


def _auth_app() -> FastAPI:
    @asynccontextmanager
    async def no_session() -> Any:
        yield None

    app = ServiceApp()
    install_problem_handlers(app)
    app.state.runtime = SimpleNamespace(
        settings=SimpleNamespace(bootstrap_admin_key="sb_boot"),
        definition=SimpleNamespace(api_keys=None),
        sessionmaker=no_session,
    )

    @app.get("/v1/things")
    async def things(principal: Principal = Depends(require("manager"))) -> dict[str, str]:
        return {"role": principal.role}

    return app


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer sb_boot"}, 200),
        ({"X-Api-Key": "sb_boot"}, 200),
        ({"Authorization": _basic("any", "sb_boot")}, 200),
        ({"Authorization": _basic("sb_boot", "")}, 200),
        ({"Authorization": "Basic %%%not-base64", "X-Api-Key": "sb_boot"}, 200),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Token sb_boot"}, 401),
    ],
    ids=["none", "bearer", "x-api-key", "basic", "basic-user", "bad-basic-then-header", "unknown", "other-scheme"],
)
async def test_the_keys_accepted_are_the_same_with_the_schemes_documented(headers: dict[str, str], status: int) -> None:
    transport = httpx.ASGITransport(app=_auth_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/things", headers=headers)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["content-type"] == "application/problem+json"
