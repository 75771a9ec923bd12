"""Stage ReadArchives: the pages of web archives (WARC files) join the feeds' entries.

Each WARC file of the shard is read as a stream by this worker (sources.warc), from where the
store says an earlier run stopped. HTML pages of status 200 that the archive's filters keep
(hosts and their subdomains, captured since a date) and that the store does not know yet are
handed on as fetched pages, in chunks; other records are counted; a damaged record is a final
dead letter (the archive is what it is: such a page is never fetched live instead).

Each chunk carries how far the file is read (`archive_progress`): AssignStories records it in
the transaction that files the chunk's pages. A run killed mid-file resumes at the offset of
the last chunk filed; the pages of a chunk filed but not yet written are written by the next
run, as any pending story is.
"""

from __future__ import annotations

import collections
import dataclasses
import urllib.parse
from collections.abc import Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.schemas import ArchiveFile, ArchiveProgress, Batch, DeadLetter, FeedEntry, FetchedPage, utc_now
from newsbeam.sources.urls import canonical_url
from newsbeam.sources.warc import ArchivedPage, Damaged, Skipped, read_warc
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.pages import PAGE_CHUNK
from newsbeam.transforms.stage import StageFn


class ReadArchivesFn(StageFn):
    stage = "ReadArchives"

    def __init__(self, options: RunOptions):
        super().__init__(options.store)
        self.beam_args = options.beam_args

    def setup(self) -> None:
        super().setup()
        # A worker's filesystems (s3://, gs://) take their endpoint and credentials from the
        # run's Beam options: runners without Beam's SDK harness (Dask) do not hand them over.
        FileSystems.set_options(PipelineOptions(list(self.beam_args)))

    def run(self, batch: Batch) -> Iterator[Batch]:
        yield dataclasses.replace(batch, archives=())  # the feeds' entries go on first
        for archive in batch.archives:
            yield from self._read(archive)

    def _read(self, archive: ArchiveFile) -> Iterator[Batch]:
        start = self.store.archives.next_offset(archive.url)
        pages: list[FetchedPage] = []
        letters: list[DeadLetter] = []
        counts: collections.Counter = collections.Counter()
        offset = start
        with FileSystems.open(archive.url, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
            for item in read_warc(stream, start):
                if isinstance(item, ArchivedPage):
                    page = self._page(archive, item, counts)
                    if page is not None:
                        pages.append(page)
                elif isinstance(item, Skipped):
                    counts[f"archive_skipped {item.kind.split(' (')[0]}"] += 1
                else:
                    letters.append(_letter(archive, item))
                    counts["archive_damaged"] += 1
                offset = item.end
                if len(pages) >= PAGE_CHUNK:
                    yield from self._hand_on(archive, pages, letters, counts, offset, finished=False)
                    pages, letters, counts = [], [], collections.Counter()
        yield from self._hand_on(archive, pages, letters, counts, max(offset, archive.size), finished=True)

    def _page(self, archive: ArchiveFile, item: ArchivedPage, counts: collections.Counter) -> FetchedPage | None:
        url = canonical_url(item.url)
        if not url:
            counts["archive_skipped unusable URL"] += 1
            return None
        host = urllib.parse.urlsplit(url).hostname or ""
        if not archive.wants_host(host):
            counts["archive_skipped host"] += 1
            return None
        if archive.since and item.captured and item.captured < archive.since:
            counts["archive_skipped old"] += 1
            return None
        if self.store.stories.known_articles([url]):
            counts["archive_skipped known"] += 1  # ingested already, from a feed or an earlier read
            return None
        counts["archive_pages"] += 1
        entry = FeedEntry(url=url, link=item.url, feed_url=archive.url, feed_name=None, title="", summary="",
                          published=None, updated=None, language=None, captured=item.captured,
                          languages=archive.languages)
        return FetchedPage(entry=entry, url=url, html=item.html, content_type=item.content_type)

    @staticmethod
    def _hand_on(archive: ArchiveFile, pages: list[FetchedPage], letters: list[DeadLetter],
                 counts: collections.Counter, offset: int, finished: bool) -> Iterator[Batch]:
        """Hand a chunk on, with how far the file is read once its pages are filed."""
        progress = ArchiveProgress(url=archive.url, size=archive.size, offset=offset, pages=counts["archive_pages"],
                                   damaged=counts["archive_damaged"], finished=finished)
        yield Batch(pages=tuple(pages), dead_letters=tuple(letters), counts=tuple(counts.items()),
                    archive_progress=(progress,))


def _letter(archive: ArchiveFile, item: Damaged) -> DeadLetter:
    return DeadLetter(url=item.url or f"{archive.url}#{item.offset}", stage="archive", final=True, at=utc_now(),
                      reason=f"{item.reason} (record at byte {item.offset} of {archive.url})")
