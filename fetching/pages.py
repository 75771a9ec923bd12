"""`PageFetcher`: an article page fetched as a polite crawler fetches it.

- robots.txt first: the host's rules decide, and fetching them takes the host's request slot
  (the page waits for the next one).
- A Crawl-delay longer than the limit is not waited out: the page is refused for this pass
  (a FetchError, retried later), so one host cannot hold the pass for hours.
- Every redirect hop to another host obeys that host's robots.txt and waits for a request slot
  of that host (`pace_host`, which the caller may share across workers).
- Only HTML is taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fetching import settings
from fetching.client import HttpClient, Response
from fetching.errors import FetchError
from fetching.politeness import HostLedger, Politeness
from fetching.robots import RobotsCache
from schemas import host_of

HTML_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


class PageFetcher:
    def __init__(self, client: HttpClient, ledger: HostLedger, politeness: Politeness,
                 pace_host: Callable[[str, float], None] | None = None):
        """`pace_host(host, delay_s)` blocks until `host` may have another request and takes
        that slot; by default through this process's `ledger`."""
        self.client, self.ledger, self.politeness = client, ledger, politeness
        self.robots = RobotsCache(client)
        self.pace_host = pace_host or ledger.wait_for_slot

    def crawl_delay(self, host: str) -> float | None:
        return self.robots.crawl_delay(host)

    def delay_for(self, host: str) -> float:
        if host in self.politeness.unthrottled:
            return 0.0
        return max(self.politeness.delay_s, self.robots.crawl_delay(host) or 0.0)

    def _obey_robots(self, url: str) -> None:
        """robots.txt of the URL's host: allowed, and a Crawl-delay within the limit. When its
        rules were fetched just now, that request took the host's slot: wait for the next."""
        host = host_of(url)
        fetched = self.robots.check(url)
        asked = self.robots.crawl_delay(host) or 0.0
        if asked > self.politeness.max_crawl_delay_s:
            raise FetchError(f"robots.txt asks for a Crawl-delay of {asked:g} s, more than the limit of "
                             f"{self.politeness.max_crawl_delay_s:g} s (--max-crawl-delay); tried again later",
                             sent=fetched)
        if fetched:
            delay = self.delay_for(host)
            self.ledger.postpone(host, time.monotonic() + 2 * delay)
            time.sleep(delay)

    def _before_redirect(self, origin: str) -> Callable[[str], None]:
        def check(url: str) -> None:
            host = host_of(url)
            if host == origin:
                return
            self._obey_robots(url)
            self.pace_host(host, self.delay_for(host))

        return check

    def fetch(self, url: str) -> Response:
        self._obey_robots(url)
        response = self.client.get(url, max_bytes=settings.MAX_PAGE_BYTES, headers={"Accept": ACCEPT_HTML},
                                   before_redirect=self._before_redirect(host_of(url)))
        if response.status == 304 or not response.body.strip():
            raise FetchError("empty response", response.status)
        if response.content_type and response.content_type not in HTML_TYPES:
            raise FetchError(f"not an HTML page (Content-Type {response.content_type})", response.status)
        return response
