"""Running the reconciliation of a fund for a business date: gather the day, reconcile, record the
breaks and what the cash recon leaves open, after bringing the recons up from the last reconciled
date (a gap is filled forward day by day so open items carry and break ages are right). The
store I/O around the pure recons of ``bo_lib.recon.control``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from bo_lib.books.state import state_index
from bo_lib.data.catalogue import Catalogue
from bo_lib.recon import breaks as breaks_mod
from bo_lib.recon.break_actions import latest_match_change
from bo_lib.recon.carried import Carried, carried_from, forget_carried_from, write_carried
from bo_lib.recon.control import DailyRecon, run_recons, valuation_calendar
from bo_lib.recon.inputs import ReconDay, gather_recon_day
from bo_lib.store import ensure_schema, open_store, transaction


def reconcile_day(store: Path | str, fund, business_date: dt.date, run_id: str, progress=None, on_day=None) -> tuple[ReconDay, DailyRecon, pd.DataFrame]:
    """Reconcile ``fund`` on ``business_date``, first bringing the recons up from the last reconciled
    date (a gap is filled forward day by day, so the open items and break ages are right); record
    every day's breaks and open items in the store. Returns the day's inputs, its recons and the
    break history as of the day. When the day was recorded after its deliveries and books last
    changed (the daily run records it before the reports start), the day is reconciled again in
    memory only: the store is just read. ``on_day(day, inputs, recons)`` sees every day reconciled."""
    code = fund.fund_code
    runs = breaks_mod.recorded_runs(store, code)
    catalogue = Catalogue(store)
    with open_store(store, read_only=True), catalogue.session():
        opened = catalogue.opening_date()
        closures = catalogue.reference()["market_closures"]
        dates = [d for d in catalogue.business_dates(up_to=business_date) if opened is None or d > opened]
        ingested = catalogue.latest_ingest(start=business_date)
        states = state_index(store, code)
        matches_changed = latest_match_change(store, code)
    calendar = valuation_calendar(fund, closures)
    if _recorded_and_current(runs, dates, business_date, ingested, states, matches_changed):
        with open_store(store, read_only=True):
            previous = max((d for d in runs if d < business_date), default=None)
            inputs = gather_recon_day(store, fund, business_date, previous)
            return inputs, run_recons(inputs), breaks_mod.load_breaks(store, code, business_date, calendar)
    done = set(runs)
    earlier = [d for d in done if d < business_date]
    previous = max(earlier) if earlier else None
    todo = [d for d in dates if d not in done and (previous is None or d > previous) and d < business_date] + [business_date]
    with open_store(store):  # one connection for the run of days: reads and writes
        reference = Catalogue(store).reference()
        states: dict = {}
        carried = None
        for position, day in enumerate(todo, start=1):
            inputs = gather_recon_day(store, fund, day, previous, reference=reference, states=states, carried=carried)
            today = run_recons(inputs)
            if inputs.problems:  # no books: nothing is recorded, the report says why
                break
            carried = record_day(store, inputs, today, run_id, calendar)
            if on_day is not None:
                on_day(day, inputs, today)
            previous = day
            for old in [d for d in states if d < day]:  # keep the cache to the day and its previous
                states.pop(old)
            if progress is not None and day != business_date:
                progress(position, len(todo), day)
    return inputs, today, breaks_mod.load_breaks(store, code, business_date, calendar)


def _recorded_and_current(runs: dict, dates: list[dt.date], day: dt.date, ingested: pd.DataFrame, states: pd.DataFrame,
                          matches_changed: dt.datetime | None = None) -> bool:
    """Whether ``day`` and every delivered day before it were reconciled, ``day`` after its
    deliveries were ingested, its books struck and the fund's manual matches last changed."""
    if day not in runs or any(d not in runs for d in dates if d < day):
        return False
    recorded = pd.Timestamp(runs[day])
    if matches_changed is not None and recorded < pd.Timestamp(matches_changed):
        return False
    ingest = ingested.loc[ingested["business_date"].eq(day), "ingested_at"]
    struck = states.loc[states["business_date"].eq(day), "computed_at"]
    return (ingest.empty or recorded >= pd.Timestamp(ingest.iloc[0])) and (struck.empty or recorded >= pd.Timestamp(struck.iloc[0]))


def record_day(store: Path | str, inputs: ReconDay, today: DailyRecon, run_id: str, calendar) -> Carried:
    """Store the day's breaks, the breaks it resolved and why, and what its cash and trade recons
    leave open (one transaction); returns what the next day starts from."""
    books, bank = today.cash.open_items()
    waiting = set(inputs.held_out.loc[inputs.held_out["recon"] == "cash", "account"])
    if waiting:  # an unreadable statement's account carries everything of the day forward
        books = pd.concat([books, inputs.carried.books[inputs.carried.books["account"].isin(waiting)],
                           inputs.cash_ledger[inputs.cash_ledger["account"].isin(waiting)]], ignore_index=True)
        bank = pd.concat([bank, inputs.carried.bank[inputs.carried.bank["account"].isin(waiting)]], ignore_index=True)
    closings = today.cash.closings(inputs.carried.closings)
    trades, confirms = today.trades.open_items()

    def carry(connection) -> None:
        write_carried(connection, inputs.fund.fund_code, inputs.business_date, books, bank, closings, trades, confirms)

    breaks_mod.record_breaks(store, inputs.fund.fund_code, {inputs.business_date: today.observed()}, run_id, calendar, also=carry,
                             resolutions={inputs.business_date: today.resolutions()})
    return carried_from(inputs.business_date, books, bank, closings, trades, confirms)


def forget_recon_from(store: Path | str, fund: str, business_date: dt.date) -> None:
    """In a scratch copy of the store only (``bo replay``): forget what the recons of ``fund``
    recorded for ``business_date`` and later (``breaks.forget_breaks_from``) and what they left open
    (``carried.forget_carried_from``), in one transaction, so the next ``reconcile_day`` reconciles
    the date again, carrying from the day before. The analysts' actions are kept."""
    with open_store(store) as connection:
        ensure_schema(connection)
        with transaction(connection):
            breaks_mod.forget_breaks_from(connection, fund, business_date)
            forget_carried_from(connection, fund, business_date)
