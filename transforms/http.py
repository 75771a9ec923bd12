"""HTTP fetching that is polite, bounded, and cannot be pointed at the wrong place.

- `HttpClient`: one pooled requests session per worker (made in `DoFn.setup`) with urllib3's
  `Retry` for 429/5xx and connection errors (exponential backoff with jitter). Every request
  has connect and read timeouts, a wall-clock deadline and a size cap applied to the
  decompressed body (a gzip bomb is cut off, not inflated). Redirects are followed by hand, at
  most MAX_REDIRECTS, with loop detection.
- Address policy: a URL must be http(s), and the address actually connected to must be public
  (not loopback, private, link-local, multicast or reserved) unless the operator allowed that
  network. The check runs inside the connection itself, on the resolved address it then
  connects to, so DNS rebinding between a check and the connection is not possible.
- `PoliteScheduler`: runs many fetches concurrently (a bounded thread pool) while keeping each
  host at no more than N requests at once and a minimum delay between them (or the host's
  robots.txt Crawl-delay). Wall-clock time is then bound by politeness, not by latency.
- `RobotsCache`: robots.txt per host (urllib.robotparser), fetched through the same client.
- `ConcurrentFetchFn`: the Beam side, a DoFn base that fetches a batch on a worker's scheduler.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import ipaddress
import socket
import threading
import time
import urllib.parse
import urllib.request
import urllib.robotparser
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import apache_beam as beam
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pipeline import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ANY_NETWORK: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


class FetchError(Exception):
    """A fetch that failed for a reason worth recording in a dead letter."""

    def __init__(self, reason: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


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


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_address(address: str, allowed: tuple[Network, ...]) -> None:
    if is_public_address(address):
        return
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in allowed if network.version == ip.version):
        return
    raise FetchError(f"refused: non-public address {address} (use --allow-private-network for local feeds)")


def _guarded(connection_class: type, allowed: tuple[Network, ...]) -> type:
    """A urllib3 connection class that resolves the host itself, checks the address, and
    connects to exactly that address (TLS still verifies the host name)."""

    class GuardedConnection(connection_class):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            try:
                infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise urllib3.exceptions.NameResolutionError(self.host, self, exc) from exc
            address = infos[0][4][0]
            check_address(address, allowed)
            self._dns_host = address
            return super()._new_conn()

    return GuardedConnection


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allowed: tuple[Network, ...], **kwargs: Any):
        self._allowed = allowed
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _guarded(HTTPConnection, self._allowed)})
        https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _guarded(HTTPSConnection, self._allowed)})
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}


class HttpClient:
    def __init__(self, allow_private_network: bool = False, user_agent: str = settings.USER_AGENT,
                 allowed_networks: Iterable[str] = (), read_timeout_s: float = settings.READ_TIMEOUT_S):
        """`allowed_networks` (CIDR strings) opens single networks; `allow_private_network` all."""
        self.read_timeout_s = read_timeout_s
        self.allowed: tuple[Network, ...] = (
            ANY_NETWORK if allow_private_network else tuple(ipaddress.ip_network(n) for n in allowed_networks))
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
        adapter = _GuardedAdapter(self.allowed, max_retries=retry, pool_connections=64, pool_maxsize=8)
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
            scheme = urllib.parse.urlsplit(url).scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchError(f"refused: scheme '{scheme}' is not http or https")
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

    def _get_once(self, url: str, max_bytes: int, headers: dict[str, str], deadline: float) -> Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("deadline exceeded")
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
            refused = _refusal(exc)
            if refused:
                raise refused from None
            raise FetchError(f"connection failed: {_short(exc)}") from None
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


def host_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


# --- Politeness -------------------------------------------------------------------------------
Item = TypeVar("Item")
Result = TypeVar("Result")


class PoliteScheduler:
    """Runs `work(item)` for many items on a bounded thread pool, at most `per_host` at once per
    host and starting at least `delay_s` apart on the same host (or the host's Crawl-delay).

    `run(items)` yields (item, result or exception) as each finishes. Host timings persist
    across calls: politeness holds for the worker's whole life, not per batch.
    """

    def __init__(self, work: Callable[[Item], Result], host: Callable[[Item], str],
                 threads: int = settings.FETCH_THREADS, per_host: int = settings.PER_HOST_CONNECTIONS,
                 delay_s: float = settings.PER_HOST_DELAY_S, crawl_delay: Callable[[str], float | None] | None = None,
                 unthrottled: Iterable[str] = ()):
        self.work, self.host = work, host
        self.threads, self.per_host, self.delay_s = threads, per_host, delay_s
        self.crawl_delay = crawl_delay or (lambda host: None)
        self.unthrottled = frozenset(unthrottled)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
        self._queues: dict[str, collections.deque] = {}
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._next_start: dict[str, float] = {}
        self._running: dict[concurrent.futures.Future, tuple[str, Any]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, item: Item) -> None:
        self._queues.setdefault(self.host(item), collections.deque()).append(item)
        self._start_ready()

    def drain(self) -> Iterator[tuple[Item, Result | BaseException]]:
        """Wait for everything submitted; yields (item, result or exception) as each finishes."""
        while self._queues or self._running:
            wake = self._start_ready()
            timeout = max(0.0, wake - time.monotonic()) if self._queues else None
            if not self._running:
                time.sleep(timeout or 0)
                continue
            yield from self._collect(timeout)

    def _start_ready(self) -> float:
        """Start what politeness allows now; returns when the next queued item may start."""
        now = time.monotonic()
        wake = now + 1.0
        for name in list(self._queues):
            if len(self._running) >= self.threads:
                break
            if self._in_flight[name] >= self.per_host:
                continue
            if self._next_start.get(name, 0.0) > now:
                wake = min(wake, self._next_start[name])
                continue
            item = self._queues[name].popleft()
            if not self._queues[name]:
                del self._queues[name]
            self._in_flight[name] += 1
            delay = 0.0 if name in self.unthrottled else max(self.delay_s, self.crawl_delay(name) or 0.0)
            self._next_start[name] = now + delay
            self._running[self._pool.submit(self.work, item)] = (name, item)
        return wake

    def _collect(self, timeout: float | None) -> list[tuple[Item, Result | BaseException]]:
        done, _ = concurrent.futures.wait(self._running, timeout=timeout,
                                          return_when=concurrent.futures.FIRST_COMPLETED)
        out = []
        for future in done:
            name, item = self._running.pop(future)
            self._in_flight[name] -= 1
            error = future.exception()
            out.append((item, error if error is not None else future.result()))
        self._start_ready()
        return out

    def run(self, items: Iterable[Item]) -> Iterator[tuple[Item, Result | BaseException]]:
        for item in items:
            self.submit(item)
        yield from self.drain()


class RobotsCache:
    """robots.txt per host, fetched once per worker through the guarded client (RFC 9309:
    a missing file allows everything, an unreachable one disallows for now)."""

    def __init__(self, client: HttpClient):
        self.client = client
        self._parsers: dict[str, urllib.robotparser.RobotFileParser | FetchError] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _parser(self, host: str) -> urllib.robotparser.RobotFileParser | FetchError:
        with self._lock:
            host_lock = self._host_locks.setdefault(host, threading.Lock())
        with host_lock:  # one fetch per host, however many pages of it are in flight
            if host not in self._parsers:
                self._parsers[host] = self._fetch(host)
            return self._parsers[host]

    def _fetch(self, host: str) -> urllib.robotparser.RobotFileParser | FetchError:
        parser = urllib.robotparser.RobotFileParser()
        try:
            response = self.client.get(host + "/robots.txt", max_bytes=settings.MAX_ROBOTS_BYTES,
                                       deadline_s=settings.CONNECT_TIMEOUT_S + settings.READ_TIMEOUT_S)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                parser.parse([])  # no robots.txt: everything is allowed
                return parser
            return FetchError(f"robots.txt unreachable: {exc.reason}", exc.status, exc.retry_after)
        parser.parse(response.body.decode("utf-8", "replace").splitlines())
        return parser

    def check(self, url: str) -> None:
        """Raise FetchError when robots.txt forbids the URL (or cannot be read)."""
        parser = self._parser(host_of(url))
        if isinstance(parser, FetchError):
            raise parser
        if not parser.can_fetch(self.client.user_agent, url):
            raise FetchError("disallowed by robots.txt")

    def crawl_delay(self, host: str) -> float | None:
        parser = self._parsers.get(host)
        if parser is None or isinstance(parser, FetchError):
            return None
        delay = parser.crawl_delay(self.client.user_agent)
        return float(delay) if delay is not None else None


@dataclasses.dataclass(frozen=True)
class FetchOptions:
    """What the operator decides about fetching; one object handed to every fetching DoFn."""

    allow_private_network: bool = False
    user_agent: str = settings.USER_AGENT
    per_host_connections: int = settings.PER_HOST_CONNECTIONS
    per_host_delay_s: float = settings.PER_HOST_DELAY_S
    threads: int = settings.FETCH_THREADS
    # Hosts fetched without delay: newsbeam's own local server for a `serve` folder.
    unthrottled_hosts: tuple[str, ...] = ()

    def client(self) -> HttpClient:
        return HttpClient(self.allow_private_network, self.user_agent)

    def scheduler(self, work: Callable[[Item], Result], host: Callable[[Item], str],
                  crawl_delay: Callable[[str], float | None] | None = None) -> PoliteScheduler:
        return PoliteScheduler(work, host, self.threads, self.per_host_connections, self.per_host_delay_s,
                               crawl_delay, self.unthrottled_hosts)


class ConcurrentFetchFn(beam.DoFn):
    """Base of the fetching DoFns. Each element is a list (a batch); its items are fetched
    concurrently on the worker's PoliteScheduler, and everything is emitted before `process`
    returns: nothing waits for a later element or the end of a bundle, so an unbounded run's
    outputs flow as soon as their poll is fetched. Host timings persist across batches.

    Subclasses implement `fetch(item)` (runs on a pool thread) and `outputs(item, result)`
    (result is the fetch's return value or its exception), and may override `host_of_item`.
    """

    def __init__(self, fetch: FetchOptions):
        self.fetch_options = fetch

    def setup(self) -> None:
        self.http = self.fetch_options.client()
        self.scheduler = self.fetch_options.scheduler(
            work=self.fetch, host=self.host_of_item, crawl_delay=self.crawl_delay)

    def teardown(self) -> None:
        self.scheduler.close()
        self.http.close()

    def crawl_delay(self, host: str) -> float | None:
        return None

    def host_of_item(self, item: Any) -> str:
        return host_of(item.url)

    def fetch(self, item: Any) -> Any:
        raise NotImplementedError

    def outputs(self, item: Any, result: Any) -> Iterator[Any]:
        raise NotImplementedError

    def process(self, batch: list[Any]) -> Iterator[Any]:
        for item, result in self.scheduler.run(batch):
            yield from self.outputs(item, result)
