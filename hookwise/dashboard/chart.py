"""The endpoint page's chart: successes and failures per minute as stacked SVG bars, drawn on
the server (no script), with a title and a description a screen reader reads."""

from __future__ import annotations

from dataclasses import dataclass

from hookwise.domain.health import Minute

WIDTH = 600
HEIGHT = 120
_STEP = 10  # one minute's column, of which the bar takes all but a gap
_BAR = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One minute: where its success (bottom) and failure (top) rectangles are drawn."""

    x: int
    ok_y: float
    ok_h: float
    bad_y: float
    bad_h: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """What the template draws."""

    width: int
    height: int
    bar_width: int
    bars: tuple[Bar, ...]
    peak: int
    succeeded: int
    failed: int

    @property
    def description(self) -> str:
        """The chart in words."""
        if not self.succeeded and not self.failed:
            return "No attempts in the last 60 minutes."
        return (
            f"Last 60 minutes: {self.succeeded} succeeded, {self.failed} failed;"
            f" at most {self.peak} attempts in one minute."
        )


def chart(minutes: tuple[Minute, ...]) -> Chart:
    """The bars of ``minutes`` (oldest first), scaled to the busiest minute."""
    peak = max((m.succeeded + m.failed for m in minutes), default=0)
    scale = HEIGHT / peak if peak else 0.0
    bars = []
    for i, m in enumerate(minutes):
        ok_h, bad_h = m.succeeded * scale, m.failed * scale
        label = f"{m.start:%H:%M} UTC: {m.succeeded} succeeded, {m.failed} failed"
        bars.append(Bar(i * _STEP, HEIGHT - ok_h, ok_h, HEIGHT - ok_h - bad_h, bad_h, label))
    return Chart(
        width=len(minutes) * _STEP or WIDTH,
        height=HEIGHT,
        bar_width=_BAR,
        bars=tuple(bars),
        peak=peak,
        succeeded=sum(m.succeeded for m in minutes),
        failed=sum(m.failed for m in minutes),
    )
