"""A customer portal's brand: the name in its header and the header's colour, per app
(``portal_name``, ``portal_color``), with a text colour that stays readable on it."""

from __future__ import annotations

from dataclasses import dataclass

from hookwise.domain.models import App

DEFAULT_COLOR = "#1d2433"  # hookwise's own header


@dataclass(frozen=True, slots=True)
class Brand:
    """What the portal's header shows."""

    name: str
    color: str
    text_color: str


def brand_of(app: App) -> Brand:
    """The app's portal brand: its ``portal_name`` (else its name) on its ``portal_color``."""
    color = app.portal_color or DEFAULT_COLOR
    return Brand(app.portal_name or app.name, color, text_on(color))


def text_on(color: str) -> str:
    """Black or white, whichever contrasts more with ``color`` (#rrggbb), by WCAG's relative
    luminance: black on a background lighter than about 18 % luminance."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"
