"""Staff logins: scrypt password hashes kept in settings, never a default password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path

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
#: Failed logins one address may have (over any names) before it is locked out the same way. Higher than a name's:
#: several staff may sit behind one address.
FREE_ADDRESS_FAILURES = 20
#: The first lockout, in seconds (then 2x, 4x, ... up to :data:`MAX_LOCKOUT`).
FIRST_LOCKOUT = 2.0
MAX_LOCKOUT = 15 * 60.0
#: A session ends this many seconds after sign-in whatever its use; ``KB_STAFF_SESSION_MINUTES`` ends it sooner when
#: it is idle.
MAX_SESSION = 12 * 3600.0
#: Password checks hashed at once; more wait, so a flood of logins cannot take every core from the answers.
_HASHING = threading.BoundedSemaphore(1)


class Throttle:
    """Failed attempts per key (a name or an address), locking a key out for a doubling time past a free budget."""

    def __init__(self, free: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.free = free
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failures, locked until)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds ``key`` stays locked out (0: it may try)."""
        with self._lock:
            return max(0.0, self._failures.get(key, (0, 0.0))[1] - self.clock())

    def fail(self, key: str) -> None:
        """Count a failure (counted before the password is checked, so parallel attempts cannot slip past)."""
        with self._lock:
            count = self._failures.get(key, (0, 0.0))[0] + 1
            wait = 0.0 if count < self.free else min(MAX_LOCKOUT, FIRST_LOCKOUT * 2 ** (count - self.free))
            self._failures[key] = (count, self.clock() + wait)

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (after a success)."""
        with self._lock:
            self._failures.pop(key, None)


class Locked(Exception):
    """Too many failed logins from this name or address; :attr:`retry_after` seconds to wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {int(retry_after) + 1} s.")
        self.retry_after = int(retry_after) + 1


def login_checker(
    users: Mapping[str, str], clock: Callable[[], float] = time.monotonic
) -> Callable[[str, str, str], bool]:
    """A ``(user, password, address) -> bool`` check over the configured users.

    Unknown names cost the same hash as known ones (a name cannot be guessed from the time an answer takes). After
    :data:`FREE_FAILURES` failures of a name, or :data:`FREE_ADDRESS_FAILURES` from an address, further attempts
    raise :class:`Locked` for a doubling time, at once and without hashing, even with the right password. A success
    clears the name's count. Hashing holds a one-at-a-time lock and runs in the caller's (worker) thread.
    """
    decoy = hash_password(secrets.token_urlsafe(16))
    names = Throttle(FREE_FAILURES, clock)
    addresses = Throttle(FREE_ADDRESS_FAILURES, clock)

    def check(user: str, password: str, address: str = "") -> bool:
        wait = max(names.wait(user), addresses.wait(address))
        if wait > 0:
            raise Locked(wait)
        names.fail(user)
        addresses.fail(address)
        stored = users.get(user)
        with _HASHING:
            ok = verify_password(password, stored if stored is not None else decoy) and stored is not None
        if ok:
            names.clear(user)
            addresses.clear(address)
        return ok

    return check


class Sessions:
    """Staff sessions in the server's SQLite database, so every worker on one home sees the same sign-ins.

    Only a hash of each token is stored. A session ends at sign-out, after ``idle`` seconds without use, and
    :data:`MAX_SESSION` seconds after sign-in.
    """

    def __init__(self, path: Path, idle: float, clock: Callable[[], float] = time.time) -> None:
        from bot.feedback import connect

        self.path = path
        self.idle = idle
        self.clock = clock
        self._connect = lambda: connect(path)

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def start(self, user: str) -> str:
        """A new session for ``user``; returns its token (for the cookie)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM staff_sessions WHERE expires_at < ? OR seen_at < ?", (now, now - self.idle))
            db.execute(
                "INSERT INTO staff_sessions VALUES (?, ?, ?, ?)", (self._digest(token), user, now, now + MAX_SESSION)
            )
        return token

    def user(self, token: str | None) -> str | None:
        """The signed-in name for a token, or ``None`` (unknown, signed out or expired); use renews the idle time."""
        if not token:
            return None
        now = self.clock()
        digest = self._digest(token)
        with closing(self._connect()) as db, db:
            row = db.execute(
                "SELECT user, seen_at, expires_at FROM staff_sessions WHERE token = ?", (digest,)
            ).fetchone()
            if row is None or row[2] <= now or row[1] + self.idle <= now:
                return None
            if now - row[1] > 30:  # renew at most every 30 s: a page load makes dozens of requests
                db.execute("UPDATE staff_sessions SET seen_at = ? WHERE token = ?", (now, digest))
        return str(row[0])

    def end(self, token: str | None) -> None:
        """Sign out: the token stops working everywhere at once."""
        if token:
            with closing(self._connect()) as db, db:
                db.execute("DELETE FROM staff_sessions WHERE token = ?", (self._digest(token),))
