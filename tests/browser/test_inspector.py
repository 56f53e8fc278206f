"""The request inspector in Chromium: a bin made from its page receives a real delivery and a
forged one; with the endpoint's secret typed in, the page marks the delivery verified and the
forged capture not verified, in both signature styles, even when a poll sent before the secret
was typed answers after the check."""

from __future__ import annotations

import re
import time
from contextlib import suppress
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import Error, Page, Request, Route, expect

from hookwise.domain.signing import Signer
from tests.browser.conftest import Shoot, htmx_wired
from tests.browser.service import Hookwise, until

STYLES = 2  # Standard Webhooks and X-Webhook-Signature
# counts the captures shown without verdicts from now on, however briefly
COUNT_UNCHECKED_SWAPS = """() => {
  window.uncheckedSwaps = 0;
  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.target.id === "captures"
        && !e.target.querySelector('td.verdict[data-state="verified"]')) window.uncheckedSwaps++;
  });
}"""


def test_the_inspector_marks_a_forged_capture_as_not_verified(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    page.get_by_role("link", name="Inspector", exact=True).click()
    page.get_by_label("Name").fill("seed 000")
    page.get_by_role("button", name="New bin").click()
    expect(page).to_have_url(re.compile(r"/dashboard/inspector/\w+$"))
    bin_id = page.url.rsplit("/", 1)[1]
    url = hookwise.url(f"/inspect/{bin_id}")
    expect(page.locator("#bin-url")).to_have_text(url)
    expect(page.locator("#captures")).to_contain_text("Nothing yet")

    app = hookwise.app("Inspected")
    ep = hookwise.endpoint(app["id"], url, retry_schedule=[])
    # the secret first: every poll after this carries it (a poll sent before the secret was
    # typed would bring verdicts without it)
    page.get_by_label("Endpoint secret").fill(hookwise.secret(app["id"], ep["id"]))
    page.get_by_role("button", name="Check signatures").click()

    hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_9"})
    requests = f"/v1/inspector/bins/{bin_id}/requests"
    (real,) = until(lambda: hookwise.http.get(requests).json()["data"])
    body = b'{"forged": true}'
    forged_headers = Signer.from_secrets(["whsec_" + "B" * 32]).headers(
        "msg_forged", int(time.time()), body
    )
    forged_id = httpx.post(url, content=body, headers=forged_headers).headers["X-Hookwise-Capture"]

    # brought in by the page's poll, checked with the secret typed in
    real_row = page.locator(f'tr[data-capture="{real["id"]}"]')
    forged_row = page.locator(f'tr[data-capture="{forged_id}"]')
    expect(real_row.locator("td.verdict")).to_have_text(["verified"] * STYLES)
    verdicts = forged_row.locator("td.verdict")
    for i in range(STYLES):
        expect(verdicts.nth(i)).to_have_attribute("data-state", "not verified")
    expect(forged_row).to_contain_text("no signature matches")
    shoot(page, "inspector-bin", "An inspector bin: captures, their signatures checked")

    page.get_by_role("link", name="Request inspector").click()
    expect(page.get_by_role("link", name="seed 000")).to_be_visible()
    shoot(page, "inspector", "The request inspector: bins that record what they are sent")


def _forged(url: str) -> str:
    """A capture signed with a secret that is not the endpoint's; its id."""
    body = b'{"forged": true}'
    headers = Signer.from_secrets(["whsec_" + "C" * 32]).headers("msg_x", int(time.time()), body)
    return httpx.post(url, content=body, headers=headers).headers["X-Hookwise-Capture"]


def _without_secret(request: Request) -> bool:
    form = parse_qs(request.post_data or "", keep_blank_values=True)
    return form.get("secret", [""]) == [""]


def _a_poll_with_the_secret(request: Request) -> bool:
    """A refresh of the captures (not the form's own check) carrying the typed secret."""
    return (
        request.url.endswith("/captures")
        and request.headers.get("hx-trigger") != "check"
        and not _without_secret(request)
    )


def test_a_poll_sent_before_the_secret_never_undoes_the_check(
    signed_in_page: Page, hookwise: Hookwise
) -> None:
    """The race: captures on the page, polls running; a poll leaves without the secret and is
    held; a new capture comes; the secret is typed and checked; then the held poll answers.
    The verdicts stay those of the typed secret, then and after the next polls."""
    page = signed_in_page
    target = hookwise.bin("late secret")
    app = hookwise.app("Late secret")
    ep = hookwise.endpoint(app["id"], target["url"], retry_schedule=[])
    hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_10"})
    requests = f"/v1/inspector/bins/{target['id']}/requests"
    (real,) = until(lambda: hookwise.http.get(requests).json()["data"])
    page.goto(f"/dashboard/inspector/{target['id']}")
    real_row = page.locator(f'tr[data-capture="{real["id"]}"]')
    expect(real_row.locator("td.verdict")).to_have_text(["enter the secret"] * STYLES)

    held: list[Route] = []

    def hold_one_poll(route: Route) -> None:
        if not held and _without_secret(route.request):
            held.append(route)  # answered below, after the check
        else:
            route.continue_()

    page.route("**/captures", hold_one_poll)
    page.wait_for_event("request", lambda r: r.url.endswith("/captures"))
    forged_id = _forged(target["url"])  # the held poll will bring it, unchecked
    page.get_by_label("Endpoint secret").fill(hookwise.secret(app["id"], ep["id"]))
    page.get_by_role("button", name="Check signatures").click()
    forged_row = page.locator(f'tr[data-capture="{forged_id}"]')
    expect(forged_row.locator("td.verdict").first).to_have_attribute("data-state", "not verified")
    expect(real_row.locator("td.verdict")).to_have_text(["verified"] * STYLES)
    page.evaluate(COUNT_UNCHECKED_SWAPS)

    assert held, "no poll left before the secret was typed"
    # answered now, unless the page gave that poll up when it sent the check
    with page.expect_response(lambda r: _a_poll_with_the_secret(r.request)), suppress(Error):
        held[0].fulfill(response=held[0].fetch())
    expect(real_row.locator("td.verdict")).to_have_text(["verified"] * STYLES)
    for i in range(STYLES):
        expect(forged_row.locator("td.verdict").nth(i)).to_have_attribute(
            "data-state", "not verified"
        )
    assert page.evaluate("window.uncheckedSwaps") == 0, "an older poll's answer was shown"


@pytest.mark.parametrize("hookwise", ["sqlite"], indirect=True)  # no store in a key press
def test_the_inspector_works_from_the_keyboard(signed_in_page: Page, hookwise: Hookwise) -> None:
    """A bin made, its signatures checked and a capture replayed with Tab, typing and Enter."""
    page = signed_in_page
    page.goto("/dashboard/inspector")
    page.get_by_label("Name").focus()
    page.keyboard.type("by keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Answer with status")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="New bin")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard/inspector/\w+$"))
    forged_id = _forged(page.locator("#bin-url").inner_text())
    verdict = page.locator(f'tr[data-capture="{forged_id}"] td.verdict').first
    expect(verdict).to_have_text("enter the secret")

    page.get_by_label("Endpoint secret").focus()
    page.keyboard.insert_text("whsec_" + "D" * 32)
    with page.expect_response(lambda r: r.request.headers.get("hx-trigger") == "check"):
        page.keyboard.press("Enter")  # the form's own submit: "Check signatures"
    expect(verdict).to_have_attribute("data-state", "not verified")
    page.get_by_label("Replay to URL").focus()
    page.keyboard.press("Tab")
    replay = page.get_by_role("button", name=f"Replay {forged_id}")
    expect(replay).to_be_focused()
    htmx_wired(replay)  # the check's answer brought this button a moment ago
    page.keyboard.press("Enter")  # no URL typed: said so, where the answer goes
    expect(page.locator("#replayed")).to_contain_text("Not replayed")
    expect(replay).to_be_focused()
