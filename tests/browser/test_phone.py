"""Every console page fits a phone: at 390 px wide nothing makes the page scroll sideways
(a wide table scrolls inside its own box instead). Layout does not depend on the store, so
this runs on SQLite only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import app_path, sign_in
from tests.browser.screenshots import PHONE
from tests.browser.service import Hookwise

# the outermost elements that reach past the right edge, and by how much
CULPRITS = """() => {
  const edge = window.innerWidth;
  const past = (el) => el.getBoundingClientRect().right > edge + 0.5;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  return [...document.body.querySelectorAll("*")]
    .filter((el) => past(el) && !past(el.parentElement))
    .slice(0, 5)
    .map((el) => `${name(el)} +${Math.round(el.getBoundingClientRect().right - edge)}px`);
}"""
WIDER_THAN_THE_PAGE = "document.scrollingElement.scrollWidth - window.innerWidth"
PAGES = [
    "login",
    "apps",
    "app",
    "messages",
    "message",
    "attempt",
    "endpoint",
    "endpoint-new",
    "jobs",
    "job",
    "event-types",
    "inspector",
    "inspector-bin",
]


@pytest.fixture(scope="module")
def phone(browser: Browser, hookwise: Hookwise) -> Iterator[Page]:
    """One signed-in page 390 px wide for the module."""
    context = browser.new_context(viewport=PHONE, base_url=hookwise.base_url)
    page = context.new_page()
    sign_in(page, hookwise.admin_key)
    expect(page).to_have_url(hookwise.url("/dashboard"))
    yield page
    context.close()


@pytest.fixture(scope="module")
def paths(phone: Page, hookwise: Hookwise) -> dict[str, str]:
    """A page of each kind, with something in it."""
    app = hookwise.app("On a phone")
    target = hookwise.bin("phone bin")
    ep = hookwise.endpoint(app["id"], target["url"], retry_schedule=[])
    msg = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_390"})
    (attempt,) = hookwise.delivered(app["id"])
    job = hookwise.http.post(f"/v1/apps/{app['id']}/jobs", json={"type": "export", "total": 9})
    return {
        "apps": "/dashboard",
        "app": app_path(app),
        "messages": app_path(app, "/messages"),
        "message": app_path(app, f"/messages/{msg['id']}"),
        "endpoint": app_path(app, f"/endpoints/{ep['id']}"),
        "endpoint-new": app_path(app, "/endpoints/new"),
        "jobs": app_path(app, "/jobs"),
        "job": app_path(app, f"/jobs/{job.json()['id']}"),
        "event-types": app_path(app, "/event-types"),
        "attempt": app_path(app, f"/attempts/{attempt['id']}"),
        "inspector": "/dashboard/inspector",
        "inspector-bin": f"/dashboard/inspector/{target['id']}",
    }


@pytest.mark.parametrize("hookwise", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", PAGES)
def test_no_page_is_wider_than_a_phone(
    name: str, phone: Page, paths: dict[str, str], hookwise: Hookwise
) -> None:
    page = phone
    if name == "login":
        page = phone.context.browser.new_page(viewport=PHONE)  # type: ignore[union-attr]
        page.goto(hookwise.url("/dashboard/login"))
    else:
        page.goto(paths[name])
        expect(page).to_have_url(hookwise.url(paths[name]))
    try:
        wider = page.evaluate(WIDER_THAN_THE_PAGE)
        assert wider <= 0, f"{name} scrolls sideways at 390 px: {page.evaluate(CULPRITS)}"
    finally:
        if page is not phone:
            page.close()
