"""`SiteLines`: the store's memory of what each site repeats on its pages (the memory of
extraction.site_furniture): for each paragraph of a host (by key), a few of the pages it was
on and when it was last seen. Bounded per host: past MAX_LINES_PER_HOST, the paragraphs seen
longest ago are forgotten (a site's furniture is seen on every page, so it stays)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from newsbeam.state.database import Connection, Database, in_chunks, marks, transactional

# Paragraphs remembered per host: a site's furniture and a few weeks of its articles'
# paragraphs (a busy site publishes a few hundred pages a week, of some 20 paragraphs each).
MAX_LINES_PER_HOST = 20_000
# Pages remembered per paragraph: enough to decide (extraction settings' site_furniture_min_pages
# is 3), few enough to keep a row small.
PAGES_PER_LINE = 5


class SiteLines:
    def __init__(self, db: Database):
        self.db = db

    def pages_with(self, host: str, keys: Iterable[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for chunk in in_chunks(sorted(set(keys))):
            for row in self.db.read().execute(
                    f"SELECT line, pages FROM site_lines WHERE host = ? AND line IN ({marks(chunk)})", (host, *chunk)):
                found[row["line"]] = set(json.loads(row["pages"]))
        return found

    @transactional
    def remember(self, tx: Connection, host: str, pages: dict[str, set[str]], now: str) -> None:
        """These pages (page key -> paragraph keys) were read: each paragraph was on them."""
        on: dict[str, set[str]] = {}
        for page, keys in pages.items():
            for key in keys:
                on.setdefault(key, set()).add(page)
        if not on:
            return
        known = self.pages_with(host, on)
        tx.executemany(
            "INSERT INTO site_lines (host, line, pages, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT (host, line) "
            "DO UPDATE SET pages = excluded.pages, last_seen = excluded.last_seen",
            [(host, key, json.dumps(sorted(known.get(key, set()) | added)[:PAGES_PER_LINE]), now)
             for key, added in sorted(on.items())])
        count = tx.execute("SELECT COUNT(*) FROM site_lines WHERE host = ?", (host,)).one()[0]
        if count > MAX_LINES_PER_HOST:
            tx.execute("DELETE FROM site_lines WHERE host = ? AND line IN (SELECT line FROM site_lines WHERE host = ? "
                       "ORDER BY last_seen, line LIMIT ?)", (host, host, count - MAX_LINES_PER_HOST))

    @transactional
    def forget_before(self, tx: Connection, cutoff: str) -> None:
        """Forget the paragraphs last seen before `cutoff`."""
        tx.execute("DELETE FROM site_lines WHERE last_seen < ?", (cutoff,))
