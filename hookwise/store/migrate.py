"""Schema migrations (Alembic), run from code: ``hookwise migrate`` and the start-up check."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool
from sqlalchemy.ext.asyncio import create_async_engine

_HERE = Path(__file__).parent / "migrations"


def sqlalchemy_url(db_url: str) -> str:
    """The SQLAlchemy URL of a hookwise database URL."""
    if db_url.startswith("sqlite:///"):
        Path(db_url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        return db_url
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    return db_url.replace("postgresql://", "postgresql+asyncpg://", 1)


def alembic_config(db_url: str) -> Config:
    """An Alembic Config pointing at our migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(db_url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration."""
    head = ScriptDirectory.from_config(alembic_config("sqlite:///:memory:")).get_current_head()
    assert head is not None
    return head


def _in_thread(fn: Any, *args: Any) -> Any:
    """Run ``fn`` in a fresh thread (env.py may call asyncio.run, which a running loop forbids)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def upgrade(db_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest)."""
    _in_thread(command.upgrade, alembic_config(db_url), revision)


def current_revision(db_url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    url = sqlalchemy_url(db_url)

    def sync_rev(conn: Any) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            rev = sync_rev(conn)
        engine.dispose()
        return rev

    async def run() -> str | None:
        aengine = create_async_engine(url, poolclass=pool.NullPool)
        async with aengine.connect() as conn:
            r: str | None = await conn.run_sync(sync_rev)
        await aengine.dispose()
        return r

    return _in_thread(asyncio.run, run())  # type: ignore[no-any-return]


def ensure_migrated(db_url: str, *, auto: bool = True) -> None:
    """Migrate when behind (``auto``), or raise RuntimeError naming the command to run."""
    if current_revision(db_url) == head_revision():
        return
    if not auto:
        raise RuntimeError(f"the database {db_url} is not migrated: run `hookwise migrate`")
    upgrade(db_url)
