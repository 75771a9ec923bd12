"""Reading WARC files (sources.warc): every kind of record, files compressed per record and
plain, damage of every kind survived, and reading resumed at an offset. No Beam."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import pytest

from newsbeam.sources.warc import ArchivedPage, Damaged, Skipped, read_warc
from tests.conftest import DEMO_SITE
from tests.warcs import warc_record

PAGE = (DEMO_SITE / "kurier" / "seilbahn-beschlossen.html").read_bytes()


def page(n: int, gzip_: bool = True, **fields) -> bytes:
    return warc_record(f"https://news.example/{n}", PAGE, gzip=gzip_, **fields)


def kinds(data: bytes, **options) -> list[tuple[str, str]]:
    return [(type(item).__name__, getattr(item, "url", None) or getattr(item, "kind", None) or item.reason)
            for item in read_warc(io.BytesIO(data), **options)]


@pytest.mark.parametrize("compressed", [True, False])
def test_pages_are_read_and_every_other_record_counted(compressed):
    data = b"".join([
        warc_record("https://news.example/1", b"", kind="request", gzip=compressed), page(1, compressed),
        warc_record("https://news.example/2", PAGE, status="404 Not Found", gzip=compressed),
        warc_record("https://news.example/3.jpg", b"\xff\xd8\xff", content_type="image/jpeg", gzip=compressed),
        warc_record("https://news.example/4", b"{}", kind="metadata", content_type="application/json",
                    gzip=compressed),
        page(5, compressed, date="2026-11-01T12:30:00Z")])
    items = list(read_warc(io.BytesIO(data)))
    assert [type(i).__name__ for i in items] == ["Skipped", "ArchivedPage", "Skipped", "Skipped", "Skipped",
                                                 "ArchivedPage"]
    assert [i.kind for i in items if isinstance(i, Skipped)] == ["request", "status 404", "not html (image/jpeg)",
                                                                  "metadata"]
    first, last = (i for i in items if isinstance(i, ArchivedPage))
    assert first.url == "https://news.example/1" and first.html == PAGE
    assert last.captured == "2026-11-01T12:30:00+00:00"
    assert [i.offset for i in items[1:]] == [i.end for i in items[:-1]] and items[-1].end == len(data)


@pytest.mark.parametrize("damage, reason", [
    (lambda m: m[:len(m) // 2], "corrupt gzip member"),  # cut short, the next member behind it
    (lambda m: b"not a gzip member at all", "not WARC or gzip data"),
    (lambda m: m[:10] + bytes(b ^ 0xFF for b in m[10:40]) + m[40:], "corrupt gzip member"),
])
def test_a_damaged_member_is_named_and_the_rest_of_the_file_is_read(damage, reason):
    data = page(1) + damage(page(2)) + page(3)
    found = kinds(data)
    assert found[0] == ("ArchivedPage", "https://news.example/1") and found[-1] == ("ArchivedPage",
                                                                                    "https://news.example/3")
    assert found[1][0] == "Damaged" and reason in found[1][1]


def test_a_member_cut_short_at_the_end_of_the_file():
    assert kinds(page(1) + page(2)[:100])[1] == ("Damaged", "gzip member cut short at the end of the file")


def plain_record(n: int, declared_extra: int = 0, declared: int | None = None) -> bytes:
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGE[:300]
    length = declared if declared is not None else len(block) + declared_extra
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://news.example/%d\r\n"
            b"WARC-Date: 2026-11-20T10:00:00Z\r\nContent-Length: %d\r\n\r\n" % (n, length)) + block + b"\r\n\r\n"


@pytest.mark.parametrize("extra", [40, -7])
@pytest.mark.parametrize("compressed", [True, False])
def test_a_record_longer_or_shorter_than_its_header_says(extra, compressed):
    records = [plain_record(1), plain_record(2, extra), plain_record(3)]
    data = b"".join(gzip.compress(r) for r in records) if compressed else b"".join(records)
    found = kinds(data)
    assert found[0] == ("ArchivedPage", "https://news.example/1") and found[-1] == ("ArchivedPage",
                                                                                    "https://news.example/3")
    assert [f[0] for f in found] == ["ArchivedPage", "Damaged", "ArchivedPage"]


def test_a_record_of_two_gigabytes_is_passed_over_with_bounded_memory():
    """A plain record whose header says 2 GB: damaged, never read whole; the next is read."""
    huge = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://news.example/huge\r\n"
            b"Content-Length: 2147483648\r\n\r\n") + b"x" * (3 * 1024 * 1024) + b"\r\n\r\n"  # cut short
    tracemalloc.start()
    found = kinds(plain_record(1) + huge + plain_record(2), max_record_bytes=1024 * 1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found == [("ArchivedPage", "https://news.example/1"), ("Damaged", "record larger than 1048576 bytes"),
                     ("ArchivedPage", "https://news.example/2")]
    assert peak < 20 * 1024 * 1024


def test_a_gzip_bomb_is_cut_off_and_the_next_member_read():
    bomb = gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999999\r\n\r\n"
                         + b"\0" * 64 * 1024 * 1024)
    tracemalloc.start()
    found = kinds(page(1) + bomb + page(2), max_record_bytes=2 * 1024 * 1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f[0] for f in found] == ["ArchivedPage", "Damaged", "ArchivedPage"] and "larger than" in found[1][1]
    assert peak < 40 * 1024 * 1024  # the bomb is 64 MB inflated: never held


def test_a_file_that_is_not_warc_is_one_damaged_record():
    assert kinds(gzip.compress(b"just some text\n" * 100)) == [("Damaged", "not a WARC record")]
    assert [k for k, _ in kinds(b"<html>not an archive</html>\n" * 50)] == ["Damaged"]


def test_reading_resumes_at_an_offset_without_doubling_or_losing_a_record():
    data = b"".join(page(n) for n in range(6))
    items = list(read_warc(io.BytesIO(data)))
    resumed = list(read_warc(io.BytesIO(data), start=items[3].offset))
    assert [i.url for i in resumed] == [f"https://news.example/{n}" for n in range(3, 6)]
    assert all(isinstance(i, ArchivedPage) for i in resumed) and not any(isinstance(i, Damaged) for i in resumed)


def _gzip_with_comment(data: bytes, comment_bytes: int) -> bytes:
    """A gzip member whose header carries a comment (FCOMMENT) of this many bytes."""
    import struct
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x10" + struct.pack("<I", 0) + b"\x00\xff" + b"c" * comment_bytes + b"\x00"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def test_the_record_cap_counts_compressed_bytes_too():
    """A member whose inflated record is small but whose compressed bytes are not (a header
    comment of 24 MB here) is cut off at the cap, read in bounded memory, and the next member
    is read."""
    assert gzip.decompress(_gzip_with_comment(b"hello", 10)) == b"hello"
    padded = _gzip_with_comment(warc_record("https://news.example/padded", b"<p>x</p>", gzip=False),
                                24 * 1024 * 1024)
    tracemalloc.start()
    found = kinds(page(1) + padded + page(2), max_record_bytes=2 * 1024 * 1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f[0] for f in found] == ["ArchivedPage", "Damaged", "ArchivedPage"], found
    assert "larger than 2097152 bytes (compressed)" in found[1][1]
    assert peak < 40 * 1024 * 1024 + len(padded)  # the input itself is in memory here; nothing more
