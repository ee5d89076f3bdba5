"""Password hashing (argon2id via argon2-cffi) and the password policy.

`verify` answers True or False and never raises on a wrong password or a damaged hash, so a login
handler has one path; `needs_rehash` tells it to upgrade a hash after a successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from precert.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024  # long enough for any passphrase, short enough that hashing cannot be abused

_HASHER = PasswordHasher()


def check_policy(password: str) -> None:
    """Refuse passwords that are too short or absurdly long, saying what is accepted."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput.field(
            "password",
            f"Choose a password of at least {MIN_LENGTH} characters; a short phrase of several "
            "words works well.",
            code="too-short",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput.field(
            "password", f"Choose a password of at most {MAX_LENGTH} characters.", code="too-long"
        )


def hash_password(password: str, *, hasher: PasswordHasher = _HASHER) -> str:
    """An argon2id hash to store, after the policy check."""
    check_policy(password)
    return hasher.hash(password)


def verify_password(stored_hash: str, password: str, *, hasher: PasswordHasher = _HASHER) -> bool:
    """True when the password matches; False on a mismatch or an unreadable stored hash."""
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, *, hasher: PasswordHasher = _HASHER) -> bool:
    """True when the hash was made with older parameters and should be replaced at next login."""
    try:
        return hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
