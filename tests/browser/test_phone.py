"""Every console page fits a phone: at 390 px wide nothing makes the page scroll sideways
(a wide table scrolls inside its own box instead)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import app_path, sign_in
from tests.browser.screenshots import PHONE
from tests.browser.service import Hookwise

WIDER_THAN_THE_PAGE = "document.scrollingElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def paths(hookwise: Hookwise) -> dict[str, str]:
    """A page of each kind, with something in it."""
    app = hookwise.app("On a phone")
    target = hookwise.bin("phone bin")
    hookwise.endpoint(app["id"], target["url"], retry_schedule=[])
    hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_390"})
    (attempt,) = hookwise.delivered(app["id"])
    return {
        "login": "/dashboard/login",
        "apps": "/dashboard",
        "app": app_path(app),
        "attempt": app_path(app, f"/attempts/{attempt['id']}"),
        "inspector": "/dashboard/inspector",
        "inspector-bin": f"/dashboard/inspector/{target['id']}",
    }


@pytest.mark.parametrize("name", ["login", "apps", "app", "attempt", "inspector", "inspector-bin"])
def test_no_page_is_wider_than_a_phone(
    name: str, page: Page, hookwise: Hookwise, paths: dict[str, Any]
) -> None:
    if name != "login":
        sign_in(page, hookwise.admin_key)
        expect(page).to_have_url(hookwise.url("/dashboard"))
    page.set_viewport_size(PHONE)
    page.goto(paths[name])
    expect(page).to_have_url(hookwise.url(paths[name]))
    page.wait_for_load_state("load")
    assert page.evaluate(WIDER_THAN_THE_PAGE) <= 0, f"{name} scrolls sideways at 390 px"
