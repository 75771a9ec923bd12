"""Feed documents: entries out of RSS, Atom and JSON feeds (feedparser, on bytes: it never
fetches), a body hash that ignores build stamps, and the polling interval a feed asks for."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import hashlib
import html
import json
import re
import time
from typing import Any

import feedparser

from newsbeam.schemas import FeedEntry, FeedSource, parse_time, without_controls
from newsbeam.schemas.lexicon import OTHER_STORIES_LABEL_PATTERN, OTHER_STORIES_WORD_PATTERN
from newsbeam.schemas.text import tag_list
from newsbeam.schemas.times import publication_time
from newsbeam.sources.furniture import split_titles, strip_furniture
from newsbeam.sources.settings import DEFAULTS, ReaderSettings
from newsbeam.sources.urls import canonical_url

# Elements that change on every request without the feed's content changing; left out of the
# body hash so that a server which ignores conditional GET is still caught as "unchanged".
_VOLATILE = re.compile(
    rb"<(lastBuildDate|pubDate|updated|dc:date|sy:updateBase)>[^<]*</\1>"
    rb"|<(channel|feed)\b[^>]*>\s*<(generator)\b[^>]*>[^<]*</\3>", re.I)


def feed_body_hash(body: bytes) -> str:
    # Only the channel-level stamps before the first item/entry are volatile; item dates are
    # content (an updated item must count as a change).
    first_item = min((i for i in (body.find(b"<item"), body.find(b"<entry")) if i >= 0), default=len(body))
    head = _VOLATILE.sub(b"", body[:first_item])
    return hashlib.sha256(head + body[first_item:]).hexdigest()


def to_utc(struct: time.struct_time | None) -> str | None:
    """feedparser's parsed dates are UTC struct_times."""
    if not struct:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return None


def _item_time(item: Any, *keys: str) -> str | None:
    """The item's time under the first of `keys` that gives one ("published", "updated"), read
    as written by newsbeam's reader, which knows day and month names of other languages ("Seg,
    24 Set 2018 19:42:40 -0300" in a Portuguese feed) and zones as newsrooms write them ("IST");
    feedparser's reading (English names, "IST" as UTC) where that reads none. dict.get:
    feedparser's own get() answers "updated" with the published date."""
    for key in keys:
        written = dict.get(item, key)
        read = publication_time(written) if isinstance(written, str) else None
        time = read.time if read else to_utc(dict.get(item, f"{key}_parsed"))
        if time:
            return time
    return None


_TAG = re.compile(r"<[^>]+>")
# A list item that is only a link points to another story (the Guardian lists its related
# reports so): a list of links is never the item's own text.
_LINK_ITEM = re.compile(r"(?is)<li\b[^>]*>\s*<a\b[^>]*>(?:(?!</?a\b|</?li\b).)*</a>\s*</li>")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, a line per block, without list items that are only a
    link. Line breaks in the source are only whitespace to HTML: a paragraph wrapped over
    several source lines stays one line. (Plain text, without tags, keeps its line breaks.)"""
    text = _html_to_text(fragment)
    # HTML escaped twice (a feed's content escaped once more) reads as markup from its first
    # character: that markup is no text. Markup further in is the text's own (a code sample).
    if _MARKUP.match(text.lstrip()):
        text = _html_to_text(text)
    return text


# An HTML tag or comment, as a page writes it ("a < b and c > d" is none)
_MARKUP = re.compile(r"<(?:!--|/?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>)")


# Where a block of HTML begins or ends (a line break, a rule): a line of the text ends there.
# "<dl><dt>by Jane Doe</dt></dl>The conference ..." is a byline line and a paragraph.
_BLOCK_EDGE = re.compile(r"(?i)<\s*/?\s*(?:p|div|li|h\d|dt|dd|dl|ul|ol|blockquote|table|tr|section|article|header|"
                         r"footer|figure|figcaption|pre)\b[^>]*>|<\s*(?:br|hr)\b[^>]*>")


def _html_to_text(fragment: str) -> str:
    if _TAG.search(fragment):
        fragment = _LINK_ITEM.sub(" ", re.sub(r"\s+", " ", fragment))
    text = _TAG.sub(" ", _BLOCK_EDGE.sub("\n", fragment))
    lines = (" ".join(html.unescape(line).split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    entries: list[FeedEntry]
    problem: str | None  # why there are no entries
    interval_s: int | None  # how often the feed says it changes
    title: str | None  # what the feed calls itself
    # items whose link is no http(s) URL newsbeam may fetch (none, file:, longer than any server
    # takes): counted, never fetched
    unusable_links: int = 0


# What feeds append to an item's text that is not the article: a link to read on ("Continue
# reading...", "Weiterlesen"), an excerpt's ellipsis ("[...]", or "[?]" where a feed lost its
# "…"), WordPress's "The post X appeared first on Y", and lines that point to other stories
# ("Related: <another headline>"). Left in, they make unrelated items alike.
_TEASER_END = re.compile(
    r"\s*(?:(?:continue reading|read more|read the full (?:story|article)|read full (?:story|article)|"
    r"click here to read more|weiterlesen|mehr lesen|lire la suite|leer más|leia mais|continua a leggere|"
    r"czytaj dalej|lees verder|les mer|läs mer|læs mere|devamını oku)\s*(?:\.\.\.|…|»|›|→|>>)?"
    r"(?:\s*\([\d/.:h\s-]+\))?|"  # and the time the item was written, as UOL gives it: "(09/24/2018 - 19h22)"
    r"\[\s*(?:\.\.\.|…|\?)\s*\]|\((?:more|mehr)\s*(?:\.\.\.|…)\))\s*$", re.I)
_TEASER_LINE = re.compile(
    rf"^(?:(?:{OTHER_STORIES_LABEL_PATTERN}|{OTHER_STORIES_WORD_PATTERN})\s*[:：].*|"
    r"the post .+ appeared first on .+|this (?:article|post) (?:was )?(?:first|originally) "
    r"(?:appeared|published) (?:on|in|at) .+)$", re.I)


def strip_teasers(text: str) -> str:
    """An item's text without the links, endings and pointers to other stories that feeds add."""
    lines = [line for line in text.split("\n") if not _TEASER_LINE.match(line.strip())]
    while lines:
        last = _TEASER_END.sub("", lines[-1]).rstrip()
        if last == lines[-1].rstrip():
            break
        lines[-1] = last
        if not last:
            lines.pop()
    return "\n".join(lines).strip()


def text_of(element: Any, name: str) -> str:
    """The plain text of a feed element (title, summary): markup turned into text when the
    feed says it is HTML, kept as it is (tags and all are then words) when it says text."""
    value = without_controls(element.get(name) or "")
    kind = (element.get(f"{name}_detail") or {}).get("type", "text/html")
    return value if kind == "text/plain" else html_to_text(value)


def parse_feed(body: bytes, location: str, content_type: str | None, source: FeedSource,
               settings: ReaderSettings = DEFAULTS) -> ParsedFeed:
    """The entries of a fetched feed document (`location`: where it was fetched from, after
    redirects), or the problem when there are none.

    feedparser is given the bytes (it never fetches) and the URL, so relative links resolve.
    A feed with a recoverable problem (`bozo`) still yields its entries.
    """
    parsed = feedparser.parse(
        body,
        response_headers={"content-location": location, **({"content-type": content_type} if content_type else {})},
        resolve_relative_uris=True, sanitize_html=True)
    feed_language = source.language or _language_code(parsed.feed.get("language"))
    title = " ".join(text_of(parsed.feed, "title").split())[:500] or None
    entries, unusable = [], 0
    for item in parsed.entries:
        link = without_controls(item.get("link") or _first_alternate(item) or "")
        url = canonical_url(link) if link else None
        if not url:
            unusable += 1
            continue
        longest: dict[str, Any] = max(item.get("content") or [], key=lambda c: len(c.get("value", "")), default={})
        content = longest.get("value", "") if longest.get("type") == "text/plain" else html_to_text(
            longest.get("value", ""))
        summary = strip_teasers(content or text_of(item, "summary"))
        entries.append(FeedEntry(
            url=url,
            link=link,
            feed_url=source.url,
            feed_name=source.name or title,
            title=" ".join(text_of(item, "title").split()),
            summary=summary,
            published=_item_time(item, "published", "updated"),
            updated=_item_time(item, "updated"),
            language=_language_code(item.get("language")) or feed_language,
            authors=tuple(without_controls(a["name"]) for a in item.get("authors", []) if a.get("name")),
            tags=tag_list(without_controls(t["term"]) for t in item.get("tags", []) if t.get("term")),
            full_text=source.fetch_pages == "auto" and len(content) >= settings.feed_full_text_min_chars,
        ))
    interval = feed_interval_s(parsed.feed, settings.max_feed_interval_s)
    titles = split_titles([(entry.title, entry.authors) for entry in entries], settings)
    texts = strip_furniture([(entry.title, entry.summary) for entry in entries], settings)
    entries = [dataclasses.replace(entry, title=title, kicker=kicker, summary=text)
               for entry, (title, kicker), text in zip(entries, titles, texts, strict=True)]
    if entries:
        return ParsedFeed(entries, None, interval, title, unusable)
    if parsed.bozo:
        problem = getattr(parsed.bozo_exception, "getMessage", lambda: str(parsed.bozo_exception))()
        return ParsedFeed([], f"not a valid feed: {problem}", None, title)
    if not parsed.version:
        return ParsedFeed([], "not a feed (no RSS, Atom or JSON feed found)", None, None)
    return ParsedFeed([], "feed has no entries with a link", interval, title, unusable)


def unique_entries(entries: list[FeedEntry], most: int) -> tuple[list[FeedEntry], int]:
    """One entry per URL (the first occurrence wins), in the feed's order, at most `most` of
    them; and how many were dropped over that cap."""
    unique = list({entry.url: entry for entry in reversed(entries)}.values())[::-1]
    return unique[:most], max(0, len(unique) - most)


def _first_alternate(item: Any) -> str | None:
    for link in item.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _language_code(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) < 2 or not value[:2].isalpha():
        return None
    return value[:2].lower()


def max_age_due(headers: dict[str, str], now: str,
                longest_s: int = DEFAULTS.max_feed_interval_s) -> str | None:
    """The time before which the server says the feed will not change (Cache-Control max-age),
    capped: a server cannot stop newsbeam from looking for a whole week."""
    match = re.search(r"max-age\s*=\s*(\d+)", headers.get("cache-control", "")[:1000])
    if not match:
        return None
    digits = match.group(1).lstrip("0") or "0"  # a number of any length, read without int()'s digit limit
    seconds = longest_s if len(digits) > 9 else min(int(digits), longest_s)
    return (parse_time(now) + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


def feed_interval_s(feed: Any, longest_s: int) -> int | None:
    """How often the feed says it changes: RSS <ttl> (minutes) or sy:updatePeriod/Frequency."""
    ttl = str(feed.get("ttl", "")).strip()[:12]
    if ttl.isdigit():
        return min(int(ttl) * 60, longest_s)
    period = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}.get(
        str(feed.get("sy_updateperiod", "")).strip().lower())
    if period:
        frequency = str(feed.get("sy_updatefrequency", "1")).strip()[:12]
        return min(period // max(int(frequency) if frequency.isdigit() else 1, 1), longest_s)
    return None


# Content types no feed comes as: such an answer is a failed feed, never parsed.
NOT_A_FEED_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip")


def entry_payload(entry: FeedEntry) -> str:
    """The feed entry as JSON, kept in a dead letter so the page can be retried later even if
    the entry has left the feed by then."""
    return json.dumps(entry.to_dict(), ensure_ascii=False)


def entry_from_payload(payload: str) -> FeedEntry:
    fields = json.loads(payload)
    for name in ("authors", "tags"):
        fields[name] = tuple(fields.get(name) or ())
    return FeedEntry(**fields)
