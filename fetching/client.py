"""`HttpClient`: one pooled requests session per worker, bounded in every way a server could
abuse.

- urllib3's `Retry` for 429/5xx and connection errors (exponential backoff with jitter); a
  server's Retry-After is not slept on but handed back (`FetchError.not_before`) for the
  caller to schedule the next attempt.
- Connect and read timeouts, and a wall-clock deadline over the whole response: status line,
  headers and body (a watchdog shuts the socket of a request past its deadline, so a server
  that drips bytes is cut off).
- A size cap on the decompressed body (a gzip bomb is cut off, not inflated).
- Redirects followed by hand, at most MAX_REDIRECTS, loops detected, each hop judged anew
  (and offered to `before_redirect`, where a crawler checks robots.txt and paces the host).
- The address policy (`addresses`): direct connections are checked inside the connection, on
  the address it then connects to, so DNS rebinding between a check and the connection is not
  possible; a request through a proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY from the environment,
  as for `requests`) is judged before it leaves, every address of its host. The `serve`
  folder's own endpoint never goes through a proxy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import heapq
import os
import socket
import stat
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from newsbeam.fetching.addresses import AddressPolicy, Target, parse_target
from newsbeam.fetching.errors import FetchError, refused
from newsbeam.fetching.settings import DEFAULTS, FetchSettings
from newsbeam.schemas import host_of

__all__ = ["FetchError", "HttpClient", "Response", "read_local_file", "refused"]

REDIRECTS = (301, 302, 303, 307, 308)


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


def retry_after_time(value: str | None, longest_s: float = DEFAULTS.max_retry_after_s) -> str | None:
    """A Retry-After header (seconds or an HTTP date) as the ISO 8601 UTC time before which
    the server asks not to be tried again, at most `longest_s` away; None when absent or
    unreadable."""
    if not value or len(value) > 100:
        return None
    value = value.strip()
    now = time.time()
    if value.isdigit():
        seconds = float(min(int(value[:12]), longest_s))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    seconds = max(0.0, min(seconds, longest_s))
    return dt.datetime.fromtimestamp(now + seconds, dt.UTC).isoformat(timespec="seconds")


class _Watchdog:
    """Shuts down the sockets of requests whose deadline has passed (one thread per client)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._active: set[int] = set()
        self._changed = threading.Condition()
        self._counter = 0
        self._thread: threading.Thread | None = None
        self._closed = False

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

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()

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
            while not self._closed:
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
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class HttpClient:
    def __init__(self, policy: AddressPolicy | None = None, settings: FetchSettings = DEFAULTS,
                 on_response: Callable[[str, dict[str, str], Response], None] | None = None):
        """`on_response(url, request headers, response)` is told of each document fetched (a
        2xx answer after its redirects): the captures."""
        self.policy = policy or AddressPolicy()
        self.settings = settings
        self.on_response = on_response
        self._watchdog = _Watchdog()
        # The request this thread is making: its deadline, and whether it goes through a proxy.
        self._request = threading.local()
        retry = urllib3.Retry(
            total=settings.http_retries,
            redirect=False,
            status_forcelist=(429, 500, 502, 503, 504),
            backoff_factor=settings.http_backoff_s,
            backoff_jitter=settings.http_backoff_s,
            # A Retry-After of an hour must not park a worker: it is honoured by scheduling the
            # next attempt, not by sleeping here.
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = _GuardedAdapter(self, max_retries=retry, pool_connections=64, pool_maxsize=8)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = settings.user_agent

    def close(self) -> None:
        self.session.close()
        self._watchdog.close()

    def get(self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None,
            deadline_s: float | None = None, before_redirect: Callable[[str], None] | None = None,
            own_headers: dict[str, str] | None = None) -> Response:
        """GET, following redirects by hand (each hop judged, and offered to
        `before_redirect(url)`, which may raise FetchError), all within `deadline_s` (default
        the settings' request_deadline_s). Returns 2xx and 304 responses, raises FetchError for everything
        else, whatever the server did. `own_headers` (a feed's credentials, cookies, user agent)
        go to the URL's own host only: a redirect to another host does not carry them."""
        origin = host_of(url)
        seen = {url}
        deadline = time.monotonic() + (self.settings.request_deadline_s if deadline_s is None else deadline_s)
        for _ in range(self.settings.max_redirects + 1):
            sent = {**(headers or {}), **(own_headers or {})} if own_headers and host_of(url) == origin else headers
            response = self._get_once(url, max_bytes, sent or {}, deadline)
            if response.status in REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchError("redirect without Location header", response.status)
                try:
                    url = urllib.parse.urljoin(url, location)
                except ValueError:
                    raise FetchError(f"redirect to an invalid URL: {location[:200]}", response.status,
                                     final=True) from None
                if url in seen:
                    raise FetchError(f"redirect loop at {url[:200]}", response.status)
                seen.add(url)
                if before_redirect is not None:
                    before_redirect(url)
                continue
            if response.status == 304 or 200 <= response.status < 300:
                if self.on_response is not None and response.status != 304:
                    self.on_response(url, {**self.session.headers, **(sent or {})}, response)
                return response
            raise FetchError(f"HTTP {response.status}", response.status,
                             retry_after_time(response.headers.get("retry-after"), self.settings.max_retry_after_s),
                             host_trouble=response.status >= 500)
        raise FetchError(f"more than {self.settings.max_redirects} redirects")

    def proxy_for(self, url: str, target: Target) -> str | None:
        """The proxy the environment names for this URL (NO_PROXY honoured), if any; never
        for the endpoints the policy opened (the `serve` folder's own server)."""
        if not self.session.trust_env or self.policy.is_opened(target):
            return None
        return requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))

    def post(self, url: str, body: bytes, headers: dict[str, str], max_bytes: int = 64 * 1024,
             deadline_s: float | None = None) -> Response:
        """POST `body` once, under the same address policy and deadline as a GET; a redirect is
        not followed (a receiver that moved is told by its owner, not followed blindly). Returns a
        2xx response, raises FetchError for anything else."""
        deadline = time.monotonic() + (self.settings.request_deadline_s if deadline_s is None else deadline_s)
        response = self._get_once(url, max_bytes, headers, deadline, method="POST", body=body)
        if 200 <= response.status < 300:
            return response
        raise FetchError(f"HTTP {response.status}", response.status,
                         retry_after_time(response.headers.get("retry-after"), self.settings.max_retry_after_s),
                         host_trouble=response.status >= 500)

    def _get_once(self, url: str, max_bytes: int, headers: dict[str, str], deadline: float, method: str = "GET",
                  body: bytes | None = None) -> Response:
        target = parse_target(url)
        proxy = self.proxy_for(url, target)
        if proxy:
            # The proxy resolves and connects on its own: judge the target here, before it leaves.
            self.policy.check_target(target)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("deadline exceeded", host_trouble=True)
        self._request.proxied, self._request.deadline = bool(proxy), deadline
        try:
            raw = self.session.request(
                method, url, data=body, headers=headers, stream=True, allow_redirects=False,
                # explicit: the proxy chosen above, or none (the environment is not asked again)
                proxies={"http": proxy, "https": proxy, "all": proxy},  # type: ignore[dict-item]  # None: none
                timeout=(min(self.settings.connect_timeout_s, remaining), min(self.settings.read_timeout_s, remaining)))
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"gave up after retries: {_short(exc)}", host_trouble=True) from None
        except requests.exceptions.Timeout:
            raise FetchError("timed out", host_trouble=True) from None
        except ValueError as exc:  # a Location the libraries cannot read (requests parses it too)
            raise FetchError(f"invalid URL in the server's answer: {_short(exc)}") from None
        except Exception as exc:  # whatever else a server's answer makes the libraries raise
            refusal = _refusal(exc)
            if refusal:
                raise refusal from None
            if time.monotonic() > deadline:
                raise FetchError("deadline exceeded while waiting for the response", host_trouble=True) from None
            raise FetchError(f"connection failed: {_short(exc)}", host_trouble=True) from None
        finally:
            self._request.proxied, self._request.deadline = False, None
        if time.monotonic() > deadline:  # the watchdog cut the headers short
            raw.close()
            raise FetchError("deadline exceeded while reading the headers", raw.status_code, host_trouble=True)
        try:
            chunks, size = [], 0
            # read1 returns whatever one socket read brings (decompressed at most a chunk at a
            # time), so the deadline is checked even when a server drips a byte a second.
            while chunk := raw.raw.read1(self.settings.read_chunk_bytes, decode_content=True):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"body larger than {max_bytes} bytes (after decompression)", raw.status_code)
                if time.monotonic() > deadline:
                    raise FetchError("deadline exceeded while reading the body", raw.status_code, host_trouble=True)
                chunks.append(chunk)
        except FetchError:
            raise
        except Exception as exc:
            raise FetchError(f"reading body failed: {_short(exc)}", raw.status_code, host_trouble=True) from None
        finally:
            raw.close()
        return Response(url=url, status=raw.status_code,
                        headers={k.lower(): v for k, v in raw.headers.items()}, body=b"".join(chunks))

    # --- inside the connection -------------------------------------------------------------------
    def _connect_to(self, host: str, port: int) -> str:
        """The address a direct connection opens, checked by the policy (a proxy connection is
        not: the proxy is the operator's choice, and the target was judged before it left)."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"connection failed: cannot resolve {host}: {exc}", host_trouble=True) from None
        address = str(infos[0][4][0])
        if not getattr(self._request, "proxied", False):
            self.policy.check_address(address, port)
        return address

    def _deadline(self) -> float | None:
        return getattr(self._request, "deadline", None)


def _guarded(connection_class: type, client: HttpClient) -> type:
    """A urllib3 connection class that resolves the host itself, has the client's policy check
    the address, and connects to exactly that address (TLS still verifies the host name)."""

    class GuardedConnection(connection_class):
        def _new_conn(self) -> socket.socket:
            self._dns_host = client._connect_to(self._dns_host, self.port)  # type: ignore[has-type]
            return super()._new_conn()

        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            # The status line and headers are read under the request's deadline too: a server
            # that drips them a byte at a time is cut off when it passes.
            with client._watchdog.guard(self.sock, client._deadline()):
                return super().getresponse(*args, **kwargs)

    return GuardedConnection


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, client: HttpClient, **kwargs: Any):
        self._client = client
        super().__init__(**kwargs)

    def _pool_classes(self) -> dict[str, type]:
        return {"http": type("GuardedHTTPPool", (HTTPConnectionPool,),
                             {"ConnectionCls": _guarded(HTTPConnection, self._client)}),
                "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                              {"ConnectionCls": _guarded(HTTPSConnection, self._client)})}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes()
        return manager


def _refusal(exc: BaseException | None) -> FetchError | None:
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
    """Read a `file:` feed named in the user's own configuration: a regular file only (opening
    a FIFO or a device would wait without end, or read without end)."""
    path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise FetchError(f"cannot read {path}: not a regular file")
        with os.fdopen(descriptor, "rb") as handle:
            descriptor = -1
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    if len(body) > max_bytes:
        raise FetchError(f"file larger than {max_bytes} bytes")
    return Response(url=url, status=200, headers={}, body=body)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
