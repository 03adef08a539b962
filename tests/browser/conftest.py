import os

# Playwright's sync API keeps an event loop running in the test thread; the ORM calls the
# tests make between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


import asyncio  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402
from django.db import connections  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"


@pytest.fixture(scope="session")
def _chromium():
    """One headless chromium per test process (each xdist worker starts its own), started
    by the first browser test and shut at the end of the session; with Playwright's event
    loop, as ``browser`` hands it over, in ``_chromium.loop``."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make chromium` (make test does)")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        loop = asyncio.get_running_loop()     # Playwright marks its loop running in between
        asyncio._set_running_loop(None)       # not for the tests before the next browser test
        yield SimpleNamespace(browser=b, loop=loop)
        asyncio._set_running_loop(loop)
        b.close()
    asyncio._set_running_loop(None)


@pytest.fixture
def browser(_chromium):
    """Debian's chromium, headless; screenshots go to OUT. Each test opens its own contexts
    (cookies, storage, cache of their own: nothing passes from one test to the next), and
    every context it left open is closed after it.

    Between its calls Playwright's sync API leaves its event loop marked as running in this
    thread, and while it is, Django keeps the thread's database connections apart from those
    of plain synchronous code (asgiref's thread-critical Local). As when each test started
    and stopped its own Playwright, the loop is marked running only from here to the end of
    the test: the database set-up and teardown of every test (the transactional flush, the
    serialized data put back) see the connection they were set up with."""
    b, loop = _chromium.browser, _chromium.loop
    assert not b.contexts, "a browser context outlived its test"
    asyncio._set_running_loop(loop)
    try:
        yield b
        for context in b.contexts:
            context.close()
        # the ORM calls the test made while Playwright ran used connections of that
        # context; close them here, or PostgreSQL cannot drop the test database at the end
        connections.close_all()
    finally:
        asyncio._set_running_loop(None)


@pytest.fixture(autouse=True)
def jobs_run_in_the_request(settings):
    """Imports and exports run in the request in browser tests. The default "thread" runner
    writes from a second thread while the live server writes from its own; the SQLite test
    database is an in-memory shared cache where the second writer fails at once ('database
    table is locked') instead of waiting, so a test would flake on SQLite only. The page
    shows the same finished job either way; the thread runner has tests of its own."""
    settings.TOWERLEDGER_JOB_RUNNER = "sync"


def new_page(browser):
    """A fresh browser context (its own cookies: one user) and its page, in English."""
    return browser.new_context(viewport={"width": 1360, "height": 860},
                               locale="en-US").new_page()


def log_in(page, live_server, username, password="pw-Secret-123"):
    """Log in through the login page and land anywhere but on it (the home page)."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.btn")
    expect(page).not_to_have_url(re.compile(r"/login/"))
