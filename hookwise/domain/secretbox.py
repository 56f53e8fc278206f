"""Encryption of secrets at rest (Fernet, keyed by ``HOOKWISE_SECRET_KEY``).

A box without a key writes secrets as they are and reads plain ones back; a box with a key
encrypts what it writes and still reads plain values written before the key was set. Nothing
encrypted is ever passed through: a value this box cannot decrypt raises ``SecretKeyError``, so
ciphertext can never be shown as a secret or sign a webhook.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hookwise.domain.errors import SecretKeyError

_PREFIX = "enc:v1:"
_CHECK_TOKEN = "hookwise secret key check v1"


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    """Encrypts with ``key`` (None: stores plain) and decrypts with ``key`` or ``older`` keys."""

    def __init__(self, key: str | None = None, older: Sequence[str] = ()) -> None:
        keys = [k for k in (key, *older) if k]
        self.keyed = bool(key)
        self._write = _fernet(key) if key else None
        self._read = MultiFernet([_fernet(k) for k in keys]) if keys else None
        self.decrypt = lru_cache(maxsize=4096)(self._decrypt)  # type: ignore[method-assign]

    def encrypt(self, secret: str) -> str:
        """The stored form of a secret (itself when the box has no key)."""
        if self._write is None:
            return secret
        return _PREFIX + self._write.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The secret from its stored form (cached: claims decrypt the same secrets often)."""
        return self._decrypt(stored)

    def _decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            return stored
        if self._read is None:
            raise SecretKeyError(
                "a secret in the database is encrypted and HOOKWISE_SECRET_KEY is not set"
            )
        try:
            return self._read.decrypt(stored[len(_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a secret in the database cannot be decrypted with HOOKWISE_SECRET_KEY"
            ) from exc

    def check_value(self) -> str | None:
        """A known token sealed with the key (None without one): stored once in the database,
        it tells at start-up whether a key is the one the secrets were written with."""
        return self.encrypt(_CHECK_TOKEN) if self._write else None

    def opens(self, check: str) -> bool:
        """Whether this box decrypts a ``check_value`` (made by any box with the same key)."""
        try:
            return is_encrypted(check) and self.decrypt(check) == _CHECK_TOKEN
        except SecretKeyError:
            return False


def is_encrypted(stored: str) -> bool:
    """Whether a stored secret is in encrypted form."""
    return stored.startswith(_PREFIX)
