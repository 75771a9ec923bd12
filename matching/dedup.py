"""`newsbeam dedup`: story and event ids for any corpus of articles, with the pipeline's engine."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from newsbeam.extraction.language import detect_language
from newsbeam.matching.story_index import StoryIndex
from newsbeam.schemas import Article, utc_iso


def dedup_records(records: Iterable[dict[str, Any]], index: StoryIndex,
                  batch_size: int = 32) -> list[dict[str, str]]:
    """Assign story and event ids to plain article records, in their order.

    Each record has `id`, `title`, `text` and optionally `language` (detected when missing, as
    the pipeline does), `url`, `published`, `feed_url` (two items of one feed under other
    headlines are two stories, as in a run); records without a URL are filed under `id:<id>`.
    Records are fingerprinted `batch_size` at a time (one encoder call each). Events are read
    once every record is filed: a later article can make two events one.
    """
    filed: list[tuple[str, str]] = []
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            filed += _dedup_batch(batch, index)
            batch = []
    if batch:
        filed += _dedup_batch(batch, index)
    events = index.articles.events_of(story_id for _, story_id in filed)
    return [{"id": record_id, "story_id": story_id, "event_id": events[story_id]} for record_id, story_id in filed]


def _dedup_batch(batch: list[dict[str, Any]], index: StoryIndex) -> Iterator[tuple[str, str]]:
    for record in batch:
        record["language"] = record.get("language") or detect_language(record.get("text") or "", None)
    fingerprints = index.fingerprinter.many([(r.get("title") or "", r.get("text") or "") for r in batch],
                                            [r.get("language") for r in batch])
    articles = [Article(
        url=record.get("url") or f"id:{record['id']}", feed_url=record.get("feed_url") or "",
        title=record.get("title") or "",
        text=record.get("text") or "", language=record.get("language"), published=utc_iso(record.get("published")),
        authors=(), site_name=None, description=None, image=None, tags=(), body_source="page") for record in batch]
    for record, assignment in zip(batch, index.assign_many(articles, fingerprints), strict=True):
        yield record["id"], assignment.story_id
