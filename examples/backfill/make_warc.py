"""Writes lindenau.warc.gz, the demo's small web archive: the demo's seven pages as a crawler
captured them (a request and a response record each, gzip per record as CC-NEWS ships them),
and one page answered "404". Run it again to remake the file:

    python examples/backfill/make_warc.py
"""

from __future__ import annotations

import io
import pathlib

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = pathlib.Path(__file__).resolve().parent
SITE = HERE.parent / "demo" / "site"
CAPTURES = [  # (path under the site, the URL it was captured at, when)
    ("kurier/seilbahn-beschlossen.html", "https://kurier.lindenau.example/seilbahn", "2026-11-20T08:05:00Z"),
    ("kurier/stadtbibliothek-sonntag.html", "https://kurier.lindenau.example/stadtbibliothek", "2026-11-19T16:00:00Z"),
    ("herald/cable-car-across-the-river.html", "https://herald.lindenau.example/cable-car", "2026-11-20T11:40:00Z"),
    ("herald/half-marathon-record-field.html", "https://herald.lindenau.example/half-marathon", "2026-11-18T09:00:00Z"),
    ("wire/lindenau-approves-cable-car.html", "https://wire.example/lindenau-cable-car", "2026-11-20T12:10:00Z"),
    ("wire/east-bank-divided-over-cable-car.html", "https://wire.example/east-bank", "2026-11-21T07:30:00Z"),
    ("wire/harbour-ferry-timetable.html", "https://wire.example/ferry-timetable", "2026-11-21T10:00:00Z"),
]


def record(writer: WARCWriter, url: str, date: str, kind: str, body: bytes = b"", status: str = "200 OK") -> None:
    http = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1") \
        if kind == "response" else None
    if kind == "request":
        host, path = url.split("/", 3)[2], "/" + url.split("/", 3)[3]
        body = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: demo-crawler\r\n\r\n".encode()
    writer.write_record(writer.create_warc_record(url, kind, payload=io.BytesIO(body), http_headers=http,
                                                  warc_headers_dict={"WARC-Date": date}))


def main() -> None:
    with open(HERE / "lindenau.warc.gz", "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for path, url, date in CAPTURES:
            record(writer, url, date, "request")
            record(writer, url, date, "response", (SITE / path).read_bytes())
        record(writer, "https://wire.example/gone", "2026-11-21T10:05:00Z", "response", b"Not found", "404 Not Found")


if __name__ == "__main__":
    main()
