"""Building a workbench store for the tests: a world ingested, every fund's books rolled and its
recons recorded, with what each day struck kept for the checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


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
