"""An article from a fetched page (its publisher's own parser, or the generic path of
newsbeam's rules and trafilatura), or from the text its feed entry carries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import trafilatura
from lxml.html import HtmlElement

from newsbeam.extraction.authors import AGENCIES, byline, feed_sites, opening_byline, signed_off
from newsbeam.extraction.bodies import (
    LIST_ITEM,
    WORD,
    body_from_json_ld,
    clean_body,
    drop_unseen,
    join_drop_caps,
    marked_body,
    once_as_shown,
    script_body,
    split_article,
    with_standfirst,
    without_author_lines,
    without_empty_headings,
    without_template_edges,
)
from newsbeam.extraction.language import detect_language
from newsbeam.extraction.metadata import PageMetadata, parse_page, picture_address, read_metadata, site_name_of
from newsbeam.extraction.page_kinds import page_kind
from newsbeam.extraction.publishers import PublisherArticle, parse_with_publisher
from newsbeam.extraction.settings import DEFAULTS, ExtractSettings
from newsbeam.extraction.text import Similarity, normalize_text, strip_repeated_headline, strip_trailers
from newsbeam.extraction.titles import headline, names_the_site, site_words
from newsbeam.schemas import Article, FeedEntry, FetchedPage, utc_iso
from newsbeam.schemas.lexicon import ARTICLE_KIND_LABELS
from newsbeam.schemas.text import fold_letters, tag_list
from newsbeam.schemas.times import Published, in_language_zone, parse_time, publication_time


def date_parameters() -> dict[str, Any]:
    """A page's date from its metadata only: a year mentioned in the text is no publication date
    (htmldate's extensive search turns "in 2023" into 2023-01-01). No date after today, htmldate's
    own default, given explicitly: trafilatura before 2.1 needs it said."""
    return {"extensive_search": False, "original_date": True, "max_date": dt.date.today().isoformat()}


class NotAnArticle(Exception):
    """The page yields no article; the message says why."""


def check_page_size(html: bytes | str, most: int = DEFAULTS.max_page_elements) -> None:
    """Refuse a page whose markup would take the extractor minutes: its cost grows faster than
    the number of elements (a page of 240,000 short paragraphs takes minutes), and no news
    page comes near the limit (the real pages newsbeam is measured on have at most about
    6,000). Counting is cheap: a few microseconds per page."""
    elements = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if elements > most:
        raise NotAnArticle(f"page too large to extract: about {elements} elements, more than the limit of "
                           f"{most}")


def feed_entry(url: str, fields: Mapping[str, Any] | None = None) -> FeedEntry:
    """The feed entry a page would come with in a run, from what a caller knows of it (`title`,
    `summary`, `published`, `authors`, `language`, `feed_url`; all optional)."""
    fields = fields or {}
    return FeedEntry(url=url, link=url, feed_url=fields.get("feed_url") or "", feed_name=fields.get("feed_name"),
                     title=fields.get("title") or "", summary=fields.get("summary") or "",
                     published=utc_iso(fields.get("published")), updated=None,
                     language=(fields.get("language") or "")[:2].lower() or None,
                     authors=tuple(fields.get("authors") or ()))


def extract_article(page: FetchedPage, similarity: Similarity | None = None, settings: ExtractSettings = DEFAULTS,
                    *, fetched: dt.datetime | None = None) -> Article:
    """The article of a page: its headline as published, its authors, its whole body and
    nothing else, its language and time. By its publisher's own parser where Fundus has one
    (extraction.publishers; unless the settings turn `publisher_parsers` off), the version valid when the page
    was fetched (`fetched`; an archive's capture time, or now), else by the generic path (see
    titles, authors and bodies). NotAnArticle when it yields no usable body. `similarity`
    judges whether the body's first lines restate the headline in other words."""
    entry, html = page.entry, page.html
    if html is None:
        raise NotAnArticle("the page was not fetched")
    check_page_size(html, settings.max_page_elements)
    tree = parse_page(html)
    metadata = read_metadata(tree, page.url)
    if settings.publisher_parsers:
        when = fetched or (parse_time(entry.captured) if entry.captured else dt.datetime.now(dt.UTC))
        parsed = parse_with_publisher(html, page.url, when)
        if parsed is not None and len(parsed.text) >= settings.min_body_chars:
            return _publisher_article(parsed, entry, metadata, settings)
    return _generic_article(page, tree, metadata, similarity, settings)


def _publisher_article(parsed: PublisherArticle, entry: FeedEntry, metadata: PageMetadata,
                       settings: ExtractSettings) -> Article:
    """The article as its publisher's parser reads it: headline, people and body as given;
    the agencies the byline credits, the kicker and the time as newsbeam reads them where the
    parser gives none."""
    parser_time = [parsed.published.isoformat()] if parsed.published else []
    published = publication([*parser_time, *metadata.published], entry, None)
    credits = byline(metadata, None, entry.authors, entry.feed_name).credits
    people = {fold_letters(name) for name in parsed.authors}
    if people:  # beside the parser's reporters the outlet itself is no credit (as on the generic path)
        sites = site_words(metadata, entry.feed_name) + [fold_letters(parsed.publisher)]
        credits = tuple(c for c in credits if fold_letters(c) in AGENCIES or not names_the_site(c, sites))
    kicker = metadata.kicker
    if kicker and fold_letters(kicker) in fold_letters(parsed.title):
        kicker = None
    return Article(
        url=entry.url, feed_url=entry.feed_url, title=parsed.title, text=parsed.text,
        language=detect_language(parsed.text, entry.language or metadata.language, settings),
        published=published.time if published else None,
        published_date_only=published.date_only if published else False,
        authors=parsed.authors, credits=tuple(c for c in credits if fold_letters(c) not in people),
        kicker=kicker, site_name=metadata.site_name or parsed.publisher,
        description=metadata.description, image=metadata.image,
        tags=tag_list([*entry.tags, *parsed.topics]), body_source="page",
        entry_updated=entry.updated, extractor=parsed.extractor, canonical_url=metadata.canonical,
        **self_described(metadata, published))


def _generic_article(page: FetchedPage, tree: HtmlElement, metadata: PageMetadata,
                     similarity: Similarity | None, settings: ExtractSettings) -> Article:
    entry = page.entry
    # trafilatura reads the tree the metadata came from (one parse a page), less JSON-LD too
    # large for any real page: read by newsbeam already, it would only cost trafilatura's and
    # htmldate's patterns seconds and a gigabyte (an 8 MB articleBody: 1.3 GB, 5 s).
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        if len(script.text or "") > settings.max_json_ld_chars:
            script.getparent().remove(script)
    drop_unseen(tree)
    join_drop_caps(tree)
    document: Any = trafilatura.bare_extraction(tree, url=page.url, with_metadata=True, include_comments=False,
                                                date_extraction_params=date_parameters())  # a Document
    visible = once_as_shown(_whole(tree, page.url, normalize_text(document.text or "") if document is not None else "",
                                   settings), tree)
    body_source = "page"
    if len(visible) < settings.min_body_chars:
        scripted = script_body(metadata, settings)  # a page its scripts render: the text is in their data
        if scripted:
            visible, body_source = scripted, "page_script"
    else:
        visible = body_from_json_ld(visible, metadata, settings)
    title, kicker = headline(metadata, entry.title, document.title or "" if document else "", entry.feed_name)
    title = normalize_text(title)
    page_urls = frozenset(url for url in (page.url, entry.url, metadata.canonical) if url)
    body = _without_page_heading(clean_body(visible, settings, metadata.link_texts, page_urls), kicker,
                                [metadata.h1, title])
    if body_source == "page":
        body = with_standfirst(body, tree, metadata)
    credited = byline(metadata, document.author if document else None, entry.authors, entry.feed_name)
    text = strip_trailers(strip_repeated_headline(title, body, similarity, settings), settings)
    sites = site_words(metadata, entry.feed_name)
    text, credited = opening_byline(without_author_lines(text, credited.authors), credited, sites)
    text, credited = signed_off(text, credited, sites, lambda line: _set_apart(tree, line))
    text = without_empty_headings(without_template_edges(text))
    if len(text) < settings.min_body_chars:
        html = page.html if isinstance(page.html, str) else (page.html or b"").decode("utf-8", "replace")
        kind = page_kind(html, tree, metadata, visible)
        raise NotAnArticle(f"no article body found on the page: {kind}")
    language = detect_language(text, entry.language or _page_language(document), settings)
    published = publication(metadata.published, entry, document.date if document else None, language)
    return Article(
        url=entry.url,
        feed_url=entry.feed_url,
        title=title or entry.title,
        text=text,
        language=language,
        published=published.time if published else None,
        published_date_only=published.date_only if published else False,
        authors=credited.authors,
        credits=credited.credits,
        kicker=kicker,
        site_name=_site_name(metadata, document.sitename if document else None, entry.feed_name),
        description=(document.description if document else None) or metadata.description,
        image=metadata.image or (picture_address(document.image, page.url) if document else None),
        tags=tag_list([*entry.tags, *((document.tags or []) if document else []),
                       *((document.categories or []) if document else [])]),
        body_source=body_source,
        entry_updated=entry.updated,
        canonical_url=metadata.canonical,
        **self_described(metadata, published, language),
    )


def _site_name(metadata: PageMetadata, found: str | None, feed_name: str | None) -> str | None:
    """The name the page gives its site; else the name trafilatura finds (not its guess from the
    address: "Example" for www.example.com); else the feed's; else the host."""
    host = metadata.host.removeprefix("www.")
    found = site_name_of(found, metadata.host)
    if found and found.casefold() in host.casefold().split("."):
        found = None
    return metadata.site_name or found or feed_name or host or None


def self_described(metadata: PageMetadata, published: Published | None, language: str | None = None
                   ) -> dict[str, Any]:
    """What a page says of itself beside its text: when it last changed (the first time of day
    its metadata gives, else the first date alone; none when that time is before `published`: a
    draft saved before the article went out is no change to it), its section, whether it is free
    to read, its lead image's caption and credit."""
    changes = []
    for value in metadata.modified:  # read in turn, up to the first with a time of day
        read = in_language_zone(publication_time(value), language)
        changes += [read] if read else []
        if read and not read.date_only:
            break
    change = min(changes, key=lambda p: p.date_only, default=None)  # the first with a time of day
    if change and published and not change.date_only and not published.date_only and change.time < published.time:
        change = None
    return {"modified": change.time if change else None, "section": metadata.section, "free": metadata.free,
            "image_caption": metadata.image_caption, "image_credit": metadata.image_credit}


def _whole(tree: HtmlElement, url: str, visible: str, settings: ExtractSettings) -> str:
    """The article's text as trafilatura found it; or all of it where advertising cut it into
    blocks of which trafilatura took the first (bodies.split_article); or the block the page
    marks as its body where trafilatura took the whole page around it (bodies.marked_body)."""
    first = visible.split("\n", 1)[0]
    blocks = split_article(tree, first)
    if blocks is not None:
        text = _read(blocks, url)
        return text if len(text) > len(visible) and text.startswith(first) else visible
    marked = marked_body(tree, visible, settings)
    if marked is not None:
        text = _read(marked, url)
        return text if len(text) >= settings.min_body_chars else visible
    return visible


def _read(document: HtmlElement, url: str) -> str:
    """The text trafilatura reads from a document made of a page's blocks."""
    read: Any = trafilatura.bare_extraction(document, url=url, include_comments=False)  # a Document
    return normalize_text(read.text or "") if read is not None else ""


def _set_apart(tree: HtmlElement, line: str) -> bool:
    """Is this line set apart on the page: the whole text of a bold or italic element, or of a
    paragraph set to the right?"""
    return any(" ".join(element.text_content().split()) == line for element in tree.xpath(
        "//strong|//b|//em|//i|//p[contains(translate(@style, ' ', ''), 'text-align:right')]"))


def _without_page_heading(text: str, kicker: str | None, headlines: list[str | None]) -> str:
    """The body without the kicker and the headline the page shows above it, apart or run into
    one line ("Entwurf des Gesetzes: Ein bisschen Fortschritt"), when the body starts with them
    (the headline chosen may be another wording: the page's JSON-LD one), nor the labels and
    breadcrumbs above them (_a_label), nor what the extractor put above the headline."""
    shown = {fold_letters(line) for line in headlines if line}
    if kicker:
        shown |= {fold_letters(kicker)} | {fold_letters(kicker) + wording for wording in shown}
    lines = text.split("\n")
    # the headline a few lines down: what is above it is above the article (a sidebar's teaser
    # the extractor put first, a date, a label), not its text
    below = next((number for number in range(1, min(HEADING_PLACES, len(lines) - 1) + 1)
                  if fold_letters(lines[number]) in shown), 0)
    lines = lines[below:]
    while len(lines) > 1 and (fold_letters(lines[0]) in shown or _a_label(lines[0], lines[1], shown)
                              or _behind_a_kicker_shown(lines[0], headlines)):
        lines.pop(0)
    crumbs = 0
    while crumbs < len(lines) - 1 and LIST_ITEM.match(lines[crumbs]) and len(lines[crumbs].split()) <= 4:
        crumbs += 1  # "- Hindi News", "- Local", "- Bihar": the page's breadcrumbs above the text
    return "\n".join(lines[crumbs:] if crumbs >= BREADCRUMBS else lines)


def _behind_a_kicker_shown(line: str, headlines: list[str | None]) -> bool:
    """Is this line a headline with a kicker the markup does not mark before it ("Onlineversand
    aus Fernost : Wie gefährlich ...", "Premiere in Eisenhüttenstadt - DDR-Hotel ...")?"""
    for wording in filter(None, headlines):
        if len(line) > len(wording) and line.endswith(wording) and \
                _KICKER_BEFORE.fullmatch(line[:len(line) - len(wording)]):
            return True
    return False


# A kicker of at most 60 characters and the separator after it (or a space: the page may hide
# its separator from the eye), before a headline on one line.
_KICKER_BEFORE = re.compile(r"[^\n]{2,60}?(?:\s+[:|\-–—/]\s+|:\s+|\s)")
# A run of at least this many short list items at the body's top is the page's breadcrumbs.
BREADCRUMBS = 3
# The headline shown as one of the body's first lines after this many others at most.
HEADING_PLACES = 3


def _a_label(line: str, below: str, shown: set[str]) -> bool:
    """Is this first line of the body a label above the text: no word at all ("|"), the kind of
    piece ("Analysis", "Článek"), or a short line above the headline (a kicker the markup does
    not mark: "immunology")?"""
    label = " ".join(line.split())
    if not WORD.search(label) or label.casefold() in ARTICLE_KIND_LABELS:
        return True
    return len(label.split()) <= 3 and len(label) <= 40 and not label.endswith((".", "!", "?")) and \
        fold_letters(below) in shown


def publication(page_times: list[str], entry: FeedEntry, page_date: str | None, language: str | None = None
                ) -> Published | None:
    """When the article was published, to the second where any source says so: the page's own
    metadata (JSON-LD, meta tags, <time>) with its offset from UTC (or in the zone of the page's
    `language` where it has one: schemas.times.LANGUAGE_ZONES), then the feed entry's time, then
    a page time that gave no offset (read as UTC); only then a date without a time (the
    page's, or the date trafilatura finds, from the URL or the text), marked so; last the time
    a web archive captured the page."""
    page: list[Published] = []
    for value in page_times:  # read in turn: the first a zoned time of day decides, the rest go unread
        read = in_language_zone(publication_time(value), language)
        if read and read.zoned and not read.date_only:
            return read
        page += [read] if read else []
    feed = publication_time(entry.published)
    timed = ([feed] if feed and not feed.date_only else []) + [p for p in page if not p.date_only]
    if timed:
        return timed[0]
    dated = [p for p in [*page, feed, publication_time(page_date)] if p]
    if dated:
        return dated[0]._replace(date_only=True)
    return publication_time(entry.captured)


def _page_language(document: Any) -> str | None:
    language = getattr(document, "language", None) if document is not None else None
    return language[:2].lower() if language else None


def article_from_feed(entry: FeedEntry, similarity: Similarity | None = None,
                      settings: ExtractSettings = DEFAULTS) -> Article | None:
    """The feed's own text as the body: the whole article when the feed carries it, else a
    stand-in for a page that failed. None if the feed had no text."""
    text = strip_trailers(strip_repeated_headline(entry.title, normalize_text(entry.summary), similarity, settings),
                          settings)
    if not text:
        return None
    text, credited = opening_byline(text, byline(None, entry_authors=entry.authors, feed_name=entry.feed_name),
                                    feed_sites(entry.feed_name))
    return Article(
        url=entry.url, feed_url=entry.feed_url, title=normalize_text(entry.title), kicker=entry.kicker, text=text,
        language=detect_language(text, entry.language, settings), published=entry.published,
        authors=credited.authors, credits=credited.credits, site_name=entry.feed_name,
        description=None, image=None,
        tags=entry.tags, body_source="feed", entry_updated=entry.updated)
