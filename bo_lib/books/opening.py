"""The books' first state: the quarter-end opening book (positions with average cost, cash, share
classes with units, NAV per share, net assets, high-water marks and accrued performance fees)
valued at the opening prices and FX. Used only when a fund has no state yet.

The opening book declares each class's net assets; the books value the same positions and cash at
the opening prices. The two differ by the cents the opening cash was rounded to: the difference
is spread over the classes pro rata (and said in the state's notes), so the first day's result is
measured against what the books hold.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.books.state import BookState, make_state
from bo_lib.books.valuation import opening_cost_basis, value_positions
from bo_lib.fx import rates_to_base_by_date
from bo_lib.parameters import FundParameters
from bo_lib.prices import as_ns, select_prices, valuation_prices


def opening_state(fund: FundParameters, opening: dict[str, pd.DataFrame], opened_on: dt.date, securities: pd.DataFrame,
                  price_overrides: pd.DataFrame | None = None) -> BookState:
    """The state at the close of the opening date from the opening datasets of ``fund``
    (``opening_positions``, ``opening_cash``, ``opening_share_classes``, ``opening_prices``, ``opening_fx_rates``)."""
    base = fund.base_currency
    day = pd.Timestamp(opened_on)
    positions = opening["opening_positions"]
    cash = opening["opening_cash"]
    declared = opening["opening_share_classes"].set_index("share_class")
    chosen = select_prices(opening["opening_prices"], securities, fund.pricing.hierarchy, price_overrides)
    held = positions.assign(nav_date=day)[["nav_date", "fund", "account", "security_id", "quantity"]]
    prices = valuation_prices(chosen, held[["nav_date", "security_id"]].rename(columns={"nav_date": "price_date"}), [day])
    currencies = sorted(set(securities.loc[securities["security_id"].isin(positions["security_id"]), "currency"]) | set(cash["currency"]) | {base})
    fx = rates_to_base_by_date(opening["opening_fx_rates"], base, currencies)
    fx = fx[fx["rate_date"].eq(as_ns(pd.Series([day])).iloc[0])]
    valuation = value_positions(held, prices, fx, securities)
    rate = fx.set_index("currency")["rate_to_base"]
    invested = float((valuation["market_value_base"] + valuation["accrued_interest_base"]).sum())
    pool = invested + float((cash["balance"] * cash["currency"].map(rate)).sum())
    codes = [c.code for c in fund.share_classes]
    stated = sum(float(declared.at[c, "net_assets"]) + _value(declared.at[c, "performance_fee_accrued"]) for c in codes if c in declared.index)
    scale = pool / stated if stated else 1.0
    classes = pd.DataFrame([{
        "share_class": c, "units": float(declared.at[c, "units_outstanding"]),
        "gross": (float(declared.at[c, "net_assets"]) + _value(declared.at[c, "performance_fee_accrued"])) * scale,
        "management_fee_accrued": 0.0, "performance_fee_accrued": _value(declared.at[c, "performance_fee_accrued"]),
        "performance_fee_payable": 0.0, "high_water_mark": float(declared.at[c, "high_water_mark"]) if pd.notna(declared.at[c, "high_water_mark"]) else np.nan,
        "nav_per_share": float(declared.at[c, "nav_per_share"]), "net_assets": float(declared.at[c, "net_assets"]),
    } for c in codes if c in declared.index])
    note = (f"opening: the books value the quarter-end book at {pool:,.2f} {base} against class net assets (plus accrued "
            f"performance fees) of {stated:,.2f}: difference {pool - stated:,.2f} spread pro rata")
    used = prices.groupby("security_id", as_index=False).agg(price=("price", "first"), source=("source", "first"), price_as_of=("price_as_of", "first"))
    totals = valuation.groupby("currency", as_index=False)[["market_value_local", "accrued_interest_local"]].sum()
    return make_state(
        fund.fund_code, opened_on, origin="opening", notes=[note],
        positions=positions[["account", "security_id", "quantity"]], settled_positions=positions[["account", "security_id", "quantity"]],
        cost_basis=opening_cost_basis(positions), cash=cash[["account", "currency", "balance"]], classes=classes,
        fund_balances=pd.DataFrame([{"fixed_fees_payable": 0.0, "pool_after_dealing": pool, "opened_on": day}]),
        prices=used, valuation=totals, fx=fx[["currency", "rate_to_base"]], class_day=classes.assign(
            units_opening=classes["units"], units_subscribed=0.0, units_redeemed=0.0, units_outstanding=classes["units"],
            gross_assets=classes["gross"], performance_fee_crystallised=0.0, net_assets_before_dealing=classes["net_assets"],
            capital_activity=0.0, management_fee_charge=0.0, performance_fee_charge=0.0))


def _value(x) -> float:
    return float(x) if pd.notna(x) else 0.0
