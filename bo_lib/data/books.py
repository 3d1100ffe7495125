"""The books up to a business date: the opening (quarter-end) positions, cash and share classes,
and every trade, corporate action, capital order and cash-ledger movement delivered since, read
across all inbound dates. Violations are collected, never raised: controls show them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.data import loaders
from bo_lib.data.errors import Violation
from bo_lib.data.layout import business_dates, opening_date


@dataclass
class Books:
    fund: str | None  # None: every fund
    business_date: dt.date
    opening_date: dt.date | None
    reference: dict[str, pd.DataFrame]
    opening_positions: pd.DataFrame
    opening_cash: pd.DataFrame
    opening_share_classes: pd.DataFrame
    opening_prices: pd.DataFrame  # the quarter-end valuation prices, by source
    opening_fx_rates: pd.DataFrame
    trades: pd.DataFrame  # every trade with trade_date <= business date
    corporate_actions: pd.DataFrame  # every event announced up to the business date (latest version of each)
    capital_activity: pd.DataFrame
    cash_ledger: pd.DataFrame
    violations: list[Violation] = field(default_factory=list)


def concat_deliveries(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame from the per-delivery frames of a dataset; when every delivery is empty, an empty
    frame that keeps the dataset's columns."""
    frames = [f for f in frames if len(f.columns)]
    non_empty = [f for f in frames if len(f)]
    if non_empty:
        return pd.concat(non_empty, ignore_index=True)
    return frames[0].iloc[0:0] if frames else pd.DataFrame()


def load_books(data_root: Path | str, business_date: dt.date, fund: str | None = None,
               account_funds: dict[str, str] | None = None, reference: dict[str, pd.DataFrame] | None = None) -> Books:
    """The books of ``fund`` (or of every fund) as of ``business_date``."""
    data_root = Path(data_root)
    violations: list[Violation] = []
    if reference is None:
        reference = {}
        for name in loaders.REFERENCE_DATASETS:
            result = loaders.read_dataset(name, data_root, reference=reference)
            reference[name] = result.frame
            violations += result.violations
    opening = {}
    for name in loaders.OPENING_DATASETS:
        result = loaders.read_dataset(name, data_root, reference=reference, fund=fund)
        opening[name] = result.frame
        violations += result.violations
    daily: dict[str, list[pd.DataFrame]] = {"trades": [], "corporate_actions": [], "capital_activity": [], "cash_ledger": []}
    for day in business_dates(data_root):
        if day > business_date:
            break
        for name in daily:
            result = loaders.read_dataset(name, data_root, day, fund=fund if name != "corporate_actions" else None,
                                          account_funds=account_funds, reference=reference)
            daily[name].append(result.frame.assign(delivery_date=pd.Timestamp(day)))
            violations += result.violations
    events = concat_deliveries(daily["corporate_actions"])
    if len(events):
        events = events.sort_values(["event_id", "delivery_date"]).drop_duplicates("event_id", keep="last").reset_index(drop=True)
    try:
        opened = opening_date(data_root)
    except FileNotFoundError:
        opened = None
    return Books(fund, business_date, opened, reference, opening["opening_positions"], opening["opening_cash"],
                 opening["opening_share_classes"], opening["opening_prices"], opening["opening_fx_rates"], concat_deliveries(daily["trades"]), events, concat_deliveries(daily["capital_activity"]),
                 concat_deliveries(daily["cash_ledger"]), violations)
