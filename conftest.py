"""Session-wide test setup for both test folders (tests/ and the nbval notebooks): the workbench
store of the committed sample world, built once from scratch (ingest, every fund's books rolled to
the final date, every fund's recons recorded), in a temporary folder. The notebooks nbval executes
read it through ``$BO_STORE``; tests that change a store work on their own copy (``store_copy``).

While it is built, every day the books strike and every day the recons reconcile is kept
(``sample_days``), so tests can check each control on every date without striking it again."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
FINAL = dt.date(2026, 11, 6)


@dataclass
class SampleDays:
    store: Path
    nav: dict = field(default_factory=dict)  # (fund, date) -> (DayInputs, NavResult, BookState)
    recon: dict = field(default_factory=dict)  # (fund, date) -> (ReconDay, DailyRecon)


def build_store(data_root: Path, parameters: Path, store: Path, up_to: dt.date, days: SampleDays | None = None) -> None:
    """Ingest a world, roll every fund's books and record every fund's recons up to ``up_to``."""
    from bo_lib.books import prepare_books
    from bo_lib.parameters import load_funds
    from bo_lib.recon.daily import reconcile_day

    funds = load_funds(parameters)
    keep_nav = (lambda code, day, inputs, result, state: days.nav.__setitem__((code, day), (inputs, result, state))) if days else None
    ready = prepare_books(data_root, store, funds, sorted(funds), up_to, run_id="tests", on_strike=keep_nav)
    assert not ready.problems, ready.problems
    for code in sorted(funds):
        keep = (lambda day, inputs, recons, code=code: days.recon.__setitem__((code, day), (inputs, recons))) if days else None
        reconcile_day(store, funds[code], up_to, "tests", on_day=keep)


@pytest.fixture(scope="session", autouse=True)
def sample_days(tmp_path_factory) -> SampleDays:
    """The committed sample world's store, ready for the final date (``$BO_STORE`` points at it),
    and every day its books struck and its recons reconciled."""
    store = tmp_path_factory.mktemp("sample-store") / "workbench.duckdb"
    days = SampleDays(store)
    build_store(REPO / "data", REPO / "parameters", store, FINAL, days)
    os.environ["BO_STORE"] = str(store)
    return days


@pytest.fixture(scope="session")
def sample_store(sample_days) -> Path:
    return sample_days.store


@pytest.fixture
def store_copy(sample_store, tmp_path) -> Path:
    """A writable copy of the sample store (for tests that close, reopen or correct)."""
    target = tmp_path / "store" / "workbench.duckdb"
    target.parent.mkdir()
    shutil.copy2(sample_store, target)
    return target
