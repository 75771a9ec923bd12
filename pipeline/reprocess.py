"""`newsbeam reprocess`: the stored articles read again from the run's captures with today's
extraction, and refiled where the record changes.

For each article the store holds that was read from its page, the latest capture of that page
(OUTPUT/captures, outputs.captures) is extracted again with the settings given (today's code,
today's publisher parsers). An article whose record comes out other than stored is filed again
in its story (no revision: newer extraction is no edit of its publisher's) and its story written
again to the sinks; the same captures give the same records, and a second reprocess changes
nothing. A reprocess killed half-way is run again: what was refiled reads as unchanged, the rest
is done. Each article records which newsbeam made it (`made_by`); `--dry-run` only says what
would change, by field.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from newsbeam.extraction.page import NotAnArticle, extract_article
from newsbeam.extraction.settings import ExtractSettings
from newsbeam.matching.encoders import load_encoder, meaning_similarity
from newsbeam.matching.features import Fingerprinter
from newsbeam.matching.settings import MatchSettings
from newsbeam.matching.story_index import StoryIndex
from newsbeam.outputs.captures import ObjectStorage, capture_files, on_object_storage
from newsbeam.outputs.files import FileSinks
from newsbeam.outputs.tables import SinkTables, database_sink_urls
from newsbeam.schemas import Article, FeedEntry, FetchedPage, parse_time
from newsbeam.sources.urls import canonical_url
from newsbeam.sources.warc import ArchivedPage, read_warc
from newsbeam.state.runs import new_run_id
from newsbeam.state.store import open_store

# What a reader sees of an article: the fields compared, old record against new.
COMPARED = ("title", "kicker", "text", "authors", "credits", "language", "published", "published_date_only",
            "site_name", "canonical_url", "extractor")
# Articles refiled in one transaction.
CHUNK = 32


def latest_captures(location: str, storage: ObjectStorage | None = None) -> dict[str, ArchivedPage]:
    """The latest capture of each page in the captures (a folder, or object storage through
    `storage`), by its canonical URL."""
    latest: dict[str, ArchivedPage] = {}
    for path in capture_files(location, storage):
        with (storage.open(path) if storage is not None and on_object_storage(path) else open(path, "rb")) as stream:
            for item in read_warc(stream):
                url = canonical_url(item.url) if isinstance(item, ArchivedPage) else None
                if url and (url not in latest or (item.captured or "") >= (latest[url].captured or "")):
                    latest[url] = item
    return latest


def reprocess(store_url: str, captures: str, output_dir: str, sinks: tuple[str, ...], extraction: ExtractSettings,
              matching: MatchSettings, dry_run: bool = False, storage: ObjectStorage | None = None) -> dict[str, Any]:
    store = open_store(store_url)
    try:
        pages = latest_captures(captures, storage)
        similarity = meaning_similarity(load_encoder(matching.encoder))
        changed: list[Article] = []
        fields: collections.Counter = collections.Counter()
        for old in store.stories.article_items():
            page = pages.get(old.url)
            if page is None or old.body_source == "feed":
                continue
            new = _extracted(old, page, similarity, extraction)
            if new is None:
                fields["no longer extracts"] += 1
                continue
            differ = [name for name in COMPARED if getattr(old, name) != getattr(new, name)]
            if differ:
                fields.update(differ)
                changed.append(new)
        written = 0 if dry_run else _refile(store, changed, output_dir, sinks, matching)
    finally:
        store.close()
    return {"captured_pages": len(pages), "articles_changed": len(changed), "stories_written": written,
            "fields": dict(sorted(fields.items()))}


def _extracted(old: Article, page: ArchivedPage, similarity: Any, extraction: ExtractSettings) -> Article | None:
    """The stored article's page read again, with what its feed told of it then (as a live run
    read it: the capture's time picks the publisher parser's version, and dates nothing)."""
    # a time the record has to the second may have come from the feed; a date alone came from the
    # page, which gives it again (as a feed's time it would read as a time of day)
    feed_time = None if old.published_date_only else old.published
    entry = FeedEntry(url=old.url, link=page.url, feed_url=old.feed_url, feed_name=None, title=old.title, summary="",
                      published=feed_time, updated=old.entry_updated, language=old.language)
    try:
        new = extract_article(FetchedPage(entry=entry, url=old.url, html=page.html, content_type=page.content_type),
                              similarity, extraction, fetched=parse_time(page.captured) if page.captured else None)
    except NotAnArticle:
        return None
    return dataclasses.replace(new, tags=old.tags, entry_updated=old.entry_updated, etag=old.etag,
                               last_modified=old.last_modified)


def _refile(store: Any, articles: list[Article], output_dir: str, sinks: tuple[str, ...],
            matching: MatchSettings) -> int:
    """File the changed articles again (in their stories, as the same pages read anew) and
    write their stories to the sinks, with any story an interrupted reprocess (or run) filed and
    did not write."""
    stories: list[str] = store.stories.pending()
    if not articles and not stories:
        return 0
    run_id = new_run_id("-reprocess")
    if articles:
        fingerprinter = Fingerprinter(load_encoder(matching.encoder))
        index = StoryIndex(store, fingerprinter, run_id, matching, edits=False)
        for start in range(0, len(articles), CHUNK):
            chunk = articles[start:start + CHUNK]
            prints = fingerprinter.many([(a.title, a.text) for a in chunk], [a.language for a in chunk])
            stories += [filed.story_id for filed in index.assign_many(chunk, prints)]
        index.vectors.save()
    records = [story.to_dict() for story in store.stories.records(list(dict.fromkeys(stories)))]
    files = FileSinks(output_dir, run_id, "jsonl" in sinks, "parquet" in sinks)
    try:
        files.write(records, [])
    finally:
        files.close()
    for url in database_sink_urls(output_dir, store.url, sinks):
        tables = SinkTables(url)
        try:
            tables.upsert(records, [])
        finally:
            tables.close()
    store.stories.mark_written({record["story_id"]: record["updated"] for record in records})
    return len(records)
