"""Rules of the operational events (``domain.operational``): which changes are told to the
operations app, once, and what each notice says. Both stores call them in the transaction of
the change (a record of attempts, a pause or an enable), and ``store.operational`` commits what
they return as messages of the operations app.

Nothing is told about the operations app's own endpoints (an event about an event could go
round forever), nor about a job target's failing or pausing (hookwise's own endpoint of a
job's ``webhook_url``, which never pauses); a job target's delivery that fails for good is
told as any delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from hookwise.domain import operational as events
from hookwise.domain.models import AttemptResult
from hookwise.store.rules.attempts import Streak, outcome


@dataclass(frozen=True, slots=True)
class Watch:
    """Operational events are on: sent to the endpoints of ``app`` (an app's id or uid, looked
    up when there is something to tell: an app made after the start is found); an endpoint is
    failing once its streak reaches ``failing_after`` (0: half of the pause threshold)."""

    app: str
    failing_after: int = 0

    def failing_at(self, pause_after: int) -> int:
        """The streak that makes an endpoint failing, for pauses at ``pause_after``."""
        return self.failing_after if self.failing_after > 0 else max(1, pause_after // 2)


def _concerns(kind: str) -> bool:
    return kind != "job_target"


class Notice(NamedTuple):
    """An operational event before it is committed: ``data`` without ``app_uid`` (and a
    ``delivery.exhausted`` without its ``event_type``), which the store reads in its
    transaction (``store.operational``)."""

    event_type: str
    app_id: str
    data: dict[str, Any]


class Counted(NamedTuple):
    """What a record of attempts did to one endpoint's failure counter."""

    app_id: str
    endpoint_id: str
    streak: Streak
    before: int  # the counter when the batch began
    after: int  # and after it (``attempts.counter``)
    status: str  # the endpoint's status when the batch began
    kind: str
    paused: str | None  # the reason it paused with (``attempts.pause``), None: it did not


def _about(app_id: str, endpoint_id: str, url: str, **data: Any) -> dict[str, Any]:
    return {"app_id": app_id, "endpoint_id": endpoint_id, "url": url, **data}


def _failure(res: AttemptResult) -> dict[str, Any]:
    return {"last_status_code": res.status_code, "last_error": res.error_message}


def recorded(
    watch: Watch, results: Sequence[AttemptResult], counted: Sequence[Counted], pause_after: int
) -> list[Notice]:
    """The notices of a recorded batch: per endpoint it counted, ``endpoint.paused`` when it
    paused, else ``endpoint.failing`` when its streak crossed the threshold in this batch
    (hence once per streak: a streak ends with a success or an enable, which reset the
    counter); then ``delivery.exhausted`` for each delivery that failed for good."""
    failed = [c for c in counted if c.streak.failures > 0 and _concerns(c.kind)]
    last = {(r.claimed.app_id, r.claimed.endpoint_id): r for r in results} if failed else {}
    at = watch.failing_at(pause_after)
    out = []
    for c in failed:
        res = last[(c.app_id, c.endpoint_id)]
        about = _about(c.app_id, c.endpoint_id, res.claimed.url)
        if c.paused is not None:
            data = {**about, "trigger": "automatic", "reason": c.paused,
                    "consecutive_failures": c.after}  # fmt: skip
            out.append(Notice(events.PAUSED, c.app_id, data))
        elif c.status == "active" and _crossed(c, at):
            data = {**about, "consecutive_failures": c.after, "pause_after": pause_after,
                    **_failure(res)}  # fmt: skip
            out.append(Notice(events.FAILING, c.app_id, data))
    return out + exhausted(results)


def _crossed(c: Counted, at: int) -> bool:
    start = 0 if c.streak.reset else c.before
    return c.streak.failures > 0 and start < at <= c.after


def exhausted(results: Sequence[AttemptResult]) -> list[Notice]:
    """``delivery.exhausted`` for each delivery of ``results`` that failed for good (not a test
    ping's)."""
    out = []
    for res in results:
        if res.succeeded or not res.counts_as_failure or outcome(res)[0] != "failed":
            continue
        cl = res.claimed
        data = _about(
            cl.app_id, cl.endpoint_id, cl.url, message_id=cl.message_id,
            delivery_id=cl.delivery_id, attempts=cl.attempt_count + 1, **_failure(res),
        )  # fmt: skip
        out.append(Notice(events.EXHAUSTED, cl.app_id, data))
    return out


def status_changed(was: str | None, endpoint: Mapping[str, Any]) -> Notice | None:
    """The notice of a change of an endpoint's status by hand (an API call, the console, the
    CLI) from ``was`` to its row ``endpoint`` (``app_id``, ``id``, ``url``, ``kind``,
    ``status``, ``paused_reason``, ``consecutive_failures``): paused, enabled, or nothing."""
    app_id, status = endpoint["app_id"], endpoint["status"]
    if was == status or not _concerns(endpoint["kind"]):
        return None
    about = _about(app_id, endpoint["id"], endpoint["url"], trigger="manual")
    if status == "paused":
        data = {**about, "reason": endpoint["paused_reason"],
                "consecutive_failures": endpoint["consecutive_failures"]}  # fmt: skip
        return Notice(events.PAUSED, app_id, data)
    if was == "paused" and status == "active":
        return Notice(events.ENABLED, app_id, about)
    return None


def operations_app(uids: Mapping[str, str | None], app: str) -> str | None:
    """The id of the operations app ``app`` names (its id, else its uid) among apps read
    with their ``uid`` (by id), or None: no such app (yet)."""
    if app in uids:
        return app
    return next((app_id for app_id, uid in uids.items() if uid == app), None)


def about_others(notices: Sequence[Notice], operations_app_id: str) -> list[Notice]:
    """``notices`` but those about the operations app's own endpoints and deliveries: an event
    about the delivery of an event could go round forever."""
    return [n for n in notices if n.app_id != operations_app_id]
