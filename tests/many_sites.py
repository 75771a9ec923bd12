"""Many news sites on this machine, for tests and benchmarks that need what real feeds look
like: each site on a loopback address of its own (127.0.0.2, 127.0.0.3, ...) with one feed and
its article pages, wrapped in site chrome (navigation, byline, footer).

The article texts are distinct real news texts read from ../shared/data/dedup (never copied
into the project): the WMT19 documents (an English original, its human German translation and
a machine translation: three variants of one story, put on three different sites) and the
SemEval-2022 dev texts. Each server keeps its own request log (path, start, end), from which a
test can count what the host saw.
"""

from __future__ import annotations

import html
import http.server
import json
import re
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

from tests.conftest import POLL_S, shared_data

WMT19 = {"en": "newstest2019-ende-src.en.sgm", "de": "newstest2019-ende-ref.de.sgm",
         "de-mt": "newstest2019.Facebook_FAIR.6862.en-de.sgm"}


def wmt19_documents() -> Iterator[tuple[str, str, list[str]]]:
    """(story key, language, paragraphs) of each WMT19 document in each of its three versions."""
    for version, name in WMT19.items():
        text = shared_data(f"dedup/wmt19_ende/{name}").read_text(encoding="utf-8")
        for match in re.finditer(r'<doc[^>]*docid="([^"]+)"[^>]*>(.*?)</doc>', text, re.S | re.I):
            segments = [html.unescape(s) for s in re.findall(r"<seg[^>]*>(.*?)</seg>", match.group(2), re.S)]
            if len(segments) >= 4:
                yield match.group(1), version[:2], segments


def semeval_texts() -> Iterator[tuple[str, str]]:
    """(language, text) of every distinct SemEval-2022 dev text."""
    seen: set[str] = set()
    for line in shared_data("dedup/semeval2022_dev.jsonl").read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        for side in ("1", "2"):
            text = " ".join(pair[f"text{side}"].split())
            if len(text) > 400 and text not in seen:
                seen.add(text)
                yield pair[f"lang{side}"], text


def articles() -> list[dict[str, Any]]:
    """Distinct articles: title, paragraphs, language, and the story they belong to (the WMT19
    versions of one document share it)."""
    out = []
    for key, language, segments in wmt19_documents():
        out.append({"story": key, "language": language, "title": segments[0], "paragraphs": segments[1:]})
    for number, (language, text) in enumerate(semeval_texts()):
        sentences = re.split(r"(?<=[.!?])\s+", text)
        title = " ".join(sentences[0].split()[:14])
        paragraphs = [" ".join(sentences[i:i + 3]) for i in range(1, len(sentences), 3)] or [text]
        out.append({"story": f"semeval-{number}", "language": language, "title": title, "paragraphs": paragraphs})
    return out


def published_day(article: dict[str, Any]) -> str:
    """The day of November a story was published: the same for each of its variants (the
    translations of one report come out together), spread over the month across stories."""
    return f"{1 + zlib.crc32(article['story'].encode()) % 27:02d}"


def render_page(site: str, article: dict[str, Any], number: int) -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article["paragraphs"])
    return f"""<!DOCTYPE html>
<html lang="{article['language']}"><head><meta charset="utf-8"><title>{html.escape(article['title'])} | {site}</title>
<meta property="og:site_name" content="{site}"></head>
<body><header><a href="/">{site}</a><nav><a href="/politics/">Politics</a> <a href="/business/">Business</a>
<a href="/sport/">Sport</a> <a href="/weather/">Weather</a></nav></header>
<main><article><h1>{html.escape(article['title'])}</h1>
<p class="byline">By Staff Reporter {number % 7}, published 2026-11-{published_day(article)}</p>
{paragraphs}</article>
<aside><h2>Most read</h2><ul><li><a href="/a/0.html">Top story</a></li></ul></aside></main>
<footer>&copy; 2026 {site}. All rights reserved. <a href="/privacy">Privacy</a></footer></body></html>""".encode()


class Site(http.server.ThreadingHTTPServer):
    """One news site: /feed.rss, /a/N.html, and its request log."""

    daemon_threads = True

    def __init__(self, address: str, name: str, pages: list[tuple[dict[str, Any], int]]):
        self.name = name
        self.pages = {f"/a/{number}.html": render_page(name, article, number) for article, number in pages}
        self.titles = {f"/a/{number}.html": article["title"] for article, number in pages}
        self.log: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()
        super().__init__((address, 0), SiteHandler)
        threading.Thread(target=self.serve_forever, args=(POLL_S,), daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>{html.escape(self.titles[path])}</title><link>{self.base}{path}</link>"
            f"<guid>{self.base}{path}</guid></item>" for path in self.pages)
        return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{self.name}</title>"
                f"<link>{self.base}/</link>{items}</channel></rss>").encode()


class SiteHandler(http.server.BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (up to 40 ms on Linux), a stall no real server has.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        started = time.monotonic()
        if self.path == "/feed.rss":
            body, kind, status = self.server.feed(), "application/rss+xml", 200
        elif self.path in self.server.pages:
            body, kind, status = self.server.pages[self.path], "text/html; charset=utf-8", 200
        else:
            body, kind, status = b"not found", "text/plain", 404
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.server.lock:
            self.server.log.append((self.path, started, time.monotonic()))


class ManySites:
    """`pages_per_site[i]` distinct articles on site i (127.0.0.{i + 2}); the three versions
    of a WMT19 document go to three different sites."""

    def __init__(self, pages_per_site: list[int]):
        corpus = articles()
        if sum(pages_per_site) > len(corpus):
            raise ValueError(f"only {len(corpus)} distinct articles to serve")
        # Interleave the WMT versions so that neighbours in the list (which go to one site in
        # turn) are from different stories and the versions of one story land on different sites.
        queue = iter(corpus)
        shares: list[list[tuple[dict[str, Any], int]]] = [[] for _ in pages_per_site]
        number = 0
        while any(len(share) < want for share, want in zip(shares, pages_per_site, strict=True)):
            for share, want in zip(shares, pages_per_site, strict=True):
                if len(share) < want:
                    share.append((next(queue), number))
                    number += 1
        self.sites = [Site(f"127.0.0.{i + 2}", f"Site {i + 2} News", share) for i, share in enumerate(shares)]

    def feed_urls(self) -> list[str]:
        return [f"{site.base}/feed.rss" for site in self.sites]

    def page_urls(self) -> list[str]:
        return [f"{site.base}{path}" for site in self.sites for path in site.pages]

    def close(self) -> None:
        for site in self.sites:
            site.shutdown()
            site.server_close()
