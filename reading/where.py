"""Where a command reads and writes: the store of `--output DIR` or `--store URL`, a period
(`--since 24h` or a date, the same in every command), and output files written whole."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import sys
from collections.abc import Iterator
from typing import IO

from newsbeam.outputs.paths import replaced
from newsbeam.schemas import parse_time
from newsbeam.state.database import sqlite_path
from newsbeam.state.store import Store, default_store_url, open_store


class CliError(Exception):
    """Wrong usage or configuration: a one-line message, exit code 2."""


def add_where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", help="a run's output folder (uses its default store)")
    parser.add_argument("--store", help="state store URL, e.g. sqlite:///state.db (default: the store under --output)")


def open_where(args: argparse.Namespace, writes: bool = False, only_reads: bool = False) -> Store:
    """The store a command was pointed at, which must exist already. `writes`: the command
    changes the store (prune); `only_reads`: it must never write it (serve), not even to
    upgrade its tables."""
    if not args.store and not args.output:
        raise CliError(f"{args.command}: give --output DIR or --store URL")
    store_url = args.store or default_store_url(args.output)
    path = sqlite_path(store_url)
    if not args.store and not os.path.exists(path or ""):
        raise CliError(f"no store at {path}: has newsbeam run with --output {args.output}?")
    # A store this command may not write (a read-only disk, a file of another user) is read
    # as it is: reading needs no write.
    writable = path is None or not os.path.exists(path) or (
        os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK))
    return open_store(store_url, read_only=only_reads or (not writable and not writes))


_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.I)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def since(text: str | None) -> str | None:
    """`--since`: a time ago (`30m`, `24h`, `7d`, `2w`) or an ISO 8601 date or time (UTC
    unless it says otherwise), as the records' time format."""
    if text is None:
        return None
    ago = _AGO.match(text)
    if ago:
        try:
            moment = dt.datetime.now(dt.UTC) - dt.timedelta(
                seconds=float(ago.group(1)) * _UNITS[ago.group(2).lower()])
        except (OverflowError, ValueError):
            raise CliError(f"--since {text}: further back than a calendar goes (year 1)") from None
    else:
        try:
            moment = parse_time(text if "T" in text or " " in text.strip() else text.strip() + "T00:00:00")
        except ValueError:
            raise CliError(f"--since {text}: give a time ago (24h, 7d) or an ISO 8601 date (2026-11-01)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def store_files(store_url: str | None) -> tuple[str, ...]:
    """The files of a SQLite store, which no output may replace."""
    path = sqlite_path(store_url) if store_url else None
    return (path, path + "-wal", path + "-shm", path + ".lock") if path else ()


@contextlib.contextmanager
def open_output(path: str, store_url: str | None = None) -> Iterator[IO[str]]:
    """The output file ('-': standard output), written whole or not at all
    (outputs.paths.replaced); never the store's own file."""
    if path == "-":
        yield sys.stdout
        return
    try:
        with replaced(path, "w", store_files(store_url)) as handle:
            yield handle
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None
