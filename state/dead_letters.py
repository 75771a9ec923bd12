"""Dead letters: what failed (a feed, a page, an extraction), why, how often, and when it is
tried again. Kept until a retry succeeds, the attempts run out, or the answer is final."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterable

from newsbeam.schemas import DeadLetter, parse_time, utc_now
from newsbeam.state import settings
from newsbeam.state.database import Connection, Database, Row, transactional


def backoff(failures: int, base_minutes: float, max_hours: float, not_before: str | None, at: str) -> str:
    """When failed work is tried again: `base_minutes` after the first failure, doubling with
    every failure in a row up to `max_hours`, and never before `not_before` (a server's
    Retry-After)."""
    delay = min(dt.timedelta(minutes=base_minutes * 2 ** min(failures - 1, 16)), dt.timedelta(hours=max_hours))
    due = (parse_time(at) + delay).isoformat(timespec="seconds")
    return max(due, not_before) if not_before else due


class DeadLetters:
    def __init__(self, db: Database):
        self.db = db

    @transactional
    def record(self, tx: Connection, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        """Insert or update the dead letter of each (url, stage); returns them with their
        attempt counts and when each is due again (never, for a final one)."""
        recorded = []
        for letter in letters:
            row = tx.execute("SELECT attempts, first_at FROM dead_letters WHERE url = ? AND stage = ?",
                             (letter.url, letter.stage)).fetchone()
            attempts = (row["attempts"] + 1) if row else 1
            at = letter.at or utc_now()
            next_due = None if letter.final else (letter.next_due or backoff(
                attempts, settings.RETRY_BASE_MINUTES, settings.RETRY_MAX_HOURS, letter.retry_after, at))
            tx.execute(
                "INSERT INTO dead_letters (url, stage, status, reason, attempts, first_at, at, next_due, payload, "
                "final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url, stage) DO UPDATE SET "
                "status = excluded.status, reason = excluded.reason, attempts = excluded.attempts, "
                "at = excluded.at, next_due = excluded.next_due, final = excluded.final, "
                "payload = COALESCE(excluded.payload, dead_letters.payload)",
                (letter.url, letter.stage, letter.status, letter.reason, attempts,
                 row["first_at"] if row else at, at, next_due or "", letter.payload, int(letter.final)))
            recorded.append(dataclasses.replace(letter, attempts=attempts, at=at, next_due=next_due))
        return recorded

    def resolve(self, url: str, stages: Iterable[str]) -> None:
        """The work succeeded: its dead letters of these stages go."""
        stages = list(stages)
        if not self.db.read().execute("SELECT 1 FROM dead_letters WHERE url = ? LIMIT 1", (url,)).fetchone():
            return  # the common case: nothing to resolve, no write lock taken
        self._delete(url, stages)

    @transactional
    def _delete(self, tx: Connection, url: str, stages: list[str]) -> None:
        tx.execute(f"DELETE FROM dead_letters WHERE url = ? AND stage IN ({','.join('?' * len(stages))})",
                   (url, *stages))

    def due(self, stage: str, now: str | None = None, every_attempt: bool = False) -> list[DeadLetter]:
        """The letters of a stage due again; with `every_attempt`, also those past MAX_ATTEMPTS
        (a delivery owed to a receiver is owed until it arrives)."""
        rows = self.db.read().execute(
            "SELECT * FROM dead_letters WHERE stage = ? AND next_due <= ? AND attempts < ? AND final = 0",
            (stage, now or utc_now(), 2**31 if every_attempt else settings.MAX_ATTEMPTS)).fetchall()
        return [_dead_letter(r) for r in rows]

    def all(self) -> list[DeadLetter]:
        rows = self.db.read().execute("SELECT * FROM dead_letters ORDER BY at DESC").fetchall()
        return [_dead_letter(r) for r in rows]

    def page(self, limit: int, after: tuple[str, str, str] | None = None) -> list[DeadLetter]:
        """Up to `limit` dead letters, newest first, after (at, url, stage) of the last one of
        a previous page."""
        condition, params = ("WHERE (at, url, stage) < (?, ?, ?) ", after) if after else ("", ())
        rows = self.db.read().execute(f"SELECT * FROM dead_letters {condition}"
                                      "ORDER BY at DESC, url DESC, stage DESC LIMIT ?", (*params, limit)).fetchall()
        return [_dead_letter(r) for r in rows]

    def page_failures_by_feed(self, since: str = "") -> collections.Counter:
        """feed URL -> how many of its pages wait as dead letters (failed at or after `since`)."""
        rows = self.db.read().execute(
            f"SELECT * FROM dead_letters WHERE stage IN ({','.join('?' * len(DeadLetter.PAGE_STAGES))}) AND at >= ?",
            (*DeadLetter.PAGE_STAGES, since)).fetchall()
        return collections.Counter(_dead_letter(row).feed_url for row in rows)

    @transactional
    def forget_exhausted(self, tx: Connection, before: str) -> int:
        """Drop the dead letters that ran out of attempts before a time; returns how many."""
        return tx.execute("DELETE FROM dead_letters WHERE attempts >= ? AND at < ?",
                          (settings.MAX_ATTEMPTS, before)).rowcount


def _dead_letter(row: Row) -> DeadLetter:
    return DeadLetter(url=row["url"], stage=row["stage"], reason=row["reason"], status=row["status"],
                      attempts=row["attempts"], at=row["at"], payload=row["payload"],
                      next_due=row["next_due"] or None, final=bool(row["final"]))
