"""Gathering what the management company's regulatory report needs for one business date:
the books of every fund (the quarter-end opening book and its valuation, every trade and
corporate action since), the valuation (prices, FX) of each month-end trading day delivered so far
for the $100M 13F test, the company and fund parameters, and the input files with their hashes.

Never raises on bad data: violations are collected for the report to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.calendars import trading_calendar
from bo_lib.data import loaders
from bo_lib.data.books import Books, load_books
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.data.layout import business_dates, input_files, inbound_dir
from bo_lib.hashing import sha256_file
from bo_lib.parameters import FundParameters, ManagementCompany


@dataclass
class RegulatoryInputs:
    company: ManagementCompany
    funds: dict[str, FundParameters]
    business_date: dt.date
    books: Books  # every fund
    delivery_dates: list[dt.date]  # inbound dates up to the business date
    month_end_valuations: dict[dt.date, tuple[pd.DataFrame, pd.DataFrame]]  # month-end trading day -> (prices, fx_rates)
    delivered: pd.DataFrame  # input files with SHA-256 (run header)
    violations: list[Violation] = field(default_factory=list)

    @property
    def quarter_end(self) -> dt.date | None:
        """The quarter end of the opening book (the period of the 13F)."""
        return self.books.opening_date

    @property
    def securities(self) -> pd.DataFrame:
        return self.books.reference["securities"]

    @property
    def closures(self) -> pd.DataFrame:
        return self.books.reference["market_closures"]

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)


def gather_regulatory_inputs(data_root: Path | str, company: ManagementCompany, funds: dict[str, FundParameters],
                             business_date: dt.date) -> RegulatoryInputs:
    """Read and validate everything the regulatory report needs (all funds of the company)."""
    data_root = Path(data_root)
    account_funds = loaders.account_fund_map(funds)
    books = load_books(data_root, business_date, account_funds=account_funds)
    violations = list(books.violations)
    dates = [d for d in business_dates(data_root) if d <= business_date]
    valuations: dict[dt.date, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if books.opening_date is not None:
        valuations[books.opening_date] = (books.opening_prices, books.opening_fx_rates)
    extra_files = []
    # the $100M test looks at the last US trading day of each month
    sessions = trading_calendar("XNYS", books.reference["market_closures"])
    for day in dates:
        if sessions.add_business_days(day, 1).month == day.month:
            continue
        frames = []
        for name in ("prices", "fx_rates"):
            result = loaders.read_dataset(name, data_root, day, reference=books.reference)
            frames.append(result.frame)
            violations += result.violations
            extra_files.append((f"{name}@{day}", inbound_dir(data_root, day) / f"{name}.csv"))
        valuations[day] = (frames[0], frames[1])
    for day in dates:
        if day != business_date:
            extra_files += [(f"{name}@{day}", inbound_dir(data_root, day) / f"{name}.csv") for name in ("trades", "corporate_actions")]
    delivered = input_files(data_root, business_date, statement_accounts=[])
    extra = pd.DataFrame([{"dataset": name, "path": str(path.relative_to(data_root)), "size_bytes": path.stat().st_size, "sha256": sha256_file(path)}
                          for name, path in extra_files if path.is_file()], columns=delivered.columns)
    delivered = pd.concat([delivered, extra], ignore_index=True).drop_duplicates("path")
    return RegulatoryInputs(company, funds, business_date, books, dates, valuations, delivered, violations)
