"""The one frozen Settings object, read from ``HOOKWISE_*`` variables once at start."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite:///" + str(Path("hookwise-data") / "hookwise.db")


class Settings(BaseSettings):
    """Service settings; each is an environment variable ``HOOKWISE_<NAME>`` and a CLI flag."""

    model_config = SettingsConfigDict(env_prefix="HOOKWISE_", frozen=True, extra="ignore")

    db: str = Field(DEFAULT_DB, description="sqlite:///path/file.db or postgresql://…")
    host: str = "127.0.0.1"
    port: int = 8000
    allow_networks: str = Field(
        "", description="CIDRs the SSRF guard lets through, e.g. 127.0.0.0/8,::1/128"
    )
    secret_key: SecretStr | None = Field(None, description="encrypts endpoint secrets at rest")
    public_url: str | None = Field(None, description="base URL used in links sent to customers")

    max_payload_bytes: int = 1_048_576
    auto_pause_after: int = 10
    operations_app: str | None = Field(
        None,
        description="app (id or uid) whose endpoints receive the operational events"
        " (endpoint.paused, endpoint.enabled, endpoint.failing, delivery.exhausted); unset: none",
    )
    operations_failing_after: int = Field(
        0, ge=0, description="failures in a row that send endpoint.failing; 0: half of the pause's"
    )
    retry_after_cap_seconds: float = 3600.0
    default_max_in_flight: int = 64

    worker_concurrency: int = 1024
    claim_batch: int = 200
    lease_seconds: float = 60.0
    lease_ahead: int | None = Field(
        None,
        ge=0,
        description="deliveries a worker leases past an endpoint's max_in_flight (at most three"
        " times it) while no other worker leases it, started one at each answer; 0: none;"
        " unset: 192 on PostgreSQL, 0 on SQLite",
    )
    poll_interval_seconds: float = 1.0
    shutdown_grace_seconds: float = Field(
        20.0,
        ge=0,
        description="a stop waits this long for attempts in flight, then sends them again later",
    )

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="info: one line per HTTP request and per delivery attempt"
    )
    log_format: Literal["text", "json"] = Field("text", description="json: one object a line")

    rate_limit_per_key: float = 0.0
    retention_days: float = 0.0

    inspector_ttl_seconds: float = Field(86400.0, gt=0, description="how long a bin lives")
    inspector_max_captures: int = Field(100, ge=1, le=10_000, description="kept per bin")
    inspector_max_body_bytes: int = Field(65536, ge=0, description="a capture's body is cut here")

    console_idle_seconds: float = Field(
        8 * 3600.0, gt=0, description="a console session ends after this long without a request"
    )
    console_max_seconds: float = Field(
        24 * 3600.0, gt=0, description="a console session ends this long after sign-in"
    )

    ca_bundle: str | None = Field(
        None,
        description="CAs (PEM file or c_rehash folder) deliveries trust instead of the system's",
    )
    egress_proxy: SecretStr | None = Field(
        None,
        description="http://[user:password@]host:port: deliveries go through this CONNECT proxy",
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: object) -> object:
        # a variable set but empty or blank (as a template or a compose file leaves it) is
        # unset: its setting keeps its default, not a value that fails to parse
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("db")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite:///") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError("HOOKWISE_DB must start with sqlite:/// or postgresql://")
        return v

    @field_validator("ca_bundle")
    @classmethod
    def _loadable_ca_bundle(cls, v: str | None) -> str | None:
        if v is not None:
            from hookwise.delivery.http1 import tls_context

            try:
                tls_context(v)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"HOOKWISE_CA_BUNDLE {v!r} cannot be loaded: {exc}") from None
        return v

    @field_validator("egress_proxy")
    @classmethod
    def _proxy_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            from hookwise.delivery.dialer import EgressProxy
            from hookwise.domain.errors import InvalidInput

            try:
                EgressProxy.from_url(v.get_secret_value())
            except InvalidInput as exc:
                reason = exc.message.removeprefix(f"{exc.field}: ")
                raise ValueError(f"HOOKWISE_EGRESS_PROXY {reason}") from None
        return v

    @property
    def is_postgres(self) -> bool:
        """True when the store is PostgreSQL (cluster mode)."""
        return self.db.startswith(("postgresql://", "postgres://"))
