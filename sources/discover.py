"""Finding a site's feeds from its address, through the same guarded, polite fetcher.

In order: the feeds the site's page declares (`<link rel="alternate">` of an RSS, Atom or JSON
feed), then, when it declares none, the paths feeds usually live at (/feed, /rss.xml, ...); and
the sitemaps its robots.txt names (a Google News sitemap told apart by its `news:` entries).
Each address found is fetched and kept only when it is a feed or a sitemap newsbeam can read.
"""

from __future__ import annotations

import dataclasses
import html
import urllib.parse
from collections.abc import Callable

import lxml.html

from newsbeam.fetching.client import FetchError, HttpClient, Response
from newsbeam.schemas import FeedSource, host_of
from newsbeam.sources.feeds import parse_feed
from newsbeam.sources.sitemaps import looks_like_sitemap, parse_sitemap, robots_sitemaps, unpack

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml", "text/xml", "application/xml")
# Where a site without a declaration usually has its feed (WordPress, Ghost, Hugo, Jekyll, Blogger...).
# Tried below the page's own folder (a blog at /blog/), then below the site's root.
COMMON_PATHS = ("feed", "rss", "rss.xml", "feed.xml", "atom.xml", "index.xml", "feed/", "feeds/posts/default")
MAX_PAGE_BYTES = 2 * 1024 * 1024
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_SITEMAPS_CHECKED = 10


@dataclasses.dataclass(frozen=True)
class Found:
    url: str
    kind: str  # feed, sitemap, news sitemap
    how: str  # declared, common path, robots.txt
    title: str | None = None


def discover(site_url: str, http: HttpClient, pace: Callable[[str], None] = lambda host: None) -> list[Found]:
    """The feeds and sitemaps of the site at `site_url`; `pace(host)` is called before each
    request (the caller's politeness). FetchError when the site's page cannot be read."""
    def get(url: str, accept: str, max_bytes: int) -> Response:
        pace(host_of(url))
        return http.get(url, max_bytes=max_bytes, headers={"Accept": accept})

    page = get(site_url, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5", MAX_PAGE_BYTES)
    found: list[Found] = []
    declared = _declared_feeds(page.body, page.url)
    usual = dict.fromkeys(urllib.parse.urljoin(base, path) for base in (page.url, urllib.parse.urljoin(page.url, "/"))
                          for path in COMMON_PATHS)
    candidates = [(url, "declared") for url in declared] or [(url, "common path") for url in usual]
    seen: set[str] = set()
    for url, how in candidates:
        feed = _read(lambda u: get(u, "application/rss+xml, application/atom+xml, */*;q=0.5", MAX_DOCUMENT_BYTES),
                     url, how)
        if feed is not None and feed.url not in seen:
            seen.add(feed.url)
            found.append(feed)
            if how == "common path":
                break  # one is enough: the others are usually the same feed again
    try:
        robots = get(urllib.parse.urljoin(page.url, "/robots.txt"), "text/plain", 512 * 1024)
    except FetchError:
        return found
    for listed in robots_sitemaps(robots.body, robots.url).sitemaps[:MAX_SITEMAPS_CHECKED]:
        sitemap = _read(lambda u: get(u, "application/xml, text/xml, */*;q=0.5", MAX_DOCUMENT_BYTES),
                        listed.url, "robots.txt")
        if sitemap is not None and sitemap.url not in seen:
            seen.add(sitemap.url)
            found.append(sitemap)
    return found


def _declared_feeds(html: bytes, base_url: str) -> list[str]:
    """The feeds a page declares in its <head>: <link rel="alternate" type="application/rss+xml"...>."""
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    urls = []
    for link in tree.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            urls.append(urllib.parse.urljoin(base_url, link.get("href").strip()))
    return list(dict.fromkeys(urls))


def _read(fetch: Callable[[str], Response], url: str, how: str) -> Found | None:
    """The feed or sitemap at `url`, if it is one newsbeam can read; None otherwise."""
    try:
        response = fetch(url)
    except FetchError:
        return None
    body = unpack(response.body, MAX_DOCUMENT_BYTES)
    if looks_like_sitemap(body):
        sitemap = parse_sitemap(body)
        if sitemap is None:
            return None
        news = b"sitemap-news" in body[:4096] or b"<news:news" in body
        return Found(response.url, "news sitemap" if news else "sitemap", how)
    parsed = parse_feed(response.body, response.url, response.content_type, FeedSource(url=response.url))
    if parsed.problem and parsed.problem.startswith("not a"):  # an empty feed is still a feed
        return None
    return Found(response.url, "feed", how, parsed.title)


def feeds_file_snippet(found: list[Found]) -> str:
    """The found feeds and sitemaps as entries of a feeds file."""
    lines = ["feeds:"]
    for item in found:
        note = f"{item.kind}: {item.title}" if item.title else item.kind
        lines.append(f"  - url: {item.url}    # {note}")
    return "\n".join(lines) + "\n"


def opml(found: list[Found]) -> str:
    """The found feeds and sitemaps as an OPML subscription list."""
    outlines = "".join(f'    <outline type="rss" text="{html.escape(item.title or item.url)}" '
                       f'xmlUrl="{html.escape(item.url)}"/>\n' for item in found)
    return f'<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">\n  <head><title>newsbeam</title></head>\n' \
           f"  <body>\n{outlines}  </body>\n</opml>\n"
