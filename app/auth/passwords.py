"""Password hashing (argon2id) and the rules a new password must pass."""

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def _common_passwords() -> frozenset[str]:
    # The 10,000 most common passwords (zxcvbn's frequency list, from leaked password corpora).
    return frozenset(COMMON_PASSWORDS_FILE.read_text().split())


def _hasher() -> PasswordHasher:
    if current_app.config.get("PASSWORD_HASH_FAST"):
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile: 64 MiB, 3 passes


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why this password may not be used, or None."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    if password.lower() in _common_passwords():
        return _l("This password is too common and easy to guess. Choose another.")
    return None


# A hash to verify against when no user matches, so a wrong login takes as long either way.
@cache
def _dummy_hash(fast: bool) -> str:
    return hash_password("not-a-real-password")


def spend_verify_time() -> None:
    verify_password(_dummy_hash(bool(current_app.config.get("PASSWORD_HASH_FAST"))), "x")
