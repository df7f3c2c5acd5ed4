"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iro_kit.cors import cors_origin_problem
from iro_kit.events.routing import EventRoute

PLACEHOLDER_DEV_SECRET = "dev-only-secret-do-not-use-in-production-0123456789"  # noqa: S105
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})


class Environment(StrEnum):
    development = "development"
    production = "production"


class ServiceSettings(BaseSettings):
    """Base settings. A service sets `model_config` with its own `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="IRO_", extra="ignore")

    # Fail closed: a deployment that forgets to say gets production, which refuses dev tokens.
    # The local run (`iro`, `make run`) and the test suite set development explicitly.
    environment: Environment = Environment.production
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    # PostgreSQL's connection pool, per process (`serve --workers N` opens up to N times this):
    # at least the requests in flight at once, or connections are opened and closed per request.
    # SQLite ignores both.
    database_pool_size: int = Field(
        20, ge=1, le=200, description="PostgreSQL connections each process keeps open."
    )
    database_max_overflow: int = Field(
        10, ge=0, le=200, description="Extra PostgreSQL connections opened under load, then closed."
    )
    migrate_on_startup: bool = False
    log_level: str = "INFO"
    log_json: bool = True

    # Auth. Production: an asymmetric public key (PEM) or a JWKS URL. Development: HS256.
    jwt_public_key: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_issuer: str = "iro-dev"
    jwt_audience: str = "iro-platform"
    jwt_leeway_seconds: int = 30
    jwt_dev_secret: SecretStr = SecretStr(PLACEHOLDER_DEV_SECRET)
    # A token living longer than this (exp - iat), or larger than this, is refused.
    jwt_max_lifetime_seconds: int = Field(86400, ge=60)
    jwt_max_token_bytes: int = Field(8192, ge=512)

    # Request bodies, enforced by the service itself (iro_kit.middleware.RequestGateMiddleware)
    # so it is safe without the gateway: a JSON body, and a multipart upload (an SSDA903
    # return). The gateway's client_max_body_size (deploy/gateway) is the same upload figure.
    max_json_body_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="The largest JSON (non-upload) request body."
    )
    max_upload_body_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, description="The largest multipart upload request body."
    )

    # Browser front ends on other origins (`https://host[:port]`, exactly as a browser sends
    # it): none by default, so no CORS headers at all (iro_kit.cors).
    cors_allow_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call this service from a browser."
    )

    # Days the service is closed beyond England's bank holidays (ISO dates).
    extra_closure_days: list[date] = Field(default_factory=list)

    # Events. Routing is deployment configuration: which types go to which subscriber's inbox,
    # inline JSON or a file (deploy/events/*.json).
    event_routes: list[EventRoute] = Field(default_factory=list)
    event_routes_file: str | None = None
    event_producers: list[str] = Field(
        default_factory=lambda: ["reviews-api", "drp-api"],
        description="Token subjects allowed to deliver events to this service's inbox.",
    )
    relay_in_process: bool = True
    relay_batch_size: int = 200
    relay_concurrency: int = 2
    relay_poll_seconds: float = 0.1
    relay_max_attempts: int = 10
    relay_backoff_base_seconds: float = 1.0
    relay_backoff_cap_seconds: float = 300.0
    outbox_retention_days: int = 7
    relay_token: SecretStr | None = None  # outside development: a JWT from the identity provider

    # Integrity and faults.
    idempotency_retention_hours: int = Field(
        48, ge=1, description="How long a POST's Idempotency-Key and its response are kept."
    )
    database_wait_seconds: float = Field(
        60.0, ge=0, description="How long start-up waits for the database, with backoff."
    )
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, description="On SIGTERM: how long in-flight requests and the relay may take."
    )
    audit_retention_days: int = Field(
        2190, ge=1, description="How long audit records are kept (six years by default)."
    )

    @field_validator("cors_allow_origins")
    @classmethod
    def _refuse_malformed_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            refused = cors_origin_problem(origin)
            if refused:
                raise ValueError(f"cors_allow_origins: {origin!r} {refused}")
        return origins

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.development

    @property
    def uses_asymmetric_keys(self) -> bool:
        return bool(self.jwt_public_key or self.jwt_jwks_url)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.is_development:
            return self
        if not self.uses_asymmetric_keys:
            prefix = str(self.model_config.get("env_prefix", ""))
            raise ValueError(
                "outside development a JWT public key or JWKS URL must be configured "
                f"({prefix}JWT_PUBLIC_KEY or {prefix}JWT_JWKS_URL); the HS256 development "
                f"secret is refused. For a local run set {prefix}ENVIRONMENT=development."
            )
        return self

    @model_validator(mode="after")
    def _refuse_symmetric_with_asymmetric_keys(self) -> Self:
        if self.uses_asymmetric_keys:
            bad = [a for a in self.jwt_algorithms if a not in ASYMMETRIC_ALGORITHMS]
            if bad or not self.jwt_algorithms:
                raise ValueError(
                    f"jwt_algorithms must be asymmetric algorithms only when keys are configured "
                    f"(refused: {bad or 'empty list'})"
                )
        return self
