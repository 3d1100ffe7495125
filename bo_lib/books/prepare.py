"""Getting the books ready for a business date: ingest what is new, then roll every fund's books
forward to the date. What ``bo run`` does before any notebook starts, and what a notebook opened in
JupyterLab does for its own fund and date (a no-op when the books are current)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bo_lib.books.quality import DELIVERY_CALENDAR
from bo_lib.books.roll import RollReport, roll_books
from bo_lib.data.ingest import IngestReport, dates_to_ingest, ingest
from bo_lib.parameters import FundParameters


@dataclass
class BooksReady:
    business_date: dt.date
    ingest: IngestReport
    rolls: dict[str, RollReport] = field(default_factory=dict)

    @property
    def problems(self) -> dict[str, list[str]]:
        return {code: r.problems for code, r in self.rolls.items() if r.problems}


def prepare_books(data_root: Path | str, store: Path | str, funds: dict[str, FundParameters], codes: list[str], business_date: dt.date, *,
                  run_id: str = "interactive", on_ingest: Callable[[int, int, str], None] | None = None,
                  on_roll: Callable[[str, int, int, dt.date], None] | None = None, on_strike=None,
                  delivery_calendar: str = DELIVERY_CALENDAR) -> BooksReady:
    """Ingest the deliveries not yet in the store (every new date up to ``business_date``, and the
    date itself), then roll the books of ``codes`` forward to ``business_date``. ``on_strike(code,
    day, inputs, result, state)`` sees every day struck. ``delivery_calendar``: the market whose
    sessions the feeds arrive on (the schedule's calendar)."""
    dates = dates_to_ingest(data_root, store, business_date)
    report = ingest(data_root, store, funds, dates=dates, progress=on_ingest)
    ready = BooksReady(business_date, report)
    for code in codes:
        progress = (lambda done, total, day, code=code: on_roll(code, done, total, day)) if on_roll else None
        strike = (lambda day, inputs, result, state, code=code: on_strike(code, day, inputs, result, state)) if on_strike else None
        ready.rolls[code] = roll_books(store, funds[code], business_date, run_id=run_id, progress=progress, on_strike=strike,
                                     delivery_calendar=delivery_calendar)
    return ready
