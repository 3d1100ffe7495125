"""Positions and their valuation: the NAV date each movement counts on, average cost and realised
P&L, market value and accrued interest in local and base currency.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.books.accruals import accrued_interest_per_nominal


def to_valuation_date(dates: pd.Series, valuation_dates: list[dt.date]) -> pd.Series:
    """The first NAV date on or after each date (what happens on a non-NAV day counts at the next NAV)."""
    grid = np.array(sorted(pd.to_datetime(valuation_dates)), dtype="datetime64[ns]")
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    pos = np.searchsorted(grid, values, side="left")
    out = np.where(pos < len(grid), grid[np.minimum(pos, len(grid) - 1)], np.datetime64("NaT"))
    out = np.where(pd.isna(values), grid[0], out)  # undated rows (the opening) belong to the first date
    return pd.Series(pd.to_datetime(out), index=dates.index)


def cost_and_pnl(opening: pd.DataFrame, movements: pd.DataFrame, trades: pd.DataFrame) -> pd.DataFrame:
    """Book cost and realised P&L per security after the day's movements (average-cost method,
    local currency, per unit as quoted: per share, per 100 nominal).

    ``opening``: security_id, quantity, book_cost, realised_pnl (the previous state's cost basis);
    ``movements``: ``roll_positions`` movements (opening rows are skipped: they are the opening);
    ``trades``: the trades behind the trade movements (price and side). Buys add their price to the
    cost pool; sales release it at the average cost and realise the difference; a split or stock
    dividend changes the quantity, not the cost; an event booked per account (``books.notified``)
    moves the quantity, the ``cost`` and the ``realised`` P&L its movement carries. Corporate actions
    are applied before the day's trades. Columns: security_id, quantity, book_cost, realised_pnl.
    """
    state = {sid: [q, c, r] for sid, q, c, r in zip(opening["security_id"], opening["quantity"], opening["book_cost"], opening["realised_pnl"])}
    price = trades.set_index("trade_id")["price"] if len(trades) else pd.Series(dtype="float64")
    side = trades.set_index("trade_id")["side"] if len(trades) else pd.Series(dtype="str")
    moves = movements[movements["source"].ne("opening")].assign(_trade=lambda m: m["source"].eq("trade"))
    moves = moves.sort_values(["effective_date", "_trade", "reference"], kind="stable")
    cost = moves["cost"].fillna(0.0) if "cost" in moves else pd.Series(0.0, index=moves.index)
    realised = moves["realised"].fillna(0.0) if "realised" in moves else pd.Series(0.0, index=moves.index)
    for sid, source, ref, qty, dc, dr in zip(moves["security_id"], moves["source"], moves["reference"], moves["quantity"], cost, realised):
        q, c, r = state.get(sid, [0.0, 0.0, 0.0])  # order matters for cost
        if source != "trade":
            q, c, r = q + qty, c + dc, r + dr
        elif side.get(ref) == "BUY":
            q, c = q + qty, c + qty * price[ref]
        else:
            avg = c / q if q else 0.0
            r += -qty * (price[ref] - avg)
            q, c = q + qty, c + qty * avg
        state[sid] = [q, c, r]
    out = pd.DataFrame([(sid, *v) for sid, v in state.items()], columns=["security_id", "quantity", "book_cost", "realised_pnl"])
    return out[(out["quantity"].abs() > 1e-9) | (out["realised_pnl"].abs() > 0)].reset_index(drop=True)


def opening_cost_basis(opening_positions: pd.DataFrame) -> pd.DataFrame:
    """The cost basis of an opening book: quantity x average cost per security, nothing realised."""
    grouped = opening_positions.assign(book_cost=opening_positions["quantity"] * opening_positions["average_cost"]).groupby(
        "security_id", as_index=False).agg(quantity=("quantity", "sum"), book_cost=("book_cost", "sum"))
    return grouped.assign(realised_pnl=0.0)


def value_positions(holdings: pd.DataFrame, prices: pd.DataFrame, fx: pd.DataFrame, securities: pd.DataFrame) -> pd.DataFrame:
    """Market value and accrued interest per holding and date, local and base.

    ``holdings``: nav_date, fund, account, security_id, quantity; ``prices``: valuation_prices()
    (price_date, security_id, price, source, ...); ``fx``: rate_date, currency, rate_to_base.
    A split or stock dividend changes quantity and price on the same ex-date, so value is continuous.
    """
    secs = securities.set_index("security_id")
    v = holdings.merge(prices.rename(columns={"price_date": "nav_date"}), on=["nav_date", "security_id"], how="left")
    v["currency"] = v["security_id"].map(secs["currency"])
    v["asset_class"] = v["security_id"].map(secs["asset_class"])
    v["multiplier"] = v["security_id"].map(secs["price_multiplier"]).astype("float64").fillna(1.0)
    v = v.merge(fx.rename(columns={"rate_date": "nav_date"}), on=["nav_date", "currency"], how="left")
    v["market_value_local"] = v["quantity"] * v["price"] * v["multiplier"]
    v["accrued_interest_per_nominal"] = accrued_interest_per_nominal(securities, v.rename(columns={"nav_date": "price_date"})[["security_id", "price_date"]])
    v["accrued_interest_local"] = v["quantity"] * v["accrued_interest_per_nominal"]
    v["market_value_base"] = v["market_value_local"] * v["rate_to_base"]
    v["accrued_interest_base"] = v["accrued_interest_local"] * v["rate_to_base"]
    return v
