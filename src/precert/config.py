"""Settings: one pydantic-settings object (prefix PRECERT_), built once at each entry point.

Development defaults work with no settings at all: an SQLite file in the working directory and a
data folder beside it. Production (PRECERT_ENV=production) must name its database explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment may set, read from the environment with the PRECERT_ prefix."""

    model_config = SettingsConfigDict(env_prefix="PRECERT_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///precert.db"
    data_dir: Path = Path("var")
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.env == "production" and self.database_url.startswith("sqlite:///precert.db"):
            raise ValueError(
                "PRECERT_DATABASE_URL must be set in production "
                "(e.g. postgresql+psycopg://user@host/precert)"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    """Build the settings once; entry points pass overrides from their own flags."""
    return Settings(**overrides)  # type: ignore[arg-type]
