"""The database under the store: SQLite (embedded, the default) or PostgreSQL (shared by
machines and overlapping runs), behind one small interface.

- One connection per thread, with the SQL dialect smoothed over: `?` placeholders on both
  backends, `BLOB` as PostgreSQL's `BYTEA`, rows that answer to a column name or an index.
- One way to write: a method decorated `@transactional` runs in a write transaction (joining
  the caller's when one is open on this thread) and receives its connection as `tx`. Writers
  are serialized (a file lock and SQLite's IMMEDIATE transactions; a PostgreSQL advisory
  lock), which is what makes story assignment safe across workers.
- Reads (`Database.read()`) use the thread's connection: inside a transaction they see what it
  wrote.
- A PostgreSQL connection can break under a long run (a server restart, a failover, a proxy
  that drops idle connections). Outside a transaction the connection is opened again and the
  statement repeated; a transaction cut by the break is run again from its start, by the
  outermost `@transactional` call, up to WRITE_ATTEMPTS times.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pathlib
import re
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from newsbeam.schemas import without_controls
from newsbeam.state import settings
from newsbeam.state.migrations import MIGRATIONS, SCHEMA_VERSION


class StoreError(Exception):
    """The store cannot be used (wrong path, unreachable, too new): a one-line error."""


class StoreUnreachable(Exception):
    """The store's server did not answer (down, restarting, a network between): not a mistake in
    the configuration, so a scheduler can tell it apart and try again (exit code 4)."""


class ConnectionLost(Exception):
    """The database connection broke inside a write transaction. The server rolls such a
    transaction back (unless it was the COMMIT that went through before the break), so it may
    be run again from the start if doing so twice is harmless."""


def in_chunks(items: list, size: int = 500) -> Iterator[list]:
    """A long list of values in pieces a statement's `IN (...)` takes (SQLite allows 32,766
    parameters a statement; PostgreSQL 65,535)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def marks(items: list) -> str:
    """The placeholders of `IN (...)` for these values."""
    return ",".join("?" * len(items))


def database_errors() -> tuple[type[BaseException], ...]:
    """What a failing database raises (as opposed to bad input): a caller that turns bad input
    into dead letters lets these through, since the run cannot go on without its store."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, StoreError, StoreUnreachable, ConnectionLost)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.Error)


def refuses_value(exc: BaseException) -> bool:
    """Did the store refuse a value it cannot hold (too long for an index or a text-search
    vector, out of a column's range, not valid in its encoding), as opposed to failing itself
    (gone, locked, full, damaged)? Only the first is the fault of one item."""
    if isinstance(exc, sqlite3.DataError | sqlite3.IntegrityError) or (
            isinstance(exc, sqlite3.OperationalError) and "too big" in str(exc)):
        return True
    try:
        import psycopg.errors
    except ImportError:
        return False
    return isinstance(exc, psycopg.DataError | psycopg.errors.ProgramLimitExceeded | psycopg.IntegrityError)


def redact(url: str) -> str:
    """A database URL fit for a message: the password replaced."""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc[-1]}"))
    except ValueError:
        return "(a store URL that cannot be parsed)"


class Row(tuple):
    """A result row that answers to a column name (row["url"]) and to an index (row[0])."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


class Cursor:
    """A statement's results. Read lazily: in a pipeline (Connection.pipeline) they arrive only
    when first asked for."""

    def __init__(self, cursor: Any):
        self.cursor = cursor
        self._row_type: type[Row] | None = None

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    @property
    def columns(self) -> list[str]:
        return [d[0] for d in self.cursor.description] if self.cursor.description else []

    def _row(self, values: tuple) -> Row:
        if self._row_type is None:
            self._row_type = type("Row", (Row,), {"names": {n: i for i, n in enumerate(self.columns)}})
        return self._row_type(values)

    def fetchone(self) -> Row | None:
        row = self.cursor.fetchone()
        return None if row is None else self._row(row)

    def one(self) -> Row:
        """The row a query always gives (an aggregate, an upsert's RETURNING)."""
        row = self.fetchone()
        if row is None:
            raise LookupError("the query gave no row")
        return row

    def fetchall(self) -> list[Row]:
        return [self._row(row) for row in self.cursor.fetchall()]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


# What SQLite says when the machine, not the store, is at fault.
_ENVIRONMENT_FAILURE = re.compile(r"disk is full|disk I/O error", re.I)


def _safe(params: tuple | list) -> tuple:
    """Statement parameters without control characters in their text, whatever the caller
    forgot: one NUL from a feed would stop every pass on PostgreSQL, for good (schemas.text)."""
    return tuple(without_controls(p) if isinstance(p, str) else p for p in params)


class Connection:
    """One database connection of one thread (see the module's notes on broken connections)."""

    def __init__(self, connect: Callable[[], Any], postgres: bool):
        self._connect = connect
        self.raw = connect()
        self.postgres = postgres
        self.in_transaction = False

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    def _reconnect(self) -> Any:
        for delay in settings.RECONNECT_DELAYS_S:
            try:
                return self._connect()
            except StoreError:
                time.sleep(delay)
        return self._connect()

    @property
    def broken(self) -> bool:
        return self.postgres and self.raw.closed

    def execute(self, sql: str, params: tuple | list = ()) -> Cursor:
        params = _safe(params)
        return Cursor(self._run(lambda cursor: cursor.execute(self._sql(sql), params)))

    def executemany(self, sql: str, rows: list) -> None:
        if rows:
            rows = [_safe(row) for row in rows]
            self._run(lambda cursor: cursor.executemany(self._sql(sql), rows))

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        """Statements in a pipeline (PostgreSQL): each is sent without waiting for the one before
        to finish, and a statement's results are waited for only when read. Inside the writer
        lock, the server writes one article while the worker judges the next. SQLite runs in
        the worker's own process: nothing to wait for."""
        if not self.postgres:
            yield
            return
        try:
            with self.raw.pipeline():
                yield
        except Exception as exc:
            # a pipelined statement's failure shows when its results are read, or at the end
            if self.broken and self.in_transaction:
                raise ConnectionLost(f"the database connection broke: {str(exc).strip()}") from exc
            raise

    def _run(self, statement: Callable[[Any], Any]) -> Any:
        # Outside a transaction a statement is repeated on a new connection, as often as the
        # connection breaks again before it goes through (a server going down takes several).
        for attempt in range(1, settings.WRITE_ATTEMPTS + 1):
            try:
                cursor = self.raw.cursor()
                statement(cursor)
                return cursor
            except Exception as exc:
                if not self.broken:
                    raise
                if self.in_transaction:
                    raise ConnectionLost(f"the database connection broke: {str(exc).strip()}") from exc
                if attempt == settings.WRITE_ATTEMPTS:
                    raise
                self.raw = self._reconnect()
        raise AssertionError("unreachable")


Result = TypeVar("Result")


class Database:
    """A store's database. One instance per worker; one connection per thread."""

    postgres = False

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()

    # --- backends ------------------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _begin(self, db: Connection) -> None:
        raise NotImplementedError

    def _end(self, db: Connection) -> None:
        """After COMMIT or ROLLBACK."""

    def cache_path(self, name: str, folder: str | None = None) -> str:
        """Where a worker may keep a cache derived from this database: in `folder` when given,
        else this kind of store's own place; "" (no cache: each worker rebuilds it from the
        store) where that folder cannot be made or written, as under a systemd unit that makes
        all but its state folder read-only."""
        if folder is None:
            return self._own_cache_path(name)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            return ""
        if not os.access(folder, os.W_OK):
            return ""
        key = hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:16]
        return os.path.join(folder, f"{key}.{name}")

    def _own_cache_path(self, name: str) -> str:
        raise NotImplementedError

    # --- connections and transactions ------------------------------------------------------------
    def read(self) -> Connection:
        """This thread's connection (in a transaction when one is open on this thread)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = Connection(self._connect, self.postgres)
            self._local.db = db
        return db

    def own_connection(self) -> Connection:
        """A connection of its own, outside the per-thread ones: for a caller that shares one
        among its threads under its own lock rather than opening one per thread."""
        return Connection(self._connect, self.postgres)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.raw.close()
            self._local.db = None
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            os.close(fd)
            self._local.lock_fd = None

    def run_in_transaction(self, work: Callable[[Connection], Result]) -> Result:
        """`work(tx)` in a write transaction: the caller's, when one is open on this thread;
        else a new one, run again from the start when the connection breaks inside it."""
        db = self.read()
        if db.in_transaction:
            return work(db)
        for attempt in range(1, settings.WRITE_ATTEMPTS + 1):
            try:
                with self._transaction() as tx:
                    return work(tx)
            except ConnectionLost:
                if attempt == settings.WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        db = self.read()
        try:
            self._begin(db)
            db.in_transaction = True
            yield db
        except BaseException:
            # A broken connection's transaction is rolled back by the server already.
            if db.in_transaction and not db.broken:
                db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")
        finally:
            db.in_transaction = False
            self._end(db)

    # --- schema ----------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create or upgrade the store's tables (a store of an older newsbeam is upgraded in
        place, never dropped)."""
        try:
            self.run_in_transaction(self._migrate)
        except sqlite3.DatabaseError as exc:
            if _ENVIRONMENT_FAILURE.search(str(exc)):
                raise  # a full or failing disk is no configuration mistake: a failed run, exit 1
            raise StoreError(f"store {redact(self.url)} cannot be used: {exc}") from None

    def check_schema(self) -> None:
        """For a store opened to read only: its tables must be this newsbeam's (no upgrade
        can happen without writing)."""
        try:
            row = self.read().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {redact(self.url)} cannot be read: {exc}") from None
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            raise StoreError(f"store {redact(self.url)} has schema version {version}, this newsbeam reads "
                             f"{SCHEMA_VERSION}; it is read-only here, so it cannot be upgraded: run newsbeam once "
                             "where it can write the store")

    def _migrate(self, tx: Connection) -> None:
        tx.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = tx.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {redact(self.url)} has schema version {version}, newer than this newsbeam "
                f"({SCHEMA_VERSION}): upgrade newsbeam")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            script = MIGRATIONS[number]
            if isinstance(script, dict):
                script = script["postgresql" if self.postgres else "sqlite"]
            for statement in _statements(script):
                tx.execute(re.sub(r"\bBLOB\b", "BYTEA", statement) if self.postgres else statement)
            tx.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(number),))
        # An identity, so that caches kept beside a store (the vector index) are never taken
        # for another store's.
        tx.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
                   (uuid.uuid4().hex,))


Self = TypeVar("Self")
Params = ParamSpec("Params")


def transactional(method: Callable[Concatenate[Self, Connection, Params], Result]
                  ) -> Callable[Concatenate[Self, Params], Result]:
    """A method of an object with a `db` (a Database) that writes: it runs in a write
    transaction (the caller's, when one is open on this thread) and gets the connection as its
    first argument after self; its callers do not pass it."""

    @functools.wraps(method)
    def wrapper(self: Self, *args: Params.args, **kwargs: Params.kwargs) -> Result:
        return self.db.run_in_transaction(lambda tx: method(self, tx, *args, **kwargs))  # type: ignore[attr-defined]

    return wrapper


# --- SQLite ----------------------------------------------------------------------------------------
SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite store URL (None for another kind of store)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("", "file"):
        return parts.path if parts.scheme else url
    if parts.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute.db, as in SQLAlchemy
        return urllib.parse.unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return None


def check_store_path(url: str) -> None:
    """Refuse, before anything is opened for writing, a SQLite store path that is a folder, a
    link, lies under a file, or names a file that is not a newsbeam store."""
    path = sqlite_path(url)
    if path is None:
        return
    target = pathlib.Path(path)
    if target.is_symlink():
        raise StoreError(f"store {path} is a symbolic link: give the path of the file itself")
    if target.is_dir():
        raise StoreError(f"store {path} is a folder, not a file")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise StoreError(f"store {path}: {parent} is a file, not a folder")
    if not target.exists():
        return
    if not target.is_file():  # a FIFO or a device: reading its header would wait for ever
        raise StoreError(f"store {path} is not a regular file")
    try:
        with open(target, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"store {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        empty = "an empty file" if not header else "not a SQLite database"
        raise StoreError(f"store {path} is {empty}, not a newsbeam store (move it away to start a new store)")
    try:
        connection = sqlite3.connect(f"file:{urllib.parse.quote(str(target))}?mode=ro{_frozen(target)}", uri=True)
        try:
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {path} cannot be read: {exc}") from None
    if tables and "meta" not in tables:
        raise StoreError(f"store {path} is a SQLite database of something else, not a newsbeam store")


def _frozen(path: str | os.PathLike) -> str:
    """The URI parameter that lets SQLite read a WAL store in a folder it cannot write (where
    the WAL's shared-memory file cannot be made): nothing can change the file there."""
    return "" if os.access(os.path.dirname(os.path.abspath(path)), os.W_OK) else "&immutable=1"


class SqliteDatabase(Database):
    """One SQLite file, shared safely by the processes of one machine."""

    def __init__(self, path: str, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        if not read_only:
            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path)

    def _own_cache_path(self, name: str) -> str:
        return f"{self.path}.{name}"  # beside the store's file

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread off: a connection of its own (own_connection) serves several threads
        # under its owner's lock; the per-thread ones stay with their thread anyway
        if self.read_only:
            # Reading needs no write: not even the WAL's shared-memory file, which a read-only
            # folder cannot hold (then the file is read as it is: nothing can change it there).
            raw = sqlite3.connect(f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro{_frozen(self.path)}",
                                  uri=True, timeout=120, isolation_level=None, check_same_thread=False)
        else:
            raw = sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")
            raw.execute("PRAGMA foreign_keys=ON")
        return raw

    def _begin(self, db: Connection) -> None:
        # Wait for the writer lock on a file lock first: the kernel wakes the waiter the moment
        # it is free, where SQLite's own busy handler polls with sleeps of up to 100 ms, which
        # two workers assigning stories side by side would spend most of their time in.
        fcntl.flock(self._lock_file(), fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")  # takes the write lock up front
        except BaseException:
            fcntl.flock(self._lock_file(), fcntl.LOCK_UN)
            raise

    def _end(self, db: Connection) -> None:
        fcntl.flock(self._lock_file(), fcntl.LOCK_UN)

    def _lock_file(self) -> int:
        """This thread's descriptor of the lock file (flock locks are per open file)."""
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            self._local.lock_fd = fd
        return fd


# --- PostgreSQL ------------------------------------------------------------------------------------
# What the server says when it answered but will not let this URL in (libpq's wording): a
# configuration mistake, where anything else (refused, timed out, no route) is an outage.
_REFUSED_LOGINS = ("authentication failed", "does not exist", "no pg_hba.conf entry", "password")


class PostgresDatabase(Database):
    """PostgreSQL through psycopg 3."""

    postgres = True
    # pg_advisory_xact_lock key for "one writer at a time", held until COMMIT/ROLLBACK
    WRITER_LOCK = 0x6E657773  # "news"

    def __init__(self, url: str, read_only: bool = False):
        self.read_only = read_only
        super().__init__(url)

    def _connect(self) -> Any:
        import psycopg

        # read-only: the server refuses every write in this session's transactions
        # read-only: the server refuses every write in this session's transactions
        options = "-c default_transaction_read_only=on" if self.read_only else None
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                                   **({"options": options} if options else {}))  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            message = "; ".join(lines) or type(exc).__name__
            where = self._server()
            if any(word in message for word in _REFUSED_LOGINS):
                # the server answered and refused: a mistake in the URL or the server's settings
                raise StoreError(f"the PostgreSQL store at {where} refused the connection: {message}") from None
            raise StoreUnreachable(f"cannot reach the PostgreSQL store at {where}: {message}") from None

    def _server(self) -> str:
        """host:port the URL names (libpq's defaults where it names none), never its password."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(self.url)
        except Exception:
            return "the URL given"
        host = str(parts.get("host") or parts.get("hostaddr") or os.environ.get("PGHOST") or "localhost")
        return f"{host}:{parts.get('port') or os.environ.get('PGPORT') or 5432}"

    def _begin(self, db: Connection) -> None:
        # One round trip: BEGIN is the first statement (on a broken connection, it reconnects),
        # and the writer lock is taken with it.
        db.execute(f"BEGIN; SELECT pg_advisory_xact_lock({self.WRITER_LOCK:d})")
        db.in_transaction = True

    def _own_cache_path(self, name: str) -> str:
        # a program of the user's own (the library) caches in the user's cache folder; `newsbeam
        # run` names a folder (--cache-dir, else its output folder's cache/)
        return self.cache_path(name, os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                  "newsbeam"))


def _statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, a trigger's body (with its own semicolons) kept whole."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            if statement.strip().rstrip(";").strip():
                yield statement.strip().rstrip(";")
            statement = ""
    if statement.strip():
        yield statement.strip()


def open_database(url: str, read_only: bool = False) -> Database:
    """The database named by a URL: `sqlite:///path.db`, a plain file path, or
    `postgresql://user@host:port/db`. `read_only`: opened for reading only (a SQLite file on a
    read-only disk, or that this user may not write; PostgreSQL sessions that refuse writes)."""
    path = sqlite_path(url)
    if path is not None:
        return SqliteDatabase(path, read_only)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url, read_only)
    raise StoreError(f"unsupported store URL scheme '{parts.scheme}' (use sqlite:///path.db or postgresql://...)")
