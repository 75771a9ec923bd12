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
# A date written with dots, day first wherever it is written so ("05.04.2025" is the 5th of April).
_DOTTED_DATE = re.compile(r"\b\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}\b")
# A date as RSS writes it (RFC 2822): "Mon, 24 Sep 2018 19:42:40 -0300", "24 Sep 2018 19:42 GMT".
_RFC_2822 = re.compile(r"^(?:[^\W\d_]{2,9}\.?,?\s*)?\d{1,2}\s+[^\W\d_]{3,9}\.?\s+\d{2,4}(?:\s+\d{1,2}:\d\d(?::\d\d)?)?"
                       r"(?:\s*(?:[+-]\d{4}|[A-Za-z]{1,5}))?\s*$")
# A time of day in a date written out: "4:00 AM", "07:39 Uhr", "19h30", "11 p.m.".
_TIME_OF_DAY = re.compile(r"\d{1,2}(?::\d\d|h\d\d)|\d\s*(?:[ap]\.?m\b\.?|uhr\b)", re.I)
# Times before this are a system's stand-in for none, not a publication (a newspaper's archive
# online goes back to the 19th century, a CMS's empty date to year 1); so is the Unix epoch.
EARLIEST_PUBLICATION = "1800-01-01"
_EPOCH = "1970-01-01T00:00:00"
_EPOCH_WALL = dt.datetime(1970, 1, 1)  # the epoch as the page's clock reads it, whatever its offset
# Zones by an abbreviation the parsers read otherwise than the newsrooms that write it: "IST"
# is India Standard Time in the English-language press ("01:38:07 PM IST Nov 20, 2019"), where
# dateparser reads Israel's and the RFC 2822 reader none.
_NEWSROOM_ZONES = {"IST": dt.timezone(dt.timedelta(hours=5, minutes=30))}
_NEWSROOM_ZONE = re.compile(rf"\s*\b(?:{'|'.join(_NEWSROOM_ZONES)})\b")


def publication_time(value: str | None) -> Published | None:
    """A publication time as a page or feed writes it (ISO 8601 in any of its forms, RFC 2822 as
    in RSS, or a date with day and month names of another language, with its zone). None when
    absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()[:200]
    zone = _NEWSROOM_ZONE.search(value)
    if zone:
        value = (value[:zone.start()] + value[zone.end():]).strip()
    moment: dt.datetime | None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            if not _RFC_2822.match(value):  # its parser reads "Nov 19, 2026 11:11 PM EST" as 11:11, no zone
                raise ValueError(value)
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # a year of eleven digits
            moment = dated_in_any_language(value)
            if moment is None:
                return None
            date_only = not _TIME_OF_DAY.search(value)  # "November 19, 2019"
        else:
            date_only = False
    else:
        date_only = len(value) <= 10 or not any(c in value[8:] for c in "T :")  # "2026-11-20", "20261120"
    if zone and moment.tzinfo is None:
        moment = moment.replace(tzinfo=_NEWSROOM_ZONES[zone.group().strip()])
    iso = utc_iso(moment)
    if not iso or iso < EARLIEST_PUBLICATION or iso.startswith(_EPOCH) or moment.replace(tzinfo=None) == _EPOCH_WALL:
        return None  # a CMS's stand-in for no time: year 1 ("0001-01-01T00:00:00Z"), the epoch's first second
    return Published(iso, date_only, moment.tzinfo is not None)


# Languages written in one time zone only (Korean, Japanese; Chinese at +08:00 wherever it is a
# newsroom's language): a page in one of them that writes a time without its zone means its own.
LANGUAGE_ZONES = {"ko": dt.timezone(dt.timedelta(hours=9)), "ja": dt.timezone(dt.timedelta(hours=9)),
                  "zh": dt.timezone(dt.timedelta(hours=8))}


def in_language_zone(published: Published | None, language: str | None) -> Published | None:
    """A time of day read without a zone (as UTC), read in the zone of the page's language where
    that language has one (LANGUAGE_ZONES); any other time as it is."""
    zone = LANGUAGE_ZONES.get(language or "")
    if published is None or zone is None or published.zoned or published.date_only:
        return published
    wall = parse_time(published.time).replace(tzinfo=zone)  # the clock as the page wrote it
    return Published(utc_iso(wall) or published.time, False, True)


def dated_in_any_language(value: str) -> dt.datetime | None:
    """A date written with the day and month names of one of DATE_LANGUAGES (dateparser, which
    trafilatura's htmldate brings), with its zone; naive means UTC. Only a text that names a year:
    "yesterday" or "3 hours ago" depend on when they were read, and are no publication time."""
    if not _YEAR.search(value) and not _DOTTED_DATE.search(value):  # "27.04.24": a year of two digits
        return None
    import dateparser  # about 0.1 s, and only for dates the standard forms do not read

    try:
        # with its offset where the text names a zone ("EST", "-0300"); naive where it names none
        order = {"DATE_ORDER": "DMY"} if _DOTTED_DATE.search(value) else {}
        return dateparser.parse(value, languages=DATE_LANGUAGES, settings={"PREFER_DATES_FROM": "past", **order})
    except (ValueError, OverflowError, TypeError):
        return None
