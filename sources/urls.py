"""The URL an article is known by."""

from __future__ import annotations

import re
import urllib.parse

import courlan

from newsbeam.schemas.text import MAX_URL_CHARS

# Tracking parameters that courlan's list lacks and German and French news sites use
# (Webtrekk's wt_*, AT Internet's at_*).
_EXTRA_TRACKERS = re.compile(r"^(?:wt|at|xtor|cmp)(?:_|$)", re.I)


def canonical_url(url: str) -> str | None:
    """The URL an article is known by: tracking parameters off, scheme and host normalized,
    fragment dropped. None when it is not a usable http(s) URL (longer than MAX_URL_CHARS
    too: no server needs one, and no store's index could hold it)."""
    if len(url) > MAX_URL_CHARS:
        return None
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        query = urllib.parse.urlencode(
            [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if not _EXTRA_TRACKERS.match(k)])
        normalized = courlan.normalize_url(parts._replace(query=query, fragment=""))
    except (ValueError, UnicodeError):  # what a hostile link makes the URL libraries raise
        return None
    normalized = normalized.split("#", 1)[0]
    return normalized if len(normalized) <= MAX_URL_CHARS else None
