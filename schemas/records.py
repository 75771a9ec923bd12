"""The records that flow between newsbeam's steps.

Each field is defined once, here. Records are frozen dataclasses: Beam encodes them with its
default (pickle-based) coder, and `to_dict()` gives the JSON form a sink writes.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
import zlib
from collections.abc import Mapping
from typing import Any

from newsbeam.schemas.text import MAX_TITLE_CHARS, bounded_key, clean_fields, clipped


@dataclasses.dataclass(frozen=True)
class Record:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class FeedSource(Record):
    """One subscription from the user's feeds file."""

    url: str
    name: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    # "auto": an entry whose feed carries the whole article is taken from the feed, and its
    # page is not fetched; "always": fetch every page (for the page's metadata: image, ...).
    fetch_pages: str = "auto"
    # Headers sent with the feed's requests and its pages' on the feed's own host only: a user
    # agent, cookies, an Authorization with its secret (read from a file or the environment).
    # Never shown: not in a repr, a log, a summary or a dead letter.
    own_headers: tuple[tuple[str, str], ...] = dataclasses.field(default=(), repr=False)
    # The least time between two polls of the feed (its own hints may ask for longer).
    every_s: float | None = None
    # How long a story of this feed's items stays open for new variants, when not the run's.
    window_days: float | None = None

    def headers_for(self, url: str) -> dict[str, str]:
        """The feed's own headers, for a request to `url`: on the feed's host, none elsewhere."""
        return dict(self.own_headers) if self.own_headers and host_of(url) == host_of(self.url) else {}


@dataclasses.dataclass(frozen=True)
class FeedEntry(Record):
    """One item of a feed, with its link canonicalized."""

    url: str  # canonical article URL
    link: str  # the link as the feed gave it
    feed_url: str
    feed_name: str | None
    title: str
    summary: str  # plain text of the entry's content or summary, may be empty
    published: str | None  # ISO 8601 UTC
    updated: str | None  # ISO 8601 UTC, the feed's own "updated" stamp
    language: str | None  # declared by the feed or the subscription
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # The line a feed sets before its headlines ("Transfer fix | Iborra zurück nach Spanien"),
    # apart from the headline (sources.furniture).
    kicker: str | None = None
    # The feed's content is the whole article (long enough, and not a mere summary): the
    # article is taken from it and its page is not fetched.
    full_text: bool = False
    # When a web archive captured the page (WARC-Date): the article's time when neither the
    # page nor a feed dates it.
    captured: str | None = None
    # Keep the article only in these languages (an archive's filter); empty: any language.
    languages: tuple[str, ...] = ()
    # A page filed before, looked at again for an edit its feed did not announce: asked with the
    # validators it was fetched with (its ETag, its Last-Modified), so an unchanged page costs a 304.
    recheck: tuple[str | None, str | None] | None = None

    def __post_init__(self) -> None:
        clean_fields(self)
        object.__setattr__(self, "title", clipped(self.title, MAX_TITLE_CHARS))


@dataclasses.dataclass(frozen=True)
class ArchiveSource(Record):
    """WARC files of a web archive to read (`archives:` in the user's feeds file)."""

    pattern: str  # a path, a glob, or a URL of a filesystem Beam knows; relative paths resolved
    hosts: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: str | None = None  # ISO 8601 UTC


@dataclasses.dataclass(frozen=True)
class ArchiveFile(Record):
    """One WARC file of an archive in the feeds file, with the archive's filters."""

    url: str  # a path, or a URL on any filesystem Beam knows (gs://, s3://, ...)
    size: int
    hosts: tuple[str, ...] = ()  # only pages of these hosts and their subdomains
    languages: tuple[str, ...] = ()  # only articles in these languages
    since: str | None = None  # only pages captured at or after this time (ISO 8601 UTC)

    def wants_host(self, host: str) -> bool:
        host = host.lower()
        return not self.hosts or any(host == h or host.endswith("." + h) for h in self.hosts)


@dataclasses.dataclass(frozen=True)
class ArchiveProgress(Record):
    """How far a WARC file is read: the records before `offset`, with the pages and damaged
    records among them since the last progress. It rides with the chunk of pages read up to
    there and is recorded when they are filed."""

    url: str
    size: int
    offset: int
    pages: int = 0
    damaged: int = 0
    finished: bool = False


@dataclasses.dataclass(frozen=True)
class FetchedPage(Record):
    entry: FeedEntry
    url: str  # final URL after redirects
    html: bytes | None  # None when the page could not be fetched
    content_type: str | None
    # the page's validators as its server gave them (ETag, Last-Modified): a recheck asks with them
    etag: str | None = None
    last_modified: str | None = None


@dataclasses.dataclass(frozen=True)
class Article(Record):
    """An extracted, normalized article: one variant of a story."""

    url: str
    feed_url: str
    title: str
    text: str
    language: str | None
    published: str | None
    authors: tuple[str, ...]
    site_name: str | None
    description: str | None
    image: str | None
    tags: tuple[str, ...]
    # "page" when the body was extracted from the article page's markup; "page_script" when
    # the markup held none and the text came from the page's script data (JSON-LD articleBody,
    # __NEXT_DATA__); "feed" when it came from the feed entry: the feed carries the whole
    # article, or the page failed and the feed's text stands in until the page's retry succeeds.
    body_source: str
    entry_updated: str | None = None
    # The agencies, desks and outlets the byline credits (dpa, AP, "Guardian staff", the
    # publisher when that is all it says); people are in `authors`.
    credits: tuple[str, ...] = ()
    # The line a page sets above its headline ("Neue Leipziger Schule", "Exklusiv"), apart from it.
    kicker: str | None = None
    # `published` is only a date (no source gave a time): UTC midnight of it, no time at all.
    published_date_only: bool = False
    # What read the page: "fundus:<publisher>" (its publisher's own parser, extraction.publishers)
    # or "generic" (newsbeam's rules and trafilatura; also a body from the feed).
    extractor: str = "generic"
    # The address the page gives itself (rel=canonical, og:url), where a reader finds it; None
    # when it gives none or the text came from the feed. `url` stays what the feed linked.
    canonical_url: str | None = None
    # The page's validators when it was fetched (ETag, Last-Modified): it is looked at again
    # with them for edits its feed does not announce.
    etag: str | None = None
    last_modified: str | None = None
    # What the page says of itself beside its text: when it was last changed (dateModified,
    # article:modified_time; ISO 8601 UTC), its section, whether it is free to read
    # (isAccessibleForFree; None when it does not say).
    modified: str | None = None
    section: str | None = None
    free: bool | None = None
    # The lead image's caption and who made it, where the page gives them (`image` is its URL).
    image_caption: str | None = None
    image_credit: str | None = None

    def __post_init__(self) -> None:
        clean_fields(self)
        object.__setattr__(self, "title", clipped(self.title, MAX_TITLE_CHARS))
        if self.kicker is not None:
            object.__setattr__(self, "kicker", clipped(self.kicker, MAX_TITLE_CHARS))


@dataclasses.dataclass(frozen=True)
class Variant(Record):
    """One article of a story, with its own normalized fields, and how it relates to the
    story's main variant (the original)."""

    url: str
    title: str
    text: str
    language: str | None
    authors: tuple[str, ...]
    published: str | None
    site_name: str | None
    feed_url: str
    body_source: str
    relation: str  # original, exact, near_duplicate, translation
    credits: tuple[str, ...] = ()
    kicker: str | None = None
    published_date_only: bool = False
    extractor: str = "generic"
    canonical_url: str | None = None
    # Times its publisher edited it in place since it was first filed (state.revisions), and when last
    revisions: int = 0
    revised: str | None = None
    # When the page says it last changed, its section, whether it is free to read
    modified: str | None = None
    section: str | None = None
    free: bool | None = None
    # Its lead image: URL, caption and credit, where the page gives them
    image: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    # The tags (keywords, topics) its page or its feed entry gives
    tags: tuple[str, ...] = ()

    @property
    def link(self) -> str:
        """Where a reader goes to read it: the page's own canonical address on its own site, else
        its URL. A canonical address on another site is only the page's claim (a copy may name
        any original, a hostile page any outlet): the reader is sent where it was fetched."""
        if self.canonical_url and same_site(self.canonical_url, self.url):
            return self.canonical_url
        return self.url


@dataclasses.dataclass(frozen=True)
class Story(Record):
    """One story with all its variants, as the sinks write it (schemas/story.schema.json).
    Its title, text, language, url, published, authors, credits, kicker, site_name, feed_url,
    body_source, extractor and canonical_url are the main variant's: the original, the earliest published."""

    story_id: str
    event_id: str
    title: str
    text: str
    language: str | None
    languages: tuple[str, ...]
    url: str
    published: str | None
    authors: tuple[str, ...]
    site_name: str | None
    feed_url: str
    body_source: str
    first_seen: str
    updated: str
    variants: tuple[Variant, ...]
    credits: tuple[str, ...] = ()
    kicker: str | None = None
    published_date_only: bool = False
    extractor: str = "generic"
    canonical_url: str | None = None
    # Edits in place of all its variants, and when the last was seen
    revisions: int = 0
    revised: str | None = None
    # the original's: when its page says it last changed, its section, free to read or not,
    # and its lead image (URL, caption, credit)
    modified: str | None = None
    section: str | None = None
    free: bool | None = None
    image: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    tags: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DeadLetter(Record):
    """Something that failed: what, where, why. Kept in the store and retried when due."""

    url: str
    stage: str  # feed_fetch, feed_parse, page_fetch, extract, archive
    reason: str
    status: int | None = None  # HTTP status when there was one
    attempts: int = 1
    at: str = ""  # ISO 8601 UTC
    # What is needed to retry (the feed entry for page failures), as JSON text.
    payload: str | None = None
    retry_after: str | None = None  # not retried before this time (the server's Retry-After), ISO 8601 UTC
    next_due: str | None = None  # when the next attempt is made; set by the store
    # The answer cannot change (an address or scheme the policy refuses): never retried.
    final: bool = False

    PAGE_STAGES = ("page_fetch", "extract")

    def __post_init__(self) -> None:
        clean_fields(self)
        object.__setattr__(self, "url", bounded_key(self.url))  # the store's key: (url, stage)

    @property
    def feed_url(self) -> str:
        """The feed it belongs to: itself for a feed, the entry's feed for a page ("" when the
        payload does not say)."""
        if self.stage.startswith("feed"):
            return self.url
        try:
            payload = json.loads(self.payload or "{}")
        except ValueError:
            return ""
        return (payload.get("feed_url") or "") if isinstance(payload, dict) else ""


def shard_of(key: str, count: int) -> int:
    """A stable shard number for a key: the same in every process and run, unlike hash()."""
    return zlib.crc32(key.encode("utf-8")) % count


def host_of(url: str) -> str:
    """scheme://host:port of a URL, lower-cased: the unit of politeness."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # not a URL a client can reach: the fetcher refuses it
        return url.lower()
    return f"{parts.scheme}://{parts.netloc}".lower()


def publication_order(row: Mapping[str, Any]) -> tuple:
    """How a story's variants sort (rows with url, published and published_date_only): the
    earliest published first, a date without a time after the times of its day (it says only
    the day); ties, and articles without a date (after the dated ones), by URL."""
    published = row["published"] or ""
    return (not published, published[:10], bool(row["published_date_only"]), published, row["url"])


def same_site(a: str, b: str) -> bool:
    """Are two URLs on one site: their hosts equal, or one a subdomain of the other (www. aside)?"""
    try:
        first, second = ((urllib.parse.urlsplit(url).hostname or "").removeprefix("www.") for url in (a, b))
    except ValueError:
        return False
    return bool(first and second) and (first == second or first.endswith("." + second)
                                       or second.endswith("." + first))


@dataclasses.dataclass(frozen=True)
class Shard(Record):
    """A share of one pass's work, the unit a worker takes: some of the feeds, and the due
    retries of their hosts. All feeds and retries of one host fall in one shard, so per-host
    politeness holds across workers. Work is spread over workers by creating one shard per
    worker, not by a shuffle (which some runners skip)."""

    index: int
    count: int
    feeds: tuple[FeedSource, ...]
    # The shard of each host that has feeds (the same map in every shard); a retry whose host
    # has none goes by a hash of its host.
    host_shards: tuple[tuple[str, int], ...] = ()
    # The first shard of a run also rewrites the stories a crashed run left unwritten.
    rewrite_pending: bool = False
    # WARC files to read: each whole file in one shard, files spread over the shards by size.
    archives: tuple[ArchiveFile, ...] = ()

    def owns(self, url: str) -> bool:
        """Is a retry of this URL this shard's work?"""
        host = host_of(url)
        owner = dict(self.host_shards).get(host)
        return (owner if owner is not None else shard_of(host, self.count)) == self.index


@dataclasses.dataclass(frozen=True)
class Batch(Record):
    """What flows from step to step. Each step turns one kind of record into the next (entries
    into pages, pages into articles, articles into stories) and passes the rest along, so the
    dead letters and counts of every step ride with the data to the sinks. One chain, no
    tagged outputs and no metrics: every runner runs it the same way."""

    entries: tuple[FeedEntry, ...] = ()
    pages: tuple[FetchedPage, ...] = ()
    articles: tuple[Article, ...] = ()
    stories: tuple[Story, ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()  # (counter, increment): feeds_fetched, pages_failed, ...
    # Stories to write again as they are: a crashed run changed them but did not write them.
    rewrite: tuple[str, ...] = ()
    # WARC files still to read (from the shard, for the stage that reads archives).
    archives: tuple[ArchiveFile, ...] = ()
    # How far the archives are read once this batch's pages are filed (recorded with them).
    archive_progress: tuple[ArchiveProgress, ...] = ()

    def add(self, counts: dict[str, int] | None = None, **fields: Any) -> Batch:
        """This batch with `fields` replaced and `counts` added."""
        if counts:
            merged = dict(self.counts)
            for name, value in counts.items():
                merged[name] = merged.get(name, 0) + value
            fields["counts"] = tuple(merged.items())
        return dataclasses.replace(self, **fields)
