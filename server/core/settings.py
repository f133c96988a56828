"""Configuration from ``DOORSTEP_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, IPvAnyNetwork, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.core.enums import ChannelName

VAR_DIR = Path("var")


def browser_host(host: str) -> str:
    """The host to put in a URL for a server listening on ``host``."""
    if host in ("", "0.0.0.0"):  # noqa: S104  (recognising it, not binding to it)
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DOORSTEP_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Environment = Environment.DEVELOPMENT
    var_dir: Path = VAR_DIR
    database_url: str = "sqlite+aiosqlite:///var/doorstep.db"
    # None means the private development Redis that `doorstep dev` starts (a unix socket
    # under var/); see server.cli.devredis.
    redis_url: str | None = None
    redis_prefix: str = "doorstep:"
    secret_key: str = ""
    # Unset: http://<host>:<port>, where this server listens (development).
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Production refuses SQLite and a public URL that is not https or is loopback
    # (server/preflight.py) unless these say it is meant.
    allow_sqlite: bool = False
    allow_http: bool = False

    # GraphQL endpoint protection. None: on in development, off in production.
    graphiql: bool | None = None
    introspection: bool | None = None
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    max_query_cost: int = 12_000
    max_body_bytes: int = 2 * 1024 * 1024
    max_page_size: int = 100
    allowed_origins: list[str] = Field(default_factory=list)

    # Sessions and passwords.
    jwt_issuer: str = "doorstep"
    jwt_audience: str = "doorstep-api"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    password_token_hours: int = 72
    invitation_token_days: int = 7
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    max_concurrent_hashes: int = 4
    login_attempts_per_account: int = 5
    login_attempts_per_address: int = 30
    login_window_seconds: int = 900
    password_resets_per_hour: int = 3
    password_resets_per_address_per_hour: int = 20
    # Residents' public endpoints (invitation and manage tokens, their pages), per minute.
    public_requests_per_address: int = 60
    public_requests_per_token: int = 20
    # Peers whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or
    # networks). None: loopback in development, none in production.
    trusted_proxies: list[IPvAnyNetwork] | None = None

    # Background work.
    queue_name: str = "doorstep"
    worker_concurrency: int = 20
    worker_shutdown_grace_seconds: int = 10
    relay_interval_seconds: float = 0.5
    sweep_interval_seconds: int = 15
    send_lease_seconds: int = 120
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_seconds: float = 10.0
    outbox_backoff_max_seconds: float = 1800.0
    delivery_max_attempts: int = 6
    delivery_backoff_seconds: float = 10.0
    delivery_backoff_max_seconds: float = 3600.0
    expo_receipt_delay_seconds: int = 900
    ops_password: str | None = None  # HTTP Basic password for /ops (queue UI); unset: off

    # Delivery: "log" only logs what would be sent; "live" talks to the providers below.
    # None: log in development, live in production.
    delivery: str | None = None
    # The channels this deployment uses; deliveries on any other are marked dead, unsent.
    channels: list[ChannelName] = Field(default_factory=lambda: list(ChannelName))
    smtp_url: str | None = None  # smtp://user:pass@host:port, smtps://... for implicit TLS
    smtp_from: str = "Doorstep <no-reply@doorstep.local>"
    smtp_starttls: bool = False
    expo_push_url: str = "https://exp.host/--/api/v2/push/send"
    expo_receipts_url: str = "https://exp.host/--/api/v2/push/getReceipts"
    expo_access_token: str | None = None
    fcm_url: str = "https://fcm.googleapis.com/v1/projects/{project_id}/messages:send"
    fcm_project_id: str | None = None
    fcm_credentials_file: Path | None = None  # a Google service-account JSON key
    fcm_access_token: str | None = None  # a ready OAuth token instead (tests, short jobs)
    webpush_vapid_private_key: str | None = None
    webpush_vapid_subject: str = "mailto:ops@doorstep.local"
    twilio_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case_insensitive(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @model_validator(mode="after")
    def _public_url_follows_the_port(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://{browser_host(self.host)}:{self.port}"
        return self

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_names_in_any_case(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.strip().upper() if isinstance(v, str) else v for v in value]
        return value

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection

    @property
    def live_delivery(self) -> bool:
        return (self.delivery or ("live" if self.is_production else "log")) == "live"

    @property
    def proxies(self) -> list[IPv4Network | IPv6Network]:
        """The proxies trusted to say who the client is (``trusted_proxies`` resolved)."""
        if self.trusted_proxies is not None:
            return list(self.trusted_proxies)
        return [] if self.is_production else [ip_network("127.0.0.0/8"), ip_network("::1")]

    @property
    def dev_redis_socket(self) -> Path:
        return (self.var_dir / "redis.sock").resolve()

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.dev_redis_socket}"

    def signing_key(self) -> str:
        """The secret key; in development one is generated once and kept under var/."""
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise RuntimeError("DOORSTEP_SECRET_KEY is not set (see server/preflight.py)")
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
