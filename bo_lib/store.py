"""The workbench's embedded database: one DuckDB file (location from the schedule, passed to
every notebook as ``store``) holding what lives across days: reconciliation breaks, NAV history,
high-water marks.

Parallel jobs share the file and DuckDB lets one process write at a time, so connections are
short-lived: open, do the work, close. ``open_store`` waits for the lock (with jitter) instead of
failing, and says clearly when it gave up.
"""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

import duckdb


class StoreBusyError(RuntimeError):
    """The store stayed locked by another job for longer than the timeout."""


def default_store(data_root: Path | str) -> Path:
    return Path(data_root) / "store" / "workbench.duckdb"


def resolve_store(store: str, data_root: Path | str) -> Path:
    """The ``store`` notebook parameter, or the default under the data root when it is empty."""
    return Path(store) if store else default_store(data_root)


@contextlib.contextmanager
def open_store(path: Path | str, *, read_only: bool = False, timeout_seconds: float = 120.0):
    """A DuckDB connection to the store, closed on exit; waits while another job holds the lock."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"the workbench store {path} does not exist yet (no job has written to it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    delay = 0.05
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise StoreBusyError(f"the workbench store {path} stayed locked for {timeout_seconds:.0f}s by another job: {exc}") from None
            time.sleep(delay + random.uniform(0, delay))
            delay = min(delay * 1.5, 1.0)
    try:
        yield connection
    finally:
        connection.close()
