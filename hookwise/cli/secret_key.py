"""``hookwise secret-key new|encrypt|rotate``: the key secrets are encrypted with at rest."""

from __future__ import annotations

from typing import Annotated

import typer

from hookwise.cli.common import DbOpt, db_label, run, say_db, settings_from
from hookwise.domain.plurals import plural

secret_key_app = typer.Typer(
    help="HOOKWISE_SECRET_KEY: the key secrets are encrypted with at rest.", no_args_is_help=True
)

NewKeyOpt = Annotated[
    str,
    typer.Option(
        "--new-key",
        envvar="HOOKWISE_NEW_SECRET_KEY",
        help="the key to encrypt with from now on (or HOOKWISE_NEW_SECRET_KEY)",
        show_envvar=False,
    ),
]


def _reseal(db: str | None, new_key: str) -> None:
    from hookwise.composition import open_configured_store, secret_key
    from hookwise.domain.secretbox import SecretBox
    from hookwise.store import keyring

    settings = settings_from(db=db)
    say_db(settings)

    async def go() -> dict[str, int]:
        store = await open_configured_store(settings, check_key=False)
        try:
            await keyring.check(store.keyring, SecretBox(secret_key(settings)), rotating=True)
            return await keyring.rotate(store.keyring, secret_key(settings), new_key)
        finally:
            await store.close()

    done = run(go())
    typer.echo(
        f"encrypted the secrets of {plural(done['endpoints'], 'endpoint')} and"
        f" {plural(done['apps'], 'app')} with"
        f" the new key ({db_label(settings)}): start hookwise with HOOKWISE_SECRET_KEY set to it"
    )


@secret_key_app.command("rotate")
def secret_key_rotate(new_key: NewKeyOpt, db: DbOpt = None) -> None:
    """Re-encrypt every secret with a new key, reading with HOOKWISE_SECRET_KEY (unset: a plain
    database is encrypted). Stop the service first; run it again if it was interrupted."""
    if not new_key:
        typer.echo("error: --new-key must not be empty", err=True)
        raise typer.Exit(2)
    _reseal(db, new_key)


@secret_key_app.command("encrypt")
def secret_key_encrypt(db: DbOpt = None) -> None:
    """Encrypt the secrets still stored in clear (written before a key was set) with
    HOOKWISE_SECRET_KEY."""
    current = settings_from(db=db).secret_key
    if current is None:
        typer.echo("error: set HOOKWISE_SECRET_KEY to the key to encrypt with", err=True)
        raise typer.Exit(2)
    _reseal(db, current.get_secret_value())


@secret_key_app.command("new")
def secret_key_new() -> None:
    """Print a new random key (256 bits) for HOOKWISE_SECRET_KEY."""
    import secrets

    typer.echo(secrets.token_urlsafe(32))
