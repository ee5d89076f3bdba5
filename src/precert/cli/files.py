"""Output files written all-or-nothing: a temporary file beside the target, renamed when done."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from precert.errors import InvalidInput


def check_writable(path: Path, option: str) -> None:
    """Refuse early (before any work) an output whose folder does not exist."""
    if not path.parent.is_dir():
        raise InvalidInput.field(
            option, f"{option}: the folder {str(path.parent)!r} does not exist; create it first"
        )
    if path.is_dir():
        raise InvalidInput.field(option, f"{option}: {str(path)!r} is a folder; name a file")


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text file that appears at `path` only if the block completes."""
    with _beside(path) as fd, os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        yield handle


def write_bytes_atomically(path: Path, data: bytes) -> None:
    with _beside(path) as fd, os.fdopen(fd, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def _beside(path: Path) -> Iterator[int]:
    # Same folder, so the final rename is atomic; readers see the old file or the whole new one.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        yield fd
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
