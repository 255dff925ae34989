"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Compared against when the user does not exist, so timing does not reveal valid names.
_DUMMY_HASH = _hasher.hash("proxgate-dummy-password")
MIN_LENGTH = 8


def hash_password_sync(password: str) -> str:
    """The argon2id hash of a password (blocking; for the CLI and start-up)."""
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    """The argon2id hash of a password, computed in a worker thread."""
    return await to_thread.run_sync(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when password matches the stored hash; None is checked against a dummy to keep timing flat."""
    return await to_thread.run_sync(_verify, stored, password)


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    return None
