"""What a day's reconciliations leave open for the next: every cash-ledger line and bank entry not
matched yet, each account's last statement closing (the next statement must open there), and every
trade not confirmed as booked yet with the confirmation it was last compared with.

The cash and trade recons are cumulative in effect: an item stays open, and keeps its break (and its
age), until its counterpart arrives, however long that takes: a bank entry for a ledger line, a
matching (or corrected) broker confirmation for a trade. The day's recon reads only the previous
day's open items and its own deliveries, so its cost does not grow with the age of the books.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
TRADE_ITEMS = "recon_trade_open_items"
TRADE_ITEM_COLUMNS = {"fund": "VARCHAR", "business_date": "DATE", "party": "VARCHAR", "reference": "VARCHAR", "confirm_id": "VARCHAR",
                      "broker_id": "VARCHAR", "account": "VARCHAR", "isin": "VARCHAR", "side": "VARCHAR", "quantity": "DOUBLE", "price": "DOUBLE",
                      "currency": "VARCHAR", "gross_amount": "DOUBLE", "commission": "DOUBLE", "fees": "DOUBLE", "net_amount": "DOUBLE",
                      "trade_date": "DATE", "settlement_date": "DATE", "delivery_date": "DATE"}
_TRADE_FIELDS = ["account", "isin", "side", "quantity", "price", "currency", "gross_amount", "commission", "fees", "net_amount", "trade_date",
                 "settlement_date", "delivery_date"]
#: the books' trades not confirmed as booked yet, and the confirmations they were last compared with
TRADES_COLUMNS = ["trade_id", "broker_id"] + _TRADE_FIELDS
CONFIRMS_COLUMNS = ["confirm_id", "client_reference", "broker_id"] + _TRADE_FIELDS
BOOKS_COLUMNS = ["account", "currency", "reference", "value_date", "amount", "movement_type", "description"]
BANK_COLUMNS = ["account", "currency", "value_date", "booking_date", "amount", "transaction_code", "customer_reference",
                "bank_reference", "description", "statement_id", "delivery_date", "statement_ok"]


def no_trades() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=TRADES_COLUMNS))


def no_confirms() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=CONFIRMS_COLUMNS))


@dataclass
class Carried:
    """What the previous reconciled day left open."""

    as_of: dt.date | None  # the reconciled date these are open at (None: nothing reconciled before)
    books: pd.DataFrame  # ledger lines not matched yet (BOOKS_COLUMNS)
    bank: pd.DataFrame  # bank entries not matched yet (BANK_COLUMNS)
    closings: pd.DataFrame  # account, statement_id, closing_date, closing_balance: the last statement of each account
    trades: pd.DataFrame = field(default_factory=no_trades)  # trades not confirmed as booked yet (TRADES_COLUMNS)
    confirms: pd.DataFrame = field(default_factory=no_confirms)  # the confirmations they differ from (CONFIRMS_COLUMNS)


register_table(OPEN_ITEMS, ITEM_COLUMNS)
register_table(CHAIN, CHAIN_COLUMNS)
register_table(TRADE_ITEMS, TRADE_ITEM_COLUMNS)


def nothing_carried() -> Carried:
    return Carried(None, _typed(pd.DataFrame(columns=BOOKS_COLUMNS)), _typed(pd.DataFrame(columns=BANK_COLUMNS)),
                   pd.DataFrame({"account": pd.Series(dtype="str"), "statement_id": pd.Series(dtype="str"),
                                 "closing_date": pd.Series(dtype="datetime64[ns]"), "closing_balance": pd.Series(dtype="float64")}))


def load_carried(store: Path | str, fund: str, as_of: dt.date | None) -> Carried:
    """What the recons of ``as_of`` left open (nothing when that date was not reconciled)."""
    if as_of is None or not Path(store).exists():
        return nothing_carried()
    with open_store(store, read_only=True) as con:
        if not table_exists(con, OPEN_ITEMS):
            return nothing_carried()
        items = con.execute(f"SELECT * FROM {OPEN_ITEMS} WHERE fund = ? AND business_date = ?", [fund, as_of]).df()
        chain = con.execute(f"SELECT account, statement_id, closing_date, closing_balance FROM {CHAIN} WHERE fund = ? AND business_date = ?",
                            [fund, as_of]).df()
        trade_items = con.execute(f"SELECT * FROM {TRADE_ITEMS} WHERE fund = ? AND business_date = ?", [fund, as_of]).df() \
            if table_exists(con, TRADE_ITEMS) else pd.DataFrame(columns=list(TRADE_ITEM_COLUMNS))
    chain["closing_date"] = pd.to_datetime(chain["closing_date"]).astype("datetime64[ns]")
    books = _typed(items[items["side"].eq("books")].reindex(columns=BOOKS_COLUMNS))
    bank = _typed(items[items["side"].eq("bank")].reindex(columns=BANK_COLUMNS))
    trades = _typed(trade_items[trade_items["party"].eq("books")].rename(columns={"reference": "trade_id"}).reindex(columns=TRADES_COLUMNS))
    confirms = _typed(trade_items[trade_items["party"].eq("broker")].rename(columns={"reference": "client_reference"})
                      .reindex(columns=CONFIRMS_COLUMNS))
    return Carried(as_of, books.reset_index(drop=True), bank.reset_index(drop=True), chain, trades.reset_index(drop=True),
                   confirms.reset_index(drop=True))


def carried_from(as_of: dt.date, books: pd.DataFrame, bank: pd.DataFrame, closings: pd.DataFrame, trades: pd.DataFrame | None = None,
                 confirms: pd.DataFrame | None = None) -> Carried:
    """What a day leaves open, as the next day reads it (without a round trip through the store)."""
    closings = closings[["account", "statement_id", "closing_date", "closing_balance"]].reset_index(drop=True)
    closings = closings.assign(closing_date=pd.to_datetime(closings["closing_date"]).astype("datetime64[ns]"))
    return Carried(as_of, _typed(books.reindex(columns=BOOKS_COLUMNS).reset_index(drop=True)),
                   _typed(bank.reindex(columns=BANK_COLUMNS).reset_index(drop=True)), closings,
                   _typed((trades if trades is not None else no_trades()).reindex(columns=TRADES_COLUMNS).reset_index(drop=True)),
                   _typed((confirms if confirms is not None else no_confirms()).reindex(columns=CONFIRMS_COLUMNS).reset_index(drop=True)))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("value_date", "booking_date", "delivery_date", "trade_date", "settlement_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    for column in ("amount", "quantity", "price", "gross_amount", "commission", "fees", "net_amount"):
        if column in frame:
            frame[column] = frame[column].astype("float64")
    if "statement_ok" in frame:
        frame["statement_ok"] = frame["statement_ok"].fillna(True).astype(bool)
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype) == "str":
            frame[column] = frame[column].fillna("").astype("str")
    return frame


def write_carried(connection, fund: str, business_date: dt.date, books: pd.DataFrame, bank: pd.DataFrame, closings: pd.DataFrame,
                  trades: pd.DataFrame | None = None, confirms: pd.DataFrame | None = None) -> None:
    """Replace what ``business_date`` leaves open (inside the caller's transaction)."""
    ensure_schema(connection)
    for table in (OPEN_ITEMS, CHAIN, TRADE_ITEMS):
        connection.execute(f"DELETE FROM {table} WHERE fund = ? AND business_date = ?", [fund, business_date])
    items = pd.concat([books.reindex(columns=BOOKS_COLUMNS).assign(side="books"), bank.reindex(columns=BANK_COLUMNS).assign(side="bank")],
                      ignore_index=True)
    _insert(connection, OPEN_ITEMS, items.assign(fund=fund, business_date=pd.Timestamp(business_date)), ITEM_COLUMNS)
    _insert(connection, CHAIN, closings.assign(fund=fund, business_date=pd.Timestamp(business_date)), CHAIN_COLUMNS)
    trades = trades if trades is not None else no_trades()
    confirms = confirms if confirms is not None else no_confirms()
    trade_items = pd.concat([trades.reindex(columns=TRADES_COLUMNS).rename(columns={"trade_id": "reference"}).assign(party="books"),
                             confirms.reindex(columns=CONFIRMS_COLUMNS).rename(columns={"client_reference": "reference"}).assign(party="broker")],
                            ignore_index=True)
    _insert(connection, TRADE_ITEMS, trade_items.assign(fund=fund, business_date=pd.Timestamp(business_date)), TRADE_ITEM_COLUMNS)


def forget_carried_from(connection, fund: str, business_date: dt.date) -> None:
    """Delete what the recons of ``business_date`` and later left open for ``fund`` (cash open items,
    statement chain, trade open items), inside the caller's transaction: for a scratch copy of the
    store only (``bo replay``), whose next recon carries from the day before again."""
    for table in (OPEN_ITEMS, CHAIN, TRADE_ITEMS):
        if table_exists(connection, table):
            connection.execute(f"DELETE FROM {table} WHERE fund = ? AND business_date >= ?", [fund, business_date])


def _insert(connection, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
    if not len(frame):
        return
    connection.register("_carried", frame.reindex(columns=list(columns)))
    casts = ", ".join(f"CAST({c} AS {t})" for c, t in columns.items())
    connection.execute(f"INSERT INTO {table} SELECT {casts} FROM _carried")
    connection.unregister("_carried")
