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
    # A feed's furniture (sources.furniture): the lines looked at in each item (the first ones
    # and the last ones: furniture opens or closes an item, what is between is the article).
    furniture_first_lines: int = 2
    furniture_last_lines: int = 3
    # A line's shape recurs when at least this many items (its own included) and this share of
    # the document's items have it: more than two reports sharing a sentence (and a line that
    # quotes someone is never furniture). A sign-off in 3 of a blog's 25 posts is furniture.
    furniture_min_items: int = 3
    furniture_min_share: float = 0.1
    # Two lines have one shape when their words agree this much, in order (difflib's ratio):
    # "submitted by A to B" and "submitted by C to D" agree 0.6; two sentences of news that
    # share only their small words, far less.
    furniture_alike: float = 0.6
    # Lines longer than this many tokens are furniture only where they recur word for word (a
    # sponsor's paragraph), not when merely alike (a listing's template, filled in); a recurring
    # shape is cut where it ends or begins a longer line when it has at least this many.
    furniture_max_tokens: int = 32
    furniture_min_affix_tokens: int = 6
    # A kicker before a pipe in a feed's titles has at most this many words ("Nach
    # Haidara-Transfer", "Wechsel in die Regionalliga").
    kicker_max_words: int = 6


DEFAULTS = ReaderSettings()
