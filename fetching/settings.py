"""`FetchSettings`: every default and limit of fetching, and why.

One frozen object, passed down explicitly (`HttpClient(policy, settings)`,
`PoliteScheduler(..., settings)`, `PageFetcher(..., settings)`); the command line's fetching
options are its fields that carry a flag."""

from __future__ import annotations

import dataclasses

from newsbeam.schemas.settings import setting
from newsbeam.version import __version__

USER_AGENT = f"newsbeam/{__version__} (news ingestion pipeline)"


@dataclasses.dataclass(frozen=True)
class FetchSettings:
    # --- One request ------------------------------------------------------------------------------
    user_agent: str = setting(USER_AGENT, flag="--user-agent", help="User-Agent sent to feeds and sites")
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    # Wall-clock limit for one request including the body: a server that drips bytes cannot
    # hold a worker longer than this.
    request_deadline_s: float = 30.0
    max_feed_bytes: int = 5 * 1024 * 1024
    max_page_bytes: int = 10 * 1024 * 1024
    max_robots_bytes: int = 512 * 1024
    max_redirects: int = 5
    # A server's Retry-After is followed up to this (a larger or absurd value is clamped).
    max_retry_after_s: float = 24 * 3600
    # Retries for 429, 5xx and connection errors (urllib3 Retry, exponential backoff with
    # jitter); other 4xx are final.
    http_retries: int = 2
    http_backoff_s: float = 0.5
    # Bodies are read in small chunks so that the size cap also bounds a decompression bomb.
    read_chunk_bytes: int = 16 * 1024

    # --- Politeness and concurrency ---------------------------------------------------------------
    # Per host (scheme://host:port), per worker: requests at once, and seconds between their
    # starts (robots.txt's Crawl-delay wins when longer).
    per_host_connections: int = setting(2, flag="--per-host-connections",
                                        help="requests at once to one host, per worker")
    per_host_delay_s: float = setting(1.0, flag="--per-host-delay",
                                      help="seconds between requests to one host (robots.txt Crawl-delay wins "
                                           "when longer)")
    # A Crawl-delay longer than this is not waited out: the host's pages become dead letters,
    # tried again later (a site that asks for one request a day cannot hold a pass for a day).
    max_crawl_delay_s: float = setting(60.0, flag="--max-crawl-delay",
                                       help="a robots.txt Crawl-delay longer than this is not waited out: the "
                                            "host's pages are dead letters, tried again later (seconds)")
    # A host whose requests fail this many times in a row (timeouts, dropped connections, 5xx)
    # gets no more requests this pass; its remaining pages are dead letters, tried again later.
    host_failures_in_a_row: int = 3
    # The wall-clock time one host's requests may take in one pass; what remains is tried later.
    host_budget_s: float = setting(900.0, flag="--host-budget",
                                   help="seconds one host's requests may take in a pass; the rest of its pages "
                                        "are tried in a later pass")
    # Fetches in flight at once in one worker, across hosts.
    fetch_threads: int = 32
    # Hosts (scheme://host:port) fetched without delay: a feeds file's `serve` folder's own
    # server, set by the run, never by a user.
    unthrottled: frozenset[str] = frozenset()

    @property
    def robots_deadline_s(self) -> float:
        """robots.txt is one small request: a connection and one read at most."""
        return self.connect_timeout_s + self.read_timeout_s


DEFAULTS = FetchSettings()
