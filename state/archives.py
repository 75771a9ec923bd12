"""How far each WARC file has been read: a run that dies mid-file resumes at the last record
whose pages were filed, and a file read to its end is not read again."""

from __future__ import annotations

from newsbeam.schemas import ArchiveProgress, utc_now
from newsbeam.state.database import Connection, Database, transactional


class ArchiveReads:
    def __init__(self, db: Database):
        self.db = db

    def next_offset(self, url: str) -> int:
        row = self.db.read().execute("SELECT next_offset FROM archive_files WHERE url = ?", (url,)).fetchone()
        return row["next_offset"] if row else 0

    def unread(self, files: dict[str, int]) -> dict[str, int]:
        """Of these files (url -> size), the ones with records left to read."""
        read: dict[str, int] = {}
        urls = list(files)
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            read.update(dict(self.db.read().execute(
                f"SELECT url, next_offset FROM archive_files WHERE url IN ({','.join('?' * len(chunk))})",
                chunk).fetchall()))
        return {url: size for url, size in files.items() if read.get(url, 0) < size}

    @transactional
    def advance(self, tx: Connection, read: ArchiveProgress) -> None:
        """The records of a file before `read.offset` are read and their pages filed."""
        tx.execute("INSERT INTO archive_files (url, size, next_offset, pages, damaged, started, finished) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET size = excluded.size, "
                   "next_offset = excluded.next_offset, pages = archive_files.pages + excluded.pages, "
                   "damaged = archive_files.damaged + excluded.damaged, finished = excluded.finished",
                   (read.url, read.size, read.offset, read.pages, read.damaged, utc_now(),
                    utc_now() if read.finished else None))
