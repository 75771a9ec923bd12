"""Story records, as the sinks write them, from the store's rows of a story and its articles."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from newsbeam.schemas import Story, Variant
from newsbeam.state.store import Store


def relation(article: dict[str, Any], main: dict[str, Any]) -> str:
    """How a variant relates to the story's main variant."""
    if article is main:
        return "original"
    if article["language"] and main["language"] and article["language"] != main["language"]:
        return "translation"
    if article["body_hash"] == main["body_hash"]:
        return "exact"
    return "near_duplicate"


def story_record(story: dict[str, Any], articles: list[dict[str, Any]]) -> Story:
    """A story from the store's rows of the story and its articles, the same whatever order the
    articles arrived in.

    The main variant, the original, is the earliest published; ties and articles without a
    date (which sort after dated ones) go by URL. The story's title, text and language are the
    original's, and change when an earlier original arrives later. Each variant carries its own
    title, text, language, authors and published time.
    """
    articles = sorted(articles, key=lambda a: (a["published"] is None, a["published"] or "", a["url"]))
    main = articles[0]
    variants = tuple(Variant(
        url=a["url"], title=a["title"], text=a["text"], language=a["language"],
        authors=tuple(json.loads(a["authors"])), published=a["published"], site_name=a["site_name"],
        feed_url=a["feed_url"], body_source=a["body_source"], relation=relation(a, main)) for a in articles)
    original = variants[0]
    return Story(
        story_id=story["story_id"], event_id=story["event_id"],
        title=original.title, text=original.text, language=original.language,
        languages=tuple(sorted({a["language"] for a in articles if a["language"]})),
        url=original.url, published=original.published, authors=original.authors, site_name=original.site_name,
        feed_url=original.feed_url, body_source=original.body_source,
        first_seen=story["first_seen"], updated=story["updated"], variants=variants)


def story_records(store: Store, story_ids: Iterable[str]) -> Iterator[Story]:
    for story, articles in store.stories.story_rows(story_ids):
        yield story_record(story, articles)
