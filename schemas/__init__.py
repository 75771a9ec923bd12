"""The records that flow between newsbeam's steps, and the JSON Schemas of what sinks write.

Each field is defined once, here. Records are frozen dataclasses: Beam encodes them with its
default (pickle-based) coder, and `to_dict()` gives the JSON form a sink writes.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
import zlib
from importlib import resources
from typing import Any


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


@dataclasses.dataclass(frozen=True)
class FetchedFeed(Record):
    """A feed document that was downloaded and has changed since the last run."""

    source: FeedSource
    url: str  # final URL after redirects
    body: bytes
    content_type: str | None


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
    # The feed's content is the whole article (long enough, and not a mere summary): the
    # article is taken from it and its page is not fetched.
    full_text: bool = False


@dataclasses.dataclass(frozen=True)
class FetchedPage(Record):
    entry: FeedEntry
    url: str  # final URL after redirects
    html: bytes | None  # None when the page could not be fetched
    content_type: str | None


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
    # "page" when the body was extracted from the article page; "feed" when it came from the
    # feed entry: the feed carries the whole article, or the page failed and the feed's text
    # stands in for it until the page's retry succeeds.
    body_source: str
    entry_updated: str | None = None


@dataclasses.dataclass(frozen=True)
class DeadLetter(Record):
    """Something that failed: what, where, why. Kept in the store and retried when due."""

    url: str
    stage: str  # feed_fetch, feed_parse, page_fetch, extract
    reason: str
    status: int | None = None  # HTTP status when there was one
    attempts: int = 1
    at: str = ""  # ISO 8601 UTC
    # What is needed to retry (the feed entry for page failures), as JSON text.
    payload: str | None = None
    retry_after: str | None = None  # the server's Retry-After header, if it sent one
    next_due: str | None = None  # when the next attempt is made; set by the store
    # The answer cannot change (an address or scheme the policy refuses): never retried.
    final: bool = False


def shard_of(key: str, count: int) -> int:
    """A stable shard number for a key: the same in every process and run, unlike hash()."""
    return zlib.crc32(key.encode("utf-8")) % count


def host_of(url: str) -> str:
    """scheme://host:port of a URL, lower-cased: the unit of politeness."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


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
    stories: tuple[dict[str, Any], ...] = ()  # story records, as sinks write them
    dead_letters: tuple[DeadLetter, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()  # (counter, increment): feeds_fetched, pages_failed, ...
    # Stories to write again as they are: a crashed run changed them but did not write them.
    rewrite: tuple[str, ...] = ()

    def add(self, counts: dict[str, int] | None = None, **fields: Any) -> Batch:
        """This batch with `fields` replaced and `counts` added."""
        if counts:
            merged = dict(self.counts)
            for name, value in counts.items():
                merged[name] = merged.get(name, 0) + value
            fields["counts"] = tuple(merged.items())
        return dataclasses.replace(self, **fields)


def load_json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a sink record: 'story' or 'dead_letter'."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def arrow_schema(name: str) -> Any:
    """The pyarrow schema of a sink record, derived from its JSON Schema (one definition)."""
    import pyarrow as pa

    def field_type(spec: dict[str, Any]) -> Any:
        kinds = spec.get("type", "string")
        kinds = [k for k in (kinds if isinstance(kinds, list) else [kinds]) if k != "null"] or ["string"]
        kind = kinds[0] if "enum" not in spec else "string"
        if kind == "array":
            return pa.list_(field_type(spec["items"]))
        if kind == "object":
            return pa.struct([pa.field(k, field_type(v)) for k, v in spec["properties"].items()])
        return {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}[kind]

    schema = load_json_schema(name)
    return pa.schema([pa.field(k, field_type(v)) for k, v in schema["properties"].items()])
