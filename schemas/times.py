"""The one time format of every record and table: ISO 8601 in UTC, to the second. Strings of
that form sort in time order, which the store's indexes rely on."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
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


# The languages whose day and month names a date may be written in ("Seg, 24 Set 2018" in a
# Portuguese feed, "Mo, 24. Sep 2018"): RSS says English, but many feeds write their own.
DATE_LANGUAGES = ["en", "pt", "es", "fr", "de", "it", "tr", "pl", "nl", "sv", "da", "nb", "cs", "ro"]
_YEAR = re.compile(r"\b\d{4}\b")


def publication_time(value: str | None) -> Published | None:
    """A publication time as a page or feed writes it (ISO 8601 in any of its forms, RFC 2822 as
    in RSS, or a date with day and month names of another language, with its zone). None when
    absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()[:200]
    moment: dt.datetime | None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # a year of eleven digits
            moment = dated_in_any_language(value)
            if moment is None:
                return None
        date_only = False
    else:
        date_only = len(value) <= 10 or not any(c in value[8:] for c in "T :")  # "2026-11-20", "20261120"
    iso = utc_iso(moment)
    return Published(iso, date_only, moment.tzinfo is not None) if iso else None


def dated_in_any_language(value: str) -> dt.datetime | None:
    """A date written with the day and month names of one of DATE_LANGUAGES (dateparser, which
    trafilatura's htmldate brings), with its zone; naive means UTC. Only a text that names a year:
    "yesterday" or "3 hours ago" depend on when they were read, and are no publication time."""
    if not _YEAR.search(value):
        return None
    import dateparser  # about 0.1 s, and only for dates the standard forms do not read

    try:
        return dateparser.parse(value, languages=DATE_LANGUAGES,
                                settings={"TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True,
                                          "PREFER_DATES_FROM": "past"})
    except (ValueError, OverflowError, TypeError):
        return None
