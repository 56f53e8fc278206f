"""The database's secret key: the start-up check and the rotation, written once for both stores.

Secrets at rest (endpoint signing secrets, their previous ones, custom headers, the apps' job
secrets) are encrypted with ``HOOKWISE_SECRET_KEY``. The ``meta`` row ``secret_key_check`` holds a
known token encrypted with that key, so a process that opens the store finds out at once whether
its key is missing or wrong, and refuses to start, instead of answering ciphertext as a secret,
signing with it, or failing every read later. A database without the row was never given a key
(or was encrypted before the row existed: one encrypted value found is then checked instead).

A rotation rewrites every sealed column in batches, reading with the old key or the new one (a
rotation that stopped half way is resumed by running it again with the same new key) and writing
with the new one; ``secret_key_next`` marks it as under way, and stores refuse to open meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from hookwise.domain.errors import SecretKeyError
from hookwise.domain.secretbox import SecretBox

if TYPE_CHECKING:  # the keyring role runs these rules on its rows
    from hookwise.store.keyring_rows import Keyring

CHECK = "secret_key_check"
NEXT = "secret_key_next"

#: The columns holding sealed values, per table (each table keyed by a unique ``id``).
SEALED: dict[str, tuple[str, ...]] = {
    "apps": ("job_secret", "job_previous_secrets"),
    "endpoints": ("secret", "previous_secrets", "headers"),
}

#: One encrypted value, if any: the check of a database encrypted before ``meta`` existed.
SAMPLE_SQL = (
    "SELECT secret AS v FROM endpoints WHERE secret LIKE 'enc:v1:%'"
    " UNION ALL SELECT job_secret AS v FROM apps WHERE job_secret LIKE 'enc:v1:%' LIMIT 1"
)

MISSING = (
    "this database's secrets are encrypted and HOOKWISE_SECRET_KEY is not set: set it to the"
    " key they were written with"
)
WRONG = (
    "HOOKWISE_SECRET_KEY is not the key this database's secrets were written with: set the"
    " right one (to change keys, run `hookwise secret-key rotate --new-key …` with the current"
    " key set)"
)
UNFINISHED = (
    "a secret key rotation of this database did not finish: run `hookwise secret-key rotate`"
    " again with the same HOOKWISE_SECRET_KEY and the same --new-key"
)
OTHER_ROTATION = "a rotation to another key did not finish: run it again with that --new-key first"

Reseal = Callable[[Mapping[str, Any]], dict[str, Any]]


async def check(store: Keyring, box: SecretBox, *, rotating: bool = False) -> None:
    """Raise SecretKeyError unless ``box`` holds the database's key (or none is needed); the
    first keyed start of a database records its check value. ``rotating``: the caller is the
    rotation, which may resume one that stopped half way."""
    pending = await store.read_meta(NEXT)
    if pending is not None and not rotating:
        raise SecretKeyError(UNFINISHED)
    stored = await store.read_meta(CHECK)
    if stored is None:
        if pending is None:
            await _check_sample(store, box)
        if not box.keyed or pending is not None:
            # never encrypted (no key needed), or being encrypted by a rotation, whose values
            # are under its new key already: the rotation checks that key itself
            return
        value = box.check_value()
        assert value is not None
        stored = await store.init_meta(CHECK, value)  # a racing first start may win: check it
    if not box.keyed:
        raise SecretKeyError(MISSING)
    if not box.opens(stored):
        raise SecretKeyError(WRONG)


async def _check_sample(store: Keyring, box: SecretBox) -> None:
    """A database without a check value: any encrypted secret must open with the key."""
    sample = await store.sealed_sample()
    if sample is None:
        return
    if not box.keyed:
        raise SecretKeyError(MISSING)
    try:
        box.decrypt(sample)
    except SecretKeyError:
        raise SecretKeyError(WRONG) from None


def reseal(row: Mapping[str, Any], reader: SecretBox, writer: SecretBox) -> dict[str, Any]:
    """The sealed columns of ``row`` decrypted by ``reader`` and encrypted by ``writer`` (only
    those that hold something)."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if value is None or value in ("[]", "{}"):
            continue
        if column.endswith("previous_secrets"):
            prev = [[writer.encrypt(reader.decrypt(s)), u] for s, u in orjson.loads(value)]
            out[column] = orjson.dumps(prev).decode()
        else:
            out[column] = writer.encrypt(reader.decrypt(value))
    return out


async def rotate(
    store: Keyring, current_key: str | None, new_key: str, *, batch: int = 500
) -> dict[str, int]:
    """Re-encrypt every sealed value with ``new_key`` (reading with ``current_key``, or with
    none for a plain database), then make ``new_key`` the database's key. Answers the rows
    rewritten per table. The store must have been opened with ``current_key`` (checked)."""
    writer = SecretBox(new_key)
    reader = SecretBox(new_key, [current_key] if current_key else [])
    target = writer.check_value()
    assert target is not None
    pending = await store.read_meta(NEXT)
    if pending is None:
        await store.write_meta({NEXT: target})
    elif not writer.opens(pending):
        raise SecretKeyError(OTHER_ROTATION)
    done: dict[str, int] = {}
    for table in SEALED:
        done[table], after = 0, None
        while ids := await store.reseal_secrets(
            table, after, batch, lambda row: reseal(row, reader, writer)
        ):
            done[table] += len(ids)
            after = ids[-1]
    await store.write_meta({CHECK: target, NEXT: None})
    return done


def select_sql(table: str, marks: Sequence[str]) -> str:
    """One batch of ``table``'s sealed columns after an id (``marks``: the two placeholders)."""
    cols = ", ".join(SEALED[table])
    return f"SELECT id, {cols} FROM {table} WHERE id > {marks[0]} ORDER BY id LIMIT {marks[1]}"
