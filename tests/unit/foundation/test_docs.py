"""`/docs` and `/redoc` load every script and stylesheet from the service itself: no internet needed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from services.sla.entrypoints.api import SERVICE as SLA

_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'|spec-url="([^"]+)\"""")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = SLA.create_app(SLA.settings(_env_file=None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_a_docs_page_loads_is_served_by_the_app(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "://" not in response.text, "the page refers to another host"
    references = [next(group for group in found if group) for found in _REFERENCES.findall(response.text)]
    assert "/openapi.json" in references
    assert any(reference.endswith(".js") for reference in references)
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, f"{page} refers to {reference}, which answers {asset.status_code}"
        assert asset.content, reference


async def test_swagger_ui_gets_its_own_stylesheet_and_bundle(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assert '<link type="text/css" rel="stylesheet" href="/docs-assets/swagger-ui.css">' in page
    assert '<script src="/docs-assets/swagger-ui-bundle.js"></script>' in page
    bundle = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text[:2000]
    assert bundle.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")


async def test_the_pages_are_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not {"/docs", "/redoc"} & set(paths)
    assert not any(path.startswith("/docs-assets") for path in paths)
