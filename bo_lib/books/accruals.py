"""Income accruals: bond interest accrued by each bond's day-count convention (on QuantLib via
``daycount``), and the income entitlements of corporate actions (cash dividends net of the fund's
withholding-tax rate, coupons) receivable from ex-date to pay date. Expense accruals (fees) are in
``fees``; the roll-forward of every accrual (opening + accrued - paid = closing) is here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.daycount import accrued_interest
from bo_lib.money import half_up

BOND_CLASSES = ("government_bond", "corporate_bond")


def accrued_interest_per_nominal(securities: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Accrued interest per 1 of nominal for each (security_id, price_date) pair of a bond, by the
    bond's coupon, frequency, day count and ex-coupon days. Negative inside an ex-coupon period.

    One QuantLib evaluation per bond and date (bonds x days, small), not per position.
    """
    bonds = securities[securities["asset_class"].isin(BOND_CLASSES)].set_index("security_id")
    unique = pairs[pairs["security_id"].isin(bonds.index)][["security_id", "price_date"]].drop_duplicates()
    values = {}
    for sid, on in unique.itertuples(index=False):
        b = bonds.loc[sid]
        values[(sid, on)] = accrued_interest(pd.Timestamp(on).date(), 1.0, float(b["coupon_rate"]), pd.Timestamp(b["maturity_date"]).date(),
                                             int(b["coupon_frequency"]), str(b["day_count"]),
                                             int(b["ex_coupon_days"]) if pd.notna(b["ex_coupon_days"]) else 0)
    keys = list(zip(pairs["security_id"], pairs["price_date"]))
    return pd.Series([values.get(k, 0.0) for k in keys], index=pairs.index, dtype="float64")


def holdings_before(movements: pd.DataFrame, fund: str, security_ids: pd.Series, dates: pd.Series) -> np.ndarray:
    """Trade-date holding of each (security, date) at the close before ``date`` (the entitlement),
    summed over the fund's accounts, from ``roll_positions`` movements (opening rows have no date)."""
    mv = movements[movements["fund"].eq(fund)]
    out = np.zeros(len(security_ids))
    for i, (sid, on) in enumerate(zip(security_ids, pd.to_datetime(dates))):  # one per event: a handful
        rows = mv[mv["security_id"].eq(sid)]
        out[i] = rows.loc[rows["effective_date"].isna() | rows["effective_date"].lt(on), "quantity"].sum()
    return out


def income_entitlements(corporate_actions: pd.DataFrame, movements: pd.DataFrame, fund: str, securities: pd.DataFrame,
                        withholding_tax_pct: dict[str, float], valuation_dates: list[dt.date]) -> pd.DataFrame:
    """Cash income the fund is entitled to from the corporate-actions feed: dividends (DVCA) net of
    the fund's withholding-tax rate for the issuer's country, coupons (INTR) per 100 of nominal.

    Recognised on the first valuation date on or after the ex-date (income in the NAV), receivable
    until the pay date (then cash at the bank). Amounts are rounded half-up to cents per event.
    Columns: event_id, event_type, security_id, currency, ex_date, pay_date, recognised_on, holding,
    gross_rate, withholding_tax_pct, gross_amount, withholding_tax, net_amount.
    """
    cols = ["event_id", "event_type", "security_id", "currency", "ex_date", "pay_date", "recognised_on", "holding", "gross_rate",
            "withholding_tax_pct", "gross_amount", "withholding_tax", "net_amount"]
    if corporate_actions is None or corporate_actions.empty:
        return pd.DataFrame(columns=cols)
    ev = corporate_actions[corporate_actions["event_type"].isin(["DVCA", "INTR"])]
    if "event_status" in ev:
        ev = ev[ev["event_status"].ne("CANC")]
    valuation = np.array(sorted(pd.to_datetime(valuation_dates)), dtype="datetime64[ns]")
    pos = np.searchsorted(valuation, pd.to_datetime(ev["ex_date"]).to_numpy(dtype="datetime64[ns]"), side="left")
    ev = ev.assign(recognised_on=[pd.Timestamp(valuation[p]) if p < len(valuation) else pd.NaT for p in pos]).dropna(subset=["recognised_on"])
    if ev.empty:
        return pd.DataFrame(columns=cols)
    ev = ev.assign(holding=holdings_before(movements, fund, ev["security_id"], ev["ex_date"]))
    ev = ev[ev["holding"].ne(0)].copy()
    country = ev["security_id"].map(securities.set_index("security_id")["country"])
    is_dividend = ev["event_type"].eq("DVCA")
    ev["withholding_tax_pct"] = np.where(is_dividend, country.map(lambda c: withholding_tax_pct.get(c, 0.0)).astype(float), 0.0)
    per_unit = np.where(is_dividend, ev["gross_rate"], ev["gross_rate"] / 100.0)
    ev["gross_amount"] = half_up(ev["holding"] * per_unit, 2)
    ev["net_amount"] = half_up(ev["holding"] * per_unit * (1 - ev["withholding_tax_pct"] / 100.0), 2)
    ev["withholding_tax"] = ev["gross_amount"] - ev["net_amount"]
    return ev[cols].reset_index(drop=True)


def accrual_rollforward(accruals: pd.DataFrame) -> pd.DataFrame:
    """Opening + accrued - paid = closing per accrual and date, with the check column.

    ``accruals``: nav_date, accrual, accrued, paid, closing (closing as carried in the books).
    Adds opening (the previous closing) and difference (closing - (opening + accrued - paid)).
    """
    out = accruals.sort_values(["accrual", "nav_date"]).copy()
    out["opening"] = out.groupby("accrual")["closing"].shift().fillna(out["closing"] - out["accrued"] + out["paid"])
    out["difference"] = out["closing"] - (out["opening"] + out["accrued"] - out["paid"])
    return out[["nav_date", "accrual", "opening", "accrued", "paid", "closing", "difference"]].reset_index(drop=True)
