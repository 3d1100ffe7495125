"""What the intake control of one fund and business date reads, in one catalogue session: the
day's deliveries (inventory with SHA-256 and version) and their violations, row counts of the day
and of the previous delivery, the statements of both days, the prices and FX of the last few
deliveries (freshness), and what the fund holds at the close (the books' state).

Never raises on bad data: a control must be able to show what is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.books.state import load_state, state_index
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.data.layout import INBOUND_FILES, OPENING_FILES
from bo_lib.parameters import FundParameters
from bo_lib.store import open_store


@dataclass
class FundDay:
    """A fund's inputs for one business date, as delivered, with everything validation found."""

    fund: FundParameters
    business_date: dt.date
    previous_date: dt.date | None
    delivered: pd.DataFrame  # inventory: dataset, path, version, size_bytes, sha256
    today_rows: dict[str, int]  # rows of the fund per daily dataset today
    previous_rows: dict[str, int] | None  # ... on the previous delivery
    statements: pd.DataFrame  # one row per statement: account, statement_id, opening/closing, entries, balances
    statement_entries: pd.DataFrame
    previous_statement_entries: pd.DataFrame
    previous_statements: pd.DataFrame  # each account's last statement before the day (for the closing -> opening chain)
    price_history: pd.DataFrame  # this and earlier deliveries' prices (for unchanged-price checks)
    fx_history: pd.DataFrame
    fund_securities: pd.DataFrame  # securities the fund holds at the close, with quantity
    violations: list[Violation] = field(default_factory=list)
    #: business days of the delivery calendar since the opening with no delivery (the books' record)
    missing_days: tuple[dt.date, ...] = ()
    price_overrides: pd.DataFrame | None = None  # manual price overrides (the one price rule's first step)

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_fund_day(store: Path | str, fund: FundParameters, business_date: dt.date, history_days: int = 5) -> FundDay:
    """Everything the fund's intake control needs for ``business_date``."""
    code = fund.fund_code
    catalogue = Catalogue(store)
    with open_store(store, read_only=True), catalogue.session():
        reference = catalogue.reference()
        dates = catalogue.business_dates(up_to=business_date)
        previous = dates[-2] if len(dates) > 1 and dates[-1] == business_date else (dates[-1] if dates and dates[-1] < business_date else None)
        window = [d for d in dates if d <= business_date][-(history_days + 1):] or [business_date]
        has_books = bool(len(state_index(store, code).query("business_date < @business_date"))) if Path(store).exists() else False
        delivered = catalogue.deliveries(on=business_date, reference=True, opening=not has_books,
                                         statement_accounts=[a.account for a in fund.cash_accounts])
        delivered = delivered[~delivered["path"].isin(catalogue.message_files_of_others(fund=code, on=business_date))].reset_index(drop=True)
        violations = catalogue.violations(fund=code, on=business_date)
        if not has_books:  # until the books have a state, the opening book is an input the day depends on
            violations += _opening_violations(catalogue)
        today = _row_counts(catalogue, code, business_date)
        before = _row_counts(catalogue, code, previous) if previous else None
        statements, entries = catalogue.statements(fund=code, on=business_date, accounts=[a.account for a in fund.cash_accounts])
        if previous:
            previous_statements, previous_entries = _previous_statements(catalogue, fund, [d for d in dates if d < business_date], previous)
        else:
            previous_statements, previous_entries = statements.iloc[0:0], entries.iloc[0:0]
        prices = catalogue.rows("prices", start=window[0], end=business_date)
        fx = catalogue.rows("fx_rates", start=window[0], end=business_date)
        overrides = catalogue.price_overrides()
        state = load_state(store, code, business_date)
    held = _held(state, reference["securities"])
    return FundDay(fund, business_date, previous, delivered, today, before, statements, entries, previous_entries, previous_statements,
                   prices, fx, held, violations, state.missing_days if state is not None else (), overrides if len(overrides) else None)


def _row_counts(catalogue: Catalogue, fund: str, day: dt.date) -> dict[str, int]:
    return {name: int(len(catalogue.rows(name, fund=fund, on=day))) for name in INBOUND_FILES}


def _opening_violations(catalogue: Catalogue) -> list[Violation]:
    if catalogue.opening_date() is not None:
        return []
    return [Violation(f"opening/{file_name}", None, None, "no opening/<YYYY-MM-DD> folder delivered: the books have no state to start from")
            for file_name in OPENING_FILES.values()]


def _held(state, securities: pd.DataFrame) -> pd.DataFrame:
    """Net trade-date quantity per security at the close, with the master's name and currency."""
    columns = ["security_id", "quantity", "isin", "name", "asset_class", "currency"]
    if state is None or state.positions.empty:
        return pd.DataFrame(columns=columns)
    net = state.positions.groupby("security_id", as_index=False)["quantity"].sum()
    return net.merge(securities[["security_id", "isin", "name", "asset_class", "currency"]], on="security_id", how="left")[columns]


#: how many deliveries back the chain looks for an account's last statement (bank holidays in a row)
STATEMENT_LOOKBACK_DELIVERIES = 10


def _previous_statements(catalogue: Catalogue, fund: FundParameters, earlier: list[dt.date], previous: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each account's last statement before the day, whichever delivery brought it: no statement
    comes on the account's payment-system holidays (a USD account on Veterans Day), and the next
    one chains from the last one sent. The entries are the previous delivery's."""
    accounts = [a.account for a in fund.cash_accounts]
    window = earlier[-STATEMENT_LOOKBACK_DELIVERIES:]
    summaries, entries = catalogue.statements(fund=fund.fund_code, start=window[0], end=window[-1], accounts=accounts)
    last = summaries.sort_values(["delivery_date", "statement_id"], kind="stable").drop_duplicates("account", keep="last").reset_index(drop=True)
    return last, entries[entries["delivery_date"].eq(pd.Timestamp(previous))].reset_index(drop=True)
