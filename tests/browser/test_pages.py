"""An app's pages in Chromium: messages filtered by event type, a message's deliveries with
one of them replayed, a job's progress and webhook attempts, the event-type catalog. Each is
reached from the app's tabs, as a reader would."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Shoot, app_path
from tests.browser.service import Hookwise, until


def _tab(page: Page, name: str) -> None:
    page.locator(f'nav.tabs a[data-tab="{name}"]').click()
    expect(page.locator(f'nav.tabs a[data-tab="{name}"]')).to_have_attribute("aria-current", "page")


def test_filter_messages_by_event_type(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    app, _ = hookwise.app_at_a_bin("Filtered")
    paid = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_7"})
    hookwise.send(app["id"], "order.created", {"order": 7})
    page.goto(app_path(app))
    _tab(page, "messages")
    rows = page.locator("#message-list tr[data-message]")
    expect(rows).to_have_count(2)

    page.get_by_label("Event type").fill("invoice.paid")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]event_type=invoice\.paid"))
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-message", paid["id"])
    expect(rows).to_have_attribute("data-event-type", "invoice.paid")
    shoot(page, "messages", "Messages, filtered by event type, status and date")

    rows.get_by_role("link", name=paid["id"]).click()
    expect(page).to_have_url(hookwise.url(app_path(app, f"/messages/{paid['id']}")))
    expect(page.locator("#payload")).to_contain_text('"invoice": "inv_7"')


def test_replay_one_delivery_from_the_message_page(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    app, first = hookwise.app_at_a_bin("Replayed")
    second = hookwise.endpoint(app["id"], hookwise.bin("second bin")["url"], retry_schedule=[])
    msg = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_8"})
    hookwise.delivered(app["id"], 2)
    page.goto(app_path(app, f"/messages/{msg['id']}"))
    expect(page.locator("#delivery-list tr[data-delivery]")).to_have_count(2)
    attempts = page.locator("#attempt-rows tr[data-attempt]")
    expect(attempts).to_have_count(2)

    page.get_by_role("button", name=f"Replay to {second['url']}").click()
    expect(page.get_by_role("status")).to_contain_text("re-queued")
    # the service's worker makes the attempt; the page shows it when read again
    hookwise.delivered(app["id"], 3)
    page.reload()
    expect(attempts).to_have_count(3)
    again = page.locator(f'#attempt-rows tr[data-endpoint="{second["id"]}"]')
    expect(again).to_have_count(2)
    expect(again.first).to_contain_text("manual")
    expect(page.locator(f'#attempt-rows tr[data-endpoint="{first["id"]}"]')).to_have_count(1)
    shoot(page, "message", "A message: its payload, one row per delivery with Replay, attempts")


def test_a_jobs_progress_results_and_webhook_attempts(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    app = hookwise.app("Jobs")
    target = hookwise.bin("job bin")
    body = {
        "type": "export",
        "total": 3,
        "webhook_url": target["url"],
        "webhook_events": {"item_finished": True},
        "webhook_retry_schedule": [],
    }
    job = hookwise.http.post(f"/v1/apps/{app['id']}/jobs", json=body).json()
    items = [
        {"id": "row-1", "status": "succeeded", "result": {"rows": 10}},
        {"id": "row-2", "status": "failed", "error": "no such table"},
    ]
    r = hookwise.http.post(f"/v1/apps/{app['id']}/jobs/{job['id']}/items", json={"items": items})
    assert r.status_code == 200, r.text
    requests = f"/v1/inspector/bins/{target['id']}/requests"
    until(lambda: len(hookwise.http.get(requests).json()["data"]) >= 2)

    page.goto(app_path(app))
    _tab(page, "jobs")
    row = page.locator(f'#job-list tr[data-job="{job["id"]}"]')
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("2 / 3")
    shoot(page, "jobs", "Jobs, with their progress")

    row.get_by_role("link", name=job["id"]).click()
    expect(page.locator("#job-status")).to_have_text("running")
    expect(page.locator("#job-progress")).to_contain_text("2 of 3 items")
    expect(page.locator("#results tr[data-result]")).to_have_count(2)
    expect(page.locator('#results tr[data-result="row-2"]')).to_contain_text("no such table")
    expect(page.locator("#attempt-rows tr[data-attempt]")).to_have_count(2)
    expect(page.locator("#attempt-rows")).to_contain_text(target["url"])
    shoot(page, "job", "A job: progress, results and the webhook attempts it made")


def test_the_event_type_catalog(signed_in_page: Page, hookwise: Hookwise, shoot: Shoot) -> None:
    page = signed_in_page
    app = hookwise.app("Catalog")
    schema = {"type": "object", "required": ["invoice"]}
    body = {"name": "invoice.voided", "description": "An invoice was voided.", "schema": schema}
    r = hookwise.http.post("/v1/event-types", json=body)
    assert r.status_code == 201, r.text
    page.goto(app_path(app))
    _tab(page, "event-types")
    row = page.locator('#event-types tr[data-event-type="invoice.voided"]')
    expect(row).to_contain_text("An invoice was voided.")
    row.get_by_text("Schema of invoice.voided").click()
    expect(row.locator("pre")).to_contain_text('"required"')
    shoot(page, "event-types", "The event-type catalog, each with its schema")
