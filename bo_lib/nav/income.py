"""Income controls of the NAV: each coupon against the interest the bond accrued for it, and the
market claims of trades crossing a record date.

The rule a coupon must meet: over a full coupon period the accrual builds up exactly the coupon,
so what the books recognise on a coupon's ex-date equals the entitled nominal x the coupon rate x
the period's fraction of a year by the bond's day count (``daycount.coupon_per_100``: rate /
frequency for ACT/ACT ICMA and 30/360, actual days / 360 or / 365 for ACT/360 and ACT/365F). A
coupon announced (or paid) at another amount makes the accrued interest and the income disagree,
and the NAV jumps on the coupon date: red, with the difference. On the pay date the cash the
custodian paid is compared with what is due on the holding of record.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.books.accruals import MARKET_CLAIM
from bo_lib.daycount import coupon_per_100, coupon_period
from bo_lib.rag import AMBER, GREEN, RED

#: a coupon within a cent of its accrued entitlement agrees (cents are rounded per row)
COUPON_TOLERANCE = 0.01

COUPON_COLUMNS = ["event_id", "security_id", "currency", "period_start", "coupon_date", "pay_date", "entitled_nominal", "day_count",
                  "coupon_per_100_accrued", "coupon_per_100_announced", "accrued_entitlement", "booked", "due_from_custodian",
                  "received", "difference", "received_difference", "rag", "detail"]


def _coupon_dates(bond: pd.Series, pay_date: pd.Timestamp) -> tuple[dt.date, dt.date]:
    """The coupon period (start, end] the coupon paid on ``pay_date`` belongs to (a coupon date on
    a weekend is paid on the next business day, up to a week later)."""
    maturity = pd.Timestamp(bond["maturity_date"]).date()
    on = min(pay_date.date() - dt.timedelta(days=6), maturity)
    return coupon_period(on, maturity, int(bond["coupon_frequency"]))


def coupon_check(income: pd.DataFrame, securities: pd.DataFrame, cash_ledger: pd.DataFrame, nav_date: dt.date) -> pd.DataFrame:
    """Each coupon (INTR) recognised or paid on ``nav_date``: what the books booked against what
    the bond accrued for it, and on its pay date what the custodian paid against what is due on
    the holding of record.

    ``income``: the NAV's income rows (``books.accruals.income_entitlements``: an income row on the
    holding of record, market-claim rows); ``cash_ledger``: the day's cash ledger (movement_type
    COUPON, reference = event id). Columns: ``COUPON_COLUMNS``.
    """
    d = pd.Timestamp(nav_date)
    coupons = income[income["event_type"].eq("INTR")] if len(income) else income
    if coupons.empty:
        return pd.DataFrame(columns=COUPON_COLUMNS)
    recognised = pd.to_datetime(coupons["recognised_on"]).eq(d)
    paying = pd.to_datetime(coupons["pay_date"]).eq(d)
    coupons = coupons[recognised | paying]
    bonds = securities.set_index("security_id")
    paid = cash_ledger[cash_ledger["movement_type"].eq("COUPON")].groupby("reference")["amount"].sum() if len(cash_ledger) else pd.Series(dtype="float64")
    rows = []
    for event_id, rows_of_event in coupons.groupby("event_id", sort=True):  # a handful of coupons a day
        first = rows_of_event.iloc[0]
        bond = bonds.loc[first["security_id"]]
        start, end = _coupon_dates(bond, pd.Timestamp(first["pay_date"]))
        nominal = float(rows_of_event["holding"].sum())
        accrued_rate = coupon_per_100(start, end, float(bond["coupon_rate"]), str(bond["day_count"]))
        entitlement = round(nominal * accrued_rate / 100.0, 2)
        booked = float(rows_of_event["net_amount"].sum())
        due = float(rows_of_event.loc[rows_of_event["kind"].ne(MARKET_CLAIM), "net_amount"].sum())
        is_paid = pd.Timestamp(first["pay_date"]) == d
        received = float(paid.get(event_id, 0.0)) if is_paid else np.nan
        difference = booked - entitlement
        received_difference = received - due if is_paid else np.nan
        problems = []
        if abs(difference) >= COUPON_TOLERANCE:
            problems.append(f"coupon {float(first['gross_rate']):.6f} per 100 booked, the bond's {bond['day_count']} accrual for "
                            f"{start:%Y-%m-%d} to {end:%Y-%m-%d} gives {accrued_rate:.6f}: {difference:+,.2f} {first['currency']} on "
                            f"{nominal:,.0f} nominal (the NAV moves by it on the coupon date)")
        if is_paid and abs(received_difference) >= COUPON_TOLERANCE:
            problems.append(f"custodian paid {received:,.2f}, due {due:,.2f} on the holding of record: {received_difference:+,.2f}")
        rows.append({"event_id": event_id, "security_id": first["security_id"], "currency": first["currency"], "period_start": pd.Timestamp(start),
                     "coupon_date": pd.Timestamp(end), "pay_date": pd.Timestamp(first["pay_date"]), "entitled_nominal": nominal,
                     "day_count": bond["day_count"], "coupon_per_100_accrued": accrued_rate, "coupon_per_100_announced": float(first["gross_rate"]),
                     "accrued_entitlement": entitlement, "booked": booked, "due_from_custodian": due, "received": received,
                     "difference": difference, "received_difference": received_difference, "rag": RED if problems else GREEN,
                     "detail": "; ".join(problems) or "coupon equals the interest accrued for the period"})
    return pd.DataFrame(rows, columns=COUPON_COLUMNS)


def market_claims_open(income: pd.DataFrame) -> pd.DataFrame:
    """The market claims among the NAV's income rows: what a counterparty owes the fund (positive)
    or the fund owes it (negative) for a trade crossing a record date, until the pay date."""
    cols = ["event_id", "event_type", "security_id", "trade_id", "counterparty", "holding", "currency", "ex_date", "record_date", "pay_date", "net_amount"]
    if income.empty or "kind" not in income:
        return pd.DataFrame(columns=cols)
    return income[income["kind"].eq(MARKET_CLAIM)].reindex(columns=cols).reset_index(drop=True)


def coupon_line(coupons: pd.DataFrame, base_currency: str) -> dict:
    """The NAV summary's line for the coupons recognised or paid today: red when one differs from
    its accrual or the custodian paid another amount than due."""
    check = "coupons against accrual"
    if coupons.empty:
        return {"check": check, "rag": GREEN, "count": 0, "detail": "no coupon recognised or paid today"}
    off = coupons[coupons["rag"].eq(RED)]
    if off.empty:
        return {"check": check, "rag": GREEN, "count": 0,
                "detail": f"{len(coupons)} coupon(s) today, each equal to the interest its bond accrued for the period"}
    return {"check": check, "rag": RED, "count": len(off),
            "detail": "; ".join(f"{x.event_id} ({x.security_id}): {x.detail}" for x in off.itertuples())}


def claims_line(claims: pd.DataFrame) -> dict:
    """The NAV summary's line for open market claims: amber while a claim is owed either way (it
    is chased with the counterparty until paid)."""
    check = "market claims"
    if claims.empty:
        return {"check": check, "rag": GREEN, "count": 0, "detail": "no trade crosses a record date: every entitlement is paid to the fund"}
    return {"check": check, "rag": AMBER, "count": len(claims),
            "detail": "; ".join(f"{x.trade_id} {x.counterparty} {'owes the fund' if x.net_amount > 0 else 'is owed'} "
                                f"{abs(x.net_amount):,.2f} {x.currency} on {abs(x.holding):,.0f} {x.security_id} ({x.event_id}, paid {pd.Timestamp(x.pay_date):%Y-%m-%d})"
                                for x in claims.itertuples())}
