"""NAV explain: each share class's change in net assets from one NAV to the next, decomposed into
capital activity, market moves, FX, income, expenses (transaction costs, fixed fees) and the class's
own fees (management, performance), with the residual that is left unexplained.

The common pool's result (market, FX, income, expenses) is shared by the classes in the proportion
the NAV used to split it (``pool_share``), so the residual only shows what the books' flows do not
account for in the balance sheet (a cash movement nobody booked, a price without a position...). It
must be near zero: below one cent per share.
"""

from __future__ import annotations

import pandas as pd

COMPONENTS = ["capital_activity", "market", "fx", "income", "expenses", "fees"]


def nav_explain(class_nav: pd.DataFrame, pool_flows: pd.DataFrame) -> pd.DataFrame:
    """Per NAV date and share class: opening net assets, the components, residual, closing, and
    the residual per share. ``class_nav`` and ``pool_flows`` as ``compute_nav`` returns them."""
    nav = class_nav.sort_values(["share_class", "nav_date"]).copy()
    nav["opening_net_assets"] = nav.groupby("share_class")["net_assets"].shift()
    nav = nav.dropna(subset=["opening_net_assets"]).merge(pool_flows, on="nav_date", how="left")
    out = pd.DataFrame({"nav_date": nav["nav_date"], "share_class": nav["share_class"], "opening_net_assets": nav["opening_net_assets"]})
    out["capital_activity"] = nav["capital_activity"]
    for component in ("market", "fx", "income", "expenses"):
        out[component] = nav[component] * nav["pool_share"]
    out["fees"] = -(nav["management_fee_charge"] + nav["performance_fee_charge"])
    out["closing_net_assets"] = nav["net_assets"]
    out["residual"] = out["closing_net_assets"] - out["opening_net_assets"] - out[COMPONENTS].sum(axis=1)
    out["units_outstanding"] = nav["units_outstanding"]
    out["residual_per_share"] = out["residual"] / nav["units_outstanding"]
    return out.sort_values(["nav_date", "share_class"]).reset_index(drop=True)


def explain_steps(explain: pd.DataFrame, nav_date, share_class: str) -> pd.DataFrame:
    """One class's explain on one date as waterfall steps: opening, each component, residual, closing."""
    row = explain[(explain["nav_date"] == pd.Timestamp(nav_date)) & (explain["share_class"] == share_class)].iloc[0]
    labels = ["opening net assets", "capital activity", "market", "FX", "income", "expenses", "fees", "residual", "closing net assets"]
    keys = ["opening_net_assets"] + COMPONENTS + ["residual", "closing_net_assets"]
    kinds = ["absolute"] + ["relative"] * 7 + ["total"]
    return pd.DataFrame({"step": labels, "amount": [float(row[k]) for k in keys], "measure": kinds})
