"""`RunOptions`: what one run was asked to do, built once (pipeline.cli) from the command line
and the feeds file, then handed whole to every stage. Each default comes from the library
that owns the fact."""

from __future__ import annotations

import dataclasses
import os

from newsbeam.fetching import settings as fetching
from newsbeam.fetching.addresses import AddressPolicy
from newsbeam.fetching.client import HttpClient
from newsbeam.fetching.politeness import Politeness
from newsbeam.matching import settings as matching
from newsbeam.schemas import ArchiveSource, FeedSource

# Port of the local server for a feeds file's `serve` folder (offline demos).
SERVE_PORT = 8737
# --streaming: how often the feeds are polled.
POLL_INTERVAL_S = 3600.0


def default_store_url(output_dir: str) -> str:
    """The store of an output folder when none is named: a SQLite file in it."""
    return f"sqlite:///{os.path.abspath(os.path.join(output_dir, 'state.db'))}"


@dataclasses.dataclass(frozen=True)
class RunOptions:
    feeds: tuple[FeedSource, ...]
    output_dir: str
    archives: tuple[ArchiveSource, ...] = ()
    store_url: str = ""  # default: default_store_url(output_dir)
    # Where the workers keep caches of the store (the vector index). Default: beside a SQLite
    # store's file; OUTPUT/cache for PostgreSQL (a service's home may be read-only).
    cache_dir: str | None = None
    sinks: tuple[str, ...] = ("jsonl",)
    encoder: str = matching.ENCODER
    window_days: float = matching.STORY_WINDOW_DAYS
    # Pages of the publishers Fundus covers read by their own parsers (extraction.publishers).
    publisher_parsers: bool = True
    # Fetching
    user_agent: str = fetching.USER_AGENT
    per_host_connections: int = fetching.PER_HOST_CONNECTIONS
    per_host_delay_s: float = fetching.PER_HOST_DELAY_S
    max_crawl_delay_s: float = fetching.MAX_CRAWL_DELAY_S
    host_budget_s: float = fetching.HOST_PASS_BUDGET_S
    fetch_threads: int = fetching.FETCH_THREADS
    # Shares of a pass's work (feeds grouped by host, with their retries): one per worker, so
    # that each worker keeps all of its hosts in flight at once.
    shards: int = 1
    # Threads the encoder's matrix library may use in one worker: the machine's cores shared
    # among the workers on it (more, and the workers' threads fight for the cores).
    encoder_threads: int = 1
    allow_private_network: bool = False
    # A feeds file's `serve` folder, served on 127.0.0.1:serve_port for the run (offline demos).
    serve_dir: str | None = None
    serve_port: int = SERVE_PORT
    # Running
    streaming: bool = False
    poll_interval_s: float = POLL_INTERVAL_S
    stop_after_s: float | None = None
    # A pass is failing (exit code 3) when every feed due failed, or more than this share of them.
    max_failed_share: float | None = None
    beam_args: tuple[str, ...] = ()

    @property
    def served_host(self) -> str | None:
        """The local server of the `serve` folder: opened to the fetcher (and nothing else with
        it) and fetched without delay."""
        return f"http://127.0.0.1:{self.serve_port}" if self.serve_dir else None

    @property
    def store(self) -> str:
        return self.store_url or default_store_url(self.output_dir)

    @property
    def vector_cache_dir(self) -> str | None:
        """cache_dir, or its default; None: the store's own default (beside a SQLite file; the
        user's cache folder when the output folder is object storage)."""
        if self.cache_dir or (self.store.startswith("postgres") and "://" not in self.output_dir):
            return os.path.abspath(self.cache_dir or os.path.join(self.output_dir, "cache"))
        return None

    def politeness(self) -> Politeness:
        return Politeness(per_host=self.per_host_connections, delay_s=self.per_host_delay_s,
                          max_crawl_delay_s=self.max_crawl_delay_s, host_budget_s=self.host_budget_s,
                          threads=self.fetch_threads,
                          unthrottled=frozenset([self.served_host] if self.served_host else []))

    def http_client(self) -> HttpClient:
        return HttpClient(AddressPolicy(self.allow_private_network, [self.served_host] if self.served_host else []),
                          self.user_agent)
