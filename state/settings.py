"""The store's defaults and limits: reconnecting, and when failed work is tried again."""

# A broken PostgreSQL connection is opened again after these pauses (a server restart or a
# failover takes seconds); a statement or write transaction cut by a break is run again, on a
# new connection, up to this many times (a failing-over server may cut a few in a row).
RECONNECT_DELAYS_S = (1, 2, 4, 8, 15)
WRITE_ATTEMPTS = 8

# A failed page is retried no sooner than this, doubling per attempt up to the maximum, and
# given up after MAX_ATTEMPTS.
RETRY_BASE_MINUTES = 30
RETRY_MAX_HOURS = 24
MAX_ATTEMPTS = 8
# A page filed from the web is looked at again for edits its feed does not announce (diffengine's
# schedule): this long after it was filed or last changed, doubling at each look that finds no
# change, at most this many looks (an hour, two, four, ... about ten days in all).
RECHECK_FIRST_S = 3600
RECHECK_MAX_CHECKS = 8
# A feed that keeps failing is tried again after this, doubling per failure, up to the maximum.
FEED_BACKOFF_MINUTES = 15
FEED_BACKOFF_MAX_HOURS = 24
