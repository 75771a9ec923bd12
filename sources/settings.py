"""`ReaderSettings`: the limits of reading feeds and sitemaps, and why. One frozen object,
passed to `FeedReader` (and to `parse_feed`)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ReaderSettings:
    # Entries taken from one feed document, in the feed's order; the rest are counted as dropped.
    max_entries_per_feed: int = 1000
    # A feed's own polling hints (ttl, max-age, sy:updatePeriod) are followed up to this
    # interval: a server cannot stop newsbeam from looking for a whole week.
    max_feed_interval_s: int = 6 * 3600
    # A feed entry whose content (content:encoded, Atom content; not the summary) has this much
    # text carries the whole article: its page is not fetched (unless the feed says
    # `fetch_pages: always`).
    feed_full_text_min_chars: int = 1500
    # Sitemap indexes nest: at most this many levels below a listed feed, this many sitemaps a
    # pass.
    max_sitemap_depth: int = 2
    max_sitemaps: int = 50
    # Pages filed before, looked at again in one pass for edits their feeds do not announce (the
    # most overdue first; each asked with its validators, so an unchanged page costs a 304).
    rechecks_per_pass: int = 200


DEFAULTS = ReaderSettings()
