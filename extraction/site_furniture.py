"""What a site repeats on its pages is the site's furniture, not the article: a newsletter box,
a "more on this topic" list, a share prompt, an author's standing bio, a live ticker's chrome,
left inside the article's markup where the extractor takes them for text.

A paragraph of a page's body is furniture when the same paragraph (in lower case, digits as
one) is in the bodies of at least `site_furniture_min_pages` pages of the same host: the pages
of the batch at hand (a worker's batch holds many pages of one host, so this works from the
first pass) and the pages the host's memory remembers (the store's, bounded per host, shared by
every worker and every run; or one in memory). A paragraph that quotes someone is never
furniture (two or three reports of one site may quote the same words), and a body is left
whole when too little of it would remain.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import re
from collections.abc import Iterable
from typing import Protocol

from newsbeam.extraction.settings import DEFAULTS, ExtractSettings
from newsbeam.schemas import Article, host_of

_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]")
# A paragraph that quotes someone is the article's own.
_QUOTES = re.compile("[\"“”„«»]")


class SiteMemory(Protocol):
    """Which pages of a host had each paragraph (by key): up to a few page keys per paragraph,
    which is all the decision needs. The store's (state.furniture.SiteLines) or MemorySites."""

    def pages_with(self, host: str, keys: Iterable[str]) -> dict[str, set[str]]: ...
    def remember(self, host: str, pages: dict[str, set[str]], now: str) -> None: ...  # page key -> paragraph keys


class MemorySites:
    """Site memory for as long as the object lives (a pipeline without a store, tests)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], set[str]] = collections.defaultdict(set)

    def pages_with(self, host: str, keys: Iterable[str]) -> dict[str, set[str]]:
        return {key: set(self.lines[(host, key)]) for key in keys if (host, key) in self.lines}

    def remember(self, host: str, pages: dict[str, set[str]], now: str) -> None:
        for page, keys in pages.items():
            for key in keys:
                self.lines[(host, key)].add(page)


def paragraph_key(paragraph: str) -> str | None:
    """A paragraph as the site's memory knows it (None for one that is never furniture)."""
    if not _LETTERS.search(paragraph) or _QUOTES.search(paragraph):
        return None
    folded = _DIGITS.sub("0", " ".join(paragraph.casefold().split()))
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()[:16]


def page_key(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def strip_site_furniture(articles: list[Article], memory: SiteMemory, now: str,
                         settings: ExtractSettings = DEFAULTS) -> list[Article]:
    """The articles with each site's furniture out of their bodies (those read from pages; a
    feed's text has its own furniture, sources.furniture), and the memory told of their
    paragraphs."""
    by_host: dict[str, list[int]] = collections.defaultdict(list)
    for number, article in enumerate(articles):
        if article.body_source != "feed":
            by_host[host_of(article.url)].append(number)
    result = list(articles)
    for host, numbers in by_host.items():
        keyed = {number: [(line, paragraph_key(line)) for line in articles[number].text.split("\n")]
                 for number in numbers}
        pages = {page_key(articles[number].url): {key for _, key in keyed[number] if key} for number in numbers}
        seen = memory.pages_with(host, {key for keys in pages.values() for key in keys})
        for page, keys in pages.items():
            for key in keys:
                seen.setdefault(key, set()).add(page)
        furniture = {key for key, on_pages in seen.items() if len(on_pages) >= settings.site_furniture_min_pages}
        for number in numbers:
            kept = "\n".join(line for line, key in keyed[number] if key not in furniture)
            if kept != articles[number].text and len(kept) >= settings.min_body_chars:
                result[number] = dataclasses.replace(articles[number], text=kept)
        memory.remember(host, pages, now)
    return result
