"""How a sender's API answers about a job: where its status and results are, which statuses
end it, how its results page, and the URL template its status is read from.

hookwise's own answers are the default (``JobShape()``): the job object is the answer itself,
``status`` says where it is, results page as ``{"data": [...], "next_cursor": …}``. Another
sender is described as data, e.g. an API answering ``{"workflow": {"status", "results"}}``::

    JobShape(job="workflow", paging="single", events={"completed": "enrichment.completed"})

or by any callable turning an answer into a ``JobState``. Nothing here runs code from a
template: a status URL template holds one placeholder, ``{id}``, filled with the quoted id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal
from urllib.parse import quote

from hookwise.domain.errors import InvalidInput

TERMINAL_STATUSES = frozenset(
    {"completed", "completed_with_errors", "failed", "canceled", "insufficient_credits"}
)
# The events hookwise's sender names a finished job by (hookwise.jobs.events; the receiver does
# not import the sender's side).
HOOKWISE_EVENTS: Mapping[str, str] = {
    "completed": "job.completed",
    "completed_with_errors": "job.completed",
    "failed": "job.failed",
    "insufficient_credits": "job.failed",
    "canceled": "job.canceled",
}
PLACEHOLDER = "{id}"
Paging = Literal["cursor", "single"]


def node_at(payload: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``payload`` (``""`` is the payload), or None."""
    node = payload
    for part in path.split(".") if path else ():
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def field_value(payload: Mapping[str, Any], path: str) -> str | None:
    """The value at a dotted ``path`` of the payload (``"data.task_id"``), as text."""
    node = node_at(payload, path)
    if isinstance(node, bool) or not isinstance(node, str | int) or node == "":
        return None
    return str(node)


@dataclass(frozen=True, slots=True)
class JobState:
    """What one answer of the sender's API says about a job (or one page of its results).

    ``job`` is the job object (what a handler gets for a polled result); ``results`` the rows
    in this answer, when it has a list of them; ``next_cursor`` the cursor of the next page.
    """

    finished: bool
    status: str | None
    job: dict[str, Any]
    results: list[Any] | None = None
    next_cursor: str | None = None


ShapeReader = Callable[[Any], JobState]


def _names(value: object, what: str) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise InvalidInput(what, "must be a list of strings")
    if not value or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(what, "must be a non-empty list of non-empty strings")
    return frozenset(value)


def _path(value: object, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty):
        raise InvalidInput(what, "must be a dotted field path" + (" or ''" if empty else ""))
    if value and not all(value.split(".")):
        raise InvalidInput(what, "must not have an empty part")
    return value


@dataclass(frozen=True, slots=True)
class JobShape:
    """A declarative ``ShapeReader``: where things are in the sender's answers.

    - ``job``: dotted path of the job object in a status answer (``"workflow"``); ``""``: the
      answer is the job.
    - ``status``: field of the job holding its status; ``terminal``: statuses that end it.
    - ``results``: field of the job (and of a webhook body) holding its result rows.
    - ``paging``: ``"cursor"`` (hookwise: ``{"data", "next_cursor"}``, ``?cursor=``) or
      ``"single"`` (one answer holds every row, at ``job.results``).
    - ``events``: the event type a finished job's status stands for (hookwise's by default);
      these names also mark a webhook as the job's completion.
    """

    job: str = ""
    status: str = "status"
    terminal: frozenset[str] = TERMINAL_STATUSES
    results: str = "results"
    paging: Paging = "cursor"
    events: Mapping[str, str] = field(default_factory=lambda: dict(HOOKWISE_EVENTS))

    def __post_init__(self) -> None:
        _path(self.job, "job_shape.job", empty=True)
        _path(self.status, "job_shape.status")
        if not isinstance(self.results, str) or not self.results or "." in self.results:
            raise InvalidInput("job_shape.results", "must be one field name of the job")
        object.__setattr__(self, "terminal", _names(self.terminal, "job_shape.terminal"))
        if self.paging not in ("cursor", "single"):
            raise InvalidInput("job_shape.paging", 'must be "cursor" or "single"')
        events = self.events
        if not isinstance(events, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in events.items()
        ):
            raise InvalidInput("job_shape.events", "must map statuses to event type names")
        object.__setattr__(self, "events", dict(events))

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> JobShape:
        """A shape from plain data (a module's config, a CLI flag's JSON); 422s name the field."""
        if not isinstance(spec, Mapping):
            raise InvalidInput("job_shape", "must be an object")
        known = {f.name for f in fields(cls)}
        for name in spec:
            if name not in known:
                raise InvalidInput(f"job_shape.{name}", f"is not one of {sorted(known)}")
        return cls(**dict(spec))

    @property
    def completion_events(self) -> frozenset[str]:
        """The event types that end a job."""
        return frozenset(self.events.values())

    def is_completion(self, event_type: str, payload: Mapping[str, Any]) -> bool:
        """Whether a webhook is the job's terminal event: named so, or in a terminal status."""
        return event_type in self.completion_events or self.is_terminal(payload)

    def is_terminal(self, job: Mapping[str, Any]) -> bool:
        """Whether the job object is in a terminal status."""
        return field_value(job, self.status) in self.terminal

    def __call__(self, answer: Any) -> JobState:
        """Read one answer of the sender's API (a status answer, or a page of results)."""
        if isinstance(answer, list):  # a bare page of rows
            return JobState(finished=False, status=None, job={}, results=answer)
        job = node_at(answer, self.job)
        if not isinstance(job, dict):
            raise ValueError(f"no job object at {self.job or 'the top level'!r}")
        status = field_value(job, self.status)
        rows: Any = None
        cursor: Any = None
        if self.paging == "cursor" and isinstance(answer, dict):
            rows = answer.get("data")
            cursor = answer.get("next_cursor")
        if rows is None:
            rows = node_at(job, self.results)
        return JobState(
            finished=status in self.terminal,
            status=status,
            job=job,
            results=rows if isinstance(rows, list) else None,
            next_cursor=str(cursor) if cursor else None,
        )


def status_url_template(template: str) -> str:
    """``template`` when it is an absolute or relative URL with ``{id}`` as its only
    placeholder (no other braces: nothing is evaluated)."""
    if not isinstance(template, str) or PLACEHOLDER not in template:
        raise InvalidInput("status_url", "must hold the {id} placeholder")
    rest = template.replace(PLACEHOLDER, "")
    if "{" in rest or "}" in rest:
        raise InvalidInput("status_url", "may hold no placeholder but {id}")
    return template


def fill(template: str, ident: str) -> str:
    """The URL of job ``ident``: its id quoted (``/``, ``?``, ``&``, ``#`` too) into place."""
    return template.replace(PLACEHOLDER, quote(ident, safe=""))


def as_reader(
    spec: JobShape | Mapping[str, Any] | ShapeReader | None, terminal: Collection[str]
) -> tuple[ShapeReader, JobShape]:
    """The reader of answers, and the declarative shape webhook bodies are judged by (the
    default shape with ``terminal`` when ``spec`` is a callable or None)."""
    if spec is None:
        shape = JobShape(terminal=frozenset(terminal))
        return shape, shape
    if isinstance(spec, JobShape):
        return spec, spec
    if isinstance(spec, Mapping):
        shape = JobShape.parse(spec)
        return shape, shape
    if callable(spec):
        return spec, JobShape(terminal=frozenset(terminal))
    raise InvalidInput("job_shape", "must be a JobShape, an object of its fields, or a callable")
