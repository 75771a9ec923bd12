"""An article from a fetched page (trafilatura), or from the text its feed entry carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trafilatura

from newsbeam.extraction import settings
from newsbeam.extraction.authors import people
from newsbeam.extraction.bodies import body_from_json_ld, clean_body, script_body
from newsbeam.extraction.language import detect_language
from newsbeam.extraction.metadata import read_metadata
from newsbeam.extraction.text import Similarity, normalize_text, strip_repeated_headline, strip_trailers
from newsbeam.extraction.titles import headline
from newsbeam.schemas import Article, FeedEntry, FetchedPage, utc_iso

# A page's date from its metadata only: a year mentioned in the text is no publication date
# (htmldate's extensive search turns "in 2023" into 2023-01-01).
DATE_PARAMETERS = {"extensive_search": False, "original_date": True}


class NotAnArticle(Exception):
    """The page yields no article; the message says why."""


def check_page_size(html: bytes | str) -> None:
    """Refuse a page whose markup would take the extractor minutes: its cost grows faster than
    the number of elements (a page of 240,000 short paragraphs takes minutes), and no news
    page comes near the limit (the real pages newsbeam is measured on have at most about
    6,000). Counting is cheap: a few microseconds per page."""
    elements = html.count(b"<" if isinstance(html, bytes) else "<")
    if elements > settings.MAX_PAGE_ELEMENTS:
        raise NotAnArticle(f"page too large to extract: about {elements} elements, more than the limit of "
                           f"{settings.MAX_PAGE_ELEMENTS}")


def feed_entry(url: str, fields: Mapping[str, Any] | None = None) -> FeedEntry:
    """The feed entry a page would come with in a run, from what a caller knows of it (`title`,
    `summary`, `published`, `authors`, `language`, `feed_url`; all optional)."""
    fields = fields or {}
    return FeedEntry(url=url, link=url, feed_url=fields.get("feed_url") or "", feed_name=fields.get("feed_name"),
                     title=fields.get("title") or "", summary=fields.get("summary") or "",
                     published=utc_iso(fields.get("published")), updated=None,
                     language=(fields.get("language") or "")[:2].lower() or None,
                     authors=tuple(fields.get("authors") or ()))


def extract_article(page: FetchedPage, similarity: Similarity | None = None) -> Article:
    """The article of a page: its headline as published, its authors, its whole body and
    nothing else (see titles, authors and bodies), its language and date. NotAnArticle when it
    yields no usable body. `similarity` judges whether the body's first lines restate the
    headline in other words."""
    entry = page.entry
    check_page_size(page.html)
    metadata = read_metadata(page.html, page.url)
    document = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True, include_comments=False,
                                           date_extraction_params=DATE_PARAMETERS)
    visible = normalize_text(document.text or "") if document is not None else ""
    body_source = "page"
    if len(visible) < settings.MIN_BODY_CHARS:
        scripted = script_body(metadata)  # a page its scripts render: the text is in their data
        if scripted:
            visible, body_source = scripted, "page_script"
    else:
        visible = body_from_json_ld(visible, metadata)
    title = normalize_text(headline(metadata, entry.title, document.title or "" if document else "", entry.feed_name))
    text = strip_trailers(strip_repeated_headline(title, clean_body(visible), similarity))
    if len(text) < settings.MIN_BODY_CHARS:
        raise NotAnArticle("no article body found on the page")
    return Article(
        url=entry.url,
        feed_url=entry.feed_url,
        title=title or entry.title,
        text=text,
        language=detect_language(text, entry.language or _page_language(document)),
        published=entry.published or utc_iso(document.date if document else None) or entry.captured,
        authors=people(metadata, document.author if document else None, entry.authors, entry.feed_name),
        site_name=next(iter(metadata.site_names), None) or (document.sitename if document else None)
        or entry.feed_name,
        description=(document.description if document else None) or metadata.description,
        image=document.image if document else None,
        tags=tuple(dict.fromkeys([*entry.tags, *((document.tags or []) if document else []),
                                  *((document.categories or []) if document else [])])),
        body_source=body_source,
        entry_updated=entry.updated,
    )


def _page_language(document: Any) -> str | None:
    language = getattr(document, "language", None) if document is not None else None
    return language[:2].lower() if language else None


def article_from_feed(entry: FeedEntry, similarity: Similarity | None = None) -> Article | None:
    """The feed's own text as the body: the whole article when the feed carries it, else a
    stand-in for a page that failed. None if the feed had no text."""
    text = strip_trailers(strip_repeated_headline(entry.title, normalize_text(entry.summary), similarity))
    if not text:
        return None
    return Article(
        url=entry.url, feed_url=entry.feed_url, title=normalize_text(entry.title), text=text,
        language=detect_language(text, entry.language), published=entry.published,
        authors=people(None, entry_authors=entry.authors, feed_name=entry.feed_name), site_name=entry.feed_name,
        description=None, image=None,
        tags=entry.tags, body_source="feed", entry_updated=entry.updated)
