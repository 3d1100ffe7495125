"""Loading for the NAV: one fund's books, prices, FX fixings and administrator NAVs from the
quarter-end opening to a business date (``gather_nav_books``), and the NAV results table of the
workbench store (``save_nav_results`` / ``read_nav_results``: by fund, share class and date; a
rerun replaces the fund's rows, never duplicates them).

Violations are collected, never raised: the NAV notebook shows them with its exceptions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.data import loaders
from bo_lib.data.books import load_books, concat_deliveries
from bo_lib.data.errors import Violation
from bo_lib.data.layout import business_dates
from bo_lib.nav.nav import NavBooks
from bo_lib.parameters import FundParameters
from bo_lib.store import open_store

#: optional manual price overrides (price_date, security_id, price, reason, approved_by), one file per data root
PRICE_OVERRIDES = Path("overrides") / "prices.csv"

NAV_RESULTS_TABLE = "nav_results"
_NAV_COLUMNS = {
    "fund": "VARCHAR", "share_class": "VARCHAR", "nav_date": "DATE", "nav_per_share": "DOUBLE", "units_outstanding": "DOUBLE",
    "net_assets": "DOUBLE", "management_fee_accrued": "DOUBLE", "performance_fee_accrued": "DOUBLE", "high_water_mark": "DOUBLE",
    "admin_nav_per_share": "DOUBLE", "difference_pct": "DOUBLE", "run_id": "VARCHAR", "computed_at": "TIMESTAMP",
}


@dataclass
class NavInputs:
    books: NavBooks
    violations: list[Violation] = field(default_factory=list)


def gather_nav_books(data_root: Path | str, fund: FundParameters, business_date: dt.date, account_funds: dict[str, str]) -> NavInputs:
    """Everything ``bo_lib.nav.nav.compute_nav`` needs for ``fund`` up to ``business_date``."""
    data_root = Path(data_root)
    books = load_books(data_root, business_date, fund.fund_code, account_funds)
    violations = list(books.violations)
    dates = [d for d in business_dates(data_root) if d <= business_date]
    prices = [books.opening_prices]
    fx = [books.opening_fx_rates]
    admin = []
    for day in dates:
        for name, bucket, kwargs in (("prices", prices, {}), ("fx_rates", fx, {}), ("admin_nav", admin, {"fund": fund.fund_code})):
            result = loaders.read_dataset(name, data_root, day, reference=books.reference, **kwargs)
            bucket.append(result.frame)
            violations += result.violations
    overrides = None
    if (data_root / PRICE_OVERRIDES).is_file():
        overrides = pd.read_csv(data_root / PRICE_OVERRIDES, dtype={"security_id": "string"}, parse_dates=["price_date"])
    valuation_dates = [books.opening_date] + dates if books.opening_date else dates
    nav_books = NavBooks(
        fund=fund, valuation_dates=valuation_dates, securities=books.reference["securities"], opening_positions=books.opening_positions,
        opening_cash=books.opening_cash, opening_share_classes=books.opening_share_classes, trades=books.trades,
        corporate_actions=books.corporate_actions, capital_activity=books.capital_activity, cash_ledger=books.cash_ledger,
        price_history=concat_deliveries(prices), fx_history=concat_deliveries(fx), admin_nav=concat_deliveries(admin), price_overrides=overrides)
    return NavInputs(nav_books, violations)


def save_nav_results(store_path: Path | str, results: pd.DataFrame, run_id: str) -> int:
    """Replace the fund's NAV results for the dates in ``results`` (one row per fund, class, date)."""
    if results.empty:
        return 0
    frame = results.assign(run_id=run_id, computed_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
    frame = frame.assign(nav_date=pd.to_datetime(frame["nav_date"]).dt.date)[list(_NAV_COLUMNS)]
    with open_store(store_path) as con:
        con.execute(f"CREATE TABLE IF NOT EXISTS {NAV_RESULTS_TABLE} ("
                    + ", ".join(f"{c} {t}" for c, t in _NAV_COLUMNS.items()) + ", PRIMARY KEY (fund, share_class, nav_date))")
        con.register("incoming", frame)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {NAV_RESULTS_TABLE} USING incoming WHERE {NAV_RESULTS_TABLE}.fund = incoming.fund "
                    f"AND {NAV_RESULTS_TABLE}.share_class = incoming.share_class AND {NAV_RESULTS_TABLE}.nav_date = incoming.nav_date")
        con.execute(f"INSERT INTO {NAV_RESULTS_TABLE} SELECT * FROM incoming")
        con.execute("COMMIT")
        con.unregister("incoming")
    return len(frame)


def read_nav_results(store_path: Path | str, fund: str) -> pd.DataFrame:
    """The fund's stored NAV results, oldest first (empty if none stored yet)."""
    path = Path(store_path)
    if not path.exists():
        return pd.DataFrame(columns=list(_NAV_COLUMNS))
    with open_store(path, read_only=True) as con:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [NAV_RESULTS_TABLE]).fetchone()[0]
        if not exists:
            return pd.DataFrame(columns=list(_NAV_COLUMNS))
        return con.execute(f"SELECT * FROM {NAV_RESULTS_TABLE} WHERE fund = ? ORDER BY nav_date, share_class", [fund]).df()
