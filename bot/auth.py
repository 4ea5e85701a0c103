"""Staff logins: scrypt password hashes kept in settings, never a default password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """Hash a password for ``KB_STAFF_USERS``.

    Args:
        password: The clear-text password (at least 8 characters).

    Returns:
        ``scrypt$n$r$p$salt$hash`` with base64 salt and hash.

    Raises:
        ValueError: when the password is shorter than 8 characters.

    """
    if len(password) < 8:
        raise ValueError("Use a password of at least 8 characters.")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash from :func:`hash_password` (constant-time; malformed hashes fail)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(want, got)


def login_checker(users: Mapping[str, str]) -> Callable[[str, str], bool]:
    """A ``(user, password) -> bool`` check over the configured users, for the staff console."""

    def check(user: str, password: str) -> bool:
        stored = users.get(user)
        return stored is not None and verify_password(password, stored)

    return check
