"""Browser tests: Debian's chromium, driven by Playwright's sync API, against a live server.

The server is the real app, served by werkzeug in a thread on 127.0.0.1 and a free port, on
SQLite databases migrated in a temporary folder, with the outbox relay running in the
process (as in `make run`) so that uploaded imports are carried out. CSRF protection is on.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from marketplace.app import create_app
from tests.support import databases

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}  # an everyday phone's viewport, in CSS pixels
STEP_TIMEOUT_MS = 10_000


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without its access log; the app logs its own requests."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app on http://127.0.0.1:<free port>; yields its base URL."""
    overrides = databases.sqlite_config(tmp_path_factory.mktemp("browser-instance"))
    databases.migrate(overrides)
    app = create_app({**overrides, "CPU_RELAY_IN_PROCESS": "true", "CPU_RELAY_INTERVAL": "0.1", "CPU_LOG_LEVEL": "WARNING"})
    app.extensions["cpu"].start_relay_thread()  # already running unless FLASK_RUN_FROM_CLI is set; idempotent
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["cpu"].stop_relay_thread()
    app.extensions["cpu"].router.dispose()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh phone-sized browser tab with no cookies, on the live server."""
    context = browser.new_context(viewport=PHONE, base_url=live_server, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(STEP_TIMEOUT_MS)
    yield tab
    context.close()
