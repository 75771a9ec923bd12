"""newsbeam from Python, one call each, with the same code as a run:

    import newsbeam

    article = newsbeam.extract(html, "https://example.org/a")    # an Article, or None
    for assignment in newsbeam.dedup(articles):                   # story and event ids
        print(assignment.id, assignment.story_id, assignment.event_id)
    with newsbeam.open_store("out/state.db") as store:            # what runs brought in
        for story in store.find_stories(since="2026-12-01", language="de", words="seilbahn"):
            print(story.title, [variant.url for variant in story.variants])
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from newsbeam.extraction.page import NotAnArticle, extract_article
from newsbeam.extraction.page import feed_entry as entry_from_fields
from newsbeam.extraction.settings import ExtractSettings
from newsbeam.extraction.text import Similarity
from newsbeam.matching.dedup import dedup_records
from newsbeam.matching.encoders import Encoder, load_encoder, meaning_similarity
from newsbeam.matching.features import Fingerprinter
from newsbeam.matching.settings import DEFAULTS as MATCHING
from newsbeam.matching.story_index import StoryIndex
from newsbeam.schemas import Article, FeedEntry, FetchedPage, utc_iso
from newsbeam.schemas.times import parse_time
from newsbeam.state.store import Store
from newsbeam.state.store import open_store as _open_store


@dataclasses.dataclass(frozen=True)
class Assignment:
    """The story and event an article was filed under."""

    id: str  # the article's `id` as given (its URL for an Article record)
    story_id: str
    event_id: str


def extract(html: bytes | str, url: str | None = None, *, fetched: dt.datetime | str | None = None,
            feed_entry: FeedEntry | Mapping[str, Any] | None = None, publisher_parsers: bool = True,
            encoder: str = MATCHING.encoder) -> Article | None:
    """The article of one page, as `newsbeam extract` and a run make it: the headline as
    published, the authors, the whole body and nothing else, language and time; None when the
    page holds no article. A page of a publisher that Fundus covers is read by that publisher's
    own parser (the version valid at `fetched`, when the page was fetched; now if not given)
    unless `publisher_parsers` is off; `extractor` says which read it. `feed_entry` is what a
    feed said of the page (a FeedEntry, or a dict with `title`, `summary`, `published`,
    `authors`, `language`), used as a run uses it."""
    entry = feed_entry if isinstance(feed_entry, FeedEntry) else entry_from_fields(url or "", feed_entry)
    when = utc_iso(fetched)
    if fetched is not None and when is None:
        raise ValueError(f"fetched: not an ISO 8601 time: {fetched!r}")
    try:
        return extract_article(FetchedPage(entry=entry, url=url or entry.url, html=html, content_type=None),
                               _similarity(encoder), ExtractSettings(publisher_parsers=publisher_parsers),
                               fetched=parse_time(when) if when else None)
    except NotAnArticle:
        return None


def _similarity(encoder: str) -> Similarity:
    """The judge of headlines restated in a body, its encoder loaded at its first use: a page its
    publisher's parser reads, or whose body starts with no headline-like line, never loads it."""
    def similarity(one: str, others: list[str]) -> list[float]:
        return meaning_similarity(_encoder(encoder))(one, others)

    return similarity


@functools.cache
def _encoder(name: str) -> Encoder:
    """One encoder per name for the process: loading one takes about a second."""
    return load_encoder(name)


def dedup(articles: Iterable[Article | Mapping[str, Any]], *, store: str | None = None,
          encoder: str = MATCHING.encoder) -> list[Assignment]:
    """Story and event ids for articles, in their order, as `newsbeam dedup` gives them: the
    same report in another language, reworded, syndicated or updated shares a story; reports
    of one event share an event. Articles are Article records or dicts with `id`, `title`,
    `text` and optionally `language`, `url`, `published`, `feed_url`. With `store` (a store URL) the
    articles are matched against, and filed into, that store's stories; without it, against
    each other only."""
    records = [_dedup_record(article) for article in articles]
    with contextlib.ExitStack() as stack:
        # without a store, in memory: no database is opened
        opened = stack.enter_context(_open_store(store)) if store else None
        index = StoryIndex(opened, Fingerprinter(load_encoder(encoder)),
                           settings=dataclasses.replace(MATCHING, encoder=encoder))
        assigned = [Assignment(**line) for line in dedup_records(records, index)]
        if opened is not None:
            index.vectors.save()  # the next call against this store starts from it
    return assigned


def _dedup_record(article: Article | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(article, Article):
        return {"id": article.url, "url": article.url, "title": article.title, "text": article.text,
                "language": article.language, "published": article.published, "feed_url": article.feed_url}
    if not article.get("id"):
        raise ValueError(f"an article to dedup needs an 'id': {dict(article)!r:.80}")
    return dict(article)


def open_store(url: str) -> Store:
    """The store of a run (`sqlite:///out/state.db`, a path, or `postgresql://...`), to read
    what came in: `find_stories(...)`, `story(id)`, `event(id)`, `failures()`. Created and
    brought up to date when needed. Close it, or use it in a `with` block."""
    return _open_store(url)
