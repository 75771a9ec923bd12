"""Feeds: fetch each subscription (conditionally), parse it, and emit the entries not yet seen."""

from __future__ import annotations

import calendar
import collections
import datetime as dt
import hashlib
import html
import json
import os
import re
import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import courlan
import feedparser

from schemas import Batch, DeadLetter, FeedEntry, FeedSource, FetchedFeed, Shard, host_of
from state import settings
from state.settings import RunOptions
from state.store import StoreFn, parse_time, utc_now
from transforms.http import (
    ConcurrentFetchFn,
    FetchError,
    Response,
    read_local_file,
)

# Elements that change on every request without the feed's content changing; left out of the
# body hash so that a server which ignores conditional GET is still caught as "unchanged".
_VOLATILE = re.compile(
    rb"<(lastBuildDate|pubDate|updated|dc:date|sy:updateBase)>[^<]*</\1>"
    rb"|<(channel|feed)\b[^>]*>\s*<(generator)\b[^>]*>[^<]*</\3>", re.I)


def feed_body_hash(body: bytes) -> str:
    # Only the channel-level stamps before the first item/entry are volatile; item dates are
    # content (an updated item must count as a change).
    first_item = min((i for i in (body.find(b"<item"), body.find(b"<entry")) if i >= 0), default=len(body))
    head = _VOLATILE.sub(b"", body[:first_item])
    return hashlib.sha256(head + body[first_item:]).hexdigest()


# Tracking parameters that courlan's list lacks and German and French news sites use
# (Webtrekk's wt_*, AT Internet's at_*).
_EXTRA_TRACKERS = re.compile(r"^(?:wt|at|xtor|cmp)(?:_|$)", re.I)


def canonical_url(url: str) -> str | None:
    """The URL an article is known by: tracking parameters off, scheme and host normalized,
    fragment dropped. None when it is not a usable http(s) URL."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    query = urllib.parse.urlencode(
        [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
         if not _EXTRA_TRACKERS.match(k)])
    normalized = courlan.normalize_url(parts._replace(query=query, fragment=""))
    return normalized.split("#", 1)[0]


def to_utc(struct: time.struct_time | None) -> str | None:
    """feedparser's parsed dates are UTC struct_times."""
    if not struct:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return None


_TAG = re.compile(r"<[^>]+>")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, a line per block. Line breaks in the source are only
    whitespace to HTML: a paragraph wrapped over several source lines stays one line. (Plain
    text, without tags, keeps its line breaks.)"""
    if _TAG.search(fragment):
        fragment = re.sub(r"\s+", " ", fragment)
    text = _TAG.sub(" ", re.sub(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", fragment))
    lines = (" ".join(html.unescape(line).split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def parse_feed(fetched: FetchedFeed) -> tuple[list[FeedEntry], str | None, int | None]:
    """Entries of a fetched feed, the problem when there are none, and the polling interval
    the feed asks for (seconds), if any.

    feedparser is given the bytes (it never fetches) and the URL, so relative links resolve.
    A feed with a recoverable problem (`bozo`) still yields its entries.
    """
    parsed = feedparser.parse(
        fetched.body,
        response_headers={"content-location": fetched.url,
                          **({"content-type": fetched.content_type} if fetched.content_type else {})},
        resolve_relative_uris=True, sanitize_html=True)
    source = fetched.source
    feed_language = source.language or _language_code(parsed.feed.get("language"))
    entries = []
    for item in parsed.entries:
        link = item.get("link") or _first_alternate(item)
        url = canonical_url(link) if link else None
        if not url:
            continue
        content = html_to_text(max((c.get("value", "") for c in item.get("content") or []), key=len, default=""))
        summary = content or html_to_text(item.get("summary", ""))
        entries.append(FeedEntry(
            url=url,
            link=link,
            feed_url=source.url,
            feed_name=source.name or parsed.feed.get("title"),
            title=" ".join(html_to_text(item.get("title", "")).split()),
            summary=summary,
            published=to_utc(item.get("published_parsed") or dict.get(item, "updated_parsed")),
            # dict.get: feedparser's own get() answers "updated" with the published date
            updated=to_utc(dict.get(item, "updated_parsed")),
            language=_language_code(item.get("language")) or feed_language,
            authors=tuple(a["name"] for a in item.get("authors", []) if a.get("name")),
            tags=tuple(t["term"] for t in item.get("tags", []) if t.get("term")),
            full_text=source.fetch_pages == "auto" and len(content) >= settings.FEED_FULL_TEXT_MIN_CHARS,
        ))
    interval = feed_interval_s(parsed.feed)
    if entries:
        return entries, None, interval
    if parsed.bozo:
        problem = getattr(parsed.bozo_exception, "getMessage", lambda: str(parsed.bozo_exception))()
        return [], f"not a valid feed: {problem}", None
    if not parsed.version:
        return [], "not a feed (no RSS, Atom or JSON feed found)", None
    return [], "feed has no entries with a link", interval


def _first_alternate(item: Any) -> str | None:
    for link in item.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _language_code(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) < 2 or not value[:2].isalpha():
        return None
    return value[:2].lower()


def max_age_due(headers: dict[str, str], now: str) -> str | None:
    """The time before which the server says the feed will not change (Cache-Control max-age),
    capped: a server cannot stop newsbeam from looking for a whole week."""
    match = re.search(r"max-age\s*=\s*(\d+)", headers.get("cache-control", ""))
    if not match:
        return None
    seconds = min(int(match.group(1)), settings.MAX_FEED_INTERVAL_S)
    return (parse_time(now) + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


def feed_interval_s(feed: Any) -> int | None:
    """How often the feed says it changes: RSS <ttl> (minutes) or sy:updatePeriod/Frequency."""
    ttl = str(feed.get("ttl", "")).strip()
    if ttl.isdigit():
        return min(int(ttl) * 60, settings.MAX_FEED_INTERVAL_S)
    period = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}.get(
        str(feed.get("sy_updateperiod", "")).strip().lower())
    if period:
        frequency = str(feed.get("sy_updatefrequency", "1")).strip()
        return min(period // max(int(frequency) if frequency.isdigit() else 1, 1), settings.MAX_FEED_INTERVAL_S)
    return None


NOT_A_FEED_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip")


def entry_payload(entry: FeedEntry) -> str:
    """The feed entry as JSON, kept in a dead letter so the page can be retried later even if
    the entry has left the feed by then."""
    return json.dumps(entry.to_dict(), ensure_ascii=False)


def entry_from_payload(payload: str) -> FeedEntry:
    fields = json.loads(payload)
    for name in ("authors", "tags"):
        fields[name] = tuple(fields.get(name) or ())
    return FeedEntry(**fields)


class ReadFeedsFn(ConcurrentFetchFn, StoreFn):
    """A Shard -> one Batch of FeedEntry: the new entries of its feeds that are due and
    changed (fetched concurrently, polite per host, with conditional GET), and its page
    retries that are due. Failures become dead letters in the batch."""

    def __init__(self, options: RunOptions):
        ConcurrentFetchFn.__init__(self, options)
        StoreFn.__init__(self, options.store)

    def setup(self) -> None:
        ConcurrentFetchFn.setup(self)
        StoreFn.setup(self)

    def teardown(self) -> None:
        ConcurrentFetchFn.teardown(self)
        StoreFn.teardown(self)

    def process(self, shard: Shard) -> Iterator[Batch]:
        now, due, counts = utc_now(), [], collections.Counter()
        for source in shard.feeds:
            state = self.store.feed_state(source.url)
            if state["next_due"] and state["next_due"] > now:
                counts["feeds_not_due"] += 1
            else:
                due.append((source, state))
        entries: list[FeedEntry] = []
        letters: list[DeadLetter] = []
        for (source, state), outcome in self.fetch_all(due):
            if isinstance(outcome, FetchError):
                counts["feeds_failed"] += 1
                next_due = self.store.feed_failed(source.url, outcome.retry_after)
                letters.append(DeadLetter(
                    url=source.url, stage="feed_fetch", reason=outcome.reason, status=outcome.status,
                    at=utc_now(), retry_after=outcome.retry_after, next_due=next_due))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                self._read_feed(source, state, outcome, entries, letters, counts)
        retries = [entry_from_payload(letter.payload) for stage in ("page_fetch", "extract")
                   for letter in self.store.due_dead_letters(stage) if letter.payload and shard.owns(letter.url)]
        counts["retries_due"] += len(retries)
        counts[f"worker {socket.gethostname()}:{os.getpid()}"] += 1  # which workers did the work
        yield Batch(entries=tuple(entries + retries), dead_letters=tuple(letters), counts=tuple(counts.items()),
                    rewrite=tuple(self.store.pending_stories()) if shard.rewrite_pending else ())

    def host_of_item(self, pair: tuple[FeedSource, dict[str, Any]]) -> str:
        return host_of(pair[0].url)

    def fetch(self, pair: tuple[FeedSource, dict[str, Any]]) -> Response:
        source, state = pair
        if source.url.startswith("file:"):
            return read_local_file(source.url, settings.MAX_FEED_BYTES)
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                             "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"}
        if state["etag"]:
            headers["If-None-Match"] = state["etag"]
        if state["last_modified"]:
            headers["If-Modified-Since"] = state["last_modified"]
        response = self.http.get(source.url, max_bytes=settings.MAX_FEED_BYTES, headers=headers)
        if response.status != 304:
            if not response.body.strip():
                raise FetchError("empty response", response.status)
            if response.content_type and response.content_type.startswith(NOT_A_FEED_TYPES):
                raise FetchError(f"not a feed (Content-Type {response.content_type})", response.status)
        return response

    def _read_feed(self, source: FeedSource, state: dict[str, Any], response: Response, entries: list[FeedEntry],
                   letters: list[DeadLetter], counts: collections.Counter) -> None:
        """A fetched feed: its validators staged, its new entries added to `entries`."""
        self.store.feed_fetched(source.url, max_age_due(response.headers, utc_now()))
        self.store.resolve_dead_letters(source.url, ("feed_fetch",))
        digest = feed_body_hash(response.body) if response.status != 304 else None
        if digest is None or digest == state["body_hash"]:
            counts["feeds_not_modified"] += 1  # a 304, or unchanged although the server did not say so
            return
        counts["feeds_fetched"] += 1
        self.store.stage_feed_validators(
            source.url, response.headers.get("etag"), response.headers.get("last-modified"), digest)
        fetched = FetchedFeed(source=source, url=response.url, body=response.body, content_type=response.content_type)
        try:
            found, problem, interval = parse_feed(fetched)
        except Exception as exc:  # feedparser is robust, but a dead letter beats a failed run
            found, problem, interval = [], f"feed parser failed: {type(exc).__name__}: {exc}", None
        if interval:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=interval)
            self.store.defer_feed(source.url, until.isoformat(timespec="seconds"))
        if problem:
            counts["feeds_failed"] += 1
            self.store.stage_feed_entries(source.url, [])  # nothing in flight to wait for
            letters.append(DeadLetter(url=source.url, stage="feed_parse", reason=problem, at=utc_now()))
            return
        self.store.resolve_dead_letters(source.url, ("feed_parse",))
        unique = {entry.url: entry for entry in reversed(found)}  # first occurrence wins
        if len(unique) > settings.MAX_ENTRIES_PER_FEED:
            counts["entries_dropped"] += len(unique) - settings.MAX_ENTRIES_PER_FEED
            unique = dict(list(reversed(unique.items()))[:settings.MAX_ENTRIES_PER_FEED])
        counts["entries_seen"] += len(unique)
        known = self.store.known_articles(unique)
        new = [entry for url, entry in unique.items()
               if url not in known or (entry.updated is not None and entry.updated != known[url])]
        counts["articles_new"] += len(new)
        self.store.stage_feed_entries(source.url, [entry.url for entry in new])
        entries.extend(new)


class ReadFeeds(beam.PTransform):
    """Shards -> Batches of new FeedEntry (one per shard), with the dead letters of the feeds."""

    def __init__(self, options: RunOptions):
        super().__init__()
        self.options = options

    def expand(self, shards):
        return shards | "FetchAndParse" >> beam.ParDo(ReadFeedsFn(self.options))
