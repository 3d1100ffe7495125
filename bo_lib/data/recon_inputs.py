"""Gathering what a fund's reconciliations need up to a business date: the books (opening,
trades, corporate actions, cash ledger), and for every delivered date the custodian positions,
settlement status, broker confirmations, prices, FX and parsed bank statements.

Every date is read once, so the recons of earlier dates (to bring the break history up to date)
cost no extra reading. Never raises on bad data: violations are collected for the report, and a
statement that cannot be parsed is a violation naming the file and rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.data import loaders
from bo_lib.data.books import Books, load_books
from bo_lib.data.errors import Violation, violations_frame
from bo_lib.data.formats.statement import BankStatement, statement_summaries
from bo_lib.data.layout import business_dates, input_files
from bo_lib.parameters import FundParameters

DAILY_FEEDS = ("custodian_positions", "settlement_status", "broker_confirms", "prices", "fx_rates")
STATEMENT_COLUMNS = ["delivery_date", "account", "currency", "statement_id", "sequence_number", "opening_date", "opening_balance",
                     "entries", "entries_total", "closing_date", "closing_balance"]


@dataclass
class ReconInputs:
    fund: FundParameters
    business_date: dt.date
    dates: list[dt.date]  # delivered business dates up to the business date, oldest first
    books: Books
    feeds: dict[str, pd.DataFrame]  # DAILY_FEEDS across the dates, each with delivery_date
    statements: pd.DataFrame  # one row per statement (STATEMENT_COLUMNS), exact totals as floats
    statement_entries: pd.DataFrame  # one row per entry, with delivery_date and statement_id
    delivered: pd.DataFrame  # the business date's input files with SHA-256
    violations: list[Violation] = field(default_factory=list)
    #: what a contract violation kept out of the recons (recon, delivery_date, account, isin, reason):
    #: a row or statement that cannot be read is not reconciled, rather than reported as a break
    held_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HELD_OUT_COLUMNS))

    @property
    def violations_table(self) -> pd.DataFrame:
        return violations_frame(self.violations)

    @property
    def securities(self) -> pd.DataFrame:
        return self.books.reference["securities"]

    def feed(self, name: str, day: dt.date) -> pd.DataFrame:
        frame = self.feeds[name]
        return frame[frame["delivery_date"] == pd.Timestamp(day)].reset_index(drop=True)


def statement_rows(statements: list[BankStatement], delivery_date: dt.date) -> pd.DataFrame:
    """One row per statement of a delivery (``statement_summaries`` with its delivery date)."""
    return statement_summaries(statements).assign(delivery_date=pd.Timestamp(delivery_date))[STATEMENT_COLUMNS + ["difference"]]


HELD_OUT_COLUMNS = ["recon", "delivery_date", "account", "isin", "reason"]


def gather_recon_inputs(data_root: Path | str, fund: FundParameters, business_date: dt.date, account_funds: dict[str, str]) -> ReconInputs:
    """Everything the position, cash and trade recons of ``fund`` need for every delivered date up
    to ``business_date``."""
    data_root = Path(data_root)
    books = load_books(data_root, business_date, fund.fund_code, account_funds)
    violations = list(books.violations)
    dates = [d for d in business_dates(data_root) if d <= business_date]
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in DAILY_FEEDS}
    statement_frames, entry_frames = [], []
    held: list[pd.DataFrame] = []
    cash_accounts = [a.model_dump() for a in fund.cash_accounts]
    for day in dates:
        for name in DAILY_FEEDS:
            fund_code = fund.fund_code if name not in ("prices", "fx_rates") else None
            result = loaders.read_dataset(name, data_root, day, fund=fund_code, account_funds=account_funds, reference=books.reference)
            frame = result.frame
            bad_lines = {v.line: v for v in result.violations if v.line is not None and v.line > 1}
            if name == "custodian_positions" and bad_lines:
                bad = frame[frame["source_line"].isin(bad_lines)]
                held.append(pd.DataFrame({"recon": "positions", "delivery_date": pd.Timestamp(day), "account": bad["account"], "isin": bad["isin"],
                                          "reason": [f"{bad_lines[n].file} line {n}: {bad_lines[n].column} {bad_lines[n].rule}" for n in bad["source_line"]]}))
                frame = frame[~frame["source_line"].isin(bad_lines)]
            frames[name].append(frame.assign(delivery_date=pd.Timestamp(day)))
            if day == business_date:  # earlier dates' violations were reported on their own day
                violations += result.violations
        statements, entries, statement_violations = loaders.read_statements(data_root, day, cash_accounts)
        unread = sorted({a["account"] for a in cash_accounts for v in statement_violations if a["account"] in v.file})
        held += [pd.DataFrame([{"recon": "cash", "delivery_date": pd.Timestamp(day), "account": account, "isin": "",
                                "reason": next(f"{v.file}: {v.rule}" for v in statement_violations if account in v.file)}]) for account in unread]
        statement_frames.append(statement_rows(statements, day))
        entry_frames.append(entries.assign(delivery_date=pd.Timestamp(day)))
        violations += statement_violations if day == business_date else []
    feeds = {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}
    delivered = input_files(data_root, business_date, statement_accounts=[a.account for a in fund.cash_accounts])
    held_out = pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=HELD_OUT_COLUMNS)
    return ReconInputs(fund, business_date, dates, books, feeds, pd.concat(statement_frames, ignore_index=True),
                       pd.concat(entry_frames, ignore_index=True), delivered, violations, held_out)
