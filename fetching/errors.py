"""The one error of fetching: `FetchError`, a failure worth a dead letter."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch that failed for a reason worth recording in a dead letter.

    `final`: the answer cannot change (a refused address or scheme): never retried.
    `sent`: False when nothing went out (refused, disallowed by robots.txt, deferred), so
    politeness does not charge the host a delay for it.
    `not_before`: the server's Retry-After, as an ISO 8601 UTC time.
    `host_trouble`: the host itself misbehaved (timed out, dropped the connection, answered
    5xx): counted toward giving up on the host for the pass.
    `deferred`: never asked for: its host gave up its place in this pass; due again at the next.
    """

    def __init__(self, reason: str, status: int | None = None, not_before: str | None = None,
                 final: bool = False, sent: bool = True, host_trouble: bool = False, deferred: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.not_before = not_before
        self.final = final
        self.sent = sent and not final
        self.host_trouble = host_trouble
        self.deferred = deferred


def refused(reason: str) -> FetchError:
    return FetchError(f"refused: {reason}", final=True)
