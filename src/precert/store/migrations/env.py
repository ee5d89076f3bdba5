"""Alembic environment: runs on the connection handed over by precert.store.db.upgrade, or on
PRECERT_DATABASE_URL when alembic is called directly."""

from __future__ import annotations

from alembic import context

# Every model module is imported so that the metadata (and autogenerate) sees all tables.
from precert.store import (  # noqa: F401
    accounts,
    audit,
    authorization_records,
    claim_scrubs,
    credentials,
    deliveries,
    documents,
    exchanges,
    portal_runs,
    recovery,
    requests,
    web_sessions,
)
from precert.store.db import make_engine
from precert.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from precert.config import load_settings

        engine = make_engine(load_settings().database_url)
        with engine.begin() as conn:
            _migrate(conn)
        return
    _migrate(connection)


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
