"""Blind indexes: keyed HMAC-SHA256 digests that let us find a row by member id without storing it.

The value is normalised first (so "abc-123 45" finds "ABC12345"), and the organization id and field
name are part of the message, so the same member id in two tenants gives two unrelated digests.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from precert.config import Settings
from precert.errors import InvalidInput

_SPACES_AND_DASHES = re.compile(r"[\s\-\u2010-\u2015]+")


def normalise_member_id(value: str) -> str:
    """Upper-case, without spaces or dashes: how payers print the same id in different ways."""
    return _SPACES_AND_DASHES.sub("", value).upper()


class BlindIndex:
    """Digests for equality look-ups of encrypted fields, scoped to one organization."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a blind-index key is required")
        self._key = key

    def __repr__(self) -> str:
        return "BlindIndex(key=<hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> BlindIndex:
        return cls(settings.blind_index_key.get_secret_value().encode())

    def member_id(self, value: str, *, organization_id: object) -> str:
        normalised = normalise_member_id(value)
        if not normalised:
            raise InvalidInput.field(
                "member_id",
                "A member id is required: it was empty after removing spaces and dashes.",
            )
        return self.digest("member_id", normalised, organization_id=organization_id)

    def digest(self, field: str, normalised: str, *, organization_id: object) -> str:
        """Hex HMAC over (field, organization, value), each length-prefixed so none can bleed."""
        parts = (field, str(organization_id), normalised)
        message = "".join(f"{len(part)}:{part}" for part in parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
