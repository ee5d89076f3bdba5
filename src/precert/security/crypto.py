"""Field encryption for PHI at rest: AES-256-GCM with key ids, so keys can be rotated.

A stored value looks like "v1.<key id>.<base64url nonce+ciphertext>". The caller's context (e.g.
"patient.last_name:<org id>") is bound in as associated data, so a value copied into another
field or another organization's row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from precert.config import Settings
from precert.errors import Issue, PrecertError

VERSION = "v1"
NONCE_BYTES = 12  # 96 bits: the size GCM is specified for; random per value.
# Files (encrypt_bytes): b"PCB1" + one length byte + the key id + nonce + ciphertext and tag.
BYTES_MAGIC = b"PCB1"


class DecryptionFailed(PrecertError):
    """A stored value could not be decrypted; the message names the key id, never the data."""

    @classmethod
    def because(cls, message: str, context: str) -> DecryptionFailed:
        return cls(message, [Issue("decryption-failed", message, context)])


class FieldCipher:
    """Encrypts with the active key; decrypts with any key in the ring."""

    def __init__(self, keyring: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keyring:
            raise ValueError(f"active key id {active_key_id!r} is not in the keyring")
        self._ciphers = {kid: AESGCM(key) for kid, key in keyring.items()}
        self._active = active_key_id

    def __repr__(self) -> str:
        return f"FieldCipher(key_ids={sorted(self._ciphers)}, active={self._active!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldCipher:
        return cls(settings.keyring(), settings.encryption_key_id)

    @property
    def active_key_id(self) -> str:
        return self._active

    def encrypt(self, text: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(nonce, text.encode(), _aad(context))
        data = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{VERSION}.{self._active}.{data}"

    def decrypt(self, token: str, *, context: str) -> str:
        kid, blob = self._split(token, context)
        try:
            plain = self._ciphers[kid].decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(context)
            )
        except InvalidTag:
            raise DecryptionFailed.because(
                f"An encrypted value for {context} (key id {kid!r}) failed its integrity check: it "
                "was altered, copied from another field or organization, or the key under this "
                "key id changed. Restore the original key or the original value.",
                context,
            ) from None
        return plain.decode()

    def encrypt_bytes(self, data: bytes, *, context: str) -> bytes:
        """`data` sealed under the active key, with the key id in a small binary header."""
        kid = self._active.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(nonce, data, _bytes_aad(context))
        return BYTES_MAGIC + bytes([len(kid)]) + kid + nonce + sealed

    def decrypt_bytes(self, blob: bytes, *, context: str) -> bytes:
        kid, body = self._split_bytes(blob, context)
        try:
            return self._ciphers[kid].decrypt(
                body[:NONCE_BYTES], body[NONCE_BYTES:], _bytes_aad(context)
            )
        except InvalidTag:
            raise DecryptionFailed.because(
                f"An encrypted file for {context} (key id {kid!r}) failed its integrity check: it "
                "was altered, copied from another document or organization, or the key under "
                "this key id changed. Restore the original key or the original file.",
                context,
            ) from None

    def needs_rotation(self, token: str) -> bool:
        """True when the value was written with a key other than the active one."""
        parts = token.split(".", 2)
        return len(parts) != 3 or parts[1] != self._active

    def rotate(self, token: str, *, context: str) -> str:
        """The value re-encrypted under the active key (unchanged if it already is)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def _split(self, token: str, context: str) -> tuple[str, bytes]:
        version, _, rest = token.partition(".")
        kid, _, data = rest.partition(".")
        if version != VERSION or not kid or not data:
            raise DecryptionFailed.because(
                f"An encrypted value for {context} is not in the form {VERSION}.<key id>.<data>; "
                "it was altered or was never encrypted.",
                context,
            )
        if kid not in self._ciphers:
            raise DecryptionFailed.because(
                f"An encrypted value for {context} was written with key id {kid!r}, which is not "
                "in PRECERT_ENCRYPTION_KEYS; add that key back to the keyring to read it.",
                context,
            )
        try:
            blob = base64.b64decode(data, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            blob = b""
        if len(blob) < NONCE_BYTES + 16:  # nonce + GCM tag at the least
            raise DecryptionFailed.because(
                f"An encrypted value for {context} (key id {kid!r}) is truncated or not base64; "
                "it was altered.",
                context,
            )
        return kid, blob

    def _split_bytes(self, blob: bytes, context: str) -> tuple[str, bytes]:
        start = len(BYTES_MAGIC) + 1
        size = blob[start - 1] if len(blob) >= start and blob.startswith(BYTES_MAGIC) else -1
        if size <= 0 or len(blob) < start + size + NONCE_BYTES + 16:
            raise DecryptionFailed.because(
                f"An encrypted file for {context} does not start with the {BYTES_MAGIC.decode()} "
                "header or is truncated; it was altered or was never encrypted.",
                context,
            )
        kid = blob[start : start + size].decode("ascii", errors="replace")
        if kid not in self._ciphers:
            raise DecryptionFailed.because(
                f"An encrypted file for {context} was written with key id {kid!r}, which is not "
                "in PRECERT_ENCRYPTION_KEYS; add that key back to the keyring to read it.",
                context,
            )
        return kid, blob[start + size :]


def _bytes_aad(context: str) -> bytes:
    # A distinct prefix, so a sealed file can never be passed off as a sealed field or back.
    return b"bytes|" + _aad(context)


def _aad(context: str) -> bytes:
    if not context:
        raise ValueError("an encryption context is required (e.g. 'patient.last_name:<org id>')")
    # The version is bound too, so a future v2 format can never be confused with v1 data.
    return f"{VERSION}|{context}".encode()
