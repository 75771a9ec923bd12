"""The one time format of every record and table: ISO 8601 in UTC, to the second. Strings of
that form sort in time order, which the store's indexes rely on."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import NamedTuple


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


class Published(NamedTuple):
    """A publication time as a source gave it, in the records' format."""

    time: str
    date_only: bool  # only a date was given: `time` is UTC midnight of it, no time at all
    zoned: bool  # the source said its offset from UTC (a time without one was read as UTC)


def publication_time(value: str | None) -> Published | None:
    """A publication time as a page or feed writes it (ISO 8601 in any of its forms, or RFC 2822
    as in RSS). None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # a year of eleven digits
            return None
        date_only = False
    else:
        date_only = len(value) <= 10 or not any(c in value[8:] for c in "T :")  # "2026-11-20", "20261120"
    iso = utc_iso(moment)
    return Published(iso, date_only, moment.tzinfo is not None) if iso else None
