"""The records that flow between newsbeam's steps and into its sinks, the time format they
share, and the JSON Schemas of what sinks write. The bottom layer: it imports nothing of
newsbeam's."""

from newsbeam.schemas.filing import Filing
from newsbeam.schemas.formats import arrow_row, arrow_schema, load_json_schema
from newsbeam.schemas.records import (
    ArchiveFile,
    ArchiveProgress,
    ArchiveSource,
    Article,
    Batch,
    DeadLetter,
    FeedEntry,
    FeedSource,
    FetchedPage,
    Shard,
    Story,
    Variant,
    host_of,
    publication_order,
    same_site,
    shard_of,
)
from newsbeam.schemas.text import without_controls
from newsbeam.schemas.times import parse_time, utc_iso, utc_now

__all__ = [
    "ArchiveFile", "ArchiveProgress", "ArchiveSource", "Article", "Batch", "DeadLetter", "FeedEntry", "FeedSource",
    "FetchedPage", "Filing",
    "Shard", "Story", "Variant", "arrow_row", "arrow_schema", "host_of", "load_json_schema", "parse_time",
    "publication_order", "same_site",
    "shard_of", "utc_iso", "utc_now", "without_controls",
]
