"""The default fax sender: an outbox folder a fax gateway (or a person) picks packets up from.

Each send leaves "<reference>.pdf" and then "<reference>.json" (number, pages, sha256, created).
Both appear atomically and are never overwritten, so a repeated send returns the first receipt;
a gateway should treat the JSON sidecar as the signal that a packet is ready.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from precert.channels.fax.sender import FaxReceipt, checked_reference, normalized_number
from precert.errors import InvalidInput


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OutboxFaxSender:
    """Writes packets into `folder` (created when missing); file names carry only the reference."""

    def __init__(self, folder: Path, *, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.folder = folder
        self._clock = clock

    def __repr__(self) -> str:
        return f"OutboxFaxSender({str(self.folder)!r})"

    def send(self, packet_pdf: bytes, *, to_number: str, reference: str) -> FaxReceipt:
        reference = checked_reference(reference)
        number = normalized_number(to_number)
        pdf_path = self.folder / f"{reference}.pdf"
        if pdf_path.exists():  # never send twice: the first send's receipt stands
            return self._finish(pdf_path.read_bytes(), number, reference)
        pages = _page_count(packet_pdf)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not _publish(pdf_path, packet_pdf):  # another sender claimed this reference first
            return self._finish(pdf_path.read_bytes(), number, reference)
        return self._finish(packet_pdf, number, reference, pages=pages)

    def _finish(
        self, packet_pdf: bytes, number: str, reference: str, *, pages: int | None = None
    ) -> FaxReceipt:
        """Write the sidecar unless it exists (a crash may leave only the PDF); read it back."""
        sidecar = self.folder / f"{reference}.json"
        if not sidecar.exists():
            record = {
                "reference": reference,
                "to_number": number,
                "pages": pages if pages is not None else _page_count(packet_pdf),
                "sha256": hashlib.sha256(packet_pdf).hexdigest(),
                "created": self._clock().astimezone(dt.UTC).isoformat(),
            }
            _publish(sidecar, (json.dumps(record, indent=2) + "\n").encode())
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        return FaxReceipt(
            reference=reference,
            sent_at=dt.datetime.fromisoformat(record["created"]),
            location=str(self.folder / f"{reference}.pdf"),
        )


def _page_count(packet_pdf: bytes) -> int:
    try:
        if not packet_pdf.startswith(b"%PDF-"):
            raise ValueError("no PDF header")
        return len(PdfReader(io.BytesIO(packet_pdf)).pages)
    except (PyPdfError, ValueError, KeyError) as exc:
        raise InvalidInput.field(
            "packet_pdf", "The fax packet is not a readable PDF; render it again."
        ) from exc


def _publish(path: Path, data: bytes) -> bool:
    """Put `data` at `path` all at once, only if nothing is there; False when something was.

    A hard link from a fully written, fsynced temporary file is atomic and refuses to replace an
    existing file, so a reader never sees half a packet and two senders never both win.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync_directory(path.parent)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
