"""Settings from the environment (prefix ``LEDGER_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

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
    projections: str = Field(
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
    log_format: str = Field(default="auto", description="auto, json or console")
    cors_origins: str = Field(default="", description="Comma-separated origins; empty: off")
