"""Fetching that is polite, bounded, and cannot be pointed at the wrong place. Beam-free.

- `addresses`: the address policy: which URLs and addresses may be fetched at all.
- `client`: `HttpClient`, one pooled session per worker: timeouts, a deadline over the whole
  response, size caps, redirects followed and judged hop by hop.
- `politeness`: `PoliteScheduler`, many fetches at once, each host at its own pace.
- `robots`: robots.txt per host, as RFC 9309 matches it.
- `pages`: `PageFetcher`, an article page fetched as a polite crawler would.
"""

from newsbeam.fetching.client import FetchError, HttpClient, Response

__all__ = ["FetchError", "HttpClient", "Response"]
