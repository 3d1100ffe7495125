"""What the settlement report of one fund and business date reads, in one catalogue session: the
custodian status feeds of the month to date and of the fail-rate look-back, the trades those feeds
name and the books' open trades, the prices of the same window (CSDR reference prices), recent
capital activity, the live corporate-action feed, the latest statement of each cash account, and
the books' closing state (holdings, income due). A window of deliveries, never every delivery
since the opening.

Never raises on bad data: violations are collected and the frames that could be read are returned,
so the report can show what is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.books.accruals import income_entitlements
from bo_lib.books.inputs import PRICE_WINDOW_DELIVERIES
from bo_lib.books.notified import EVENT_ORIGIN
from bo_lib.books.state import load_state
from bo_lib.codes import INCOME_EVENTS
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.parameters import FundParameters
from bo_lib.store import open_store

#: how many delivery dates back the status feeds are read for counterparty fail rates
FAIL_RATE_LOOKBACK_DAYS = 20
#: how many delivery dates back capital activity is read (orders settle up to a few days after dealing)
CAPITAL_LOOKBACK_DAYS = 10
#: how many delivery dates back we look for a cash account's latest statement (payment-system holidays)
STATEMENT_LOOKBACK_DAYS = 5
SETTLEMENT_DATASETS = ("trades", "settlement_status", "prices", "fx_rates", "capital_activity", "corporate_actions")


@dataclass
class SettlementInputs:
    """A fund's settlement inputs for one business date (frames typed by their contracts)."""

    fund: FundParameters
    business_date: dt.date
    previous_date: dt.date | None
    delivered: pd.DataFrame  # the business date's deliveries with SHA-256 and version (run header)
    securities: pd.DataFrame
    counterparties: pd.DataFrame
    closures: pd.DataFrame  # market_closures: one-off closures for the settlement calendars
    holdings: pd.DataFrame  # the books' trade-date positions at the close
    trades: pd.DataFrame  # the trades the status window names, the books' open trades, today's trades
    status_history: pd.DataFrame  # custodian status rows of the fund, one feed per status_date
    prices: pd.DataFrame  # all sources, every date of the status window and a few deliveries before it (carried forward)
    fx_rates: pd.DataFrame  # the business date's fixings (X -> USD)
    capital_activity: pd.DataFrame
    corporate_actions: pd.DataFrame  # the business date's feed: every live event
    income_due: pd.DataFrame  # dividends and coupons the books expect to be paid (receivable, or going ex before paying)
    statements: pd.DataFrame  # latest statement per cash account: account, currency, closing_date, closing_balance
    violations: list[Violation] = field(default_factory=list)
    price_overrides: pd.DataFrame | None = None  # manual price overrides (the one price rule's first step)

    @property
    def status_today(self) -> pd.DataFrame:
        return self.status_history[self.status_history["status_date"] == pd.Timestamp(self.business_date)].reset_index(drop=True)

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_settlement(store: Path | str, fund: FundParameters, business_date: dt.date,
                      fail_rate_days: int = FAIL_RATE_LOOKBACK_DAYS) -> SettlementInputs:
    """Read everything the settlement report needs for ``fund`` on ``business_date``."""
    code = fund.fund_code
    catalogue = Catalogue(store)
    with open_store(store, read_only=True), catalogue.session():
        state = load_state(store, code, business_date)
        reference = catalogue.reference()
        dates = catalogue.business_dates(up_to=business_date)
        month_start = pd.Timestamp(business_date.replace(day=1)).date()
        window = [d for d in dates if d >= month_start or d in dates[-(fail_rate_days + 1):]]
        start = window[0] if window else business_date
        status = catalogue.rows("settlement_status", fund=code, start=start, end=business_date)
        # the books' own trades (a redemption's sale, an event's cash) settle with the event, not through the market
        open_trades = state.open_trades[~state.open_trades["origin"].isin(("redemption", EVENT_ORIGIN))] if state is not None else pd.DataFrame(columns=["trade_id"])
        named = set(status["client_reference"]) | set(open_trades["trade_id"])
        trades = catalogue.rows("trades", fund=code, keys=("trade_id", named))
        today = catalogue.rows("trades", fund=code, on=business_date)
        trades = pd.concat([trades, today[~today["trade_id"].isin(trades["trade_id"])]], ignore_index=True)
        # a penalty day no ranked source priced takes the last chosen price: as far back as the NAV reaches
        earlier = [d for d in dates if d < start][-(PRICE_WINDOW_DELIVERIES - 1):] if PRICE_WINDOW_DELIVERIES > 1 else []
        prices = catalogue.rows("prices", start=earlier[0] if earlier else start, end=business_date)
        overrides = catalogue.price_overrides()
        capital = catalogue.rows("capital_activity", fund=code, start=dates[-CAPITAL_LOOKBACK_DAYS:][0] if dates else business_date,
                                 end=business_date)
        events = catalogue.rows("corporate_actions", on=business_date)
        fx = catalogue.rows("fx_rates", on=business_date)
        statements = _latest_statements(catalogue, fund, dates[-STATEMENT_LOOKBACK_DAYS:])
        violations = catalogue.violations(fund=code, on=business_date, datasets=SETTLEMENT_DATASETS + ("statement",))
        delivered = catalogue.deliveries(on=business_date, reference=True, statement_accounts=[a.account for a in fund.cash_accounts])
    holdings = state.positions.assign(fund=code) if state is not None else pd.DataFrame(columns=["fund", "account", "security_id", "quantity"])
    income = _income_due(state, events, fund, reference["securities"], business_date)
    previous = dates[-2] if len(dates) > 1 else None
    return SettlementInputs(fund, business_date, previous, delivered, reference["securities"], reference["counterparties"],
                            reference["market_closures"], holdings, trades.reset_index(drop=True), status, prices, fx, capital, events, income,
                            statements, violations, overrides if len(overrides) else None)


def _latest_statements(catalogue: Catalogue, fund: FundParameters, dates: list[dt.date]) -> pd.DataFrame:
    """Each cash account's latest statement closing among the last deliveries."""
    columns = ["account", "currency", "closing_date", "closing_balance"]
    if not dates:
        return pd.DataFrame(columns=columns)
    summaries, _ = catalogue.statements(fund=fund.fund_code, start=dates[0], end=dates[-1], accounts=[a.account for a in fund.cash_accounts])
    latest = summaries.sort_values(["account", "delivery_date", "closing_date"]).drop_duplicates("account", keep="last")
    return latest[columns].reset_index(drop=True)


def _income_due(state, events: pd.DataFrame, fund: FundParameters, securities: pd.DataFrame, business_date: dt.date) -> pd.DataFrame:
    """What the books expect to be paid: income receivable (gone ex, not paid), and the live feed's
    dividends and coupons not yet ex, projected on the holding at the close."""
    columns = ["event_id", "event_type", "security_id", "currency", "ex_date", "pay_date", "holding", "gross_rate", "withholding_tax_pct", "net_amount"]
    if state is None:
        return pd.DataFrame(columns=columns)
    future = events[events["event_type"].isin(INCOME_EVENTS) & (pd.to_datetime(events["ex_date"]) > pd.Timestamp(business_date))]
    projected = income_entitlements(future, state.positions.assign(fund=fund.fund_code, effective_date=pd.NaT), fund.fund_code, securities,
                                    fund.withholding_tax_pct, sorted(pd.to_datetime(future["ex_date"]).dt.date.unique())) if len(future) else pd.DataFrame(columns=columns)
    due = pd.concat([state.open_income.reindex(columns=columns), projected.reindex(columns=columns)], ignore_index=True)
    # the income on the holding of record and any market claims on the event: one cash amount due
    keys = [c for c in columns if c not in ("holding", "net_amount")]
    due = due.fillna({"withholding_tax_pct": 0.0}).groupby(keys, as_index=False, sort=False, dropna=False)[["holding", "net_amount"]].sum()
    due = due.drop_duplicates("event_id").reindex(columns=columns).reset_index(drop=True)
    for column in ("event_id", "event_type", "security_id", "currency"):
        due[column] = due[column].astype("str")
    for column in ("ex_date", "pay_date"):
        due[column] = pd.to_datetime(due[column]).astype("datetime64[ns]")
    for column in ("holding", "gross_rate", "withholding_tax_pct", "net_amount"):
        due[column] = due[column].astype("float64")
    return due
