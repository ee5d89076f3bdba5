"""Imported payer packs in the store, on SQLite and on PostgreSQL (`any_ctx` runs each test twice).

An import validates first and writes one row; the newest import of a payer is in force, earlier
ones stay as history; an imported pack replaces the shipped one with the same payer id; another
process sees an import through the rule book's generation check.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from precert.config import Settings
from precert.domain.requirements import Service
from precert.domain.rules import Decision
from precert.errors import InvalidInput
from precert.services import context as context_module
from precert.services.catalog import import_pack, shipped_packs
from precert.services.context import Context, build_context
from precert.store.db import make_engine, upgrade

TODAY = dt.date(2026, 11, 23)

PACK = """\
precert-pack: 1
payer: {{id: {payer}, name: Store Test Health, synthetic: true, plans: [commercial]}}
version: "{version}"
source: written for the store tests
rules:
  - id: store-mri-brain
    name: MRI brain
    codes: ["70551"]
    outcome: {outcome}
    term: preauthorization
"""


def write_pack(
    folder: Path,
    *,
    payer: str = "store-test",
    version: str = "2026.1",
    outcome: str = "required",
    name: str = "store-test.yaml",
) -> Path:
    path = folder / name
    path.write_text(PACK.format(payer=payer, version=version, outcome=outcome), "utf-8")
    return path


def decision(ctx: Context, payer: str = "store-test", code: str = "70551") -> Decision:
    return ctx.rulebook().requirement_for(Service(payer, code, TODAY)).decision


def history_versions(ctx: Context, payer: str = "store-test") -> list[tuple[str, bool]]:
    with ctx.uow() as uow:
        return [(r.version, r.active) for r in uow.packs.history(payer)]


# -- importing ------------------------------------------------------------------------------------


def test_an_imported_pack_is_in_force_in_the_rule_book(any_ctx: Context, tmp_path: Path) -> None:
    assert "store-test" not in any_ctx.rulebook()

    result = import_pack(any_ctx, write_pack(tmp_path))

    assert (result.pack.id, result.replaced_version, result.unchanged) == (
        "store-test",
        None,
        False,
    )
    assert any_ctx.rulebook().pack("store-test").origin == "imported"
    assert decision(any_ctx) is Decision.REQUIRED
    assert history_versions(any_ctx) == [("2026.1", True)]


def test_importing_the_same_file_again_changes_nothing(any_ctx: Context, tmp_path: Path) -> None:
    path = write_pack(tmp_path)
    import_pack(any_ctx, path)

    again = import_pack(any_ctx, path)

    assert (again.unchanged, again.replaced_version) == (True, "2026.1")
    assert history_versions(any_ctx) == [("2026.1", True)]


def test_a_new_version_replaces_the_one_in_force_and_history_keeps_both(
    any_ctx: Context, tmp_path: Path
) -> None:
    import_pack(any_ctx, write_pack(tmp_path))

    result = import_pack(any_ctx, write_pack(tmp_path, version="2026.2", outcome="not_required"))

    assert (result.replaced_version, result.unchanged) == ("2026.1", False)
    assert any_ctx.rulebook().pack("store-test").version == "2026.2"
    assert decision(any_ctx) is Decision.NOT_REQUIRED
    assert history_versions(any_ctx) == [("2026.2", True), ("2026.1", False)]


def test_an_imported_pack_overrides_the_shipped_pack_with_the_same_payer_id(
    any_ctx: Context, tmp_path: Path
) -> None:
    shipped = shipped_packs()
    assert shipped, "precert ships payer packs in src/precert/data/packs"
    payer = shipped[0]

    result = import_pack(any_ctx, write_pack(tmp_path, payer=payer.id, version="9999.1"))

    in_force = any_ctx.rulebook().pack(payer.id)
    assert result.replaced_version == payer.version
    assert (in_force.origin, in_force.version, in_force.name) == (
        "imported",
        "9999.1",
        "Store Test Health",
    )
    assert [r.id for r in in_force.rules] == ["store-mri-brain"]


def test_a_refused_pack_writes_nothing_and_the_version_in_force_stays(
    any_ctx: Context, tmp_path: Path
) -> None:
    import_pack(any_ctx, write_pack(tmp_path))
    broken = write_pack(tmp_path, version="2026.2", outcome="maybe", name="broken.yaml")

    with pytest.raises(InvalidInput) as refused:
        import_pack(any_ctx, broken)

    assert refused.value.issues[0].location == "broken.yaml: rule store-mri-brain: outcome"
    assert history_versions(any_ctx) == [("2026.1", True)]
    assert any_ctx.rulebook().pack("store-test").version == "2026.1"


def test_a_file_that_is_not_utf8_text_is_refused_before_anything_is_read_into_the_store(
    any_ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        PACK.format(payer="store-test", version="caf\xe9", outcome="required").encode("latin-1")
    )

    with pytest.raises(InvalidInput) as refused:
        import_pack(any_ctx, path)

    assert refused.value.message == f"{path}: save the pack as UTF-8 text"
    assert history_versions(any_ctx) == []


def test_a_missing_file_is_refused_saying_it_cannot_be_read(
    any_ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "nowhere.yaml"

    with pytest.raises(InvalidInput) as refused:
        import_pack(any_ctx, path)

    assert refused.value.message == f"{path}: cannot read the file (No such file or directory)"


def test_import_times_come_back_timezone_aware_in_utc(any_ctx: Context, tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)
    import_pack(any_ctx, write_pack(tmp_path))
    after = dt.datetime.now(dt.UTC)

    with any_ctx.uow() as uow:
        imported_at = uow.packs.history("store-test")[0].imported_at

    assert imported_at.tzinfo is not None
    assert imported_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= imported_at <= after + dt.timedelta(seconds=1)


# -- the schema -----------------------------------------------------------------------------------


def test_the_migration_builds_an_empty_database_and_running_it_again_changes_nothing(
    any_settings: Settings,
) -> None:
    engine = make_engine(any_settings.database_url)
    try:
        assert "payer_packs" not in inspect(engine).get_table_names()

        upgrade(engine)
        upgrade(engine)

        assert {"payer_packs", "alembic_version"} <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v[0] for v in versions] == [_migration_head()]
        columns = {c["name"] for c in inspect(engine).get_columns("payer_packs")}
        assert columns == {
            "id",
            "payer_id",
            "version",
            "filename",
            "sha256",
            "content",
            "rule_count",
            "imported_at",
            "active",
        }
    finally:
        engine.dispose()


# -- another process ------------------------------------------------------------------------------


def test_a_context_started_after_an_import_has_the_imported_pack(
    any_ctx: Context, any_settings: Settings, tmp_path: Path
) -> None:
    import_pack(any_ctx, write_pack(tmp_path))

    other = build_context(any_settings, today=lambda: TODAY)
    try:
        assert other.rulebook().pack("store-test").origin == "imported"
        assert decision(other) is Decision.REQUIRED
    finally:
        other.engine.dispose()


def test_another_process_recompiles_its_rule_book_when_an_import_lands(
    any_ctx: Context, any_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No waiting out the cache: with a zero TTL every call asks the database for its generation.
    monkeypatch.setattr(context_module, "RULEBOOK_TTL_SECONDS", 0.0)
    other = build_context(any_settings, today=lambda: TODAY)
    try:
        compiled = other.rulebook()
        assert other.rulebook() is compiled  # nothing imported: the compiled book is kept
        assert "store-test" not in compiled

        import_pack(any_ctx, write_pack(tmp_path))

        assert other.rulebook() is not compiled
        assert decision(other) is Decision.REQUIRED
    finally:
        other.engine.dispose()


def _migration_head() -> str:
    """The newest revision shipped in the package (read from the scripts, not hard-coded)."""
    from importlib import resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("precert.store").joinpath("migrations"))
    )
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
