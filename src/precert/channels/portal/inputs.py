"""What a portal run types and uploads, in the shape the page takes.

What belongs here: the `Credentials` a run may ask for and a credential's parts fetched on first
use (`{cred.username}` / `{cred.password}`), dates as a date field wants them, and documents
turned into files for an upload. Nothing here touches the page; steps.py does.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from precert.errors import ChannelMisconfigured


class Credentials(Protocol):
    """What a run may ask about a credential the SOP names (the vault or a quick-start stand-in)."""

    def login(self, name: str) -> tuple[str, str]: ...
    def totp(self, name: str) -> str: ...
    def email_code(self, name: str, sender: str) -> str: ...


class Secret:
    """A credential's parts for `{cred.username}` / `{cred.password}`, fetched on first use."""

    def __init__(self, credentials: Credentials, name: str) -> None:
        self._credentials = credentials
        self._name = name
        self._pair: tuple[str, str] | None = None

    def _get(self) -> tuple[str, str]:
        if self._pair is None:
            self._pair = self._credentials.login(self._name)
        return self._pair

    @property
    def username(self) -> str:
        return self._get()[0]

    @property
    def password(self) -> str:
        return self._get()[1]

    def __repr__(self) -> str:
        return f"<credential {self._name}>"


def date_for(value: str, input_type: str, placeholder: str) -> str:
    """ISO for <input type=date>; MM/DD/YYYY when the field asks for it; else as given."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    if input_type == "date":
        return day.isoformat()
    if placeholder.strip().lower() in ("mm/dd/yyyy", "mm/dd/yy"):
        return day.strftime("%m/%d/%Y")
    return day.isoformat()


def document_files(value: Any, tmp: Path) -> list[Path]:
    """Documents as files: a path, {"path"}, or {"name", "content" | "content_base64"} each."""
    items = value if isinstance(value, list | tuple) else [value]
    paths: list[Path] = []
    for index, item in enumerate(items):
        if isinstance(item, str | Path):
            paths.append(Path(item))
            continue
        if not isinstance(item, Mapping):
            raise ChannelMisconfigured("a document is a path or {name, content}; fix the input")
        if item.get("path"):
            paths.append(Path(str(item["path"])))
            continue
        name = Path(str(item.get("name") or f"document-{index + 1}.txt")).name
        target = tmp / f"{index + 1}" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.get("content_base64") is not None:
            target.write_bytes(base64.b64decode(str(item["content_base64"])))
        else:
            target.write_text(str(item.get("content", "")), encoding="utf-8")
        paths.append(target)
    return paths
