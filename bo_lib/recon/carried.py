"""What a day's cash reconciliation leaves open for the next: every ledger line and bank entry not
matched yet, and each account's last statement closing (the next statement must open there).

The cash recon is cumulative in effect: an item stays open, and keeps its break (and its age), until
its counterpart arrives, however long that takes. The day's recon reads only the previous day's open
items and its own deliveries, so its cost does not grow with the age of the books.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bo_lib.store import ensure_schema, open_store, register_table, table_exists

OPEN_ITEMS = "recon_cash_open_items"
CHAIN = "recon_statement_chain"
ITEM_COLUMNS = {"fund": "VARCHAR", "business_date": "DATE", "side": "VARCHAR", "account": "VARCHAR", "currency": "VARCHAR",
                "reference": "VARCHAR", "value_date": "DATE", "amount": "DOUBLE", "movement_type": "VARCHAR", "description": "VARCHAR",
                "booking_date": "DATE", "transaction_code": "VARCHAR", "customer_reference": "VARCHAR", "bank_reference": "VARCHAR",
                "statement_id": "VARCHAR", "delivery_date": "DATE", "statement_ok": "BOOLEAN"}
CHAIN_COLUMNS = {"fund": "VARCHAR", "business_date": "DATE", "account": "VARCHAR", "statement_id": "VARCHAR", "closing_date": "DATE",
                 "closing_balance": "DOUBLE"}
BOOKS_COLUMNS = ["account", "currency", "reference", "value_date", "amount", "movement_type", "description"]
BANK_COLUMNS = ["account", "currency", "value_date", "booking_date", "amount", "transaction_code", "customer_reference",
                "bank_reference", "description", "statement_id", "delivery_date", "statement_ok"]


@dataclass
class CarriedCash:
    as_of: dt.date | None  # the reconciled date these are open at (None: nothing reconciled before)
    books: pd.DataFrame  # ledger lines not matched yet (BOOKS_COLUMNS)
    bank: pd.DataFrame  # bank entries not matched yet (BANK_COLUMNS)
    closings: pd.DataFrame  # account, statement_id, closing_date, closing_balance: the last statement of each account


register_table(OPEN_ITEMS, ITEM_COLUMNS)
register_table(CHAIN, CHAIN_COLUMNS)


def nothing_carried() -> CarriedCash:
    return CarriedCash(None, _typed(pd.DataFrame(columns=BOOKS_COLUMNS)), _typed(pd.DataFrame(columns=BANK_COLUMNS)),
                       pd.DataFrame({"account": pd.Series(dtype="str"), "statement_id": pd.Series(dtype="str"),
                                     "closing_date": pd.Series(dtype="datetime64[ns]"), "closing_balance": pd.Series(dtype="float64")}))


def load_carried(store: Path | str, fund: str, as_of: dt.date | None) -> CarriedCash:
    """What the cash recon of ``as_of`` left open (nothing when that date was not reconciled)."""
    if as_of is None or not Path(store).exists():
        return nothing_carried()
    with open_store(store, read_only=True) as con:
        if not table_exists(con, OPEN_ITEMS):
            return nothing_carried()
        items = con.execute(f"SELECT * FROM {OPEN_ITEMS} WHERE fund = ? AND business_date = ?", [fund, as_of]).df()
        chain = con.execute(f"SELECT account, statement_id, closing_date, closing_balance FROM {CHAIN} WHERE fund = ? AND business_date = ?",
                            [fund, as_of]).df()
    chain["closing_date"] = pd.to_datetime(chain["closing_date"]).astype("datetime64[ns]")
    books = _typed(items[items["side"].eq("books")].reindex(columns=BOOKS_COLUMNS))
    bank = _typed(items[items["side"].eq("bank")].reindex(columns=BANK_COLUMNS))
    return CarriedCash(as_of, books.reset_index(drop=True), bank.reset_index(drop=True), chain)


def carried_from(as_of: dt.date, books: pd.DataFrame, bank: pd.DataFrame, closings: pd.DataFrame) -> CarriedCash:
    """What a day leaves open, as the next day reads it (without a round trip through the store)."""
    closings = closings[["account", "statement_id", "closing_date", "closing_balance"]].reset_index(drop=True)
    closings = closings.assign(closing_date=pd.to_datetime(closings["closing_date"]).astype("datetime64[ns]"))
    return CarriedCash(as_of, _typed(books.reindex(columns=BOOKS_COLUMNS).reset_index(drop=True)),
                       _typed(bank.reindex(columns=BANK_COLUMNS).reset_index(drop=True)), closings)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("value_date", "booking_date", "delivery_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    if "amount" in frame:
        frame["amount"] = frame["amount"].astype("float64")
    if "statement_ok" in frame:
        frame["statement_ok"] = frame["statement_ok"].fillna(True).astype(bool)
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype) == "str":
            frame[column] = frame[column].fillna("").astype("str")
    return frame


def write_carried(connection, fund: str, business_date: dt.date, books: pd.DataFrame, bank: pd.DataFrame, closings: pd.DataFrame) -> None:
    """Replace what ``business_date`` leaves open (inside the caller's transaction)."""
    ensure_schema(connection)
    for table in (OPEN_ITEMS, CHAIN):
        connection.execute(f"DELETE FROM {table} WHERE fund = ? AND business_date = ?", [fund, business_date])
    items = pd.concat([books.reindex(columns=BOOKS_COLUMNS).assign(side="books"), bank.reindex(columns=BANK_COLUMNS).assign(side="bank")],
                      ignore_index=True)
    _insert(connection, OPEN_ITEMS, items.assign(fund=fund, business_date=pd.Timestamp(business_date)), ITEM_COLUMNS)
    _insert(connection, CHAIN, closings.assign(fund=fund, business_date=pd.Timestamp(business_date)), CHAIN_COLUMNS)


def _insert(connection, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
    if not len(frame):
        return
    connection.register("_carried", frame.reindex(columns=list(columns)))
    casts = ", ".join(f"CAST({c} AS {t})" for c, t in columns.items())
    connection.execute(f"INSERT INTO {table} SELECT {casts} FROM _carried")
    connection.unregister("_carried")
