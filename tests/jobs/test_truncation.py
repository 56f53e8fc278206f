"""A job with 10,000 results of about 1 KiB: the completion stays under the inline budget,
says how many it left out, and its results_endpoint pages every result exactly once."""

from __future__ import annotations

import time
from typing import Any

import orjson

from tests.conftest import Api
from tests.jobs.helpers import create_job, finish, report
from tests.receivers import Receiver

N = 10_000
BUDGET = 256 * 1024


def _item(n: int) -> dict[str, Any]:
    status = "failed" if n % 100 == 0 else "succeeded"
    item: dict[str, Any] = {"id": f"contact-{n:05d}", "status": status}
    if status == "failed":
        item["error"] = {"code": "not_found", "detail": "d" * 980}
    else:
        item["result"] = {"n": n, "email": f"user{n}@example.com", "pad": "x" * 960}
    return item


async def test_ten_thousand_results(api_factory: Any, receiver: Receiver) -> None:
    started = time.monotonic()
    api: Api = await api_factory(workers=1)
    app = await api.app()
    assert app["results_inline_budget"] == BUDGET
    job = await create_job(api, app["id"], total=N, webhook_url=receiver.url("/cb"))
    items = [_item(n) for n in range(N)]
    for i in range(0, N, 500):  # 500 items of ~1 KiB stay under the 1 MiB body limit
        await report(api, app["id"], job["id"], items[i : i + 500])
    done = await finish(api, app["id"], job["id"], status="completed_with_errors")
    await receiver.wait_for(lambda r: r.at("/cb"), timeout=20)

    (got,) = receiver.at("/cb")
    assert len(got.body) <= BUDGET
    body = orjson.loads(got.body)
    inline = body["results"]
    assert 200 < len(inline) < N
    assert len(inline) + body["results_truncated"] == N
    assert (done["results_inline"], done["results_truncated"]) == (
        len(inline), body["results_truncated"],
    )  # fmt: skip
    assert inline == items[: len(inline)]
    # the budget is used, not wasted: the next result would not have fitted
    assert len(got.body) + len(orjson.dumps(items[len(inline)])) + 1 > BUDGET
    assert body["summary"] == {"total": N, "succeeded": N - N // 100, "failed": N // 100}

    url = body["results_endpoint"]
    assert url == f"{api.base_url}/v1/apps/{app['id']}/jobs/{job['id']}/results"
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await api.http.get(
            url, params={"limit": 1000, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        paged += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert len(paged) == N
    assert len({p["id"] for p in paged}) == N
    assert paged == items

    failed = await api.http.get(url, params={"status": "failed", "limit": 1000})
    assert [p["id"] for p in failed.json()["data"]] == [
        f"contact-{n:05d}" for n in range(0, N, 100)
    ]
    assert time.monotonic() - started < 30


async def test_the_app_budget_is_respected(api_factory: Any, receiver: Receiver) -> None:
    api: Api = await api_factory(workers=1)
    app = await api.app(results_inline_budget=2048)
    job = await create_job(api, app["id"], webhook_url=receiver.url("/cb"), custom={"k": "v"})
    items = [{"id": f"i{n}", "status": "succeeded", "result": {"v": "y" * 300}} for n in range(20)]
    await report(api, app["id"], job["id"], items)
    await finish(api, app["id"], job["id"])
    await receiver.wait_for(lambda r: r.at("/cb"), timeout=20)
    (got,) = receiver.at("/cb")
    body = orjson.loads(got.body)
    assert len(got.body) <= 2048
    assert 0 < len(body["results"]) < 20
    assert body["results"] == items[: len(body["results"])]
    assert len(body["results"]) + body["results_truncated"] == 20

    polled = await api.http.get(f"/v1/apps/{app['id']}/jobs/{job['id']}", params={"limit": 5})
    p = polled.json()
    assert p["results"] == items[:5]
    assert p["results_truncated"] == 15
    rest = await api.http.get(p["results_endpoint"], params={"cursor": p["next_cursor"]})
    assert rest.json()["data"] == items[5:]
