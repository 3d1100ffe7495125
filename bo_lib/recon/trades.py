"""Trade reconciliation: the internal trades (OMS / books) against the brokers' confirmations,
paired by our trade id (the broker's client reference).

Compared: side and settlement date exactly, quantity within the fund's position-quantity
tolerance, price within its relative price tolerance, net amount within its net-amount tolerance.
Classification of a break, most fundamental field first: ``side difference``, ``quantity
difference``, ``price/amount difference`` (price or net amount; ``fields`` says which), ``settlement
date difference``; a trade with no confirmation is ``unconfirmed``, a confirmation with no trade
``missing in books``.

A trade break stays open until a confirmation that matches arrives: the day's trades and
confirmations are reconciled together with the trades earlier days left unconfirmed or differing
(``bo_lib.recon.carried``), each with the confirmation it was last compared with. A confirmation
delivered later for the same trade (late, or corrected by the broker) supersedes the earlier one;
when it matches, the break resolves that day, the confirmation being the reason (``resolved``). A
confirmation for no trade of ours is a break of the day it arrives: the books cannot come to hold
an earlier day's trade (the OMS delivers a trade on its trade date). Pure functions over DataFrames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bo_lib.fx import to_base
from bo_lib.recon.engine import ReconResult, Tolerance, reconcile

COMPARED = ("side", "quantity", "price", "net_amount", "settlement_date")
SIDE = "side difference"
QUANTITY = "quantity difference"
PRICE_AMOUNT = "price/amount difference"
SETTLEMENT_DATE = "settlement date difference"
UNCONFIRMED = "unconfirmed"
MISSING_IN_BOOKS = "missing in books"


@dataclass
class TradeRecon:
    business_date: dt.date
    result: ReconResult  # books = left, broker = right
    table: pd.DataFrame
    # what the table's rows were built from (today's deliveries and what earlier days left open)
    books: pd.DataFrame | None = None
    broker: pd.DataFrame | None = None

    @property
    def breaks(self) -> pd.DataFrame:
        return self.table[self.table["status"] != "matched"].reset_index(drop=True)

    @property
    def resolved(self) -> pd.DataFrame:
        """Breaks earlier days left open that a confirmation delivered today resolves: reference,
        confirm_id, trade_date, resolution (the reason)."""
        done = self.table[self.table["status"].eq("matched") & self.table["carried"]]
        return done[["reference", "account", "confirm_id", "trade_date", "resolution"]].reset_index(drop=True)

    def open_items(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The trades not confirmed as booked after today (unconfirmed or differing) and the
        confirmations they differ from: what the next day starts from (``carried.TRADES_COLUMNS``,
        ``carried.CONFIRMS_COLUMNS``). A confirmation with no trade is not carried."""
        from bo_lib.recon.carried import CONFIRMS_COLUMNS, TRADES_COLUMNS

        status = self.table["status"].astype(str)
        open_refs = set(self.table.loc[status.isin(["break", "missing_right"]), "reference"])
        books = self.books if self.books is not None else pd.DataFrame(columns=["reference"])
        broker = self.broker if self.broker is not None else pd.DataFrame(columns=["reference"])
        trades = books[books["reference"].isin(open_refs)].rename(columns={"reference": "trade_id"}).reindex(columns=TRADES_COLUMNS)
        confirms = broker[broker["reference"].isin(open_refs)].rename(columns={"reference": "client_reference"}).reindex(columns=CONFIRMS_COLUMNS)
        return trades.reset_index(drop=True), confirms.reset_index(drop=True)


def _with_carried(today: pd.DataFrame, carried: pd.DataFrame | None, business_date: dt.date) -> pd.DataFrame:
    """Today's rows (delivered today) and the carried ones no row of today's replaces (same reference)."""
    today = today.assign(carried=False)
    if "delivery_date" not in today:
        today["delivery_date"] = pd.Timestamp(business_date)
    today["delivery_date"] = pd.to_datetime(today["delivery_date"].fillna(pd.Timestamp(business_date))).astype("datetime64[ns]")
    if carried is None or carried.empty:
        return today
    older = carried[~carried["reference"].isin(today["reference"])].assign(carried=True)
    return pd.concat([older, today], ignore_index=True) if len(older) else today


def reconcile_trades(trades: pd.DataFrame, confirms: pd.DataFrame, fx_rates: pd.DataFrame, *, business_date: dt.date,
                     base_currency: str, tolerances, carried_trades: pd.DataFrame | None = None,
                     carried_confirms: pd.DataFrame | None = None) -> TradeRecon:
    """The business date's trades and confirmations, with the trades earlier days left open and
    their last confirmations (``carried_trades``, ``carried_confirms``: ``bo_lib.recon.carried``),
    one row per trade reference. ``tolerances``: the fund's ``Tolerances`` (position_quantity,
    trade_price_rel, trade_net_amount). ``carried`` says the trade was a break at the previous
    recon; ``resolution`` is filled where such a break matches today."""
    books = _with_carried(trades.rename(columns={"trade_id": "reference"}),
                          carried_trades.rename(columns={"trade_id": "reference"}) if carried_trades is not None else None, business_date)
    broker = _with_carried(confirms.rename(columns={"client_reference": "reference"}),
                           carried_confirms.rename(columns={"client_reference": "reference"}) if carried_confirms is not None else None,
                           business_date)
    for frame in (books, broker):  # one type per compared column whichever day a row comes from
        for column in ("settlement_date", "trade_date"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        for column in ("quantity", "price", "net_amount"):
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    result = reconcile(books, broker, keys=["reference"], left_name="books", right_name="broker", sort=True, compare={
        "side": None, "quantity": Tolerance(abs=tolerances.position_quantity), "price": Tolerance(rel=tolerances.trade_price_rel),
        "net_amount": Tolerance(abs=tolerances.trade_net_amount), "settlement_date": None})
    table = result.table.copy()
    info = pd.concat([books.reindex(columns=["reference", "account", "isin", "currency", "broker_id", "trade_date"]),
                      broker.reindex(columns=["reference", "account", "isin", "currency", "broker_id", "trade_date"])]).drop_duplicates("reference")
    table = table.merge(info, on="reference", how="left")
    by_ref = broker.set_index("reference")
    table["confirm_id"] = table["reference"].map(by_ref["confirm_id"]).fillna("")
    carried_refs = set(books.loc[books["carried"], "reference"])
    table["carried"] = table["reference"].isin(carried_refs)
    both = table["status"].astype(str).eq("break")
    off = {f: _off(table, f, tolerances) & both for f in COMPARED}
    table["fields"] = [", ".join(f for f in COMPARED if off[f].iat[i]) for i in range(len(table))]
    status = table["status"].astype(str)
    table["classification"] = np.select(
        [status.eq("matched"), status.eq("missing_right"), status.eq("missing_left"), off["side"], off["quantity"],
         off["price"] | off["net_amount"], off["settlement_date"]],
        ["", UNCONFIRMED, MISSING_IN_BOOKS, SIDE, QUANTITY, PRICE_AMOUNT, SETTLEMENT_DATE], default=PRICE_AMOUNT)
    exposure = np.where(status.isin(["missing_left", "missing_right"]) | off["side"] | off["settlement_date"],
                        table["net_amount_left"].fillna(table["net_amount_right"]), table["net_amount_diff"].abs())
    table["break_value_base"] = to_base(pd.Series(exposure, index=table.index).abs(), table["currency"], fx_rates, base_currency).where(
        status.ne("matched"), 0.0)
    table["detail"] = [_detail(row) for row in table.itertuples()]  # one row per open trade: tens
    had_confirm = set(carried_confirms["client_reference"]) if carried_confirms is not None and len(carried_confirms) else set()
    delivered = table["reference"].map(dict(zip(broker["reference"], broker["delivery_date"])))  # (a dict: an empty day maps too)
    table["resolution"] = [_resolution(ref in had_confirm, cid, day, business_date) if carried and st == "matched" else ""
                           for ref, cid, day, carried, st in zip(table["reference"], table["confirm_id"], delivered, table["carried"], status)]
    columns = ["reference", "confirm_id", "account", "isin", "broker_id", "currency", "trade_date", "carried"] + \
              [f"{f}_{s}" for f in COMPARED for s in ("left", "right")] + \
              ["quantity_diff", "price_diff", "net_amount_diff", "status", "classification", "fields", "break_value_base", "detail", "resolution"]
    return TradeRecon(business_date, result, table[columns], books, broker)


def _resolution(had_confirm: bool, confirm_id: str, delivered, business_date: dt.date) -> str:
    """Why a break of an earlier day is resolved today: the confirmation that matches."""
    day = pd.Timestamp(delivered)
    if day < pd.Timestamp(business_date):  # no new confirmation: the comparison itself changed (the fund's tolerances)
        return f"confirmation {confirm_id} delivered {day:%Y-%m-%d} matches the books within today's tolerances"
    return f"{'corrected ' if had_confirm else ''}confirmation {confirm_id} delivered {day:%Y-%m-%d} matches the books"


def _off(table: pd.DataFrame, field: str, tolerances) -> pd.Series:
    left, right = table[f"{field}_left"], table[f"{field}_right"]
    if field in ("side", "settlement_date"):
        return (left != right).fillna(True).astype(bool)
    tol = {"quantity": Tolerance(abs=tolerances.position_quantity), "price": Tolerance(rel=tolerances.trade_price_rel),
           "net_amount": Tolerance(abs=tolerances.trade_net_amount)}[field]
    return pd.Series(~tol.within(left.to_numpy(), right.to_numpy()), index=table.index)


def _detail(row) -> str:
    c = row.classification
    if not c:
        return ""
    if c == UNCONFIRMED:
        return f"{row.side_left} {row.quantity_left:,.0f} {row.isin} @ {row.price_left:,.4f}: no confirmation from {row.broker_id}" + _since(row)
    if c == MISSING_IN_BOOKS:
        return f"confirmation {row.confirm_id} from {row.broker_id}: {row.side_right} {row.quantity_right:,.0f} {row.isin} — no such trade in the books"
    parts = []
    if "side" in row.fields:
        parts.append(f"side {row.side_left} vs {row.side_right}")
    if "quantity" in row.fields:
        parts.append(f"quantity {row.quantity_left:,.0f} vs {row.quantity_right:,.0f}")
    if "price" in row.fields:
        parts.append(f"price {row.price_left:,.4f} vs {row.price_right:,.4f}")
    if "net_amount" in row.fields:
        parts.append(f"net amount {row.net_amount_left:,.2f} vs {row.net_amount_right:,.2f} ({row.net_amount_diff:+,.2f})")
    if "settlement_date" in row.fields:
        parts.append(f"settlement {row.settlement_date_left:%Y-%m-%d} vs {row.settlement_date_right:%Y-%m-%d}")
    return "books vs broker: " + "; ".join(parts) + _since(row)


def _since(row) -> str:
    """How long a break carried from an earlier day has waited for its confirmation."""
    return f" (traded {row.trade_date:%Y-%m-%d}, still open)" if row.carried and not pd.isna(row.trade_date) else ""
