"""What the NAV report of one fund and business date reads: the books' states of the previous NAV
date and of the day (the day struck again from the previous state, for every figure behind it),
the NAV history of the last quarter from the stored states, the administrator's NAVs and the
transfer agent's orders of the same window, the day's and the previous day's FX, the restatements
recorded, the lock, the violations; for the cash in the NAV, the fund's bank statements and the
books' cash-ledger lines of the window, the day's settlement status and the dividend events the
ledger names. Nothing older than the history window is read, whatever the age of the books.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.books.inputs import day_inputs
from bo_lib.books.nav import DayInputs, NavResult, strike_day
from bo_lib.books.periods import locked_through
from bo_lib.books.roll import next_nav_date, pending_restatements, unlocked_restatements
from bo_lib.books.state import BookState, load_state, read_frames, state_index
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.parameters import FundParameters
from bo_lib.store import open_store

#: how many NAV dates of history the report charts and explains (about a quarter)
HISTORY_NAV_DATES = 65
#: the datasets the NAV reads (their violations are the NAV's input exceptions)
NAV_DATASETS = ("trades", "corporate_actions", "capital_activity", "cash_ledger", "prices", "fx_rates", "admin_nav")


@dataclass
class NavInputs:
    fund: FundParameters
    business_date: dt.date
    previous: BookState | None
    state: BookState | None
    result: NavResult | None
    day: DayInputs | None
    securities: pd.DataFrame
    history: pd.DataFrame  # class_day rows of the history window, with nav_date
    flows_history: pd.DataFrame  # the pool's daily result over the window, with nav_date
    admin_history: pd.DataFrame  # the administrator's NAV per class over the window
    capital_history: pd.DataFrame  # the transfer agent's orders (capital activity) delivered over the window
    fx_history: pd.DataFrame  # the previous and today's fixings
    restated: pd.DataFrame  # NAVs restated on days not locked yet
    required: pd.DataFrame  # locked days whose changed deliveries would move a NAV
    locked_through: dt.date | None
    delivered: pd.DataFrame  # the day's deliveries (inventory with versions) for the run header
    violations: list[Violation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # the cash in the NAV against the bank (``bo_lib.nav.cash``): the fund's statements, their
    # entries and the books' cash-ledger lines delivered in the history window (after its first
    # date), the day's settlement status feed, and the dividend events the ledger names
    cash_statements: pd.DataFrame = field(default_factory=pd.DataFrame)
    cash_entries: pd.DataFrame = field(default_factory=pd.DataFrame)
    cash_ledger: pd.DataFrame = field(default_factory=pd.DataFrame)
    settlement_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    cash_events: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_nav(store: Path | str, fund: FundParameters, business_date: dt.date) -> NavInputs:
    """Everything the NAV report of ``fund`` on ``business_date`` shows (the books must have been
    rolled to the date: ``bo_lib.books.prepare_books``)."""
    with open_store(store, read_only=True):  # one connection for every read of the report
        return _gather(store, fund, business_date)


def _gather(store: Path | str, fund: FundParameters, business_date: dt.date) -> NavInputs:
    code = fund.fund_code
    catalogue = Catalogue(store)
    with catalogue.session():
        reference = catalogue.reference()
        securities = reference["securities"]
        previous_date = catalogue.previous_date(business_date)
        fx_dates = [d for d in (previous_date, business_date) if d is not None]
        fx_history = pd.concat([catalogue.rows("fx_rates", on=d) for d in fx_dates], ignore_index=True)
        delivered = catalogue.deliveries(on=business_date, reference=True, statement_accounts=[])
        violations = catalogue.violations(fund=code, on=business_date, datasets=NAV_DATASETS)
        index = state_index(store, code)
        # the window's NAV dates and the one before the first (its closing is the first day's opening)
        window = [d for d in index["business_date"] if d <= business_date][-(HISTORY_NAV_DATES + 1):]
        admin_history = catalogue.rows("admin_nav", fund=code, start=window[0], end=business_date) if window else catalogue.rows("admin_nav", on=business_date)
        cash_from = (window[0] if window else business_date) + dt.timedelta(days=1)
        statements, entries = catalogue.statements(fund=code, start=cash_from, end=business_date)
        ledger = catalogue.rows("cash_ledger", fund=code, start=cash_from, end=business_date)
        status = catalogue.rows("settlement_status", fund=code, on=business_date)
        dividends = set(ledger.loc[ledger["movement_type"].eq("DIVIDEND"), "reference"])
        events = catalogue.rows("corporate_actions", keys=("event_id", dividends)).drop_duplicates("event_id", keep="last")
        capital_history = catalogue.rows("capital_activity", fund=code, start=window[0] if window else business_date, end=business_date)
    row = index[index["business_date"].eq(business_date)]
    problems = []
    previous = state = result = day = None
    if row.empty:
        problems.append(f"no books for {business_date}: the books could not be rolled to the date (see the intake report)")
    else:
        state = load_state(store, code, business_date)
        prior = row["previous_date"].iloc[0]
        if prior is not None and not pd.isna(prior):
            previous = load_state(store, code, prior)
            day = day_inputs(catalogue, code, business_date)
            _, result = strike_day(previous, day, fund, securities, next_nav_date(fund, business_date, reference["market_closures"]))
        else:
            problems.append(f"{business_date} is the opening date of the books: no NAV is struck on it")
    start = window[0] if window else business_date
    history = read_frames(store, "class_day", code, start=start, end=business_date).rename(columns={"book_date": "nav_date"})
    flows = read_frames(store, "flows", code, start=start, end=business_date).rename(columns={"book_date": "nav_date"})
    return NavInputs(fund, business_date, previous, state, result, day, securities, history.drop(columns="book_fund"),
                     flows.drop(columns="book_fund"), admin_history, capital_history, fx_history, unlocked_restatements(store, code),
                     pending_restatements(store, code), locked_through(store, code), delivered, violations, problems,
                     statements, entries, ledger, status, events)
