"""The ``hookwise`` command: one Typer app, its commands grouped by idea in the modules beside.

``common`` holds what they share, ``connection`` and ``output`` how the resource commands reach
the API and print its answers; none of them imports this package, so there is no cycle.
"""

from __future__ import annotations

import typer

from hookwise.cli import listen, maintain, messages, serve
from hookwise.cli.apps import apps_app
from hookwise.cli.endpoints import endpoints_app
from hookwise.cli.keys import keys_app
from hookwise.cli.secret_key import secret_key_app
from hookwise.receiver.cli import receive_app

app = typer.Typer(
    help="hookwise: webhooks done properly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain click help: flags read as flags (rich's panels print "--json <bool>")
    rich_markup_mode=None,
)
serve.register(app)
maintain.register(app)
app.add_typer(keys_app, name="keys")
app.add_typer(secret_key_app, name="secret-key")
app.add_typer(receive_app, name="receive")
app.add_typer(apps_app, name="apps")
app.add_typer(endpoints_app, name="endpoints")
messages.register(app)
listen.register(app)


def main() -> None:
    """Entry point of the ``hookwise`` script."""
    app()


__all__ = ["app", "main"]
