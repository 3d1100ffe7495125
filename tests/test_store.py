"""The embedded store: parallel writers from separate processes take turns instead of failing."""

from __future__ import annotations

import multiprocessing as mp

from bo_lib.store import open_store, resolve_store


def _writer(path: str, worker: int) -> None:
    for i in range(20):
        with open_store(path) as con:
            con.execute("CREATE TABLE IF NOT EXISTS writes (worker INTEGER, i INTEGER)")
            con.execute("INSERT INTO writes VALUES (?, ?)", [worker, i])


def test_four_processes_writing_at_once_all_land(tmp_path):
    path = str(tmp_path / "store" / "workbench.duckdb")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with open_store(path, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT worker) FROM writes").fetchone() == (80, 4)


def test_default_location_is_under_the_data_root(tmp_path, monkeypatch):
    monkeypatch.delenv("BO_STORE", raising=False)
    assert resolve_store("", tmp_path / "data") == tmp_path / "data" / "store" / "workbench.duckdb"
    assert resolve_store("/x/y.duckdb", tmp_path) .as_posix() == "/x/y.duckdb"


def test_bo_store_names_the_store_of_interactive_notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("BO_STORE", str(tmp_path / "shared.duckdb"))
    assert resolve_store("", tmp_path / "data") == tmp_path / "shared.duckdb"
    assert resolve_store("/x/y.duckdb", tmp_path).as_posix() == "/x/y.duckdb"  # a scheduled run passes its own
