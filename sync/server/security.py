"""Passwords (argon2 via pwdlib) and device tokens (random, stored as a sha256 digest)."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; an unknown user costs the same time as a wrong password."""
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False
    return _hasher.verify(password, password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are long random strings, so a plain sha256 is enough (no salt, no stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()
