"""The records that flow between newsbeam's steps, and the JSON Schemas of what sinks write.

Each field is defined once, here. Records are frozen dataclasses: Beam encodes them with its
default (pickle-based) coder, and `to_dict()` gives the JSON form a sink writes.
"""

from __future__ import annotations

import dataclasses
import json
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
    etag: str | None
    last_modified: str | None
    body_hash: str


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
    # "page" when the body was extracted from the article page, "feed" when it came from the
    # feed entry because the page could not be fetched or extracted.
    body_source: str
    entry_updated: str | None = None


@dataclasses.dataclass(frozen=True)
class DeadLetter(Record):
    """Something that failed: what, where, why. Kept in the store and retried when due."""

    url: str
    stage: str  # feed_fetch, feed_parse, page_fetch, extract, assign
    reason: str
    status: int | None = None  # HTTP status when there was one
    attempts: int = 1
    at: str = ""  # ISO 8601 UTC
    # What is needed to retry (the feed entry for page failures), as JSON text.
    payload: str | None = None
    retry_after: str | None = None  # the server's Retry-After header, if it sent one
    next_due: str | None = None  # when the next attempt is made; set by the store


STAGES = ("feed_fetch", "feed_parse", "page_fetch", "extract", "assign")
RELATIONS = ("original", "exact", "near_duplicate", "translation")


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
