"""Encryption of endpoint secrets at rest (Fernet, keyed by ``HOOKWISE_SECRET_KEY``)."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

_PREFIX = "enc:v1:"


class SecretBox:
    """Encrypts and decrypts secrets; plaintext values (written without a key) pass through."""

    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self.decrypt = lru_cache(maxsize=4096)(self._decrypt)  # type: ignore[method-assign]

    def encrypt(self, secret: str) -> str:
        """The stored form of a secret."""
        return _PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The secret from its stored form (cached: claims decrypt the same secrets often)."""
        return self._decrypt(stored)

    def _decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise ValueError("an endpoint secret cannot be decrypted with this key") from exc


def is_encrypted(stored: str) -> bool:
    """Whether a stored secret is in encrypted form."""
    return stored.startswith(_PREFIX)
