"""HTTP fetching that is polite, bounded, and cannot be pointed at the wrong place.

- `HttpClient`: one pooled requests session per worker (made in `DoFn.setup`) with urllib3's
  `Retry` for 429/5xx and connection errors (exponential backoff with jitter). Every request
  has connect and read timeouts, a wall-clock deadline over the whole response (status line,
  headers and body: a server that drips bytes is cut off) and a size cap applied to the
  decompressed body (a gzip bomb is cut off, not inflated). Redirects are followed by hand, at
  most MAX_REDIRECTS, with loop detection.
- Address policy: a URL must be http(s), and its target must be public (not loopback,
  private, link-local, multicast or any other special-purpose range, judged by the IPv4
  address an IPv6 form embeds) unless the operator allowed private networks. The target is
  judged before every hop leaves, whether it goes direct or through a proxy: its name is
  resolved and every address checked. Direct connections are checked again inside the
  connection, on the address it then connects to, so DNS rebinding between the check and the
  connection is not possible. A feeds file's `serve` folder opens exactly its own
  127.0.0.1:PORT, nothing else. Refusals are final: a refused link is never retried.
- Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as for `requests`.
- `PoliteScheduler`: runs many fetches concurrently (a bounded thread pool) while keeping each
  host at no more than N requests at once and a minimum delay between them (or the host's
  robots.txt Crawl-delay). Wall-clock time is then bound by politeness, not by latency.
- `RobotsCache`: robots.txt per host, matched as RFC 9309 says (protego), fetched through the
  same client.
- `ConcurrentFetchFn`: the Beam side, a DoFn base with a worker's client and scheduler.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import heapq
import ipaddress
import queue
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import apache_beam as beam
import protego
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from schemas import host_of
from state import settings
from state.settings import RunOptions


class FetchError(Exception):
    """A fetch that failed for a reason worth recording in a dead letter. `final`: the answer
    cannot change (a refused address or scheme), so it is not retried; no request was sent."""

    def __init__(self, reason: str, status: int | None = None, retry_after: str | None = None,
                 final: bool = False, sent: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.final = final
        # False when nothing went out (refused, or disallowed by robots.txt): politeness does
        # not charge the host a delay for it.
        self.sent = sent and not final


def refused(reason: str) -> FetchError:
    return FetchError(f"refused: {reason}", final=True)


@dataclasses.dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return value.split(";")[0].strip().lower() if value else None


# --- Address policy ------------------------------------------------------------------------------
# IANA special-purpose ranges that are not the public internet (beside what `ipaddress` already
# calls private, loopback, link-local, multicast or reserved), and IPv6 ranges that only
# reach an IPv4 address they embed.
_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8"))
# IPv6 ranges that only reach the IPv4 address they embed, and where it sits (bits from the right).
_EMBEDS_IPV4 = {
    ipaddress.ip_network("::ffff:0:0/96"): 0,  # IPv4-mapped
    ipaddress.ip_network("::ffff:0:0:0/96"): 0,  # IPv4-translated
    ipaddress.ip_network("::/96"): 0,  # IPv4-compatible
    ipaddress.ip_network("64:ff9b::/96"): 0,  # NAT64
    ipaddress.ip_network("2002::/16"): 80,  # 6to4
}


def is_public_address(address: str) -> bool:
    """True when the address, or the IPv4 address an IPv6 form embeds, is on the public internet."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in _BLOCKED if network.version == ip.version):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        for network, shift in _EMBEDS_IPV4.items():
            if ip in network:
                return is_public_address(str(ipaddress.IPv4Address((int(ip) >> shift) & 0xFFFFFFFF)))
    return ip.is_global and not ip.is_multicast


Endpoint = tuple[str, int]  # (host, port) opened to the fetcher: the `serve` folder's server


def check_address(address: str, port: int, allow_private: bool, opened: frozenset[Endpoint]) -> None:
    if allow_private or is_public_address(address) or (address, port) in opened:
        return
    raise refused(f"non-public address {address} (use --allow-private-network for local feeds)")


def _guarded(connection_class: type, allow_private: bool, opened: frozenset[Endpoint]) -> type:
    """A urllib3 connection class that resolves the host itself, checks the address, and
    connects to exactly that address (TLS still verifies the host name). A connection to a
    proxy is not checked: the proxy is the operator's choice, and the target was judged before
    the request left (`HttpClient.check_target`)."""

    class GuardedConnection(connection_class):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            try:
                infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise urllib3.exceptions.NameResolutionError(self.host, self, exc) from exc
            address = infos[0][4][0]
            if not getattr(_REQUEST, "proxied", False):
                check_address(address, self.port, allow_private, opened)
            self._dns_host = address
            return super()._new_conn()

        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            # The status line and headers are read under the request's deadline too: a server
            # that drips them a byte at a time is cut off when it passes.
            with _WATCHDOG.guard(self.sock, getattr(_REQUEST, "deadline", None)):
                return super().getresponse(*args, **kwargs)

    return GuardedConnection


class _Watchdog:
    """Shuts down the sockets of requests whose deadline has passed (one thread for all)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._active: set[int] = set()
        self._changed = threading.Condition()
        self._counter = 0
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, sock: socket.socket | None, deadline: float | None) -> Iterator[None]:
        """Shut `sock` down if the `with` block is still running at `deadline`."""
        key = self._watch(sock, deadline) if sock is not None and deadline else None
        try:
            yield
        finally:
            if key is not None:
                with self._changed:
                    self._active.discard(key)

    def _watch(self, sock: socket.socket, deadline: float) -> int:
        with self._changed:
            self._counter += 1
            heapq.heappush(self._heap, (deadline, self._counter, sock))
            self._active.add(self._counter)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            self._changed.notify()
            return self._counter

    def _run(self) -> None:
        with self._changed:
            while True:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._changed.wait()
                    continue
                deadline, key, sock = self._heap[0]
                if deadline > time.monotonic():
                    self._changed.wait(deadline - time.monotonic())
                    continue
                heapq.heappop(self._heap)
                self._active.discard(key)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_WATCHDOG = _Watchdog()
# The request this thread is making: its deadline, and whether it goes through a proxy.
_REQUEST = threading.local()


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private: bool, opened: frozenset[Endpoint], **kwargs: Any):
        self._allow_private, self._opened = allow_private, opened
        super().__init__(**kwargs)

    def _pool_classes(self) -> dict[str, type]:
        return {"http": type("GuardedHTTPPool", (HTTPConnectionPool,),
                             {"ConnectionCls": _guarded(HTTPConnection, self._allow_private, self._opened)}),
                "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                              {"ConnectionCls": _guarded(HTTPSConnection, self._allow_private, self._opened)})}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes()
        return manager


class HttpClient:
    def __init__(self, allow_private_network: bool = False, user_agent: str = settings.USER_AGENT,
                 allowed_hosts: Iterable[str] = (), read_timeout_s: float = settings.READ_TIMEOUT_S):
        """`allowed_hosts` ("http://127.0.0.1:8737") opens exactly those endpoints, nothing
        else; `allow_private_network` opens every address."""
        self.read_timeout_s = read_timeout_s
        self.allow_private = allow_private_network
        self.opened: frozenset[Endpoint] = frozenset(
            (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
            for parts in map(urllib.parse.urlsplit, allowed_hosts))
        retry = urllib3.Retry(
            total=settings.HTTP_RETRIES,
            redirect=False,
            status_forcelist=(429, 500, 502, 503, 504),
            backoff_factor=settings.HTTP_BACKOFF_S,
            backoff_jitter=settings.HTTP_BACKOFF_S,
            # A Retry-After of an hour must not park a worker: it is honoured by scheduling the
            # next attempt (the dead letter's due time), not by sleeping here.
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = _GuardedAdapter(self.allow_private, self.opened, max_retries=retry, pool_connections=64,
                                  pool_maxsize=8)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.user_agent = user_agent

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None,
            deadline_s: float = settings.REQUEST_DEADLINE_S) -> Response:
        """GET with manual, checked redirects. Returns 2xx and 304 responses, raises otherwise."""
        seen = {url}
        deadline = time.monotonic() + deadline_s
        for _ in range(settings.MAX_REDIRECTS + 1):
            response = self._get_once(url, max_bytes, headers or {}, deadline)
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                if not location:
                    raise FetchError("redirect without Location header", response.status)
                url = urllib.parse.urljoin(url, location)
                if url in seen:
                    raise FetchError(f"redirect loop at {url}", response.status)
                seen.add(url)
                continue
            if response.status == 304 or 200 <= response.status < 300:
                return response
            raise FetchError(f"HTTP {response.status}", response.status, response.headers.get("retry-after"))
        raise FetchError(f"more than {settings.MAX_REDIRECTS} redirects")

    def proxy_for(self, url: str) -> str | None:
        """The proxy the environment names for this URL (NO_PROXY honoured), if any."""
        if not self.session.trust_env:
            return None
        return requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))

    def check_target(self, url: str) -> None:
        """Judge a URL's target before anything is sent: the scheme, and every address its host
        resolves to. Raises a final FetchError when the policy refuses it."""
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            raise refused(f"not a valid URL: {url[:200]}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise refused(f"scheme '{parts.scheme.lower()}' is not http or https")
        if not parts.hostname:
            raise refused("no host in the URL")
        if self.allow_private:
            return
        try:
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"connection failed: cannot resolve {parts.hostname}: {exc}") from None
        for info in infos:
            check_address(info[4][0], port, False, self.opened)

    def _get_once(self, url: str, max_bytes: int, headers: dict[str, str], deadline: float) -> Response:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise refused(f"scheme '{scheme}' is not http or https")
        proxied = self.proxy_for(url) is not None
        if proxied:
            # The proxy resolves and connects on its own: judge the target here, before it leaves.
            self.check_target(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("deadline exceeded")
        _REQUEST.proxied, _REQUEST.deadline = proxied, deadline
        try:
            raw = self.session.get(
                url, headers=headers, stream=True, allow_redirects=False,
                timeout=(min(settings.CONNECT_TIMEOUT_S, remaining), min(self.read_timeout_s, remaining)))
        except FetchError:
            raise
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"gave up after retries: {_short(exc)}") from None
        except requests.exceptions.Timeout:
            raise FetchError("timed out") from None
        except requests.exceptions.RequestException as exc:
            refusal = _refusal(exc)
            if refusal:
                raise refusal from None
            if time.monotonic() > deadline:
                raise FetchError("deadline exceeded while waiting for the response") from None
            raise FetchError(f"connection failed: {_short(exc)}") from None
        finally:
            _REQUEST.proxied, _REQUEST.deadline = False, None
        if time.monotonic() > deadline:  # the watchdog cut the headers short
            raw.close()
            raise FetchError("deadline exceeded while reading the headers", raw.status_code)
        try:
            chunks, size = [], 0
            # read1 returns whatever one socket read brings (decompressed at most a chunk at a
            # time), so the deadline is checked even when a server drips a byte a second.
            while chunk := raw.raw.read1(settings.READ_CHUNK_BYTES, decode_content=True):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"body larger than {max_bytes} bytes (after decompression)", raw.status_code)
                if time.monotonic() > deadline:
                    raise FetchError("deadline exceeded while reading the body", raw.status_code)
                chunks.append(chunk)
        except FetchError:
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError(f"reading body failed: {_short(exc)}", raw.status_code) from None
        finally:
            raw.close()
        return Response(url=url, status=raw.status_code,
                        headers={k.lower(): v for k, v in raw.headers.items()}, body=b"".join(chunks))


def _refusal(exc: BaseException) -> FetchError | None:
    """The address policy's FetchError, wherever requests and urllib3 wrapped it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, FetchError):
            return exc
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, BaseException):
                found = _refusal(arg)
                if found:
                    return found
        exc = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__
    return None


def read_local_file(url: str, max_bytes: int) -> Response:
    """Read a `file:` feed named in the user's own configuration."""
    path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
    try:
        with open(path, "rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    if len(body) > max_bytes:
        raise FetchError(f"file larger than {max_bytes} bytes")
    return Response(url=url, status=200, headers={}, body=body)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


# --- Politeness -------------------------------------------------------------------------------
Item = TypeVar("Item")
Result = TypeVar("Result")


class HostLedger:
    """Per host: requests in flight, when the next may start, and the start before (to refund a
    request that was never sent). One per process, shared by its schedulers."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.next_start: dict[str, float] = {}
        self.last_start: dict[str, float] = {}


HOSTS = HostLedger()


class PoliteScheduler:
    """Runs `work(item)` for many items on a bounded thread pool, at most `per_host` at once per
    host and starting at least `delay_s` apart on the same host (or the host's Crawl-delay).

    A dispatcher thread starts each fetch the moment politeness allows it, so fetching goes on
    in the background while the caller works through the results already in: a politeness
    wait on one host never idles the others, nor the CPU. `run(items)` yields (item, result or
    exception) as each finishes. Host timings persist across calls: politeness holds for the
    worker's whole life, not per batch, and are shared by all the schedulers of a process
    (the feed step's and the page step's): a host's feed and its pages count together.
    """

    def __init__(self, work: Callable[[Item], Result], host: Callable[[Item], str],
                 threads: int = settings.FETCH_THREADS, per_host: int = settings.PER_HOST_CONNECTIONS,
                 delay_s: float = settings.PER_HOST_DELAY_S, crawl_delay: Callable[[str], float | None] | None = None,
                 unthrottled: Iterable[str] = (), ledger: HostLedger | None = None):
        self.work, self.host = work, host
        self.threads, self.per_host, self.delay_s = threads, per_host, delay_s
        self.crawl_delay = crawl_delay or (lambda host: None)
        self.unthrottled = frozenset(unthrottled)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
        ledger = ledger or HOSTS
        self._changed, self._in_flight = ledger.changed, ledger.in_flight
        self._next_start, self._last_start = ledger.next_start, ledger.last_start
        self._queues: dict[str, collections.deque] = {}
        self._running = 0
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="polite-dispatcher", daemon=True)
        self._dispatcher.start()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._dispatcher.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, items: Iterable[Item]) -> Iterator[tuple[Item, Result | BaseException]]:
        count = 0
        with self._changed:
            for item in items:
                self._queues.setdefault(self.host(item), collections.deque()).append(item)
                count += 1
            self._changed.notify_all()
        for _ in range(count):
            yield self._done.get()

    def postpone(self, host: str, until: float) -> None:
        """No new request to `host` before `until` (time.monotonic()): for a request that went
        out inside another's slot (robots.txt before a page)."""
        with self._changed:
            self._next_start[host] = max(self._next_start.get(host, 0.0), until)
            self._changed.notify_all()

    def _dispatch(self) -> None:
        with self._changed:
            while not self._closed:
                wake = self._start_ready()
                self._changed.wait(None if wake is None else max(0.0, wake - time.monotonic()))

    def _start_ready(self) -> float | None:
        """Start what politeness allows now (the lock is held); returns when the next queued
        item may start, or None when nothing waits on time (only on a running fetch)."""
        started = True
        while started and self._running < self.threads:
            started, now = False, time.monotonic()
            for name in list(self._queues):
                if self._running >= self.threads:
                    break
                if self._in_flight[name] >= self.per_host or self._next_start.get(name, 0.0) > now:
                    continue
                item = self._queues[name].popleft()
                if not self._queues[name]:
                    del self._queues[name]
                self._in_flight[name] += 1
                self._running += 1
                delay = 0.0 if name in self.unthrottled else max(self.delay_s, self.crawl_delay(name) or 0.0)
                self._last_start[name] = self._next_start.get(name, 0.0)
                self._next_start[name] = now + delay
                self._pool.submit(self._work, name, item, self._next_start[name])
                started = True
        waiting = [self._next_start[name] for name in self._queues
                   if self._in_flight[name] < self.per_host and self._next_start.get(name, 0.0) > time.monotonic()]
        return min(waiting) if waiting and self._running < self.threads else None

    def _work(self, name: str, item: Item, started: float) -> None:
        try:
            outcome: Any = self.work(item)
        except BaseException as exc:  # handed to the caller, who decides
            outcome = exc
        with self._changed:
            self._in_flight[name] -= 1
            self._running -= 1
            if isinstance(outcome, FetchError) and not outcome.sent and self._next_start.get(name) == started:
                # nothing went out (refused, or disallowed by robots.txt): the host owes no delay
                self._next_start[name] = self._last_start.get(name, 0.0)
            self._changed.notify_all()
        self._done.put((item, outcome))


class RobotsCache:
    """robots.txt per host, fetched once per worker through the guarded client and matched as
    RFC 9309 says (protego: `*` and `$` patterns, the longest match wins, Allow beside Disallow).
    A missing file allows everything; an unreachable one disallows for now."""

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
            response = self.client.get(host + "/robots.txt", max_bytes=settings.MAX_ROBOTS_BYTES,
                                       deadline_s=settings.CONNECT_TIMEOUT_S + settings.READ_TIMEOUT_S)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return protego.Protego.parse("")  # no robots.txt: everything is allowed
            return FetchError(f"robots.txt unreachable: {exc.reason}", exc.status, exc.retry_after, final=exc.final)
        return protego.Protego.parse(response.body.decode("utf-8", "replace"))

    def check(self, url: str) -> bool:
        """Raise FetchError when robots.txt forbids the URL (or cannot be read). True when
        robots.txt was fetched for this call: the host has just had a request."""
        rules, fetched = self._parser(host_of(url))
        if isinstance(rules, FetchError):
            raise rules
        if not rules.can_fetch(url, self.client.user_agent):
            raise FetchError("disallowed by robots.txt", sent=fetched)  # robots.txt may have gone out
        return fetched

    def crawl_delay(self, host: str) -> float | None:
        rules = self._rules.get(host)
        if rules is None or isinstance(rules, FetchError):
            return None
        delay = rules.crawl_delay(self.client.user_agent)
        return float(delay) if delay is not None else None


def client_for(options: RunOptions) -> HttpClient:
    return HttpClient(options.allow_private_network, options.user_agent,
                      allowed_hosts=(options.served_host,) if options.served_host else ())


class ConcurrentFetchFn(beam.DoFn):
    """Base of the fetching DoFns: a worker's HTTP client and polite scheduler, made once in
    `setup`. Subclasses implement `fetch(item)` (runs on a pool thread) and may override
    `host_of_item` and `crawl_delay`; `fetch_all(items)` yields (item, result or exception) as
    each finishes. Nothing is held back for a later element or the end of a bundle."""

    def __init__(self, options: RunOptions):
        self.options = options

    def setup(self) -> None:
        self.http = client_for(self.options)
        o = self.options
        self.scheduler = PoliteScheduler(
            self.fetch, self.host_of_item, o.fetch_threads, o.per_host_connections, o.per_host_delay_s,
            self.crawl_delay, (o.served_host,) if o.served_host else ())

    def teardown(self) -> None:
        self.scheduler.close()
        self.http.close()

    def crawl_delay(self, host: str) -> float | None:
        return None

    def host_of_item(self, item: Any) -> str:
        return host_of(item.url)

    def fetch(self, item: Any) -> Any:
        raise NotImplementedError

    def fetch_all(self, items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        return self.scheduler.run(items)
