"""Settings from the environment (prefix ``LEDGER_``).

A value the ledger cannot run with (``LEDGER_PROJECTIONS=extrenal``, a port that is no
number) raises :class:`~ledger.errors.ConfigurationError` with one line naming the setting
and what it accepts, not a pydantic ``ValidationError``: the CLI prints that line and exits
with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, ModelWrapValidatorHandler, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigurationError

PREFIX = "LEDGER_"


def one_line(error: ValidationError) -> str:
    """Every refused setting, with its environment name: ``LEDGER_X='v': why``."""
    parts = []
    for item in error.errors(include_url=False):
        name = PREFIX + "_".join(str(p) for p in item["loc"]).upper()
        given = f"={item['input']!r}" if item["type"] != "missing" else ""
        parts.append(f"{name}{given}: {item['msg']}")
    return "; ".join(parts)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, data: Any, handler: ModelWrapValidatorHandler[Settings]) -> Settings:
        try:
            return handler(data)
        except ValidationError as e:  # not a ValueError: pydantic lets it through unwrapped
            raise ConfigurationError(one_line(e)) from None

    database_url: str = Field(
        default="",
        description="Unset: an SQLite file ledger.db in the working directory. "
        "postgresql://user:pass@host:port/db: PostgreSQL. memory://: tests only.",
    )
    allow_memory: bool = Field(default=False, description="Allow memory:// (tests only).")
    pg_pool_size: int = 3
    pg_max_overflow: int = 7
    pg_connect_timeout: int = 2
    pg_pool_timeout: float = Field(default=0.8, description="Wait for a pooled connection")
    pg_lock_timeout: int = 5
    group_commit: bool = Field(
        default=True, description="Save concurrent commands of a process in one transaction"
    )
    projections: Literal["embedded", "external"] = Field(
        default="embedded",
        description="embedded: run projections in the API process; external: "
        "`ledger projections run` does",
    )
    max_retries: int = Field(default=5, ge=1, le=50)
    aggregate_cache_size: int = 2000
    signing_key_path: Path = Path(".ledger/signing-key.pem")
    checkpoint_interval: float = Field(
        default=300, description="Seconds between signed checkpoints in the API; 0: off"
    )
    expiry_sweep_seconds: float = Field(
        default=30,
        ge=0,
        le=60,
        description="Seconds between expiry sweeps of the projection worker (the system actor "
        "records Expired for recommendations past their expiry, so within a minute); 0: off",
    )
    request_timeout: float = Field(
        default=30,
        gt=0,
        description="Seconds a client has to send a whole request (headers and body) once it "
        "began; beyond it the server answers 408 and closes the connection",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: JSON unless on a terminal; json; console"
    )
    cors_origins: str = Field(default="", description="Comma-separated origins; empty: off")
    operator_id: UUID | None = Field(
        default=None, description="The actor id the CLI acts as (platform operator)"
    )
