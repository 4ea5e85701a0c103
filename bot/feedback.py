"""Thumbs up/down on answers, kept in SQLite under ``KB_HOME`` with personal data masked."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.privacy import mask_personal_data
from bot.types import Answer

#: Numbered schema migrations, applied in order; ``PRAGMA user_version`` records the last one applied. Append a new
#: step to change the schema; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        citations TEXT NOT NULL,
        abstained INTEGER NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        surface TEXT NOT NULL DEFAULT 'page'
    )
    """,
    "CREATE INDEX IF NOT EXISTS feedback_rating ON feedback (rating, id)",
    # Staff sign-ins live here too, so that every worker serving one home shares them (tokens stored hashed).
    """
    CREATE TABLE IF NOT EXISTS staff_sessions (
        token TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        seen_at REAL NOT NULL,
        expires_at REAL NOT NULL
    )
    """,
)
COLUMNS = ("id", "created_at", "rating", "question", "answer", "citations", "abstained", "comment", "surface")
_INSERT = f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(COLUMNS[1:]))})"


def migrate(db: sqlite3.Connection) -> int:
    """Apply the :data:`MIGRATIONS` a database has not had yet; returns its schema version after.

    A database from a newer release (a higher version) is left as it is.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute(step)
        db.execute(f"PRAGMA user_version = {number}")
        version = number
    return version


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the server's SQLite database that waits for writers in other threads or processes."""
    db = sqlite3.connect(path, timeout=10)
    db.row_factory = sqlite3.Row
    return db


class FeedbackStore:
    """Append and read feedback rows. One short-lived connection per call, so any thread may use it.

    Args:
        path: The SQLite file (created with its folder on first use).

    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Feedback holds what people typed: readable by the server's user only. The mode is set before SQLite opens
        # the file, because its write-ahead log files copy the database's mode.
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")  # several worker processes write to one file
            migrate(db)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def problem(self) -> str | None:
        """Why feedback cannot be stored right now (read-only, full or locked database), or ``None`` when it can."""
        try:
            with self._lock, closing(self._connect()) as db, db:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                db.execute(f"PRAGMA user_version = {version}")  # a real write of the header, changing nothing
        except sqlite3.Error as exc:
            return str(exc).splitlines()[0]
        return None

    def add(self, answer: Answer, rating: int, *, comment: str = "", surface: str = "page") -> int:
        """Store one rating of an answer; e-mails, phone and resident numbers are masked first.

        Args:
            answer: The rated answer.
            rating: ``1`` (thumbs up) or ``-1`` (thumbs down).
            comment: Optional free text from the user.
            surface: Where it came from (``page``, ``api``).

        Returns:
            The new row id.

        Raises:
            ValueError: for a rating other than 1 or -1.

        """
        if rating not in (1, -1):
            raise ValueError("rating must be 1 (up) or -1 (down)")
        cites = [
            {
                "n": c.n,
                "title": mask_personal_data(c.title),
                "section": mask_personal_data(c.section),
                "source": mask_personal_data(c.source),
            }
            for c in answer.citations
        ]
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating,
            mask_personal_data(answer.question),
            mask_personal_data(answer.text),
            json.dumps(cites, ensure_ascii=False),
            int(answer.abstained),
            mask_personal_data(comment),
            surface,
        )
        with self._lock, closing(self._connect()) as db, db:
            cur = db.execute(_INSERT, row)
            return int(cur.lastrowid or 0)

    def rows(self, *, only_negative: bool = False, limit: int | None = 1000) -> list[dict[str, Any]]:
        """Feedback, newest first.

        Args:
            only_negative: Only thumbs down.
            limit: Most rows returned (``None``: all).

        Returns:
            One dict per row with the :data:`COLUMNS` keys.

        """
        where = "WHERE rating = -1" if only_negative else ""
        with closing(self._connect()) as db:
            found = db.execute(
                f"SELECT * FROM feedback {where} ORDER BY id DESC LIMIT ?", (-1 if limit is None else limit,)
            ).fetchall()
        return [dict(r) for r in found]

    def to_csv(self, *, only_negative: bool = False) -> str:
        """All feedback (newest first) as CSV text with a header row."""
        return to_csv(self.rows(only_negative=only_negative, limit=None))


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Feedback rows as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows([{k: _cell(v) for k, v in r.items()} for r in rows])
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
