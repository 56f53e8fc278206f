"""The dashboard: apps, endpoints with their health, messages, the attempt log, replay buttons.

Server-rendered Jinja2 with htmx (vendored, no JS build step), mounted at ``/dashboard``.
"""

from hookwise.dashboard.routes import mount_dashboard

__all__ = ["mount_dashboard"]
