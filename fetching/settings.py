"""Defaults and limits of fetching: timeouts, size caps, politeness."""

from importlib import metadata

try:
    VERSION = metadata.version("newsbeam")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    VERSION = "0+unknown"
USER_AGENT = f"newsbeam/{VERSION} (news ingestion pipeline)"

# --- One request ------------------------------------------------------------------------------
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 15.0
# Wall-clock limit for one request including the body: a server that drips bytes cannot hold a
# worker longer than this.
REQUEST_DEADLINE_S = 30.0
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_PAGE_BYTES = 10 * 1024 * 1024
MAX_ROBOTS_BYTES = 512 * 1024
MAX_REDIRECTS = 5
# A server's Retry-After is followed up to this (a larger or absurd value is clamped).
MAX_RETRY_AFTER_S = 24 * 3600
# Retries for 429, 5xx and connection errors (urllib3 Retry, exponential backoff with jitter);
# other 4xx are final.
HTTP_RETRIES = 2
HTTP_BACKOFF_S = 0.5
# Bodies are read in small chunks so that the size cap also bounds a decompression bomb.
READ_CHUNK_BYTES = 16 * 1024

# --- Politeness and concurrency ---------------------------------------------------------------
# Per host (scheme://host:port), per worker: requests at once, and seconds between their starts
# (robots.txt's Crawl-delay wins when longer).
PER_HOST_CONNECTIONS = 2
PER_HOST_DELAY_S = 1.0
# A Crawl-delay longer than this is not waited out: the host's pages become dead letters,
# tried again later (a site that asks for one request a day cannot hold a pass for a day).
MAX_CRAWL_DELAY_S = 60.0
# A host whose requests fail this many times in a row (timeouts, dropped connections, 5xx)
# gets no more requests this pass; its remaining pages are dead letters, tried again later.
HOST_FAILURES_IN_A_ROW = 3
# The wall-clock time one host's requests may take in one pass; what remains is tried later.
HOST_PASS_BUDGET_S = 900.0
# Fetches in flight at once in one worker, across hosts.
FETCH_THREADS = 32
