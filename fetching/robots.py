"""robots.txt per host, fetched once per worker through the guarded client and matched as RFC
9309 says (protego: `*` and `$` patterns, the longest match wins, Allow beside Disallow). A
missing file allows everything; an unreachable one disallows for now."""

from __future__ import annotations

import threading

import protego

from newsbeam.fetching.client import HttpClient
from newsbeam.fetching.errors import FetchError
from newsbeam.schemas import host_of


class RobotsCache:
    def __init__(self, client: HttpClient):
        self.client = client
        self._rules: dict[str, protego.Protego | FetchError] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _parser(self, host: str) -> tuple[protego.Protego | FetchError, bool]:
        """The host's rules, and whether this call fetched them (a request just went out)."""
        with self._lock:
            host_lock = self._host_locks.setdefault(host, threading.Lock())
        with host_lock:  # one fetch per host, however many pages of it are in flight
            if host in self._rules:
                return self._rules[host], False
            self._rules[host] = self._fetch(host)
            return self._rules[host], True

    def _fetch(self, host: str) -> protego.Protego | FetchError:
        try:
            response = self.client.get(host + "/robots.txt", max_bytes=self.client.settings.max_robots_bytes,
                                       deadline_s=self.client.settings.robots_deadline_s)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return protego.Protego.parse("")  # no robots.txt: everything is allowed
            return FetchError(f"robots.txt unreachable: {exc.reason}", exc.status, exc.not_before, final=exc.final,
                              host_trouble=exc.host_trouble)
        return protego.Protego.parse(response.body.decode("utf-8", "replace"))

    def check(self, url: str) -> bool:
        """Raise FetchError when robots.txt forbids the URL (or cannot be read). True when
        robots.txt was fetched for this call: the host has just had a request."""
        rules, fetched = self._parser(host_of(url))
        if isinstance(rules, FetchError):
            raise rules
        if not rules.can_fetch(url, self.client.settings.user_agent):
            raise FetchError("disallowed by robots.txt", sent=fetched)  # robots.txt may have gone out
        return fetched

    def crawl_delay(self, host: str) -> float | None:
        """The host's Crawl-delay for our user agent, once its robots.txt is known."""
        rules = self._rules.get(host)
        if rules is None or isinstance(rules, FetchError):
            return None
        try:
            delay = rules.crawl_delay(self.client.settings.user_agent)
            return float(delay) if delay is not None else None
        except (TypeError, ValueError, OverflowError):
            return None
