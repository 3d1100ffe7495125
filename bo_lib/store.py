"""The workbench's embedded database: one DuckDB file (location from the schedule, passed to
every notebook as ``store``) holding what lives across days: the ingested deliveries, each fund's
daily closing states (NAV history and high-water marks among them), locks and their audit,
restatements, reconciliation breaks.

Parallel jobs share the file and DuckDB lets one process write at a time, so connections are
short-lived: open, do the work, close. ``open_store`` waits for the lock (with jitter) instead of
failing, and says clearly when it gave up.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from pathlib import Path

import duckdb


class StoreBusyError(RuntimeError):
    """The store stayed locked by another job for longer than the timeout."""


def default_store(data_root: Path | str) -> Path:
    return Path(data_root) / "store" / "workbench.duckdb"


#: the workbench store an interactive notebook uses when its ``store`` parameter is empty
STORE_ENVIRONMENT_VARIABLE = "BO_STORE"


def resolve_store(store: str, data_root: Path | str) -> Path:
    """The ``store`` notebook parameter; when it is empty, ``$BO_STORE``, else the default under the
    data root (a scheduled run always passes its store)."""
    if store:
        return Path(store)
    return Path(os.environ[STORE_ENVIRONMENT_VARIABLE]) if os.environ.get(STORE_ENVIRONMENT_VARIABLE) else default_store(data_root)


#: the connection this process has open to each store, shared by nested ``open_store`` calls
_LIVE: dict[str, list] = {}  # path -> [connection, read_only, depth]


def _key(path: Path | str) -> str:
    return str(Path(path).resolve())


def _connect(path: Path, read_only: bool, timeout_seconds: float) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise FileNotFoundError(f"the workbench store {path} does not exist yet (no job has written to it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise StoreBusyError(f"the workbench store {path} stayed locked for {timeout_seconds:.0f}s by another job: {exc}") from None
            time.sleep(delay + random.uniform(0, delay))
            delay = min(delay * 1.5, 0.5)


@contextlib.contextmanager
def open_store(path: Path | str, *, read_only: bool = False, timeout_seconds: float = 120.0):
    """A DuckDB connection to the store; waits while another process holds the lock.

    Within one process the open connection is shared: an ``open_store`` inside another (a read in
    the middle of a batch of work) uses the outer connection, in the outer connection's mode, and
    the outermost call closes it. So a report opens one read-only connection around all its reads
    (``with open_store(path, read_only=True):``), and read-only connections of parallel jobs do not
    block each other (a write attempted inside one fails: DuckDB refuses it)."""
    key = _key(path)
    live = _LIVE.get(key)
    if live is not None:
        live[2] += 1
        try:
            yield live[0]
        finally:
            live[2] -= 1
        return
    connection = _connect(Path(path), read_only, timeout_seconds)
    _LIVE[key] = [connection, read_only, 1]
    try:
        if not read_only:  # a store written by an older version is migrated before anything writes to it
            ensure_schema(connection)
        yield connection
    finally:
        del _LIVE[key]
        connection.close()


session = open_store  # a batch of work on one connection: ``with session(path, read_only=True): ...``


def is_read_only(connection) -> bool:
    return any(live[0] is connection and live[1] for live in _LIVE.values()) or \
        connection.execute("SELECT current_setting('access_mode')").fetchall()[0][0] == "read_only"


#: every table of the store, registered by the module that owns it: name -> (columns, primary key)
_TABLES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {}
_SEQUENCES: set[str] = set()
#: per database file: the tables known to exist (created or migrated by this process)
_READY: dict[str, set[str]] = {}


def register_table(name: str, columns: dict[str, str], primary_key: tuple[str, ...] = ()) -> str:
    """Declare a table of the store (its owner module does, once, at import); returns the name."""
    _TABLES[name] = (dict(columns), tuple(primary_key))
    return name


def register_sequence(name: str) -> str:
    _SEQUENCES.add(name)
    return name


def ensure_schema(connection) -> None:
    """Create every registered table the store lacks and add any column an older store lacks (the
    migrations: additive only). Once per store file per process (a file deleted and made again is
    a new file); nothing to do on a read-only connection."""
    path = connection.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    try:
        info = os.stat(path)
        key = f"{path}|{info.st_dev}|{info.st_ino}"
    except OSError:
        key = str(path)
    ready = _READY.setdefault(key, set())
    if not set(_TABLES) - ready or is_read_only(connection):
        return
    for name in sorted(_SEQUENCES):
        connection.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START 1")
    for name, (columns, primary_key) in _TABLES.items():
        if name not in ready:
            ensure_table(connection, name, columns, primary_key)
            ready.add(name)


def ensure_table(connection, name: str, columns: dict[str, str], primary_key: tuple[str, ...] = ()) -> None:
    """Create ``name`` with ``columns`` (column -> DuckDB type) if it does not exist, and add any
    column an older store lacks (additive migration: columns are never dropped or retyped, so a
    store written by an earlier version keeps every row it holds)."""
    key = f", PRIMARY KEY ({', '.join(primary_key)})" if primary_key else ""
    connection.execute(f"CREATE TABLE IF NOT EXISTS {name} (" + ", ".join(f"{c} {t}" for c, t in columns.items()) + key + ")")
    present = {row[0] for row in connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]).fetchall()}
    for column, kind in columns.items():
        if column not in present:
            connection.execute(f"ALTER TABLE {name} ADD COLUMN {column} {kind}")


def migrate(path: Path | str) -> bool:
    """Bring a store written by an earlier version up to the registered schema (tables and columns
    it lacks), before readers that expect the new columns open it read-only; True when it had to.
    A store that does not exist yet is left alone (the first writer creates it)."""
    path = Path(path)
    if not path.exists():
        return False
    with open_store(path, read_only=True) as con:
        present = {(t, c) for t, c in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall()}
    wanted = {(t, c) for t, (columns, _key) in _TABLES.items() for c in columns}
    if wanted <= present:
        return False
    with open_store(path):  # a writable open runs ensure_schema
        pass
    return True


def table_exists(connection, name: str) -> bool:
    return bool(connection.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def select_frame(path: Path | str, table: str, sql: str, params: list | None = None, columns=()):
    """``sql`` over ``table`` on a read-only connection, as a DataFrame; an empty frame with
    ``columns`` when the store file or the table does not exist yet (nothing recorded)."""
    import pandas as pd

    if not Path(path).exists():
        return pd.DataFrame(columns=list(columns))
    with open_store(path, read_only=True) as con:
        if not table_exists(con, table):
            return pd.DataFrame(columns=list(columns))
        return con.execute(sql, params or []).df()


def insert_frame(connection, table: str, frame, columns: list[str]) -> int:
    """Append ``frame[columns]`` to ``table`` (columns by name, in the table's own order)."""
    if frame is None or not len(frame):
        return 0
    view = f"_incoming_{table}"
    connection.register(view, frame[columns])
    try:
        connection.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {view}")
    finally:
        connection.unregister(view)
    return len(frame)
