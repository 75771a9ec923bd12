"""WARC files written by the tests, from the project's own pages (warcio's writer)."""

from __future__ import annotations

import io
import pathlib
from collections.abc import Iterable

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def warc_record(url: str, body: bytes, date: str = "2026-11-20T10:00:00Z", kind: str = "response",
                status: str = "200 OK", content_type: str = "text/html; charset=utf-8", gzip: bool = True) -> bytes:
    """One record, as its own gzip member (as CC-NEWS ships them) or plain."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip)
    if kind == "request":
        host, _, path = url.partition("://")[2].partition("/")
        body = f"GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    http = StatusAndHeaders(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))],
                            protocol="HTTP/1.1") if kind in ("response", "revisit") else None
    record = writer.create_warc_record(url, kind, payload=io.BytesIO(body), http_headers=http,
                                       warc_headers_dict={"WARC-Date": date})
    writer.write_record(record)
    return out.getvalue()


def write_warc(path: pathlib.Path, pages: Iterable[tuple[str, bytes]], date: str = "2026-11-20T10:00:00Z",
               gzip: bool = True) -> pathlib.Path:
    """A WARC file of these (url, html) pages, with a request record before each response."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for url, html in pages:
            out.write(warc_record(url, b"", date, kind="request", gzip=gzip))
            out.write(warc_record(url, html, date, gzip=gzip))
    return path
