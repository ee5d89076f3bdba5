"""The migrations and the ORM models describe the same schema, on SQLite and PostgreSQL.

A model column the migrations never create fails only at the first query that touches it, often in
production; a table a migration creates that no model maps is dead weight or a forgotten model.
Alembic's autogenerate comparison finds both.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import precert.store
from precert.services.context import Context
from precert.store.models import Base

# Every module of the store, so the metadata holds every table a model maps, including one whose
# module the migrations' env.py forgot to import.
for _module in pkgutil.iter_modules(precert.store.__path__):
    importlib.import_module(f"precert.store.{_module.name}")


def _differences(ctx: Context) -> list[Any]:
    with ctx.engine.connect() as connection:
        migration = MigrationContext.configure(connection, opts={"compare_type": True})
        found = compare_metadata(migration, Base.metadata)
    # alembic_version is the migrations' own bookkeeping, never a model.
    return [
        change
        for change in found
        if not (
            isinstance(change, tuple)
            and change[0] == "remove_table"
            and change[1].name == "alembic_version"
        )
    ]


def test_the_migrated_schema_is_the_models_schema(any_ctx: Context) -> None:
    differences = _differences(any_ctx)
    assert differences == [], (
        "the migrations and the ORM models disagree; write a migration or fix the model: "
        f"{differences}"
    )
