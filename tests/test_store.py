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


def _production(tmp_path):
    """A production store under ``tmp_path/data`` holding one row, and its bytes."""
    import duckdb

    path = tmp_path / "data" / "store" / "workbench.duckdb"
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE marks (n INTEGER)")
    con.execute("INSERT INTO marks VALUES (1)")
    con.close()
    return path, path.read_bytes()


def test_an_interactive_run_works_on_a_scratch_copy_taken_once(tmp_path, monkeypatch):
    from bo_lib import store as store_module
    from bo_lib.store import describe_store

    monkeypatch.delenv("BO_STORE", raising=False)
    monkeypatch.delenv("BO_STORE_MODE", raising=False)
    monkeypatch.setenv("BO_SCRATCH_DIR", str(tmp_path / "scratch"))
    monkeypatch.setattr(store_module, "_SCRATCH", {})
    production, before = _production(tmp_path)
    scratch = resolve_store("", tmp_path / "data", run_id="interactive")
    assert scratch != production and scratch.is_relative_to(tmp_path / "scratch")
    with open_store(scratch) as con:
        con.execute("INSERT INTO marks VALUES (2)")
    again = resolve_store("", tmp_path / "data", run_id="interactive")  # a later cell: the same copy, with its writes
    assert again == scratch
    with open_store(again, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marks").fetchone() == (2,)
    assert production.read_bytes() == before
    line = describe_store(scratch)
    assert line.startswith("scratch copy of ") and "workbench.duckdb taken " in line and "the production store is not written" in line
    # a scheduled run passes its store and run id: that store, as before
    assert resolve_store(str(production), tmp_path / "data", run_id="20261106T080000Z-abcd") == production
    assert resolve_store("", tmp_path / "data") == production  # the old call without a run id


def test_read_only_mode_opens_the_production_store_and_refuses_writes(tmp_path, monkeypatch):
    import pytest

    from bo_lib import store as store_module
    from bo_lib.store import StoreReadOnlyError, describe_store

    monkeypatch.delenv("BO_STORE", raising=False)
    monkeypatch.setenv("BO_STORE_MODE", "read-only")
    monkeypatch.setattr(store_module, "_PROTECTED", {})
    production, before = _production(tmp_path)
    path = resolve_store("", tmp_path / "data", run_id="interactive")
    assert path == production
    assert "read-only" in describe_store(path)
    with open_store(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marks").fetchone() == (1,)
        with pytest.raises(StoreReadOnlyError, match="read-only in this session .BO_STORE_MODE=read-only.*unset BO_STORE_MODE"):
            with open_store(path):
                pass
    with pytest.raises(StoreReadOnlyError):
        with open_store(path):
            pass
    assert production.read_bytes() == before
    monkeypatch.setenv("BO_STORE_MODE", "sometimes")
    with pytest.raises(ValueError, match="BO_STORE_MODE"):
        resolve_store("", tmp_path / "data", run_id="interactive")


def test_in_the_lab_an_archived_notebook_rerun_uses_the_session_store(tmp_path, monkeypatch):
    from bo_lib.store import describe_store

    monkeypatch.setenv("BO_STORE", str(tmp_path / "scratch.duckdb"))
    monkeypatch.setenv("BO_STORE_SOURCE", str(tmp_path / "data" / "store" / "workbench.duckdb"))
    monkeypatch.setenv("BO_STORE_TAKEN", "2026-11-06T22:41:07+00:00")
    monkeypatch.setenv("BO_LAB", str(tmp_path / "lab"))
    assert resolve_store("", tmp_path / "data", run_id="interactive") == tmp_path / "scratch.duckdb"
    assert "taken 22:41:07 UTC for this Lab session" in describe_store(tmp_path / "scratch.duckdb")
    archived = resolve_store("/prod/workbench.duckdb", tmp_path / "data", run_id="20261106T080000Z-abcd")
    assert archived == tmp_path / "scratch.duckdb"
    assert "the archived run's store /prod/workbench.duckdb is not used" in describe_store(archived)


def test_a_read_only_session_rerunning_an_archived_notebook_cannot_write_its_runs_store(tmp_path, monkeypatch):
    """``bo lab --read-only-store`` (no session copy): an archived notebook carries its run's store
    parameter, the production file; it is opened read-only and a write is refused."""
    import pytest

    from bo_lib import store as store_module
    from bo_lib.store import StoreReadOnlyError, describe_store

    monkeypatch.delenv("BO_STORE", raising=False)
    monkeypatch.setenv("BO_STORE_MODE", "read-only")
    monkeypatch.setenv("BO_LAB", str(tmp_path / "lab"))
    monkeypatch.setattr(store_module, "_PROTECTED", {})
    production, before = _production(tmp_path)
    path = resolve_store(str(production), tmp_path / "data", run_id="20261106T080000Z-abcd")
    assert path == production and "read-only" in describe_store(path)
    with pytest.raises(StoreReadOnlyError):
        with open_store(path):
            pass
    assert production.read_bytes() == before
    # its error reads in a notebook as the command line prints it
    assert StoreReadOnlyError("x")._render_traceback_() == ["bo: error: x"]


def test_ensure_schema_adds_the_registered_columns_an_older_table_lacks(tmp_path, monkeypatch):
    import duckdb

    from bo_lib import store as store_mod

    monkeypatch.setattr(store_mod, "_TABLES", {"old_things": ({"id": "VARCHAR", "amount": "DOUBLE", "state": "VARCHAR"}, ("id",))})
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as connection:  # as an earlier version made it: no state column
        connection.execute("CREATE TABLE old_things (id VARCHAR PRIMARY KEY, amount DOUBLE)")
        connection.execute("INSERT INTO old_things VALUES ('a', 1.5)")
    with store_mod.open_store(path) as connection:  # a writable open runs ensure_schema
        connection.execute("UPDATE old_things SET state = 'new'")
        assert connection.execute("SELECT id, amount, state FROM old_things").fetchall() == [("a", 1.5, "new")]
