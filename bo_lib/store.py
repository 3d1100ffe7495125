"""The workbench's embedded database: one DuckDB file (location from the schedule, passed to
every notebook as ``store``) holding what lives across days: the ingested deliveries, each fund's
daily closing states (NAV history and high-water marks among them), locks and their audit,
restatements, reconciliation breaks.

Parallel jobs share the file and DuckDB lets one process write at a time, so connections are
short-lived: open, do the work, close. ``open_store`` waits for the lock (with jitter) instead of
failing, and says clearly when it gave up.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import duckdb


class StoreBusyError(RuntimeError):
    """The store stayed locked by another job for longer than the timeout."""


def default_store(data_root: Path | str) -> Path:
    return Path(data_root) / "store" / "workbench.duckdb"


#: the workbench store an interactive notebook uses when its ``store`` parameter is empty
STORE_ENVIRONMENT_VARIABLE = "BO_STORE"
#: how an interactive notebook without ``$BO_STORE`` uses the production store: ``scratch`` (the
#: default: a copy taken once per kernel) or ``read-only`` (the production file, every write refused)
STORE_MODE_VARIABLE = "BO_STORE_MODE"
SCRATCH, READ_ONLY = "scratch", "read-only"
#: where the scratch copies of a kernel go (default: a folder under the system's temporary folder)
SCRATCH_DIR_VARIABLE = "BO_SCRATCH_DIR"
#: set by ``bo lab`` beside ``$BO_STORE``: the production store the session's scratch copy was taken
#: from, and when (ISO time, UTC), for the notebook header's line on the store
STORE_SOURCE_VARIABLE, STORE_TAKEN_VARIABLE = "BO_STORE_SOURCE", "BO_STORE_TAKEN"
#: set by ``bo lab`` for its Jupyter server: an archived notebook re-run in the Lab (a real run id
#: and the run's own ``store``) works on the session's store, never on the run's
LAB_VARIABLE = "BO_LAB"
INTERACTIVE = "interactive"
#: set by ``bo lab`` beside ``$BO_STORE`` (never in a read-only session): the production store an
#: analyst's recorded work (break actions) is written to. The one channel from a Lab session to the
#: book of record; the session's scratch copy gets the same rows (``actions_target``)
ACTIONS_STORE_VARIABLE = "BO_ACTIONS_STORE"


class StoreReadOnlyError(RuntimeError):
    """A write to a store this process opened read-only on purpose (``BO_STORE_MODE=read-only``)."""

    def _render_traceback_(self) -> list[str]:
        """In a notebook, the message without a traceback (it says why and how to switch back)."""
        return [f"bo: error: {self}"]


#: production store (resolved) -> (scratch copy, when it was taken) made by this process
_SCRATCH: dict[str, tuple[Path, dt.datetime]] = {}
#: stores this process must not write (resolved path -> why)
_PROTECTED: dict[str, str] = {}
#: what each store this process resolved is (resolved path -> the one-line description)
_DESCRIPTIONS: dict[str, str] = {}


def resolve_store(store: str, data_root: Path | str, run_id: str | None = None) -> Path:
    """The store a notebook uses. The ``store`` parameter when given (a scheduled run always passes
    its store), else ``$BO_STORE``; else, for an interactive run (``run_id == "interactive"``), a
    scratch copy of the production store ``<data_root>/store/workbench.duckdb`` taken once for this
    process (kernel session) and reused by later calls, or with ``BO_STORE_MODE=read-only`` the
    production store itself opened read-only (a write raises ``StoreReadOnlyError``). An interactive
    run never writes the production store. Without ``run_id`` (the old call), the production store.

    In a Lab session (``$BO_LAB`` set by ``bo lab``), an archived notebook re-run keeps its run's
    ``store`` parameter out of reach: it gets ``$BO_STORE`` (the session's scratch copy) too.

    ``describe_store(path)`` is the one-line description of what was chosen (for the header)."""
    environment = os.environ.get(STORE_ENVIRONMENT_VARIABLE)
    mode = (os.environ.get(STORE_MODE_VARIABLE) or SCRATCH).strip().lower()
    if store and mode == READ_ONLY and run_id not in (None, INTERACTIVE) and not environment:
        # an archived notebook re-run in a read-only session: its run's store, never written
        path = Path(store)
        _PROTECTED[_key(path)] = f"{STORE_MODE_VARIABLE}={READ_ONLY}"
        return _note(path, f"the archived run's store {_shown(path)}, read-only ({STORE_MODE_VARIABLE}={READ_ONLY}): a write fails")
    if store and environment and os.environ.get(LAB_VARIABLE) and run_id not in (None, INTERACTIVE):
        return _note(Path(environment), f"{_session_description(Path(environment))} (the archived run's store {store} "
                                        "is not used in the Lab)")
    if store:
        path = Path(store)
        return _note(path, f"the store passed to the notebook: {_shown(path)}" + ("" if run_id in (None, INTERACTIVE) else f" (run {run_id})"))
    if environment:
        path = Path(environment)
        return _note(path, _session_description(path))
    production = default_store(data_root)
    if run_id != INTERACTIVE:
        return _note(production, f"the production store {_shown(production)}")
    if mode == READ_ONLY:
        _PROTECTED[_key(production)] = f"{STORE_MODE_VARIABLE}={READ_ONLY}"
        return _note(production, f"the production store {_shown(production)}, read-only ({STORE_MODE_VARIABLE}={READ_ONLY}): "
                                 "a write fails")
    if mode != SCRATCH:
        raise ValueError(f"{STORE_MODE_VARIABLE}={mode!r}: expected {SCRATCH!r} (a scratch copy, the default) or {READ_ONLY!r}")
    copy, taken = scratch_copy(production)
    source = f"scratch copy of {_shown(production)}" if production.exists() else \
        f"new scratch store (no production store at {_shown(production)} yet)"
    return _note(copy, f"{source} taken {taken:%H:%M:%S} UTC; the production store is not written (scratch file {copy})")


def actions_target(working: Path | str) -> tuple[Path, Path | None]:
    """Where an analyst's action (a break action: real work, kept in the book of record) is written,
    given the store the caller works on, and the copy to mirror it into. Rule: in a ``bo lab`` session
    (``working`` is ``$BO_STORE`` and ``$BO_ACTIONS_STORE`` names the production store) the production
    store, mirrored into the scratch copy; a store this process may not write (read-only session) or a
    scratch copy with no channel to its production store (a notebook opened outside ``bo lab``) is
    refused (``StoreReadOnlyError``, saying why); any other store (the CLI's, a test's) is itself."""
    key = _key(working)
    if key in _PROTECTED:
        raise StoreReadOnlyError(f"break actions are refused in a read-only session ({_PROTECTED[key]}): they belong in the book of "
                                 "record; start `bo lab` without --read-only-store, or use `bo break ...`")
    production, session_store = os.environ.get(ACTIONS_STORE_VARIABLE), os.environ.get(STORE_ENVIRONMENT_VARIABLE)
    if production and session_store and key == _key(session_store) and key != _key(production):
        return Path(production), Path(working)
    if any(key == _key(copy) for copy, _taken in _SCRATCH.values()):
        raise StoreReadOnlyError(f"this notebook works on a scratch copy ({working}) with no channel to the production store: break "
                                 "actions must reach the book of record; open the notebook with `bo lab`, or use `bo break ...`")
    return Path(working), None


def describe_store(path: Path | str) -> str:
    """One line on the store ``resolve_store`` returned in this process (for the notebook header):
    what it is and whether the production store is written."""
    return _DESCRIPTIONS.get(_key(path)) or f"the store {_shown(Path(path))}"


def scratch_copy(production: Path | str) -> tuple[Path, dt.datetime]:
    """A copy of ``production`` for this process, taken on the first call (later calls return the
    same copy) while holding a read-only connection, so no job writes it mid-copy. The copy lives
    under ``$BO_SCRATCH_DIR`` or the temporary folder (outside the repository and the data root) and
    is deleted when the process ends. A missing production store gives a new, empty scratch path."""
    production = Path(production)
    key = _key(production)
    if key in _SCRATCH and _SCRATCH[key][0].parent.is_dir():
        return _SCRATCH[key]
    base = Path(os.environ.get(SCRATCH_DIR_VARIABLE) or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"bo-scratch-{os.getpid()}-", dir=base))
    atexit.register(shutil.rmtree, folder, True)
    target = folder / production.name
    copy_store(production, target)
    _SCRATCH[key] = (target, dt.datetime.now(dt.timezone.utc))
    return _SCRATCH[key]


def copy_store(source: Path | str, target: Path | str) -> bool:
    """Copy a store file (and its write-ahead log, if any) while holding a read-only connection to
    it; False when there is no store to copy (nothing is written then)."""
    source, target = Path(source), Path(target)
    if not source.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_store(source, read_only=True):
        shutil.copyfile(source, target)
        wal = source.with_name(source.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return True


def _session_description(path: Path) -> str:
    source, taken = os.environ.get(STORE_SOURCE_VARIABLE), os.environ.get(STORE_TAKEN_VARIABLE)
    if source:
        when = ""
        if taken:
            with contextlib.suppress(ValueError):
                when = f" taken {dt.datetime.fromisoformat(taken).astimezone(dt.timezone.utc):%H:%M:%S} UTC"
        return f"scratch copy of {_shown(Path(source))}{when} for this Lab session ($BO_STORE); the production store is not written"
    return f"the store named by $BO_STORE: {_shown(path)}"


def _shown(path: Path) -> str:
    """A path as the header shows it: relative to the working folder's parent when under it (the
    repository root, seen from a notebook folder), else absolute."""
    resolved = Path(os.path.abspath(path))
    root = Path.cwd().parent
    if root != Path(root.anchor):
        with contextlib.suppress(ValueError):
            return resolved.relative_to(root).as_posix()
    return str(resolved)


def _note(path: Path, description: str) -> Path:
    _DESCRIPTIONS[_key(path)] = description
    return path


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
    if not read_only and key in _PROTECTED:
        raise StoreReadOnlyError(f"the workbench store {path} is open read-only in this session ({_PROTECTED[key]}): nothing can be "
                                 f"written to it; unset {STORE_MODE_VARIABLE} to work on a scratch copy instead")
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


@contextlib.contextmanager
def transaction(connection):
    """The block as one transaction of ``connection``: committed when it ends, rolled back when it
    raises (whatever it raises), the exception going on."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


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
