"""A real browser opens a service's `/docs` with every other host blocked and sees Swagger UI's "Authorize".

Chromium is Debian's (`.ci/run` installs it); Playwright drives it. The service runs under
uvicorn without its lifespan: the page needs the app's routes, not its database or Kafka.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import Route, sync_playwright

from services.sla.entrypoints.api import SERVICE as SLA
from shared.stack.ports import free_port

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
# ReDoc's "API docs by Redocly" badge: it is hard-coded, and the image removes itself when it cannot load
COSMETIC = {"https://cdn.redoc.ly/redoc/logo-mini.svg"}


@pytest.fixture(scope="module")
def docs_base() -> Iterator[str]:
    port = free_port()
    app = SLA.create_app(SLA.settings(_env_file=None))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize(("page_path", "ready"), [("/docs", "button.authorize"), ("/redoc", "[role=search], h1")])
def test_the_docs_pages_render_with_no_other_host_reachable(docs_base: str, page_path: str, ready: str) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does)", pytrace=False)
    elsewhere: list[str] = []

    def only_this_service(route: Route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(docs_base).netloc:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_this_service)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(docs_base + page_path)
            page.wait_for_selector(ready, timeout=20_000)
            if page_path == "/docs":
                assert page.locator("button.authorize").inner_text().strip() == "Authorize"
                page.click("button.authorize")
                dialog = page.locator(".modal-ux").inner_text()
                assert "X-Api-Key" in dialog and "bearer" in dialog.lower() and "basic" in dialog.lower()
        finally:
            browser.close()
    assert not set(elsewhere) - COSMETIC, f"{page_path} tried to load from other hosts: {elsewhere}"
    assert not errors, f"{page_path} raised in the browser: {errors}"
