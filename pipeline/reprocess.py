"""`newsbeam reprocess`: the stored articles read again from the run's captures with today's
extraction, and refiled where the record changes.

For each article the store holds that was read from its page, the latest capture of that page
(OUTPUT/captures, or object storage: outputs.captures) is extracted again with the settings
given (today's code, today's publisher parsers, the sites' furniture). An article whose record
comes out other than stored is filed again in its story (no revision: newer extraction is no
edit of its publisher's); once all are refiled, each is judged again, in the driver, one at a
time in URL order: one that is no longer its story's variant (a wrong merge older extraction
made) moves to the story it is a variant of now, or to one of its own; the stories changed are
written again to the sinks, one left with no variant as removed. The same captures give the
same records, on the local runner or a cluster (`--runner DaskRunner`: the extraction, the
costly part, runs on the workers, RefileCapturedFn), and a second reprocess changes nothing. A
reprocess killed half-way is run again: what was refiled reads as unchanged, the rest is done,
what the killed one refiled is judged again (the store keeps what awaits it), and what it
filed is written. Each article records which newsbeam made it (`made_by`); `--dry-run` only
says what would change, by field.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from newsbeam.extraction.settings import ExtractSettings
from newsbeam.matching.encoders import load_encoder
from newsbeam.matching.features import Fingerprinter
from newsbeam.matching.settings import MatchSettings
from newsbeam.matching.story_index import StoryIndex
from newsbeam.outputs.captures import ObjectStorage, capture_files, on_object_storage
from newsbeam.outputs.files import FileSinks
from newsbeam.outputs.tables import SinkTables, database_sink_urls
from newsbeam.pipeline.runners import pipeline_options
from newsbeam.schemas import utc_now
from newsbeam.sources.urls import canonical_url
from newsbeam.sources.warc import ArchivedPage, read_warc
from newsbeam.state.runs import new_run_id
from newsbeam.state.store import Store, open_store
from newsbeam.transforms.reprocess import CHANGED, Capture, RefileCapturedFn

# Articles read and refiled as one piece of work (one transaction of filings).
CHUNK = 32


def latest_captures(location: str, storage: ObjectStorage | None = None) -> dict[str, Capture]:
    """Where the latest capture of each page is (its file and offset), by its canonical URL,
    among the captures (a folder, or object storage through `storage`)."""
    latest: dict[str, Capture] = {}
    for path in capture_files(location, storage):
        with (storage.open(path) if storage is not None and on_object_storage(path) else open(path, "rb")) as stream:
            for item in read_warc(stream):
                url = canonical_url(item.url) if isinstance(item, ArchivedPage) else None
                if url and (url not in latest or (item.captured or "") >= (latest[url].captured or "")):
                    latest[url] = Capture(path, item.offset, item.captured)
    return latest


def reprocess(store_url: str, captures: str, output_dir: str, sinks: tuple[str, ...], extraction: ExtractSettings,
              matching: MatchSettings, dry_run: bool = False, storage: ObjectStorage | None = None,
              beam_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """Reprocess the store's articles from their captures (see the module); returns what it did:
    captured pages, articles changed, stories written, the changes by field."""
    store = open_store(store_url)  # migrated here, once, before any worker opens it
    try:
        pages = latest_captures(captures, storage)
        work = [(article, pages[article.url]) for article in store.stories.article_items()
                if article.body_source != "feed" and article.url in pages]
        # its workers count what they did under its run id (it is no run of the feeds: not
        # recorded as one, so the report's and serve's "last run" stay the feeds' own)
        run_id = new_run_id("-reprocess")
        chunks = [work[start:start + CHUNK] for start in range(0, len(work), CHUNK)]
        if chunks:
            with beam.Pipeline(options=pipeline_options(beam_args, shards=min(len(chunks), 64))) as pipeline:
                _ = (pipeline | "Chunks" >> beam.Create(chunks) | "Spread" >> beam.Reshuffle()
                     | "Refile" >> beam.ParDo(RefileCapturedFn(store_url, run_id, extraction, matching, dry_run,
                                                               tuple(beam_args))))
        moved = 0 if dry_run else _regroup(store, run_id, matching)
        counts = store.runs.counts(run_id)
        written = 0 if dry_run else _write(store, output_dir, sinks, run_id)
        fields = {name.removeprefix(CHANGED): count for name, count in counts.items() if name.startswith(CHANGED)}
        done = {"captured_pages": len(pages), "articles_changed": counts.get("articles_changed", 0),
                "articles_moved": moved, "stories_written": written, "fields": dict(sorted(fields.items()))}
    finally:
        store.close()
    return done


def _regroup(store: Store, run_id: str, matching: MatchSettings) -> int:
    """Judge again, in the driver, one at a time, each article this reprocess (or an
    interrupted one) refiled with another headline or text: one whose new text makes it another
    story's variant leaves its story (matching.story_index.regroup). Returns how many moved."""
    urls = store.stories.awaiting_judgment()
    if not urls:
        return 0
    index = StoryIndex(store, Fingerprinter(load_encoder(matching.encoder)), run_id, matching, edits=False)
    moved = len(index.regroup(urls))
    store.stories.judged(urls)
    store.runs.add_counts(run_id, {"articles_moved": moved})
    return moved


def _write(store: Store, output_dir: str, sinks: tuple[str, ...], run_id: str) -> int:
    """Write the stories the reprocess filed again to the sinks, with any an interrupted
    reprocess (or run) filed and did not write; a story a regrouping left with no variant is
    written as removed (a line `{"story_id", "removed", "updated"}` in the JSON Lines sink,
    its rows deleted from the database sinks), then forgotten."""
    records = [story.to_dict() for story in store.stories.records(store.stories.pending())]
    emptied = store.stories.emptied()
    if not records and not emptied:
        return 0
    now = utc_now()
    removals = [{"story_id": story_id, "removed": "its variants are other stories' now", "updated": now}
                for story_id in emptied]
    files = FileSinks(output_dir, run_id, "jsonl" in sinks, "parquet" in sinks)
    try:
        files.write(records, [])
        if removals and "jsonl" in sinks:
            files.append("stories", removals)
    finally:
        files.close()
    for url in database_sink_urls(output_dir, store.url, sinks):
        tables = SinkTables(url)
        try:
            tables.remove(emptied)
            tables.upsert(records, [])
        finally:
            tables.close()
    store.stories.mark_written({record["story_id"]: record["updated"] for record in records})
    store.stories.forget_stories(emptied)
    return len(records) + len(emptied)
