"""Staff logins: scrypt password hashes kept in settings, never a default password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
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


#: Failed logins a name may have before it is locked out; each further failure doubles the lockout.
FREE_FAILURES = 5
#: The first lockout, in seconds (then 2x, 4x, ... up to :data:`MAX_LOCKOUT`).
FIRST_LOCKOUT = 2.0
MAX_LOCKOUT = 15 * 60.0


def login_checker(users: Mapping[str, str], clock: Callable[[], float] = time.monotonic) -> Callable[[str, str], bool]:
    """A ``(user, password) -> bool`` check over the configured users, for the staff console.

    Unknown names cost the same hash as known ones (a name cannot be guessed from the time an answer takes). After
    :data:`FREE_FAILURES` failures a name is locked out for a growing time, during which every attempt fails at
    once, without hashing, even with the right password; a success clears the count.
    """
    decoy = hash_password(secrets.token_urlsafe(16))
    failures: dict[str, tuple[int, float]] = {}  # name -> (failures, locked until)
    lock = threading.Lock()

    def check(user: str, password: str) -> bool:
        now = clock()
        with lock:
            count, until = failures.get(user, (0, 0.0))
        if now < until:
            return False
        stored = users.get(user)
        ok = verify_password(password, stored if stored is not None else decoy) and stored is not None
        with lock:
            if ok:
                failures.pop(user, None)
            else:
                count += 1
                wait = 0.0 if count < FREE_FAILURES else min(MAX_LOCKOUT, FIRST_LOCKOUT * 2 ** (count - FREE_FAILURES))
                failures[user] = (count, now + wait)
        return ok

    return check
