"""API keys: ``hwk_…`` secrets, stored as SHA-256 hashes; the caller's scope."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from hookwise.domain.errors import Forbidden, NotFound, RateLimited, Unauthorized
from hookwise.domain.ids import new_id
from hookwise.domain.models import ApiKey
from hookwise.store.roles import Store

KEY_PREFIX = "hwk_"
_CACHE_TTL = 5.0


def new_key() -> tuple[str, str, str]:
    """(key, hash, display prefix) of a fresh API key."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key), key[:12]


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(store: Store, name: str, app_id: str | None) -> tuple[ApiKey, str]:
    """Create and store a key; return its record and the key (shown only now)."""
    key, digest, prefix = new_key()
    record = await store.resources.create_api_key(
        key_id=new_id("key"), name=name, key_hash=digest, prefix=prefix, app_id=app_id
    )
    return record, key


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling."""

    key: ApiKey

    @property
    def is_admin(self) -> bool:
        """Admin keys reach everything."""
        return self.key.scope == "admin"

    def require_admin(self) -> None:
        """Raise Forbidden unless admin."""
        if not self.is_admin:
            raise Forbidden("this needs an admin key")

    def require_app(self, app_id: str, ref: str | None = None) -> None:
        """Raise NotFound, exactly as for a missing app named ``ref`` (default: the id), unless
        the key covers ``app_id``: another tenant's ids are not this key's to learn."""
        if not self.is_admin and self.key.app_id != app_id:
            raise NotFound("app", app_id if ref is None else ref)


class Authenticator:
    """Resolves bearer keys (with a short cache) and applies the per-key rate limit."""

    def __init__(self, store: Store, *, rate_per_second: float = 0.0) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._rate = rate_per_second
        self._buckets: dict[str, tuple[float, float]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        """The Principal of an ``Authorization: Bearer hwk_…`` header."""
        if not authorization:
            raise Unauthorized("missing Authorization header (Bearer hwk_…)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX):
            raise Unauthorized("the Authorization header must be 'Bearer hwk_…'")
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None and hit[0] > now:
            key = hit[1]
        else:
            found = await self._store.resources.get_api_key_by_hash(hash_key(token))
            if found is None:
                self._cache.pop(token, None)
                raise Unauthorized("unknown or revoked API key")
            key = found
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + _CACHE_TTL, key)
        self._limit(key.id, now)
        return Principal(key)

    def forget(self, key_id: str) -> None:
        """Drop a deleted key from the cache at once."""
        self._cache = {d: v for d, v in self._cache.items() if v[1].id != key_id}

    def _limit(self, key_id: str, now: float) -> None:
        if self._rate <= 0:
            return
        tokens, last = self._buckets.get(key_id, (self._rate, now))
        tokens = min(self._rate, tokens + (now - last) * self._rate)
        if tokens < 1:
            raise RateLimited("too many requests for this key", (1 - tokens) / self._rate)
        self._buckets[key_id] = (tokens - 1, now)
