"""Sitemaps beside feeds: an XML sitemap, a sitemap index, a Google News sitemap, or a site's
robots.txt naming its sitemaps. Recognised from the document, parsed without fetching anything
(the caller fetches children through its own polite fetcher) and without entities (no XML
bombs)."""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
import zlib

import lxml.etree

from newsbeam.schemas import FeedEntry, FeedSource, utc_iso
from newsbeam.sources.urls import canonical_url

_PARSER = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
_ROOT = re.compile(rb"<(?:[\w-]+:)?(urlset|sitemapindex)\b")


@dataclasses.dataclass(frozen=True)
class Listed:
    """One <url> of a sitemap (a page), or one <sitemap> of an index."""

    url: str
    lastmod: str | None  # ISO 8601 UTC
    title: str | None = None  # news:title
    published: str | None = None  # news:publication_date
    language: str | None = None  # news:language
    publication: str | None = None  # news:publication/news:name


@dataclasses.dataclass(frozen=True)
class Sitemap:
    pages: list[Listed]
    sitemaps: list[Listed]  # of an index (or of robots.txt): fetched in turn


def is_robots(url: str) -> bool:
    return urllib.parse.urlsplit(url).path == "/robots.txt"


def robots_sitemaps(body: bytes, base_url: str) -> Sitemap:
    """The sitemaps a robots.txt names in its `Sitemap:` lines."""
    text = body.decode("utf-8", "replace")
    urls = [urllib.parse.urljoin(base_url, m.strip()) for m in re.findall(r"(?im)^\s*sitemap\s*:\s*(\S+)", text)]
    return Sitemap(pages=[], sitemaps=[Listed(url, None) for url in dict.fromkeys(urls)])


def unpack(body: bytes, max_bytes: int) -> bytes:
    """A gzipped sitemap (sitemap.xml.gz) unpacked, at most `max_bytes` of it (a gzip bomb is
    cut off)."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflater = zlib.decompressobj(wbits=31)
    try:
        return inflater.decompress(body, max_bytes)
    except zlib.error:
        return body


def looks_like_sitemap(body: bytes) -> bool:
    return _ROOT.search(body[:2048].lstrip()) is not None


def parse_sitemap(body: bytes) -> Sitemap | None:
    """The pages and child sitemaps of a sitemap document; None when it is not one."""
    if not looks_like_sitemap(body):
        return None
    try:
        root = lxml.etree.fromstring(body, parser=_PARSER)
    except (lxml.etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    pages: list[Listed] = []
    sitemaps: list[Listed] = []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        name = lxml.etree.QName(element).localname
        fields = {lxml.etree.QName(child).localname: (child.text or "").strip()
                  for child in element.iter() if isinstance(child.tag, str)}
        if not fields.get("loc"):
            continue
        listed = Listed(
            url=fields["loc"], lastmod=utc_iso(fields.get("lastmod")),
            title=" ".join(fields["title"].split()) if fields.get("title") else None,
            published=utc_iso(fields.get("publication_date")),
            language=(fields.get("language") or "")[:2].lower() or None,
            publication=fields.get("name") or None)
        (sitemaps if name == "sitemap" else pages).append(listed)
    return Sitemap(pages=pages, sitemaps=sitemaps)


def sitemap_entries(sitemap: Sitemap, source: FeedSource, oldest: str) -> tuple[list[FeedEntry], int]:
    """The pages of a sitemap as feed entries (news:title, news:publication_date or lastmod,
    news:language), but those older than `oldest` (the story window: a page that old would
    join no story), and how many were too old."""
    entries, too_old = [], 0
    for page in sitemap.pages:
        when = page.published or page.lastmod
        url = canonical_url(page.url)
        if not url:
            continue
        if when and when < oldest:
            too_old += 1
            continue
        entries.append(FeedEntry(
            url=url, link=page.url, feed_url=source.url, feed_name=source.name or page.publication,
            title=page.title or "", summary="", published=page.published, updated=page.lastmod,
            language=page.language or source.language, tags=source.tags))
    return entries, too_old
