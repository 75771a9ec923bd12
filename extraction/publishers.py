"""Publisher parsers: for a page of a publisher that Fundus (flairNLP/fundus) covers, the
fields its hand-written parser for that publisher gives. They are exact where they apply (the
headline as published, the people of the byline, the body by section, nothing else), and
several times faster than the generic path. Every other page, and any page a parser fails on
or finds no body in, goes the generic way (extraction.page).

A publisher changes its markup over the years, so Fundus keeps a parser per period: the one
valid when the page was fetched (or archived) is used.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import urllib.parse
from typing import Any, NamedTuple

from trafilatura.utils import decode_file

from newsbeam.extraction.text import normalize_text


class PublisherArticle(NamedTuple):
    extractor: str  # "fundus:<publisher>"
    publisher: str  # the publisher's name as it appears on its site
    title: str
    authors: tuple[str, ...]
    text: str
    published: dt.datetime | None
    topics: tuple[str, ...]


def publisher_of(url: str) -> Any | None:
    """The Fundus publisher whose site the URL is on (its domain, a former domain, or the host
    of its feeds and sitemaps; `www.` and subdomains of those included), or None."""
    host = _host(url)
    publishers = _publishers_by_host()
    while host.count(".") >= 1:
        if host in publishers:
            return publishers[host]
        host = host.split(".", 1)[1]
    return None


def parse_with_publisher(html: bytes | str, url: str, fetched: dt.datetime | None = None) -> PublisherArticle | None:
    """The fields of the page by its publisher's own parser (the version valid at `fetched`,
    the newest when no time is given), or None when no parser covers the page's site or the
    parser finds no headline and body. A parser that raises is a parser that found nothing."""
    publisher = publisher_of(url)
    if publisher is None:
        return None
    if isinstance(html, bytes):
        html = decode_file(html)  # as the generic path decodes it: the page's charset, not UTF-8 alone
    if _stalls_fundus_json(html):
        logging.getLogger(__name__).info("%s: a script Fundus would take minutes to read: the generic path reads it",
                                         url)
        return None
    try:
        fields = _parser(publisher, fetched).parse(html, "suppress")
    except Exception as exc:  # the generic path reads the page instead
        logging.getLogger(__name__).debug("publisher parser %s failed on %s: %r", publisher.__name__, url, exc)
        return None
    title = normalize_text(str(fields.get("title") or ""))
    body = fields.get("body")
    text = normalize_text(str(body)) if body else ""
    if not title or not text:
        return None
    published = fields.get("publishing_date")
    return PublisherArticle(
        extractor=f"fundus:{publisher.__name__}", publisher=publisher.name, title=title,
        authors=tuple(dict.fromkeys(" ".join(str(a).split()) for a in fields.get("authors") or () if str(a).strip())),
        text=text, published=published if isinstance(published, dt.datetime) else None,
        topics=tuple(str(t) for t in fields.get("topics") or ()))


# Fundus finds the JSON in a script with the pattern `{[\s\S]*}` (fundus.parser.utility): for
# each '{' after the script's last '}' it scans to the script's end and back, so a script of
# '{' without '}' costs its length squared (64 KB: 19 s, 1 MB: minutes). Past this many steps
# the page goes the generic way, which reads it in seconds.
_FUNDUS_JSON_STEPS = 20_000_000
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)(?:</script\s*>|$)", re.I | re.S)  # an unclosed one runs to the end


def _stalls_fundus_json(html: str) -> bool:
    """Would Fundus's JSON pattern take more than _FUNDUS_JSON_STEPS on a script of the page?"""
    for script in _SCRIPT.finditer(html):
        body = script.group(1)
        unmatched = body.count("{", body.rfind("}") + 1)
        if unmatched * len(body) > _FUNDUS_JSON_STEPS:
            return True
    return False


def _parser(publisher: Any, fetched: dt.datetime | None) -> Any:
    """The publisher's parser valid at `fetched`; the newest for a time after the newest's
    period (Fundus knows no parser for the future) or for no time."""
    if fetched is not None:
        try:
            return publisher.parser(fetched)
        except ValueError:
            pass
    return publisher.parser()


@functools.cache
def _publishers_by_host() -> dict[str, Any]:
    """Fundus's publishers by host, once per process (importing Fundus takes about half a
    second: only when a page needs it)."""
    from fundus import PublisherCollection
    from fundus.logging import loggers

    # Fundus sets its loggers to DEBUG: a parse's notes ("couldn't parse attribute 'images'")
    # would reach every handler of the process. What newsbeam needs of a failure it sees itself.
    for logger in loggers.values():
        logger.setLevel(logging.WARNING)

    own: dict[str, Any] = {}
    served: dict[str, set[Any]] = {}
    for publisher in PublisherCollection:
        for address in [publisher.domain, *publisher.deprecated_domains]:
            own.setdefault(_host(address), publisher)
        for group in publisher.source_mapping.values():
            for source in group:
                served.setdefault(_host(source.url), set()).add(publisher)
    # A feed or sitemap host names its publisher only when it serves no other and is not a
    # feed service's (their feeds link to the publisher's own pages, never to themselves).
    return {**{host: next(iter(p)) for host, p in served.items()
               if len(p) == 1 and host and not host.endswith(_FEED_SERVICES)}, **own}


_FEED_SERVICES = ("feedburner.com", "follow.it", "feedproxy.google.com", "rss.app")


def _host(address: str) -> str:
    return (urllib.parse.urlsplit(address if "//" in address else f"//{address}").hostname or "").removeprefix("www.")
