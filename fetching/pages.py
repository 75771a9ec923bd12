"""`PageFetcher`: an article page fetched as a polite crawler fetches it.

- robots.txt first: the host's rules decide, and fetching them takes the host's request slot
  (the page waits for the next one).
- A Crawl-delay longer than the limit is not waited out: the page is refused for this pass
  (a FetchError, retried later), so one host cannot hold the pass for hours.
- Every redirect hop to another host obeys that host's robots.txt and waits for a request slot
  of that host (`pace_host`, which the caller may share across workers). When several workers
  may ask one host (`pace_every_request`), every request waits for such a slot.
- Only HTML is taken.
"""

from __future__ import annotations

from collections.abc import Callable

from newsbeam.fetching.client import HttpClient, Response
from newsbeam.fetching.errors import FetchError
from newsbeam.fetching.politeness import HostLedger
from newsbeam.fetching.robots import RobotsCache
from newsbeam.schemas import host_of

HTML_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


class PageFetcher:
    def __init__(self, client: HttpClient, ledger: HostLedger,
                 pace_host: Callable[[str, float], None] | None = None, pace_every_request: bool = False):
        """`pace_host(host, delay_s)` blocks until `host` may have another request and takes
        that slot; by default through this process's `ledger`. With `pace_every_request` (a
        `pace_host` shared by several workers), the first request of a page takes one too."""
        self.client, self.ledger, self.settings = client, ledger, client.settings
        self.robots = RobotsCache(client)
        self.pace_host = pace_host or ledger.wait_for_slot
        self.pace_every_request = pace_every_request and pace_host is not None

    def crawl_delay(self, host: str) -> float | None:
        return self.robots.crawl_delay(host)

    def delay_for(self, host: str) -> float:
        if host in self.settings.unthrottled:
            return 0.0
        return max(self.settings.per_host_delay_s, self.robots.crawl_delay(host) or 0.0)

    def _obey_robots(self, url: str, pace: Callable[[str, float], None]) -> None:
        """robots.txt of the URL's host: allowed, and a Crawl-delay within the limit. When its
        rules were fetched just now, that request took the host's slot: wait for the next."""
        host = host_of(url)
        fetched = self.robots.check(url)
        asked = self.robots.crawl_delay(host) or 0.0
        if asked > self.settings.max_crawl_delay_s:
            raise FetchError(f"robots.txt asks for a Crawl-delay of {asked:g} s, more than the limit of "
                             f"{self.settings.max_crawl_delay_s:g} s (--max-crawl-delay); tried again later",
                             sent=fetched)
        if fetched:  # that request took the host's slot: the page waits for the next, paced as the host is
            pace(host, self.delay_for(host))

    def _before_redirect(self, origin: str) -> Callable[[str], None]:
        def check(url: str) -> None:
            host = host_of(url)
            if host == origin:
                return
            self.pace_host(host, self.delay_for(host))  # for the first request there: robots.txt's or the page's
            self._obey_robots(url, self.pace_host)

        return check

    def fetch(self, url: str, own_headers: dict[str, str] | None = None,
              validators: tuple[str | None, str | None] | None = None) -> Response:
        """The page, politely; `own_headers` (its feed's cookies, credentials, user agent) sent
        to the page's own host only. With `validators` (the ETag and Last-Modified it was
        fetched with before), asked conditionally: an unchanged page answers 304, returned as
        it is."""
        host = host_of(url)
        if self.pace_every_request:
            self.pace_host(host, self.delay_for(host))  # robots.txt's slot or the page's
        # the scheduler paced the first request to the page's host on this worker alone
        self._obey_robots(url, self.pace_host if self.pace_every_request else self.ledger.wait_for_slot)
        headers = {"Accept": ACCEPT_HTML}
        etag, last_modified = validators or (None, None)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = self.client.get(url, max_bytes=self.settings.max_page_bytes, headers=headers,
                                   own_headers=own_headers,
                                   before_redirect=self._before_redirect(host))
        if response.status == 304 and validators:
            return response
        if response.status == 304 or not response.body.strip():
            raise FetchError("empty response", response.status)
        if response.content_type and response.content_type not in HTML_TYPES:
            raise FetchError(f"not an HTML page (Content-Type {response.content_type})", response.status)
        return response
