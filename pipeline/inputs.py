"""JSON Lines input for `newsbeam dedup` and `newsbeam extract`: one object a line, every line
checked before any work starts (a malformed line is named, exit 2, nothing written), with a
bounded line length so a hostile file cannot take the machine's memory. The input is read
twice (check, then work) as a stream, never whole; standard input is first copied to a
temporary file."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from newsbeam.schemas.text import MAX_URL_CHARS

# The longest line read (a page's HTML as a JSON string, escaped, fits with room to spare).
MAX_LINE_BYTES = 64 * 1024 * 1024
# The longest id a record may have: it is written back on every output line, and (in `dedup`,
# for a record without a URL) becomes the article's key in the store.
MAX_ID_CHARS = 1_000


class InputError(Exception):
    """A malformed input line or file: a one-line message, exit 2."""


Check = Callable[[dict[str, Any], str], dict[str, Any]]  # (record, "where") -> the record, or InputError


@contextlib.contextmanager
def json_lines(path: str, check: Check) -> Iterator[Callable[[], Iterator[dict[str, Any]]]]:
    """`with json_lines(path, check) as records:` checks every line of `path` ('-': standard
    input) with `check`, and gives `records()`, the checked records in order, read again."""
    with contextlib.ExitStack() as stack:
        if path == "-":
            handle: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())
            shutil.copyfileobj(sys.stdin.buffer, handle)
        else:
            try:
                handle = stack.enter_context(open(path, "rb"))
            except OSError as exc:
                raise InputError(f"{path}: {exc.strerror}") from None
        name = "standard input" if path == "-" else path
        for _ in _records(handle, name, check):
            pass

        def records() -> Iterator[dict[str, Any]]:
            return _records(handle, name, check)

        yield records


def _records(handle: IO[bytes], name: str, check: Check) -> Iterator[dict[str, Any]]:
    handle.seek(0)
    number = 0
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise InputError(f"{name}: line {number}: longer than {MAX_LINE_BYTES} bytes")
        if not line.strip():
            continue
        where = f"{name}: line {number}"
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            raise InputError(f"{where}: not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg}") from None
        except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
            raise InputError(f"{where}: invalid JSON: {exc}") from None
        except RecursionError:
            raise InputError(f"{where}: JSON nested too deeply") from None
        if not isinstance(record, dict):
            raise InputError(f"{where}: expected a JSON object")
        yield check(record, where)


def string_fields(record: dict[str, Any], where: str, fields: tuple[str, ...]) -> None:
    """Each of `fields`, when present and not null, is a valid Unicode string."""
    for field in fields:
        value = record.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f"{where}: '{field}' must be a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{where}: '{field}' is not valid Unicode") from None
        if field == "url" and len(value) > MAX_URL_CHARS:
            raise InputError(f"{where}: 'url' is longer than {MAX_URL_CHARS} characters")


class UniqueIds:
    """Checks that each record has an `id` (a string or an integer), on one line of the file
    only (the file is read twice: the same line again is fine); makes it a string."""

    def __init__(self) -> None:
        self.lines: dict[str, str] = {}  # id -> where it was seen

    def __call__(self, record: dict[str, Any], where: str) -> None:
        if "id" not in record:
            raise InputError(f"{where}: expected an object with an 'id'")
        if not isinstance(record["id"], (str, int)) or isinstance(record["id"], bool):
            raise InputError(f"{where}: 'id' must be a string or an integer")
        record["id"] = str(record["id"])
        if len(record["id"]) > MAX_ID_CHARS:
            raise InputError(f"{where}: 'id' is longer than {MAX_ID_CHARS} characters")
        string_fields(record, where, ("id",))
        if self.lines.setdefault(record["id"], where) != where:
            raise InputError(f"{where}: duplicate id {record['id']}")
