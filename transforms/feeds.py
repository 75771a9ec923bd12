"""Feeds: fetch each subscription (conditionally), parse it, and emit the entries not yet seen."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import html
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import courlan
import feedparser
from apache_beam.metrics import Metrics

from pipeline import settings
from pipeline.store import open_store, parse_time, utc_now
from schemas import DeadLetter, FeedEntry, FeedSource, FetchedFeed
from transforms.http import ConcurrentFetchFn, FetchError, FetchOptions, Response, host_of, read_local_file

DEAD_LETTER = "dead_letter"

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


class FetchFeedsFn(ConcurrentFetchFn):
    """A list of FeedSource -> FetchedFeed for each feed that is due and changed; fetched
    concurrently, polite per host."""

    def __init__(self, store_url: str, fetch: FetchOptions):
        super().__init__(fetch)
        self.store_url = store_url
        self.fetched = Metrics.counter("newsbeam", "feeds_fetched")
        self.not_modified = Metrics.counter("newsbeam", "feeds_not_modified")
        self.not_due = Metrics.counter("newsbeam", "feeds_not_due")
        self.failed = Metrics.counter("newsbeam", "feeds_failed")

    def setup(self) -> None:
        super().setup()
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        super().teardown()
        self.store.close()

    def process(self, sources: list[FeedSource]) -> Iterator[Any]:
        now, due = utc_now(), []
        for source in sources:
            state = self.store.feed_state(source.url)
            if state["next_due"] and state["next_due"] > now:
                self.not_due.inc()
            else:
                due.append((source, state))
        yield from super().process(due)

    def host_of_item(self, pair: tuple[FeedSource, dict[str, Any]]) -> str:
        return host_of(pair[0].url)

    def outputs(self, pair: tuple[FeedSource, dict[str, Any]], outcome: Response | BaseException) -> Iterator[Any]:
        source, state = pair
        if isinstance(outcome, FetchError):
            self.failed.inc()
            next_due = self.store.feed_failed(source.url, outcome.retry_after)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, DeadLetter(
                url=source.url, stage="feed_fetch", reason=outcome.reason, status=outcome.status,
                at=utc_now(), retry_after=outcome.retry_after, next_due=next_due))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            yield from self._after_fetch(source, state, outcome)

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

    def _after_fetch(self, source: FeedSource, state: dict[str, Any], response: Response) -> Iterator[Any]:
        self.store.feed_fetched(source.url, max_age_due(response.headers, utc_now()))
        self.store.resolve_dead_letters(source.url, ("feed_fetch",))
        if response.status == 304:
            self.not_modified.inc()
            return
        digest = feed_body_hash(response.body)
        if digest == state["body_hash"]:
            self.not_modified.inc()  # the server did not say so, but nothing changed
            return
        self.fetched.inc()
        self.store.stage_feed_validators(
            source.url, response.headers.get("etag"), response.headers.get("last-modified"), digest)
        yield FetchedFeed(source=source, url=response.url, body=response.body,
                          content_type=response.content_type, etag=response.headers.get("etag"),
                          last_modified=response.headers.get("last-modified"), body_hash=digest)


class ParseEntriesFn(beam.DoFn):
    """Parse a feed and emit, as one list, its entries that the store has not ingested yet (or
    that the feed says were updated since)."""

    def __init__(self, store_url: str):
        self.store_url = store_url
        self.entries_seen = Metrics.counter("newsbeam", "entries_seen")
        self.articles_new = Metrics.counter("newsbeam", "articles_new")
        self.failed = Metrics.counter("newsbeam", "feeds_failed")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, fetched: FetchedFeed) -> Iterator[Any]:
        try:
            entries, problem, interval = parse_feed(fetched)
        except Exception as exc:  # feedparser is robust, but a dead letter beats a failed run
            entries, problem, interval = [], f"feed parser failed: {type(exc).__name__}: {exc}", None
        if interval:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=interval)
            self.store.defer_feed(fetched.source.url, until.isoformat(timespec="seconds"))
        if problem:
            self.failed.inc()
            self.store.stage_feed_entries(fetched.source.url, [])  # nothing in flight to wait for
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, DeadLetter(
                url=fetched.source.url, stage="feed_parse", reason=problem, at=utc_now()))
            return
        self.store.resolve_dead_letters(fetched.source.url, ("feed_parse",))
        unique = {entry.url: entry for entry in reversed(entries)}  # first occurrence wins
        self.entries_seen.inc(len(unique))
        known = self.store.known_articles(unique)
        new = [entry for url, entry in unique.items()
               if url not in known or (entry.updated is not None and entry.updated != known[url])]
        self.articles_new.inc(len(new))
        self.store.stage_feed_entries(fetched.source.url, [entry.url for entry in new])
        if new:
            yield new


class ReadFeeds(beam.PTransform):
    """Lists of FeedSource -> lists of new FeedEntry (one per feed), and the PCollections of
    dead letters of its steps."""

    def __init__(self, store_url: str, fetch: FetchOptions):
        super().__init__()
        self.store_url = store_url
        self.fetch = fetch

    def expand(self, sources):
        fetched = sources | "FetchFeeds" >> beam.ParDo(
            FetchFeedsFn(self.store_url, self.fetch)).with_outputs(DEAD_LETTER, main="feeds")
        parsed = fetched.feeds | "ParseEntries" >> beam.ParDo(
            ParseEntriesFn(self.store_url)).with_outputs(DEAD_LETTER, main="entries")
        # Dead letters of each step, not flattened: see Ingest for why.
        return parsed.entries, [fetched[DEAD_LETTER], parsed[DEAD_LETTER]]
