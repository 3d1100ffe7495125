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
from pathlib import Path

import pytest

from tests.stores import SampleDays, build_store

REPO = Path(__file__).resolve().parent
FINAL = dt.date(2026, 11, 6)


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


LONG_DAYS = 66  # two episodes, across the option expiry, the note's maturity, the quarter and year end


@pytest.fixture(scope="session")
def long_world_root(tmp_path_factory) -> Path:
    """A generated world of 66 business days (``data/`` and ``parameters/`` under the folder).
    ``BO_TEST_LONG_WORLD`` names a folder to generate it in once and reuse (while working on it)."""
    from bo_lib.data.sample_world import generate_sample_world

    keep = os.environ.get("BO_TEST_LONG_WORLD")
    if keep and (Path(keep) / "data" / "seeded_exceptions.json").exists():
        return Path(keep)
    root = Path(keep) if keep else tmp_path_factory.mktemp("long_world")
    summary = generate_sample_world(root / "data", parameters_dir=root / "parameters", days=LONG_DAYS)
    assert summary["days"] == LONG_DAYS and summary["episodes"] == 2
    return root
