"""Positions and their valuation on every NAV date: trade-date holdings rolled from the opening
book (trades on trade date, splits and stock dividends on ex-date), average cost and realised /
unrealised P&L, market value and accrued interest in local and base currency.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.nav.accruals import accrued_interest_per_nominal


def to_valuation_date(dates: pd.Series, valuation_dates: list[dt.date]) -> pd.Series:
    """The first NAV date on or after each date (what happens on a non-NAV day counts at the next NAV)."""
    grid = np.array(sorted(pd.to_datetime(valuation_dates)), dtype="datetime64[ns]")
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    pos = np.searchsorted(grid, values, side="left")
    out = np.where(pos < len(grid), grid[np.minimum(pos, len(grid) - 1)], np.datetime64("NaT"))
    out = np.where(pd.isna(values), grid[0], out)  # undated rows (the opening) belong to the first date
    return pd.Series(pd.to_datetime(out), index=dates.index)


def holdings_by_date(movements: pd.DataFrame, valuation_dates: list[dt.date]) -> pd.DataFrame:
    """Trade-date quantity per account and security on every NAV date (zero rows dropped).

    ``movements``: ``roll_positions`` movements (opening rows undated). Columns: nav_date, fund,
    account, security_id, quantity.
    """
    keys = ["fund", "account", "security_id"]
    mv = movements.assign(nav_date=to_valuation_date(movements["effective_date"], valuation_dates)).dropna(subset=["nav_date"])
    daily = mv.groupby(keys + ["nav_date"], as_index=False)["quantity"].sum()
    grid = daily[keys].drop_duplicates().merge(pd.DataFrame({"nav_date": pd.to_datetime(sorted(valuation_dates)).astype("datetime64[ns]")}), how="cross")
    daily["nav_date"] = daily["nav_date"].astype("datetime64[ns]")
    grid["nav_date"] = grid["nav_date"].astype("datetime64[ns]")
    full = grid.merge(daily, on=keys + ["nav_date"], how="left").fillna({"quantity": 0.0}).sort_values(keys + ["nav_date"])
    full["quantity"] = full.groupby(keys)["quantity"].cumsum()
    full = full[full["quantity"].abs() > 1e-9]
    return full[["nav_date"] + keys + ["quantity"]].reset_index(drop=True)


def average_cost_and_pnl(opening_positions: pd.DataFrame, movements: pd.DataFrame, trades: pd.DataFrame) -> pd.DataFrame:
    """Average cost per security (local currency, per unit as quoted: per share, per 100 nominal)
    over the movements of ``roll_positions``, and the realised P&L of sales against it
    (average-cost method: buys add their gross price to the cost pool, sales release it at the
    average cost, a split or stock dividend changes the quantity but not the cost).

    Columns: security_id, quantity, average_cost, book_cost, realised_pnl.
    """
    open_ = opening_positions.groupby("security_id").agg(quantity=("quantity", "sum"), cost=("average_cost", "first"))
    state = {sid: [q, q * c, 0.0] for sid, q, c in zip(open_.index, open_["quantity"], open_["cost"])}
    price = trades.set_index("trade_id")["price"]
    side = trades.set_index("trade_id")["side"]
    moves = movements[movements["source"].ne("opening")].sort_values(["effective_date", "reference"])
    for sid, source, ref, qty in zip(moves["security_id"], moves["source"], moves["reference"], moves["quantity"]):  # order matters for cost
        q, c, r = state.get(sid, [0.0, 0.0, 0.0])
        if source != "trade":
            q += qty
        elif side.get(ref) == "BUY":
            q, c = q + qty, c + qty * price[ref]
        else:
            avg = c / q if q else 0.0
            r += -qty * (price[ref] - avg)
            q, c = q + qty, c + qty * avg
        state[sid] = [q, c, r]
    out = pd.DataFrame([(sid, *v) for sid, v in state.items()], columns=["security_id", "quantity", "book_cost", "realised_pnl"])
    out["average_cost"] = out["book_cost"] / out["quantity"].where(out["quantity"].abs() > 1e-9)
    return out[["security_id", "quantity", "average_cost", "book_cost", "realised_pnl"]]


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
