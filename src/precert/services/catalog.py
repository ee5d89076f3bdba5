"""The payer catalog: packs shipped with precert plus packs this installation imported.

An imported pack replaces the shipped pack with the same payer id (a team's newer list wins).
`import_pack` validates fully before anything is written: a refused pack changes nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from precert.domain.packs import parse_pack
from precert.domain.requirements import RuleBook
from precert.domain.rules import PayerPack
from precert.errors import InvalidInput, Issue, NotFound
from precert.store.models import PayerPackRecord

if TYPE_CHECKING:
    from precert.services.context import Context

MAX_PACK_BYTES = 5_000_000


def shipped_packs() -> list[PayerPack]:
    """Every pack in the package's data/packs folder (the Medicare FFS pack and the demos)."""
    folder = resources.files("precert.data").joinpath("packs")
    packs = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            packs.append(parse_pack(entry.read_text("utf-8"), entry.name, origin="shipped"))
    return packs


def build_rulebook(ctx: Context) -> RuleBook:
    packs = {pack.id: pack for pack in shipped_packs()}
    with ctx.uow() as uow:
        for record in uow.packs.active():
            packs[record.payer_id] = parse_pack(record.content, record.filename, origin="imported")
    return RuleBook(packs.values())


@dataclass(frozen=True)
class ImportResult:
    pack: PayerPack
    replaced_version: str | None
    unchanged: bool


def import_pack(ctx: Context, path: Path) -> ImportResult:
    """Validate the pack in `path` and make it the one in force for its payer."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput.field(
            str(path), f"{path}: cannot read the file ({exc.strerror})"
        ) from None
    if len(data) > MAX_PACK_BYTES:
        raise InvalidInput.field(str(path), f"{path}: a payer pack may be at most 5 MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.field(str(path), f"{path}: save the pack as UTF-8 text") from None
    pack = parse_pack(text, path.name, origin="imported")
    digest = hashlib.sha256(data).hexdigest()
    current = ctx.rulebook().pack(pack.id) if pack.id in ctx.rulebook() else None
    with ctx.uow() as uow:
        active = uow.packs.active_for(pack.id)
        if active is not None and active.sha256 == digest:
            return ImportResult(pack, active.version, unchanged=True)
        uow.packs.add(
            PayerPackRecord(
                payer_id=pack.id,
                version=pack.version,
                filename=path.name,
                sha256=digest,
                content=text,
                rule_count=len(pack.rules),
                imported_at=dt.datetime.now(dt.UTC),
            )
        )
        uow.commit()
    ctx.forget_rulebook()
    return ImportResult(pack, current.version if current else None, unchanged=False)


def get_pack(ctx: Context, payer_id: str) -> PayerPack:
    book = ctx.rulebook()
    if payer_id in book:
        return book.pack(payer_id)
    raise unknown_payer(payer_id, book.payer_ids)


def unknown_payer(payer_id: str, known: list[str], location: str = "payer") -> InvalidInput:
    """The error for a payer id with no pack, suggesting the closest configured ids."""
    close = difflib.get_close_matches(payer_id.lower(), known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    message = (
        f"{location}: no payer {payer_id!r} is configured.{hint} "
        f"{len(known)} payers are configured (see `precert payers list` or GET /api/v1/payers)."
    )
    return NotFoundInput(message, [Issue("unknown-payer", message, location)])


class NotFoundInput(InvalidInput, NotFound):
    """An input naming something not configured (a payer id): API 422, CLI exit 2."""
