"""API tokens: random bearer strings shown once; only their SHA-256 digest is stored.

A token is "pct_" + 43 url-safe characters (256 random bits), so a plain SHA-256 is enough to
store it (there is nothing to guess); the short display prefix lets a person tell tokens apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

TOKEN_PREFIX = "pct_"
RANDOM_BYTES = 32
DISPLAY_CHARS = 8  # of the random part, after the prefix


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly made token: show `plaintext` once, store `digest` and `display_prefix`."""

    plaintext: str = field(repr=False)
    digest: str
    display_prefix: str


def new_token() -> NewToken:
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(RANDOM_BYTES)
    return NewToken(plaintext, token_digest(plaintext), display_prefix(plaintext))


def token_digest(plaintext: str) -> str:
    """The hex SHA-256 of a token: what the database stores and looks tokens up by."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def display_prefix(plaintext: str) -> str:
    """The first characters of a token, safe to show in lists ("pct_AbC12xYz")."""
    return plaintext[: len(TOKEN_PREFIX) + DISPLAY_CHARS]


def looks_like_token(value: str) -> bool:
    """A cheap shape check before any database look-up."""
    return value.startswith(TOKEN_PREFIX) and len(value) > len(TOKEN_PREFIX) + DISPLAY_CHARS


def digests_match(a: str, b: str) -> bool:
    """Constant-time comparison of two digests (or any two secrets)."""
    return hmac.compare_digest(a.encode(), b.encode())


def verify_token(plaintext: str, stored_digest: str) -> bool:
    """True when the presented token is the one whose digest was stored."""
    return digests_match(token_digest(plaintext), stored_digest)
