"""HTTP fetching that cannot hang or be pointed at the wrong place.

One `HttpClient` per worker (made in `DoFn.setup`) holds a pooled requests session with
urllib3's `Retry` for 429/5xx and connection errors. Every request has connect and read
timeouts, a wall-clock deadline and a size cap applied to the decompressed body; redirects are
followed by hand so that each hop is checked against the private-network rule.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import time
import urllib.parse
import urllib.request

import requests
import urllib3
from requests.adapters import HTTPAdapter

from pipeline import settings


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


def check_destination(url: str, allow_private_network: bool) -> None:
    """Refuse URLs that are not http(s), or whose host resolves to a non-public address."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"refused: scheme '{parts.scheme}' is not http or https")
    if not parts.hostname:
        raise FetchError("refused: URL has no host")
    if allow_private_network:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"DNS lookup failed for {parts.hostname}: {exc.strerror}") from None
    for info in infos:
        address = info[4][0]
        if not is_public_address(address):
            raise FetchError(
                f"refused: {parts.hostname} resolves to non-public address {address} "
                "(use --allow-private-network for local feeds)")


class HttpClient:
    def __init__(self, allow_private_network: bool = False, user_agent: str = settings.USER_AGENT):
        self.allow_private_network = allow_private_network
        retry = urllib3.Retry(
            total=settings.HTTP_RETRIES,
            connect=settings.HTTP_RETRIES,
            read=settings.HTTP_RETRIES,
            status=settings.HTTP_RETRIES,
            redirect=False,
            status_forcelist=(429, 500, 502, 503, 504),
            backoff_factor=settings.HTTP_BACKOFF_S,
            backoff_jitter=settings.HTTP_BACKOFF_S,
            # A Retry-After of an hour must not park a worker: it is honoured by scheduling the
            # next attempt (dead letter's due time), not by sleeping here.
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=16, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None) -> Response:
        """GET with manual, checked redirects. Returns 2xx and 304 responses, raises otherwise."""
        seen = {url}
        deadline = time.monotonic() + settings.REQUEST_DEADLINE_S
        for _ in range(settings.MAX_REDIRECTS + 1):
            check_destination(url, self.allow_private_network)
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
            raise FetchError(
                f"HTTP {response.status}", response.status, response.headers.get("retry-after"))
        raise FetchError(f"more than {settings.MAX_REDIRECTS} redirects")

    def _get_once(self, url: str, max_bytes: int, headers: dict[str, str], deadline: float) -> Response:
        try:
            raw = self.session.get(
                url, headers=headers, stream=True, allow_redirects=False,
                timeout=(settings.CONNECT_TIMEOUT_S, settings.READ_TIMEOUT_S))
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"gave up after retries: {_short(exc)}") from None
        except requests.exceptions.Timeout:
            raise FetchError("timed out") from None
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"connection failed: {_short(exc)}") from None
        try:
            chunks, size = [], 0
            for chunk in raw.raw.stream(settings.READ_CHUNK_BYTES, decode_content=True):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"body larger than {max_bytes} bytes (after decompression)", raw.status_code)
                if time.monotonic() > deadline:
                    raise FetchError(f"deadline of {settings.REQUEST_DEADLINE_S:.0f}s exceeded", raw.status_code)
                chunks.append(chunk)
        except FetchError:
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError(f"reading body failed: {_short(exc)}", raw.status_code) from None
        finally:
            raw.close()
        return Response(
            url=url, status=raw.status_code,
            headers={k.lower(): v for k, v in raw.headers.items()}, body=b"".join(chunks))


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

