"""Which variant of a story is its original: decided when an article is filed, from the
article, the story's original so far and the copies of the article's text already in the story
(one indexed read, however many variants the story has), and kept on the story.

The original is the earliest published (schemas.publication_order). A date is only what a page
says, so a copy of a text that another site filed first, in an earlier second, never becomes
the original by dating itself earlier. Within one second (one pass: the store's resolution)
the dates decide, so a pass's records do not depend on the order its workers filed them in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from newsbeam.schemas import publication_order, same_site


def takes_over(article: Mapping[str, Any], current: Mapping[str, Any] | None,
               copies: Iterable[Mapping[str, Any]], now: str) -> bool:
    """Whether `article`, filed `now`, becomes its story's original instead of `current` (None
    for a new story). `copies` are the story's articles with the same text (url, first_seen)."""
    if current is None or current["url"] == article["url"]:
        return True  # a new story's first variant; an original updated in place stays one
    copied = any(copy["url"] != article["url"] and not same_site(copy["url"], article["url"])
                 and copy["first_seen"] < now for copy in copies)
    return not copied and publication_order(article) < publication_order(current)


def original_of(rows: Iterable[Mapping[str, Any]]) -> str | None:
    """The original's URL among a story's articles (url, published, published_date_only,
    body_hash, first_seen), as filing them in the order they were filed decides it: what a
    story's original is after some of its variants are taken out."""
    filed: list[Mapping[str, Any]] = []
    current: Mapping[str, Any] | None = None
    for row in sorted(rows, key=lambda row: (row["first_seen"], row["url"])):
        copies = [other for other in filed if other["body_hash"] == row["body_hash"]]
        if takes_over(row, current, copies, row["first_seen"]):
            current = row
        filed.append(row)
    return current["url"] if current is not None else None
