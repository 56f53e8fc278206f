"""Send events with hookwise and read their attempts: the sender's side in a few lines.

Run against a running service:  HOOKWISE_URL=http://127.0.0.1:8000 HOOKWISE_KEY=hwk_… \
    python examples/send_events.py https://your-receiver.example/hooks
"""

from __future__ import annotations

import os
import sys
import time

import httpx


def main(base_url: str, admin_key: str, target_url: str) -> list[dict[str, object]]:
    """Create an app and an endpoint, send two events, wait for their attempts."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10
    ) as api:
        app = api.post("/v1/apps", json={"name": "example shop"}).json()
        endpoint = api.post(
            f"/v1/apps/{app['id']}/endpoints",
            json={"url": target_url, "events": ["order.*"], "retry_schedule": [2, 4, 8]},
        ).json()
        print("endpoint", endpoint["id"], "signing secret", endpoint_secret(api, app, endpoint))

        for n in (1, 2):
            msg = api.post(
                f"/v1/apps/{app['id']}/messages",
                json={"event_type": "order.paid", "payload": {"order": n, "total": 12.5}},
                headers={"Idempotency-Key": f"order-{n}-paid"},
            ).json()
            print("accepted", msg["id"], "for", msg["deliveries"], "endpoint(s)")

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            attempts = api.get(f"/v1/apps/{app['id']}/attempts").json()["data"]
            if len(attempts) >= 2:
                break
            time.sleep(0.2)
        for a in attempts:
            print(a["message_id"], "attempt", a["attempt_number"], a["status"],
                  a["response_status_code"], f"{a['duration_ms']} ms")  # fmt: skip
        return list(attempts)


def endpoint_secret(api: httpx.Client, app: dict[str, str], endpoint: dict[str, str]) -> str:
    """The secret a receiver verifies with."""
    r = api.get(f"/v1/apps/{app['id']}/endpoints/{endpoint['id']}/secret")
    return str(r.json()["key"])


if __name__ == "__main__":
    main(os.environ["HOOKWISE_URL"], os.environ["HOOKWISE_KEY"], sys.argv[1])
