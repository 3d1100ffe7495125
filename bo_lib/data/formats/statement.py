"""Format-neutral bank statement model shared by the MT940 and camt.053 codecs.

This module owns:

* ``StatementEntry`` / ``BankStatement``: immutable dataclasses with exact
  ``Decimal`` amounts (signed: + credit, - debit) and ``datetime.date`` dates;
  every identifier (account, references) is a string so leading zeros survive.
* ``statements_to_frame``: flattening to a pandas DataFrame, one row per entry,
  for reconciliation notebooks (amount becomes float64 there; keep the
  dataclasses when exact arithmetic matters).
* ``StatementFormatError``: the single error type the parsers raise for a file
  they cannot turn into statements.  It always names the file, the
  statement/line when known and the rule that was broken.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "StatementEntry",
    "BankStatement",
    "StatementFormatError",
    "statements_to_frame",
    "statement_summaries",
    "statement_integrity",
    "FRAME_COLUMNS",
]


@dataclass(frozen=True)
class StatementEntry:
    """One booked movement on a bank account."""

    value_date: datetime.date
    booking_date: datetime.date
    amount: Decimal  # signed: + credit, - debit
    currency: str
    transaction_code: str  # e.g. "NTRF", "NMSC", "NDIV", "NCHG"
    customer_reference: str  # e.g. our trade id / "NONREF"
    bank_reference: str
    description: str  # :86: text / camt AddtlNtryInf


@dataclass(frozen=True)
class BankStatement:
    """One statement (one MT940 message / one camt ``Stmt``) for one account."""

    account: str  # account number or IBAN (string: may have leading zeros)
    currency: str
    statement_id: str  # :20: transaction reference / camt Stmt/Id
    sequence_number: str  # :28C: e.g. "00123/001" / camt ElctrncSeqNb
    opening_date: datetime.date
    opening_balance: Decimal
    closing_date: datetime.date
    closing_balance: Decimal
    entries: tuple[StatementEntry, ...]
    bic: str = ""

    def entries_total(self) -> Decimal:
        """Sum of the signed entry amounts (exact)."""
        return sum((e.amount for e in self.entries), Decimal(0))

    def balances(self) -> bool:
        """True when opening balance + sum(entries) == closing balance, exactly."""
        return self.opening_balance + self.entries_total() == self.closing_balance


class StatementFormatError(ValueError):
    """A statement file breaks a rule of its format.

    Attributes:
        file: the path or source name of the document ("<text>" when unnamed).
        line: line number (MT940) or statement id / element path (camt), or None.
        rule: human-readable statement of the rule that was broken.
    """

    def __init__(self, file: str | None, rule: str, line: int | str | None = None):
        self.file = file or "<text>"
        self.line = line
        self.rule = rule
        where = self.file if line is None else f"{self.file}, {_describe_location(line)}"
        super().__init__(f"{where}: {rule}")

    def __reduce__(self):  # keep picklable despite the custom __init__
        return (type(self), (self.file, self.rule, self.line))


def _describe_location(line: int | str) -> str:
    return f"line {line}" if isinstance(line, int) else str(line)


FRAME_COLUMNS = [
    "account",
    "statement_id",
    "currency",
    "value_date",
    "booking_date",
    "amount",
    "transaction_code",
    "customer_reference",
    "bank_reference",
    "description",
    "entry_sequence",
]


def statements_to_frame(statements: Iterable[BankStatement]) -> pd.DataFrame:
    """One row per entry of every statement, in statement order.

    ``entry_sequence`` is the 1-based position of the entry in its statement, so
    two otherwise identical entries (same day, amount and references) stay
    distinguishable.  Dates are ``datetime64[ns]`` columns, ``amount`` is
    float64, everything else is a string column.
    """
    rows = []
    for statement in statements:
        for position, entry in enumerate(statement.entries, start=1):
            rows.append(
                {
                    "account": statement.account,
                    "statement_id": statement.statement_id,
                    "currency": entry.currency,
                    "value_date": entry.value_date,
                    "booking_date": entry.booking_date,
                    "amount": float(entry.amount),
                    "transaction_code": entry.transaction_code,
                    "customer_reference": entry.customer_reference,
                    "bank_reference": entry.bank_reference,
                    "description": entry.description,
                    "entry_sequence": position,
                }
            )
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    for column in ("value_date", "booking_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame["amount"] = frame["amount"].astype("float64")
    frame["entry_sequence"] = frame["entry_sequence"].astype("int64")
    return frame


STATEMENT_SUMMARY_COLUMNS = ["account", "currency", "statement_id", "sequence_number", "opening_date", "opening_balance", "entries",
                             "entries_total", "closing_date", "closing_balance", "balances", "difference"]


def statement_summaries(statements: Iterable[BankStatement]) -> pd.DataFrame:
    """One row per statement: balances and the entries' total, summed exactly (Decimal) before
    becoming floats; ``difference`` = closing − opening − entries (0 when the statement balances).
    Dates are ``datetime64[ns]`` columns."""
    rows = [{
        "account": s.account, "currency": s.currency, "statement_id": s.statement_id, "sequence_number": s.sequence_number,
        "opening_date": pd.Timestamp(s.opening_date), "opening_balance": float(s.opening_balance), "entries": len(s.entries),
        "entries_total": float(s.entries_total()), "closing_date": pd.Timestamp(s.closing_date),
        "closing_balance": float(s.closing_balance), "balances": s.balances(),
        "difference": float(s.closing_balance - s.opening_balance - s.entries_total()),
    } for s in statements]
    return pd.DataFrame(rows, columns=STATEMENT_SUMMARY_COLUMNS)


#: statement totals are exact decimals: a difference at or above half a cent is real
BALANCE_TOLERANCE = 0.005


def statement_integrity(statements: pd.DataFrame, previous_closing: dict[str, float] | None = None) -> pd.DataFrame:
    """Per statement (rows in delivery order): does it balance, and does it open at the previous
    statement's closing balance for its account (``previous_closing``: each account's closing before
    the first of these statements)? Adds ``balances``, ``previous_closing``, ``chain_break``,
    ``chain_difference``, ``integrity`` (ok / does not balance / chain broken / both) and ``rag``.
    ``difference`` (closing - opening - entries) is expected from the parser's exact totals; it is
    recomputed when absent."""
    table = statements.reset_index(drop=True).copy()
    if "difference" not in table:
        table["difference"] = table["closing_balance"] - table["opening_balance"] - table["entries_total"]
    table["difference"] = table["difference"].astype("float64").round(2)
    table["balances"] = table["difference"].abs().lt(BALANCE_TOLERANCE)
    table["previous_closing"] = table.groupby("account", sort=False)["closing_balance"].shift()
    if previous_closing:
        first = table["previous_closing"].isna()
        table.loc[first, "previous_closing"] = table.loc[first, "account"].map(previous_closing)
    table["chain_difference"] = (table["opening_balance"] - table["previous_closing"]).round(2)
    table["chain_break"] = table["chain_difference"].abs().ge(BALANCE_TOLERANCE).fillna(False).astype(bool)
    table["integrity"] = np.select([~table["balances"] & table["chain_break"], ~table["balances"], table["chain_break"]],
                                   ["does not balance; chain broken", "does not balance", "chain broken"], default="ok")
    table["rag"] = np.where(table["integrity"].eq("ok"), "green", "red")
    return table


