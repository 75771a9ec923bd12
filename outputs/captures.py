"""Captures: every feed document and page a run fetches, kept as it came, in WARC files.

Each fetch is a WARC request record and its response record (the time it was fetched, the
status, the headers, the body as newsbeam read it), each record a gzip member of its own, in
files of at most `max_file_bytes` under the captures folder (OUTPUT/captures by default):
`<time>-<writer>-<n>.warc.gz`, written as `*.warc.gz.open` and renamed when whole; a worker
that dies leaves whole records, which the WARC reader takes up to the last one. Writing runs on
a thread of its own: a fetch only hands its document over.

Captures may go to object storage (`s3://bucket/captures`, `gs://...`) through an
`ObjectStorage`: the graph gives Beam's FileSystems, with the run's Beam options for endpoint
and keys (transforms.object_storage). An object store has no append and no rename, so each file
is written whole in a local outbox first and put as one object when it is: an object appears
only whole. A file that cannot be put stays in the outbox and is put by the next writer.

What is secret stays out: the request's Authorization and Cookie headers (a feed's own
credentials) and the response's Set-Cookie are not written. newsbeam reads its own captures
as it reads CC-NEWS (`archives:` in the feeds file): history it fetched once can be read again.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import http
import io
import logging
import os
import pathlib
import queue
import tempfile
import threading
import time
import uuid
import zlib
from typing import BinaryIO, Protocol

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsbeam.outputs.paths import create_new, output_folder

# Compression is most of the writer's work: on 184 real pages (80 MB of HTML, ../shared/data/pages)
# level 9 (warcio's) took 2,626 ms for 14.9 MB, 6 1,611 ms for 15.1 MB, 3 686 ms for 17.0 MB, 1
# 560 ms for 18.1 MB. Level 3: a third of level 9's time for an eighth more on disk.
GZIP_LEVEL = 3
# Files are closed and a new one begun past this size.
MAX_FILE_BYTES = 256 * 1024 * 1024
# Headers that may carry a secret or that no longer describe the body as kept (newsbeam keeps
# the body decoded).
PRIVATE_REQUEST_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie", "content-encoding", "transfer-encoding", "content-length"})
_DONE = object()
_LOG = logging.getLogger(__name__)


class ObjectStorage(Protocol):
    """Files at URLs of object storage (s3://, gs://): transforms.object_storage gives Beam's."""

    def put(self, local_path: str, url: str) -> None: ...
    def listing(self, pattern: str) -> list[tuple[str, float | None]]: ...  # (url, last changed)
    def delete(self, urls: list[str]) -> None: ...
    def open(self, url: str) -> BinaryIO: ...


def on_object_storage(location: str) -> bool:
    """Is this a URL of a filesystem Beam knows (s3://, gs://, ...) rather than a local folder?"""
    return "://" in location and not location.startswith("file://")


def outbox(location: str) -> pathlib.Path:
    """The local folder where captures bound for `location` are written whole before they are
    put there; one per location, kept across runs (what could not be put is put later)."""
    name = hashlib.sha1(location.encode()).hexdigest()[:12]
    folder = pathlib.Path(tempfile.gettempdir()) / f"newsbeam-captures-outbox-{name}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class CaptureWriter:
    """A process's captures, written in the background to rotating WARC files in `folder`."""

    def __init__(self, location: str, storage: ObjectStorage | None = None, max_file_bytes: int = MAX_FILE_BYTES):
        self.location = location.rstrip("/")
        self.remote = on_object_storage(location)
        self.storage = storage
        if self.remote:
            if storage is None:
                raise ValueError(f"captures at {location} need an ObjectStorage")
            self.folder = outbox(self.location)
        else:
            # made as the output's own folders are: a link there only where a user may put one
            self.folder = output_folder(os.path.dirname(location), os.path.basename(location))
        self.max_file_bytes = max_file_bytes
        self.name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.files = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._fd: int | None = None
        self._path = ""
        self._size = 0
        self._closed = False
        self._thread = threading.Thread(target=self._write_all, name="newsbeam-captures", daemon=True)
        self._thread.start()
        # a runner that never tears its steps down still gets whole files at the process's end
        atexit.register(self.close)

    def capture(self, url: str, request_headers: dict[str, str], status: int, response_headers: dict[str, str],
                body: bytes) -> None:
        """Hand a fetched document over (from any thread); it is written in the background."""
        self._queue.put((url, dict(request_headers), status, dict(response_headers), body, time.time()))

    def close(self) -> None:
        """Write what was handed over, and make the last file whole."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_DONE)
        self._thread.join()
        atexit.unregister(self.close)

    def _write_all(self) -> None:
        if self.remote:  # what an earlier writer could not put
            for left in sorted(self.folder.glob("*.warc.gz")):
                self._put(str(left))
        while (item := self._queue.get()) is not _DONE:
            try:
                self._write(*item)
            except OSError:  # a full disk: captures are a record, never the run's failure
                pass
        self._finish()

    def _write(self, url: str, request_headers: dict[str, str], status: int, response_headers: dict[str, str],
               body: bytes, at: float) -> None:
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=False)  # gzipped below, a member per record, at GZIP_LEVEL
        date = dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        target = url.split("#")[0]
        path = target.split("/", 3)[3] if target.count("/") >= 3 else ""
        request = writer.create_warc_record(
            target, "request", warc_headers_dict={"WARC-Date": date},
            http_headers=StatusAndHeaders(f"GET /{path} HTTP/1.1", [
                (name, value) for name, value in request_headers.items()
                if name.lower() not in PRIVATE_REQUEST_HEADERS], is_http_request=True))
        headers = [(name, value) for name, value in response_headers.items()
                   if name.lower() not in DROPPED_RESPONSE_HEADERS] + [("Content-Length", str(len(body)))]
        request_id = request.rec_headers.get_header("WARC-Record-ID")
        response = writer.create_warc_record(
            target, "response", payload=io.BytesIO(body),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id},
            http_headers=StatusAndHeaders(f"{status} {_phrase(status)}", headers, protocol="HTTP/1.1"))
        members = []
        for record in (request, response):
            writer.write_record(record)
            compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
            members.append(compressor.compress(buffer.getvalue()) + compressor.flush())
            buffer.seek(0)
            buffer.truncate()
        self._append(b"".join(members))

    def _append(self, data: bytes) -> None:
        if self._fd is None or self._size + len(data) > self.max_file_bytes and self._size:
            self._finish()
            self.files += 1
            self._path = str(self.folder / f"{self.name}-{self.files:05d}.warc.gz.open")
            self._fd, self._size = create_new(self._path, append=True), 0
        os.write(self._fd, data)
        self._size += len(data)

    def _finish(self) -> None:
        """The file is whole: closed, made durable, and named as one."""
        if self._fd is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)
        os.replace(self._path, self._path.removesuffix(".open"))
        self._fd = None
        if self.remote:
            self._put(self._path.removesuffix(".open"))

    def _put(self, path: str) -> None:
        """Put a whole file from the outbox where the captures go, and take it out of the outbox;
        left there when it cannot be put (the next writer tries again)."""
        assert self.storage is not None
        try:
            self.storage.put(path, f"{self.location}/{os.path.basename(path)}")
            os.unlink(path)
        except FileNotFoundError:
            pass  # another writer put it first
        except Exception as exc:  # captures are a record, never the run's failure
            _LOG.warning("captures: could not put %s at %s (kept in %s): %s", os.path.basename(path),
                         self.location, self.folder, exc)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def capture_files(location: str, storage: ObjectStorage | None = None) -> list[str]:
    """The whole capture files at `location` (a folder, or object storage), oldest name first."""
    if on_object_storage(location) and storage is not None:
        return sorted(url for url, _ in storage.listing(f"{location.rstrip('/')}/*.warc.gz"))
    return sorted(os.path.join(location, name) for name in os.listdir(location) if name.endswith(".warc.gz")) \
        if os.path.isdir(location) else []


def prune_captures(path: str, days: float, storage: ObjectStorage | None = None) -> int:
    """Remove the capture files in `path` (a folder, or object storage) older than `days`;
    returns how many."""
    cutoff = time.time() - days * 86400
    if on_object_storage(path):
        old = [url for url, changed in (storage.listing(f"{path.rstrip('/')}/*.warc.gz") if storage else [])
               if changed and changed < cutoff]
        if old and storage:
            storage.delete(old)
        return len(old)
    if not os.path.isdir(path):
        return 0
    removed = 0
    for entry in os.scandir(path):
        if entry.name.endswith(".warc.gz") and entry.is_file(follow_symlinks=False) \
                and entry.stat(follow_symlinks=False).st_mtime < cutoff:
            os.unlink(entry.path)
            removed += 1
    return removed

