"""The one time format of every record and table: ISO 8601 in UTC, to the second. Strings of
that form sort in time order, which the store's indexes rely on."""

from __future__ import annotations

import datetime as dt


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def utc_iso(value: str | dt.datetime | None) -> str | None:
    """A date or datetime (ISO text or a datetime, any offset; naive means UTC) in the records'
    format; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return None
