"""Interchange control numbers that survive restarts: ISA13/GS06/ST02 from a small file.

A clearinghouse rejects an interchange whose ISA13 it has seen from us before, so the number must
never repeat, not across restarts and not between two processes (a web server and a worker).
`ControlFile(path)` is a callable () -> int like envelope.ControlCounter: each call takes an
exclusive fcntl lock on the file, reads the last number, writes the next and syncs it before the
lock is released. Numbers run 1..999999999 (ISA13 is nine digits) and then start again at 1:
by then the clearinghouse has long forgotten the first ones.

`block` > 1 reserves that many numbers per visit to the file (one lock and one fsync for a whole
interchange's ISA13, GS06 and ST02): numbers reserved but not used when the process stops are
skipped, never reused, and gaps are allowed.

The file lives under PRECERT_DATA_DIR (x12/control-number) and holds one decimal number.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from precert.errors import ChannelMisconfigured, Issue

LARGEST = 999_999_999


class ControlFile:
    """The next control number from `path`, shared safely by every process using that file."""

    def __init__(self, path: Path, *, durable: bool = True, block: int = 1) -> None:
        if not 1 <= block <= 1000:
            raise ValueError("block: reserve between 1 and 1000 numbers at a time")
        self.path = path
        # durable: fsync each reservation, so a crash right after a send never reuses a number.
        self._durable = durable
        self._block = block
        self._reserved: list[int] = []
        self._lock = threading.Lock()  # threads of one process share the reserved numbers

    def __repr__(self) -> str:
        return f"ControlFile({str(self.path)!r})"

    def __call__(self) -> int:
        with self._lock:
            if not self._reserved:
                last = self._reserve()
                first = last - self._block + 1
                self._reserved = list(range(first, last + 1))
            return self._reserved.pop(0)

    def _reserve(self) -> int:
        """Take the next `block` numbers from the file; the last one taken (before wrapping)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes
            last = _last(descriptor, self.path)
            if last + self._block > LARGEST:
                last = 0  # wrap: start again at 1 rather than split a block across the end
            number = last + self._block
            os.lseek(descriptor, 0, os.SEEK_SET)
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{number}\n".encode())
            if self._durable:
                os.fsync(descriptor)
            return number
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        finally:
            os.close(descriptor)


def _last(descriptor: int, path: Path) -> int:
    raw = os.read(descriptor, 64).decode("ascii", "replace").strip()
    if not raw:
        return 0  # a new file: the first number is 1
    if not raw.isdigit():
        message = (
            f"The X12 control number file {path} does not hold a number; restore it from a "
            "backup, or write the last ISA13 sent into it."
        )
        raise ChannelMisconfigured(message, [Issue("x12.controls", message, "PRECERT_DATA_DIR")])
    return int(raw)


def _unusable(path: Path, exc: OSError) -> ChannelMisconfigured:
    why = exc.strerror or type(exc).__name__
    message = (
        f"The X12 control number file {path} cannot be used ({why}); make PRECERT_DATA_DIR "
        "writable by precert."
    )
    return ChannelMisconfigured(message, [Issue("x12.controls", message, "PRECERT_DATA_DIR")])
