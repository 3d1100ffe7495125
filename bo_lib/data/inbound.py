"""Gathering a fund's inbound data for one business date: every dataset read and validated,
the previous delivery for comparison, statements parsed, files inventoried with hashes.

Unlike ``load_dataset`` this never raises on bad data: a control must be able to show what is
wrong. Every violation is collected with the frames that could still be read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.data import loaders
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.data.formats.statement import statement_summaries
from bo_lib.data.layout import business_dates, input_files, previous_business_date
from bo_lib.parameters import FundParameters


@dataclass
class FundDay:
    """A fund's inputs for one business date, as delivered, with everything validation found."""

    fund: FundParameters
    business_date: dt.date
    previous_date: dt.date | None
    data_root: Path
    delivered: pd.DataFrame  # inventory: dataset, path, size_bytes, sha256
    reference: dict[str, pd.DataFrame]
    today: dict[str, loaders.LoadResult]
    previous: dict[str, loaders.LoadResult]
    statements: pd.DataFrame  # one row per statement: account, statement_id, opening/closing, entries, balances
    statement_entries: pd.DataFrame
    previous_statement_entries: pd.DataFrame
    previous_statements: pd.DataFrame  # the previous delivery's statements (for the closing -> opening chain)
    price_history: pd.DataFrame  # this and earlier deliveries' prices (for unchanged-price checks)
    fx_history: pd.DataFrame
    fund_securities: pd.DataFrame  # securities the fund held at the opening or traded since, with net quantity
    violations: list[Violation] = field(default_factory=list)

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_fund_day(data_root: Path | str, fund: FundParameters, business_date: dt.date, account_funds: dict[str, str],
                    history_days: int = 5) -> FundDay:
    """Everything the fund's controls need for ``business_date``. ``account_funds`` maps every
    account of every fund (``loaders.account_fund_map``): rows of accounts nobody owns are
    reported, not dropped."""
    data_root = Path(data_root)
    violations: list[Violation] = []
    reference: dict[str, pd.DataFrame] = {}
    for name in loaders.REFERENCE_DATASETS:
        result = loaders.read_dataset(name, data_root, reference=reference, fund=fund.fund_code if name == "investors" else None)
        reference[name] = result.frame
        violations += result.violations
    opening = {}
    for name in loaders.OPENING_DATASETS:
        result = loaders.read_dataset(name, data_root, reference=reference, fund=fund.fund_code)
        opening[name] = result
        violations += result.violations

    def read_day(day: dt.date) -> dict[str, loaders.LoadResult]:
        return {name: loaders.read_dataset(name, data_root, day, fund=fund.fund_code, account_funds=account_funds, reference=reference)
                for name in loaders.INBOUND_DATASETS}

    today = read_day(business_date)
    for result in today.values():
        violations += result.violations
    previous_date = previous_business_date(data_root, business_date)
    previous = read_day(previous_date) if previous_date else {}
    cash_accounts = [a.model_dump() for a in fund.cash_accounts]
    statements, entries, statement_violations = loaders.read_statements(data_root, business_date, cash_accounts)
    violations += statement_violations
    if previous_date:
        previous_statements, previous_entries, _ = loaders.read_statements(data_root, previous_date, cash_accounts)
    else:
        previous_statements, previous_entries = [], entries.iloc[0:0]
    dates = [d for d in business_dates(data_root) if d <= business_date][-(history_days + 1):]
    prices = pd.concat([today["prices"].frame] + [loaders.read_dataset("prices", data_root, d, reference=reference).frame
                                                  for d in dates[:-1]], ignore_index=True)
    fx = pd.concat([today["fx_rates"].frame] + [loaders.read_dataset("fx_rates", data_root, d).frame for d in dates[:-1]], ignore_index=True)
    held = _fund_securities(opening["opening_positions"].frame, data_root, business_date, fund.fund_code, reference)
    delivered = input_files(data_root, business_date, statement_accounts=[a.account for a in fund.cash_accounts])
    return FundDay(fund, business_date, previous_date, data_root, delivered, reference, today, previous, statement_summaries(statements),
                   entries, previous_entries, statement_summaries(previous_statements), prices, fx, held, violations)


def _fund_securities(opening_positions: pd.DataFrame, data_root: Path, business_date: dt.date, fund_code: str,
                     reference: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Net trade-date quantity per security since the opening (no corporate actions: an intake view)."""
    frames = [opening_positions[["security_id", "quantity"]]]
    for day in business_dates(data_root):
        if day > business_date:
            break
        trades = loaders.read_dataset("trades", data_root, day, fund=fund_code).frame
        if len(trades):
            signed = trades["quantity"].where(trades["side"] == "BUY", -trades["quantity"])
            frames.append(pd.DataFrame({"security_id": trades["security_id"], "quantity": signed}))
    net = pd.concat(frames, ignore_index=True).groupby("security_id", as_index=False)["quantity"].sum()
    securities = reference.get("securities")
    if securities is not None and len(securities):
        net = net.merge(securities[["security_id", "isin", "name", "asset_class", "currency"]], on="security_id", how="left")
    return net
