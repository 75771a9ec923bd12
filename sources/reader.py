"""Reading feeds, without Beam: one pass over some feeds, as a run's ReadFeeds stage makes it
and as a program of the user's own can. Each feed that is due is fetched (concurrently, polite
per host, with conditional GET) and parsed; entries the store already knows are left out; the
page retries that are due join them. A feed that fails is a dead letter, and backed off.

A "feed" may also be a sitemap, a sitemap index or a Google News sitemap (recognised from the
document), or a site's robots.txt (its `Sitemap:` lines). The sitemaps an index or robots.txt
names are fetched in turn, through the same polite fetcher, `max_sitemap_depth` levels deep and
`max_sitemaps` a pass at most (ReaderSettings), each only when its index lists a new lastmod
for it; pages older than the story window are left out.

The reader keeps what it learns of each feed in a `FeedBook` (sources.books): the store's in a
run (validators staged until the pass's output is written, failures and their backoff,
titles), or one in memory; it returns the entries, dead letters and counts of the pass."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from newsbeam.fetching.client import FetchError, HttpClient, Response, read_local_file
from newsbeam.fetching.politeness import HostLedger, PoliteScheduler
from newsbeam.schemas import DeadLetter, FeedEntry, FeedSource, host_of, utc_now
from newsbeam.schemas.text import MAX_URL_CHARS
from newsbeam.sources.books import FeedBook
from newsbeam.sources.feeds import (
    NOT_A_FEED_TYPES,
    ParsedFeed,
    entry_from_payload,
    feed_body_hash,
    max_age_due,
    parse_feed,
    unique_entries,
)
from newsbeam.sources.rules import NO_RULES, Item, RuleSet
from newsbeam.sources.settings import DEFAULTS, ReaderSettings
from newsbeam.sources.sitemaps import (
    Listed,
    is_robots,
    looks_like_sitemap,
    parse_sitemap,
    robots_sitemaps,
    sitemap_entries,
    unpack,
)
from newsbeam.state.database import database_errors

ACCEPT_FEEDS = ("application/rss+xml, application/atom+xml, application/feed+json, "
                "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")

FeedDue = tuple[FeedSource, dict[str, Any]]  # a feed and what the store knows of it


@dataclasses.dataclass
class FeedPass:
    """What one pass over some feeds found."""

    entries: list[FeedEntry]  # new entries (one per URL), then the page retries that are due
    dead_letters: list[DeadLetter]
    counts: collections.Counter


class FeedReader:
    """Reads feeds for one process: `read(feeds)` is one pass over them. `pace_host(host,
    delay)`, when given, takes a request slot every worker shares before each feed request
    (several workers of a run may ask one host); `on_new_entries()` is called when a feed has
    new entries (the article stages can start loading what they need)."""

    def __init__(self, book: FeedBook, http: HttpClient, ledger: HostLedger,
                 own_feeds: Iterable[FeedSource], window_days: float,
                 settings: ReaderSettings = DEFAULTS, rules: RuleSet = NO_RULES,
                 pace_host: Callable[[str, float], None] | None = None,
                 on_new_entries: Callable[[], None] = lambda: None):
        self.book, self.http, self.ledger, self.settings, self.rules = book, http, ledger, settings, rules
        self.window = dt.timedelta(days=window_days)
        self.own_urls = {feed.url for feed in own_feeds}
        self.own_files = {url for url in self.own_urls if url.startswith("file:")}
        self.pace_host, self.on_new_entries = pace_host, on_new_entries
        self.scheduler: PoliteScheduler[FeedDue] = PoliteScheduler(
            self._fetch, lambda due: host_of(due[0].url), ledger, http.settings)

    def close(self) -> None:
        self.scheduler.close()

    def read(self, feeds: Iterable[FeedSource], owns_retry: Callable[[str], bool] = lambda url: True) -> FeedPass:
        """One pass: the feeds that are due, read; their new entries, one per URL; and the due
        page retries whose URL `owns_retry` accepts (a shard's own)."""
        now, due, counts = utc_now(), [], collections.Counter[str]()
        for source in feeds:
            state = self.book.state(source.url)
            if state["next_due"] and state["next_due"] > now:
                counts["feeds_not_due"] += 1
            else:
                due.append((source, state))
        entries: list[FeedEntry] = []
        letters: list[DeadLetter] = []
        for depth in range(self.settings.max_sitemap_depth + 1):
            due = self._read_all(due, entries, letters, counts)  # what comes back: sitemaps they list
            if not due:
                break
            if depth == self.settings.max_sitemap_depth:
                counts["sitemaps_too_deep"] += len(due)
        # a page two feeds list is one page: fetched, filed and failed once (the first feed's entry)
        unique = list({entry.url: entry for entry in reversed(entries)}.values())[::-1]
        if len(unique) < len(entries):
            counts["entries_listed_twice"] += len(entries) - len(unique)
            counts["articles_new"] -= len(entries) - len(unique)
        retries = [entry_from_payload(letter.payload) for stage in DeadLetter.PAGE_STAGES
                   for letter in self.book.due_retries(stage) if letter.payload and owns_retry(letter.url)]
        counts["retries_due"] += len(retries)
        # pages filed before, looked at again for edits their feeds do not announce
        since = (dt.datetime.now(dt.UTC) - self.window).isoformat(timespec="seconds")
        listed = {entry.url for entry in [*unique, *retries]}
        rechecks = [entry for entry in self.book.due_rechecks(now, since, self.settings.rechecks_per_pass)
                    if entry.url not in listed and owns_retry(entry.url)]
        if rechecks:
            counts["rechecks_due"] += len(rechecks)
        return FeedPass(unique + retries + rechecks, letters, counts)

    def _read_all(self, due: list[FeedDue], entries: list[FeedEntry], letters: list[DeadLetter],
                  counts: collections.Counter) -> list[FeedDue]:
        """Fetch and read these feeds; returns the sitemaps they list that are to be read next."""
        listed: list[FeedDue] = []
        for (source, state), outcome in self.scheduler.run(due):
            if isinstance(outcome, BaseException):
                error = outcome if isinstance(outcome, FetchError) else FetchError(
                    f"internal error: {type(outcome).__name__}: {outcome}")
                if error.deferred:  # never asked for (the run is stopping): due at the next pass
                    counts[self._count_of(source, "deferred")] += 1
                    continue
                if error.final and source.url not in self.own_urls:
                    # A sitemap a server listed, at an address the policy refuses: final, and
                    # no feed of the user's (not counted, not in the feeds' health).
                    counts["sitemaps_refused"] += 1
                    letters.append(DeadLetter(url=source.url, stage="feed_fetch", reason=error.reason,
                                              status=error.status, at=utc_now(), final=True))
                    continue
                counts[self._count_of(source, "failed")] += 1
                next_due = self.book.failed(source.url, error.not_before, error.status, error.reason)
                letters.append(DeadLetter(
                    url=source.url, stage="feed_fetch", reason=error.reason, status=error.status,
                    at=utc_now(), retry_after=error.not_before, next_due=next_due))
            else:
                try:
                    listed += self._read_feed(source, state, outcome, entries, letters, counts)
                except database_errors():
                    raise  # the store failed: the run cannot go on
                except Exception as exc:  # one bad feed must never stop the pass
                    counts[self._count_of(source, "failed")] += 1
                    letters.append(DeadLetter(url=source.url, stage="feed_parse", at=utc_now(),
                                              reason=f"feed could not be read: {type(exc).__name__}: {exc}"[:500]))
        budget = self.settings.max_sitemaps - counts["sitemaps_read"]
        counts["sitemaps_over_the_limit"] += max(0, len(listed) - budget)
        counts["sitemaps_read"] += min(len(listed), budget)
        return listed[:max(budget, 0)]

    def _count_of(self, source: FeedSource, outcome: str) -> str:
        """The counter of a feed's outcome: `feeds_*` for a feed of the user's, `sitemaps_*` for a
        sitemap one of them listed, so that the feeds listed add up (fetched, not modified, not
        due, failed)."""
        return f"{'feeds' if source.url in self.own_urls else 'sitemaps'}_{outcome}"

    def _fetch(self, due: FeedDue) -> Response:
        """Runs on a fetch thread."""
        source, state = due
        if source.url.startswith("file:"):
            if source.url not in self.own_files:  # never a URL a server named (see _to_read)
                raise FetchError("a local file is read only when the feeds file lists it")
            return read_local_file(source.url, self.http.settings.max_feed_bytes)
        if self.pace_host is not None:  # other workers may be asking the host for pages: share its pace
            host = host_of(source.url)
            self.pace_host(host, self.scheduler.delay_for(host))
        headers = {"Accept": ACCEPT_FEEDS}
        own = source.headers_for(source.url)  # the feed's credentials, cookies, user agent
        if is_robots(source.url):  # read whole every time: the sitemaps it names are polled in turn
            return self.http.get(source.url, max_bytes=self.http.settings.max_feed_bytes, headers=headers,
                                 own_headers=own)
        if state["etag"]:
            headers["If-None-Match"] = state["etag"]
        if state["last_modified"]:
            headers["If-Modified-Since"] = state["last_modified"]
        response = self.http.get(source.url, max_bytes=self.http.settings.max_feed_bytes, headers=headers,
                                 own_headers=own)
        if response.status != 304:
            if not response.body.strip():
                raise FetchError("empty response", response.status)
            if response.content_type and response.content_type.startswith(NOT_A_FEED_TYPES):
                raise FetchError(f"not a feed (Content-Type {response.content_type})", response.status)
        return response

    def _read_feed(self, source: FeedSource, state: dict[str, Any], response: Response, entries: list[FeedEntry],
                   letters: list[DeadLetter], counts: collections.Counter) -> list[FeedDue]:
        """A fetched feed: its validators staged, its new entries added to `entries`; returns
        the sitemaps it lists that are to be read (for a sitemap index or a robots.txt)."""
        feeds = self.book
        due = max_age_due(response.headers, utc_now(), self.settings.max_feed_interval_s)
        if source.every_s:  # the user's least time between two polls of this feed
            every = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=source.every_s)).isoformat(timespec="seconds")
            due = max(due or every, every)
        feeds.fetched(source.url, due, response.status)
        if response.url != source.url and not is_robots(source.url):  # it followed a redirect: the feed moved
            counts[self._count_of(source, "moved")] += 1
            feeds.unreadable(source.url, f"moved: it answers from {response.url[:300]} (update the feeds file)")
        feeds.resolve(source.url, ("feed_fetch",))
        if state.get("listed"):
            feeds.listed(source.url, state["listed"])  # the lastmod its index gave it: read
        digest = feed_body_hash(response.body) if response.status != 304 else None
        if digest is None or (digest == state["body_hash"] and not is_robots(source.url)):
            counts[self._count_of(source, "not_modified")] += 1  # a 304, or unchanged though the server did not say
            return []
        feeds.stage_validators(source.url, response.headers.get("etag"), response.headers.get("last-modified"), digest)
        children: list[Listed] = []
        try:
            parsed, children = self._parse(source, response, counts)
        except Exception as exc:  # feedparser is robust, but a dead letter beats a failed run
            parsed = ParsedFeed([], f"feed parser failed: {type(exc).__name__}: {exc}", None, None)
        feeds.titled(source.url, parsed.title)
        if parsed.interval_s:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=parsed.interval_s)
            feeds.defer(source.url, until.isoformat(timespec="seconds"))
        counts["entries_unusable"] += parsed.unusable_links
        if parsed.problem:
            counts[self._count_of(source, "failed")] += 1
            feeds.unreadable(source.url, parsed.problem)
            feeds.stage_entries(source.url, [])  # nothing in flight to wait for
            letters.append(DeadLetter(url=source.url, stage="feed_parse", reason=parsed.problem, at=utc_now()))
            return []
        feeds.resolve(source.url, ("feed_parse",))
        counts[self._count_of(source, "fetched")] += 1  # fetched and read: each feed listed is counted once
        unique, dropped = unique_entries(parsed.entries, self.settings.max_entries_per_feed)
        counts["entries_dropped"] += dropped
        counts["entries_seen"] += len(unique)
        known = feeds.known_articles(entry.url for entry in unique)
        # new, or updated in place since it was filed (when both times are known: a page filed
        # from an archive has none)
        new = [entry for entry in unique if entry.url not in known
               or (entry.updated and known[entry.url] and entry.updated != known[entry.url])]
        new = self._by_the_rules(new, counts)
        counts["articles_new"] += len(new)
        if new:  # the article stages will run: what they load can load while the feeds are read
            self.on_new_entries()
        feeds.stage_entries(source.url, [entry.url for entry in new])
        entries.extend(new)
        return self._to_read(source, children, counts)

    def _by_the_rules(self, entries: list[FeedEntry], counts: collections.Counter) -> list[FeedEntry]:
        """The entries the user's rules keep, from what the feed says of them; the others are
        dropped (remembered as seen, with the rule) before any request for their page."""
        if not self.rules:
            return entries
        kept, dropped = self.rules.split(entries, Item.of_entry, lambda entry: entry.feed_url)
        if dropped:
            self.book.drop(dropped)
            counts["entries_dropped_by_rules"] += len(dropped)
        return kept

    def _parse(self, source: FeedSource, response: Response, counts: collections.Counter
               ) -> tuple[ParsedFeed, list[Listed]]:
        """A feed, a sitemap (or index), or a robots.txt: its entries, and the sitemaps it lists."""
        if is_robots(source.url):
            return ParsedFeed([], None, None, None), robots_sitemaps(response.body, response.url).sitemaps
        body = unpack(response.body, self.http.settings.max_feed_bytes)
        if looks_like_sitemap(body):
            sitemap = parse_sitemap(body)
            if sitemap is None:
                return ParsedFeed([], "not a valid sitemap", None, None), []
            oldest = (dt.datetime.now(dt.UTC) - self.window).isoformat(timespec="seconds")
            found, too_old = sitemap_entries(sitemap, source, oldest)
            counts["entries_older_than_the_window"] += too_old
            problem = None if found or too_old or sitemap.sitemaps else "sitemap lists no page"
            return ParsedFeed(found, problem, None, None), sitemap.sitemaps
        return parse_feed(response.body, response.url, response.content_type, source, self.settings), []

    def _to_read(self, source: FeedSource, children: list[Listed], counts: collections.Counter) -> list[FeedDue]:
        """The listed sitemaps whose lastmod changed since they were read (or that give none).
        Only web addresses: a sitemap index or a robots.txt that names a `file:` (or any other)
        URL is a server's document pointing into the machine that reads it."""
        due = []
        for child in children:
            if urllib.parse.urlsplit(child.url).scheme.lower() not in ("http", "https") or \
                    len(child.url) > MAX_URL_CHARS:
                counts["sitemaps_not_on_the_web"] += 1
                continue
            state = self.book.state(child.url)
            if child.lastmod and state.get("listed_lastmod") == child.lastmod:
                continue  # unchanged since it was read: no request
            # the feed's own headers stay with its host: a sitemap elsewhere gets none
            own = tuple(source.headers_for(child.url).items())
            listed = dataclasses.replace(source, url=child.url, own_headers=own)
            due.append((listed, {**state, "listed": child.lastmod}))
        return due
