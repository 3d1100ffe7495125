"""Trade reconciliation: the day's internal trades (OMS / books) against the brokers' confirmations,
paired by our trade id (the broker's client reference).

Compared: side and settlement date exactly, quantity within the fund's position-quantity
tolerance, price within its relative price tolerance, net amount within its net-amount tolerance.
Classification of a break, most fundamental field first: ``side difference``, ``quantity
difference``, ``price/amount difference`` (price or net amount; ``fields`` says which), ``settlement
date difference``; a trade with no confirmation is ``unconfirmed``, a confirmation with no trade
``missing in books``. Pure functions over DataFrames.
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

    @property
    def breaks(self) -> pd.DataFrame:
        return self.table[self.table["status"] != "matched"].reset_index(drop=True)


def reconcile_trades(trades: pd.DataFrame, confirms: pd.DataFrame, fx_rates: pd.DataFrame, *, business_date: dt.date,
                     base_currency: str, tolerances) -> TradeRecon:
    """The business date's trades vs the business date's confirmations. ``tolerances``: the fund's
    ``Tolerances`` (position_quantity, trade_price_rel, trade_net_amount)."""
    books = trades.rename(columns={"trade_id": "reference"})
    broker = confirms.rename(columns={"client_reference": "reference"})
    result = reconcile(books, broker, keys=["reference"], left_name="books", right_name="broker", sort=True, compare={
        "side": None, "quantity": Tolerance(abs=tolerances.position_quantity), "price": Tolerance(rel=tolerances.trade_price_rel),
        "net_amount": Tolerance(abs=tolerances.trade_net_amount), "settlement_date": None})
    table = result.table.copy()
    info = pd.concat([books[["reference", "account", "isin", "currency", "broker_id"]],
                      broker[["reference", "account", "isin", "currency", "broker_id", "confirm_id"]]]).drop_duplicates("reference")
    table = table.merge(info, on="reference", how="left")
    table["confirm_id"] = table["reference"].map(broker.set_index("reference")["confirm_id"]).fillna("")
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
    table["detail"] = [_detail(row) for row in table.itertuples()]  # one row per trade of the day: tens
    columns = ["reference", "confirm_id", "account", "isin", "broker_id", "currency"] + \
              [f"{f}_{s}" for f in COMPARED for s in ("left", "right")] + \
              ["quantity_diff", "price_diff", "net_amount_diff", "status", "classification", "fields", "break_value_base", "detail"]
    return TradeRecon(business_date, result, table[columns])


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
        return f"{row.side_left} {row.quantity_left:,.0f} {row.isin} @ {row.price_left:,.4f}: no confirmation from {row.broker_id}"
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
    return "books vs broker: " + "; ".join(parts)
