"""Gathering what the settlement report needs for one fund and business date, across dates:
the fund's trades since the opening, the custodian status feeds and prices of the month to date
(and of the fail-rate look-back), recent capital activity, the live corporate-action events, the
latest bank statement of each cash account, and the opening positions.

Like ``bo_lib.data.inbound`` this never raises on bad data: every violation is collected and the
frames that could be read are returned, so the report can show what is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.data import loaders
from bo_lib.data.books import concat_deliveries
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.data.layout import business_dates, input_files
from bo_lib.parameters import FundParameters

#: how many delivery dates back the status feeds are read for counterparty fail rates
FAIL_RATE_LOOKBACK_DAYS = 20
#: how many delivery dates back capital activity is read (orders settle up to a few days after dealing)
CAPITAL_LOOKBACK_DAYS = 10
#: how many delivery dates back we look for a cash account's latest statement (payment-system holidays)
STATEMENT_LOOKBACK_DAYS = 5


@dataclass
class SettlementInputs:
    """A fund's settlement inputs for one business date (frames typed by their contracts)."""

    fund: FundParameters
    business_date: dt.date
    previous_date: dt.date | None
    data_root: Path
    delivered: pd.DataFrame  # the business date's input files with SHA-256 (run header)
    securities: pd.DataFrame
    counterparties: pd.DataFrame
    closures: pd.DataFrame  # market_closures: one-off closures for the settlement calendars
    opening_positions: pd.DataFrame
    trades: pd.DataFrame  # every trade of the fund with trade date up to the business date
    status_history: pd.DataFrame  # custodian status rows of the fund, one feed per status_date
    prices: pd.DataFrame  # all sources, every date of the status history
    fx_rates: pd.DataFrame  # the business date's fixings (X -> USD)
    capital_activity: pd.DataFrame
    corporate_actions: pd.DataFrame  # the business date's feed: every live event
    statements: pd.DataFrame  # latest statement per cash account: account, currency, closing_date, closing_balance
    violations: list[Violation] = field(default_factory=list)

    @property
    def status_today(self) -> pd.DataFrame:
        return self.status_history[self.status_history["status_date"] == pd.Timestamp(self.business_date)].reset_index(drop=True)

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_settlement_inputs(data_root: Path | str, fund: FundParameters, business_date: dt.date, account_funds: dict[str, str],
                             fail_rate_days: int = FAIL_RATE_LOOKBACK_DAYS) -> SettlementInputs:
    """Read and validate everything the settlement report needs for ``fund`` on ``business_date``."""
    data_root = Path(data_root)
    code = fund.fund_code
    violations: list[Violation] = []
    reference: dict[str, pd.DataFrame] = {}
    for name in ("securities", "counterparties", "market_closures"):
        result = loaders.read_dataset(name, data_root, reference=reference)
        reference[name] = result.frame
        violations += result.violations
    opening = loaders.read_dataset("opening_positions", data_root, reference=reference, fund=code)
    violations += opening.violations

    dates = [d for d in business_dates(data_root) if d <= business_date]
    month_start = business_date.replace(day=1)
    history = [d for d in dates if d >= month_start or d in dates[-(fail_rate_days + 1):]]

    def read(name: str, day: dt.date, fund_filter: bool = True) -> pd.DataFrame:
        result = loaders.read_dataset(name, data_root, day, fund=code if fund_filter else None, account_funds=account_funds,
                                      reference=reference)
        if day == business_date:  # earlier deliveries' problems belong to their own dates' reports
            violations.extend(result.violations)
        return result.frame

    trades = concat_deliveries([read("trades", d) for d in dates])
    status = concat_deliveries([read("settlement_status", d) for d in history])
    prices = concat_deliveries([read("prices", d, fund_filter=False) for d in history])
    capital = concat_deliveries([read("capital_activity", d) for d in dates[-CAPITAL_LOOKBACK_DAYS:]])
    events = read("corporate_actions", business_date, fund_filter=False)
    fx = read("fx_rates", business_date, fund_filter=False)

    cash_accounts = [a.model_dump() for a in fund.cash_accounts]
    latest: dict[str, dict] = {}
    for day in reversed(dates[-STATEMENT_LOOKBACK_DAYS:]):
        missing = [a for a in cash_accounts if a["account"] not in latest]
        if not missing:
            break
        parsed, _entries, problems = loaders.read_statements(data_root, day, missing)
        if day == business_date:
            violations += problems
        for st in parsed:
            latest.setdefault(st.account, {"account": st.account, "currency": st.currency, "closing_date": st.closing_date,
                                           "closing_balance": float(st.closing_balance)})
    statements = pd.DataFrame(list(latest.values()), columns=["account", "currency", "closing_date", "closing_balance"])
    delivered = input_files(data_root, business_date, statement_accounts=[a.account for a in fund.cash_accounts])
    previous_date = dates[-2] if len(dates) > 1 else None
    return SettlementInputs(fund, business_date, previous_date, data_root, delivered, reference["securities"], reference["counterparties"],
                            reference["market_closures"], opening.frame, trades, status, prices, fx, capital, events, statements,
                            violations)
