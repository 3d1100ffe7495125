"""`bo replay` and `bo diff` on a copy of the sample world: a run of 2026-11-05 (USEQ's notebooks
and the company-wide one), USEQ's run of the next day (so the store holds a later date when the
first is replayed), and the first's replay.

Before the replay, the store's closing state of 2026-11-05 (USEQ's NAV per share) and a break
the recon recorded that day are tampered with: a replay that read them back would differ; one
that strikes and reconciles the date again (on its scratch copy, from the day before) is identical.

The replay must be identical, sealed, marked as a replay, strike the date again and leave the
production store's file as it was; a changed data file, parameter file or notebook refuses it
before anything runs; `bo diff` of the two dates names the figures and the breaks the seeded
exceptions of 2026-11-06 add.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pytest

from bo_lib.hashing import sha256_file
from bo_lib.pipeline.compare import Comparison, compare_replay, compared_figures, report_lines, same_cell
from tests.test_daily_run import bo, manifest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def edited(path: Path, text: str):
    """``path`` with ``text`` appended for the duration, then restored byte for byte."""
    before = path.read_bytes()
    os.chmod(path, 0o644)
    path.write_bytes(before + text.encode())
    try:
        yield path
    finally:
        path.write_bytes(before)


def tamper_with_the_date(store: Path, fund: str, day: str) -> dict:
    """What the store recorded of ``day`` changed behind the runs' backs: every class's NAV per share
    of the fund's closing state (+1.0) and the difference of every break its recon observed (+1.0);
    returns how many rows of each."""
    import duckdb

    con = duckdb.connect(str(store))
    try:
        classes = con.execute("UPDATE book_classes SET nav_per_share = nav_per_share + 1.0 WHERE book_fund = ? AND book_date = ?",
                              [fund, day]).fetchall()[0][0]
        breaks = con.execute("UPDATE recon_break_observations SET difference = difference + 1.0 WHERE fund = ? AND business_date = ?",
                             [fund, day]).fetchall()[0][0]
    finally:
        con.close()
    return {"classes": classes, "breaks": breaks}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The sample world, parameters and notebooks copied; USEQ run on 2026-11-05, then 2026-11-06,
    then the first run replayed (scratch copies under the world's own scratch folder)."""
    root = tmp_path_factory.mktemp("replay")
    shutil.copytree(REPO / "data", root / "data", ignore=shutil.ignore_patterns("store"))
    shutil.copytree(REPO / "parameters", root / "parameters")
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    common = ["--data", str(root / "data"), "--reports", str(root / "reports"), "--parameters", str(root / "parameters"),
              "--notebooks", str(root / "notebooks"), "--fund", "USEQ", "--workers", "2", "--heartbeat", "0"]
    runs = {}
    # the first run has the company-wide notebook too (every fund's books rolled), the second USEQ's only
    for date, more in (("2026-11-05", ["--fund", "MERIDIAN"]), ("2026-11-06", [])):
        code, out, err = bo("run", "--date", date, *common, *more)
        assert code == 0, out + err
        runs[date] = Path(out.strip().splitlines()[-1]).parent
    store = root / "data/store/workbench.duckdb"
    tampered = tamper_with_the_date(store, "USEQ", "2026-11-05")
    before = sha256_file(store)
    scratch = root / "scratch"
    previous = os.environ.get("BO_SCRATCH_DIR")
    os.environ["BO_SCRATCH_DIR"] = str(scratch)
    try:
        replay = bo("replay", str(runs["2026-11-05"]), "--heartbeat", "0")
    finally:
        os.environ.pop("BO_SCRATCH_DIR") if previous is None else os.environ.__setitem__("BO_SCRATCH_DIR", previous)
    return {"root": root, "runs": runs, "replay": replay, "store": store, "store_before": before, "scratch": scratch, "tampered": tampered}


def _replay_dir(world) -> Path:
    first = world["replay"][1].splitlines()[0]
    return Path(first.rsplit(": ", 1)[1]).parent


def test_the_replay_of_a_run_is_identical_and_a_sealed_run_marked_as_its_replay(world):
    code, out, err = world["replay"]
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith("identical: ") and "figures" in out and "tables (" in out
    replayed = manifest(world["runs"]["2026-11-05"])
    replay_dir = _replay_dir(world)
    assert replay_dir.parent == world["runs"]["2026-11-05"].parent  # the same report root and date
    replay = manifest(replay_dir)
    assert replay["replay_of"] == {"run_id": replayed["run_id"], "run_dir": str(world["runs"]["2026-11-05"].resolve()),
                                   "manifest_sha256": sha256_file(world["runs"]["2026-11-05"] / "manifest.json")}
    assert replay["run_id"] != replayed["run_id"] and [j["job_id"] for j in replay["jobs"]] == [j["job_id"] for j in replayed["jobs"]]
    assert replay["scope"] == replayed["scope"] == {"funds": ["MERIDIAN", "USEQ"], "notebooks": "all"}
    assert "MERIDIAN/regulatory" in [j["job_id"] for j in replay["jobs"]]
    assert f"replay of run <code>{replayed['run_id']}</code>" in (replay_dir / "index.html").read_text()
    assert bo("verify", str(replay_dir))[0] == 0


def test_the_replay_never_writes_the_production_store_and_removes_its_scratch_copy(world):
    assert sha256_file(world["store"]) == world["store_before"]
    assert not any(world["scratch"].glob("bo-replay-*"))
    replay = manifest(_replay_dir(world))
    assert Path(replay["store"]).parent.parent == world["scratch"] and not Path(replay["store"]).exists()
    # every fund's books struck the date again (a later date in the store too), from the same state, to the same state
    replayed = manifest(world["runs"]["2026-11-05"])["books"]["funds"]
    assert set(replay["books"]["funds"]) == set(replayed) and len(replayed) == 3
    for code, books in replay["books"]["funds"].items():
        assert books["days_struck"] == ["2026-11-05"], code
        assert books["state"] == replayed[code]["state"] and books["previous_state"] == replayed[code]["previous_state"], code


def test_the_replay_computes_the_date_again_rather_than_reading_the_store_back(world):
    """The tampered NAV per share and break differences of 2026-11-05 are not what the replay shows:
    it struck and reconciled the date again on its copy (identical, as checked above)."""
    assert world["tampered"]["classes"] >= 1 and world["tampered"]["breaks"] >= 1
    code, out, err = world["replay"]
    assert code == 0 and "closing states from 2026-11-05 on forgotten there: struck again" in err, err
    assert out.splitlines()[-1].startswith("identical: ")


def test_diff_of_a_run_and_its_replay_says_identical(world):
    code, out, err = bo("diff", str(world["runs"]["2026-11-05"]), str(_replay_dir(world)))
    assert code == 0, out + err
    assert out.startswith("identical: ") and "breaks" in out


def test_diff_of_two_dates_names_the_figures_and_the_breaks_the_seeded_exceptions_add(world):
    code, out, err = bo("diff", str(world["runs"]["2026-11-05"]), str(world["runs"]["2026-11-06"]), "--limit", "0")
    assert code == 1, out + err
    assert "more differences" not in out  # --limit 0: every difference
    lines = out.splitlines()
    seeded = json.loads((REPO / "data/seeded_exceptions.json").read_text())["exceptions"]
    trades = [e for e in seeded if e["area"] == "trade" and e["fund"] == "USEQ"]

    def open_on(day: str) -> int:
        return sum(e["first_date"] <= day <= e["last_date"] for e in trades)

    # one trade break open on 2026-11-05 (a settlement date difference), four more seeded on 2026-11-06
    assert (open_on("2026-11-05"), open_on("2026-11-06")) == (1, 5)
    assert "USEQ/reconciliation trades_open_breaks: 1 -> 5" in lines
    assert "USEQ/reconciliation business_date: 2026-11-05 -> 2026-11-06" in lines
    assert f"MERIDIAN/regulatory: only in run {manifest(world['runs']['2026-11-05'])['run_id']}" in lines  # a job of one run
    for item in trades:
        reference = item.get("trade_id") or item["client_reference"]
        new = [line for line in lines if " new: trades " in line and f" {reference} " in line]
        assert len(new) == (item["first_date"] == "2026-11-06"), (reference, new)
    assert any(line.startswith("USEQ/reconciliation break TRD-") and " new: trades 0012345678 T261106USEQ001 price/amount difference, open" in line
               for line in lines)
    assert not any(" gone: " in line for line in lines)  # nothing resolved between the two days


def test_a_replay_after_a_data_file_changed_is_refused_naming_it(world):
    run = world["runs"]["2026-11-05"]
    trades = world["root"] / "data/inbound/2026-11-05/trades.csv"
    folders = set(run.parent.iterdir())
    with edited(trades, "\n"):
        code, out, err = bo("replay", str(run))
    assert code == 2 and "Traceback" not in err
    assert "bo: error: cannot replay run" in err and f"INPUT ALTERED inbound/2026-11-05/trades.csv ({trades})" in err
    # the book of record knows the recorded file: which version and ingest it was
    assert "; the book of record still holds the version 1 (delivery" in err and "the file changed on disk after it was ingested" in err
    assert set(run.parent.iterdir()) == folders  # nothing ran


def test_a_replay_after_a_parameter_file_or_a_notebook_changed_is_refused_naming_it(world):
    run = world["runs"]["2026-11-05"]
    fund_file, notebook = world["root"] / "parameters/funds/USEQ.yaml", world["root"] / "notebooks/nav.ipynb"
    with edited(fund_file, "# edited\n"):
        code, _out, err = bo("replay", str(run))
    assert code == 2 and f"PARAMETER FILE ALTERED funds/USEQ.yaml ({fund_file})" in err and "1 recorded input(s)" in err
    with edited(notebook, " "):
        code, _out, err = bo("replay", str(run))
    assert code == 2 and f"INPUT NOTEBOOK ALTERED {notebook}\n" in err + "\n" and "1 recorded input(s)" in err
    shutil.move(notebook, notebook.with_suffix(".moved"))
    try:
        code, _out, err = bo("replay", str(run))
    finally:
        shutil.move(notebook.with_suffix(".moved"), notebook)
    assert code == 2 and f"INPUT NOTEBOOK MISSING {notebook}\n" in err + "\n"


def test_replay_and_diff_refuse_an_unsealed_or_missing_run_folder(world, tmp_path):
    unsealed = tmp_path / "reports/2026-11-05/20261202T000000Z-dead"
    unsealed.mkdir(parents=True)
    shutil.copy(world["runs"]["2026-11-05"] / "run.log", unsealed / "run.log")
    code, out, err = bo("replay", str(unsealed))
    assert code == 4 and out.strip() and "Traceback" not in err
    code, _out, err = bo("diff", str(tmp_path / "nowhere"), str(world["runs"]["2026-11-05"]))
    assert code == 2 and err.startswith("bo: error: run folder not found")


def test_the_catalogue_names_the_earlier_version_a_recorded_hash_was(world, tmp_path):
    from bo_lib.data.ingest import ingest
    from bo_lib.parameters import load_funds
    from bo_lib.pipeline.verify import delivery_hint

    import datetime as dt

    data = world["root"] / "data"
    store = tmp_path / "workbench.duckdb"
    shutil.copy(world["store"], store)
    trades = data / "inbound/2026-11-05/trades.csv"
    recorded = sha256_file(trades)
    with edited(trades, "\n"):  # a corrected re-delivery, ingested into the copy
        ingest(data, store, load_funds(world["root"] / "parameters"), dates=[dt.date(2026, 11, 5)])
    said = delivery_hint(store, "inbound/2026-11-05/trades.csv", recorded)
    assert said.startswith("; the run read version 1 (delivery ") and "superseded since by a correction" in said


def test_the_comparison_rules():
    assert same_cell("1.0", "1") and same_cell("-0.0", "0") and same_cell("", "") and same_cell("abc", "abc")
    assert not same_cell("0.30000000000000004", "0.3") and not same_cell("1", "") and not same_cell("a", "b")
    # a figure is equal when it prints the same at its declared decimals (the NAV's: nav_decimals)
    nav = {"nav_decimals": 4, "nav_per_share_A": 24.49691, "exceptions": {"red": 1}}
    assert compared_figures("nav", nav) == compared_figures("nav", nav | {"nav_per_share_A": 24.49694})
    assert compared_figures("nav", nav)["nav_per_share_A"] == "24.4969" and compared_figures("nav", nav)["exceptions.red"] == "1"
    assert compared_figures("nav", nav) != compared_figures("nav", nav | {"nav_per_share_A": 24.49696})
    many = Comparison(figures=3, differences=[f"USEQ/nav f{i}: 1 -> 2" for i in range(60)])
    lines = report_lines(many, limit=50)
    assert len(lines) == 51 and lines[-1] == "... and 10 more differences"
    assert report_lines(Comparison(figures=3, tables=2, rows=7)) == ["identical: 3 figures, 2 tables (7 rows)"]


def _one_job(run_id: str, results: dict) -> dict:
    return {"run_id": run_id, "jobs": [{"job_id": "USEQ/nav", "notebook": "nav", "status": "ok", "results": results}]}


def test_a_float_figure_declaring_no_decimals_is_compared_at_full_precision():
    # printed, 3e-07 and 9e-07 both read 0.00 (report.figures' default); compared, they differ
    assert compared_figures("nav", {"undeclared_ratio": 3e-07}) != compared_figures("nav", {"undeclared_ratio": 9e-07})
    assert compared_figures("nav", {"undeclared_ratio": 0.1 + 0.2})["undeclared_ratio"] == "0.30000000000000004"
    assert compared_figures("nav", {"undeclared_ratio": 2.5}) == compared_figures("nav", {"undeclared_ratio": 2.5})
    assert compared_figures("nav", {"undeclared_count": 3})["undeclared_count"] == "3"


def test_compare_replay_names_the_one_figure_that_differs(tmp_path):
    results = {"nav_decimals": 4, "nav_per_share_A": 24.49691, "undeclared_ratio": 3e-07, "exceptions": {"red": 1}}
    same = compare_replay(_one_job("A", results), tmp_path, _one_job("B", dict(results)), tmp_path)
    assert same.identical and same.figures == len(compared_figures("nav", results))
    moved = compare_replay(_one_job("A", results), tmp_path, _one_job("B", results | {"nav_per_share_A": 24.49696}), tmp_path)
    assert moved.differences == ["USEQ/nav nav_per_share_A: 24.4969 -> 24.4970"]
    tiny = compare_replay(_one_job("A", results), tmp_path, _one_job("B", results | {"undeclared_ratio": 9e-07}), tmp_path)
    assert tiny.differences == ["USEQ/nav undeclared_ratio: 3e-07 -> 9e-07"] and report_lines(tiny) == tiny.differences


def test_forgetting_the_date_refuses_a_store_that_is_no_replays_scratch_copy(world):
    from types import SimpleNamespace

    from bo_lib.pipeline.replay import forget_from_date

    before = sha256_file(world["store"])
    plan = SimpleNamespace(store=world["store"], jobs=[], funds={}, business_date=None)
    with pytest.raises(ValueError, match="is no replay's scratch copy"):
        forget_from_date(plan)
    assert sha256_file(world["store"]) == before


def test_a_run_made_before_a_close_replays_as_it_ran_unlocked(world, tmp_path):
    """USEQ closed through 2026-11-05 after the run: the replay lifts the lock on its copy to strike
    the date again, then puts back the lock as it stood when the run ran (none), so the NAV report's
    lock figure and lines are the run's; the close itself stays in the book of record."""
    import datetime as dt

    from bo_lib.books.periods import close_books, locked_through

    store = tmp_path / "workbench.duckdb"
    shutil.copy(world["store"], store)
    close_books(store, "USEQ", dt.date(2026, 11, 5), "t.closer", comment="month-end checks done")
    run = world["runs"]["2026-11-05"]
    nav = next(job for job in manifest(run)["jobs"] if job["job_id"] == "USEQ/nav")
    assert nav["results"]["locked_through"] is None  # the run ran with nothing locked
    recorded_store = manifest(run)["store"]
    try:  # the world's store, closed: swapped in for the replay by pointing the world's store path at the closed copy
        shutil.copy(world["store"], tmp_path / "before.duckdb")
        shutil.copy(store, recorded_store)
        code, out, err = bo("replay", str(run), "--heartbeat", "0")
    finally:
        shutil.copy(tmp_path / "before.duckdb", recorded_store)
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith("identical: ")
    assert str(locked_through(store, "USEQ")) == "2026-11-05"


def test_the_replay_reads_the_settings_the_run_read(world, monkeypatch):
    """The run validated its 13F against the schemas of $BO_REFERENCE_DIR (recorded in its manifest's
    settings); replayed from a shell without it, the replay sets it again as the run had it: the
    13F's schema status is the run's, identical, and the note says what was set."""
    run = world["runs"]["2026-11-05"]
    recorded = manifest(run)["settings"]
    assert recorded["BO_REFERENCE_DIR"] == os.environ["BO_REFERENCE_DIR"]  # the suite runs with the official schemas
    monkeypatch.delenv("BO_REFERENCE_DIR")
    monkeypatch.delenv("BO_FORM13F_XSD_DIR", raising=False)
    code, out, err = bo("replay", str(run), "--heartbeat", "0")
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith("identical: ")
    assert f"bo replay: note: BO_REFERENCE_DIR set as the run had it ({recorded['BO_REFERENCE_DIR']}; now unset)" in err
    assert "BO_REFERENCE_DIR" not in os.environ  # put back as it was after the replay
