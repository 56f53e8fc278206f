"""Browser tests: Debian's Chromium, headless, through Playwright's sync API, against a real
``hookwise serve`` per store (a SQLite file, and a PostgreSQL database when one is reachable).

Fixtures: ``hookwise`` (the service and an admin API client, one per store for the package),
``browser`` (one Chromium for the package), ``page`` (a fresh context per test: no cookies),
``signed_in_page`` (signed in with the admin key through the login form) and ``shoot`` (a
screenshot for docs/console.md when ``--screenshots`` is given; see ``screenshots.py``).
Every wait is Playwright's auto-waiting ``expect``, never a sleep.

A test for a new page: take ``signed_in_page`` and ``hookwise`` (its API makes the data), go to
the page, drive it by the names a reader sees (``get_by_role("button", name="Pause")``),
``expect`` what lasts (htmx polls may bring back the page as it was a moment ago), call
``shoot(page, "name", "caption")`` once, and add the page to ``test_phone.PAGES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.chromium import require_chromium
from tests.browser.screenshots import DESKTOP, Shots
from tests.browser.service import Hookwise
from tests.pg import BACKENDS, postgres_url_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

Shoot = Callable[["Page", str, str], None]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all the browser tests."""
    path = require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # htmx polls every 2-3 s: a change shows within one poll, the API's work within a few
    expect.set_options(timeout=10_000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package", params=BACKENDS)
def hookwise(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[Hookwise]:
    """A real ``hookwise serve`` on a free loopback port, one per store."""
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{folder / 'hookwise.db'}"
    else:
        db_url = postgres_url_for(request)
    service = Hookwise(request.param, db_url, folder)
    yield service
    service.close()


@pytest.fixture
def page(browser: Browser, hookwise: Hookwise) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size, its URLs relative to the service."""
    context = browser.new_context(
        viewport=DESKTOP, base_url=hookwise.base_url, locale="en-US", timezone_id="UTC"
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, key: str) -> None:
    """Through the login form, as a person would."""
    page.goto("/dashboard/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def signed_in_page(page: Page, hookwise: Hookwise) -> Page:
    """Signed in with the admin key; on the console's home page."""
    from playwright.sync_api import expect

    sign_in(page, hookwise.admin_key)
    expect(page).to_have_url(hookwise.url("/dashboard"))
    return page


@pytest.fixture(scope="package")
def shots(pytestconfig: pytest.Config) -> Iterator[Shots]:
    enabled = bool(pytestconfig.getoption("--screenshots")) or (
        os.environ.get("HOOKWISE_SCREENSHOTS") == "1"
    )
    taken = Shots(enabled)
    yield taken
    taken.write_index()


@pytest.fixture
def shoot(shots: Shots, hookwise: Hookwise) -> Shoot:
    """``shoot(page, name, caption)``: a screenshot for the docs (one store takes them)."""

    def take(page: Page, name: str, caption: str) -> None:
        if hookwise.store == "sqlite":
            shots.shoot(page, name, caption)

    return take


def htmx_wired(locator: Locator) -> None:
    """Wait until htmx has processed the element (its ``hx-post`` listens): content an answer
    just swapped in is wired when the swap settles, and a click or Enter before that is lost."""
    locator.page.wait_for_function(
        "(el) => !!el['htmx-internal-data']?.initHash", arg=locator.element_handle()
    )


def app_path(app: dict[str, str], rest: str = "") -> str:
    return f"/dashboard/apps/{app['id']}{rest}"
