"""The cash ladder: projected cash per cash account for the next N business days of the account
currency's payment calendar, from the latest bank statement closing balance plus what is due to
move: pending trade settlements (the books' contractual net amounts on their settlement dates),
subscriptions and redemptions on their settlement dates, and expected dividends and coupons on
their pay dates for what the fund holds. Failing trades are shown apart, as cash at risk on the
business date (they may settle any day). Projected overdrafts (balance < 0) are flagged.

The ladder balances by construction and is checked: opening + inflows + outflows = projected,
and each day opens at the previous day's projected balance. Pure functions over DataFrames.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.settlement.status import FAILING

TRADE, SUBSCRIPTION, REDEMPTION, DIVIDEND, COUPON = "trade settlement", "subscription", "redemption", "dividend", "coupon"
FLOW_COLUMNS = ["account", "currency", "value_date", "amount", "flow_type", "reference", "description"]
DEFAULT_DAYS = 5


def _fmt(values: pd.Series, pattern: str = "{:,.0f}") -> pd.Series:
    return values.map(pattern.format).astype(str)


def _account_by_currency(cash_accounts: pd.DataFrame) -> dict[str, str]:
    return dict(zip(cash_accounts["currency"], cash_accounts["account"]))


def expected_flows(trades: pd.DataFrame, capital_activity: pd.DataFrame, income: pd.DataFrame, cash_accounts: pd.DataFrame,
                   after: dt.date, until: dt.date, failing_trade_ids=()) -> pd.DataFrame:
    """Cash due to move on value dates in ``(after, until]``, signed (+ in, - out), per cash account
    of the flow's currency (``account`` empty where the fund has none: shown, never dropped).
    ``income``: the books' income due (dividends and coupons gone ex and not yet paid, and those
    going ex before they pay on the holding now: ``bo_lib.books.accruals.income_entitlements``
    columns). Failing trades are excluded (they are cash at risk, see :func:`at_risk`)."""
    lo, hi = pd.Timestamp(after), pd.Timestamp(until)
    account_of = _account_by_currency(cash_accounts)
    due = trades[trades["settlement_date"].gt(lo) & trades["settlement_date"].le(hi) & trades["trade_date"].le(lo)
                 & ~trades["trade_id"].isin(list(failing_trade_ids))]
    trade_flows = pd.DataFrame({
        "currency": due["currency"], "value_date": due["settlement_date"],
        "amount": np.where(due["side"].eq("SELL"), 1.0, -1.0) * due["net_amount"], "flow_type": TRADE, "reference": due["trade_id"],
        "description": due["side"].map({"SELL": "sale ", "BUY": "purchase "}).astype(str) + _fmt(due["quantity"]) + " " + due["security_id"],
    })
    orders = capital_activity[capital_activity["settlement_date"].gt(lo) & capital_activity["settlement_date"].le(hi)
                              & capital_activity["status"].ne("CANCELLED")]
    capital_flows = pd.DataFrame({
        "currency": orders["currency"], "value_date": orders["settlement_date"],
        "amount": np.where(orders["order_type"].eq("SUB"), 1.0, -1.0) * orders["amount"],
        "flow_type": np.where(orders["order_type"].eq("SUB"), SUBSCRIPTION, REDEMPTION), "reference": orders["order_id"],
        "description": orders["share_class"].radd("class ") + " " + orders["investor_id"],
    })
    held = income[pd.to_datetime(income["pay_date"]).gt(lo) & pd.to_datetime(income["pay_date"]).le(hi)]
    is_dividend = held["event_type"].eq("DVCA")
    income_flows = pd.DataFrame({
        "currency": held["currency"], "value_date": held["pay_date"], "amount": held["net_amount"].astype("float64"),
        "flow_type": np.where(is_dividend, DIVIDEND, COUPON), "reference": held["event_id"],
        "description": held["security_id"] + " " + _fmt(held["holding"])
        + (" shares, withholding " + _fmt(held["withholding_tax_pct"], "{:g}") + "%").where(is_dividend, " nominal"),
    })
    flows = pd.concat([f for f in (trade_flows, capital_flows, income_flows) if len(f)], ignore_index=True) if (
        len(trade_flows) or len(capital_flows) or len(income_flows)) else pd.DataFrame(columns=FLOW_COLUMNS[1:])
    flows["account"] = flows["currency"].map(account_of).fillna("")
    flows["value_date"] = pd.to_datetime(flows["value_date"])
    flows["amount"] = flows["amount"].astype("float64")
    return flows[FLOW_COLUMNS].sort_values(["account", "value_date", "reference"]).reset_index(drop=True)


def at_risk(report: pd.DataFrame, cash_accounts: pd.DataFrame) -> pd.DataFrame:
    """Failing instructions' unsettled cash per account: what moves if they settle (+ a failing
    sale's proceeds, - a failing purchase's cost)."""
    failing = report[report["state"].eq(FAILING)]
    return pd.DataFrame({
        "account": failing["currency"].map(_account_by_currency(cash_accounts)).fillna(""), "currency": failing["currency"],
        "amount": np.where(failing["side"].eq("SELL"), 1.0, -1.0) * failing["unsettled_amount"], "reference": failing["trade_id"],
        "reason_code": failing["reason_code"], "age_business_days": failing["age_business_days"],
    }).reset_index(drop=True)


LADDER_COLUMNS = ["account", "currency", "day", "date", "opening_balance", "inflows", "outflows", "projected_balance", "at_risk_in",
                  "at_risk_out", "worst_case_balance", "overdraft", "overdraft_if_fails_settle", "balance_date"]


def cash_ladder(balances: pd.DataFrame, flows: pd.DataFrame, risk: pd.DataFrame, business_date: dt.date, days: int = DEFAULT_DAYS) -> pd.DataFrame:
    """Per cash account (``balances``: account, currency, closing_date, closing_balance) and day
    0..``days`` of the currency's payment calendar (day 0 = the business date, opening at the
    statement's closing balance): inflows, outflows, projected balance. Flows dated on a day the
    payment system is closed count on the next ladder day. Cash at risk (failing trades) is shown
    on day 0 and carried: ``worst_case_balance`` assumes every failing purchase settles and no
    failing sale does. ``overdraft``: projected balance below zero."""
    rows = []
    for acct in balances.itertuples():  # one loop per cash account, a handful
        cal = calendars.calendar_for(calendars.OTC_MARKET, acct.currency)
        dates = pd.to_datetime(pd.Series(cal.offset_array(np.full(days + 1, np.datetime64(business_date, "D")), np.arange(days + 1))))
        dates.iloc[0] = pd.Timestamp(business_date)
        mine = flows[flows["account"].eq(acct.account)]
        slot = np.searchsorted(dates.to_numpy(), mine["value_date"].to_numpy(), side="left")
        # whole cents, so the ladder adds up exactly: opening + inflows + outflows = projected
        cents = np.rint(mine["amount"].to_numpy() * 100).astype(np.int64)
        ins = np.bincount(slot, weights=np.clip(cents, 0, None), minlength=days + 2)[: days + 1].astype(np.int64)
        outs = np.bincount(slot, weights=np.clip(cents, None, 0), minlength=days + 2)[: days + 1].astype(np.int64)
        projected = int(np.rint(acct.closing_balance * 100)) + np.cumsum(ins + outs)
        r = np.rint(risk.loc[risk["account"].eq(acct.account), "amount"].to_numpy() * 100).astype(np.int64)
        risk_in, risk_out = int(r.clip(0, None).sum()), int(r.clip(None, 0).sum())
        frame = pd.DataFrame({"account": acct.account, "currency": acct.currency, "day": np.arange(days + 1), "date": dates.dt.date,
                              "opening_balance": (projected - ins - outs) / 100, "inflows": ins / 100, "outflows": outs / 100,
                              "projected_balance": projected / 100, "at_risk_in": risk_in / 100, "at_risk_out": risk_out / 100,
                              "worst_case_balance": (projected + risk_out) / 100})
        frame["balance_date"] = acct.closing_date
        rows.append(frame)
    ladder = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=LADDER_COLUMNS)
    ladder["overdraft"] = ladder["projected_balance"].lt(0)
    ladder["overdraft_if_fails_settle"] = ladder["worst_case_balance"].lt(0)
    return ladder[LADDER_COLUMNS]


def ladder_breaks(ladder: pd.DataFrame, tolerance: float = 0.005) -> pd.DataFrame:
    """Rows where the ladder does not balance: opening + inflows + outflows != projected, or a
    day does not open at the previous day's projected balance (expected empty)."""
    arithmetic = (ladder["opening_balance"] + ladder["inflows"] + ladder["outflows"] - ladder["projected_balance"]).abs().gt(tolerance)
    previous = ladder.groupby("account")["projected_balance"].shift()
    chain = previous.notna() & (ladder["opening_balance"] - previous).abs().gt(tolerance)
    return ladder[arithmetic | chain]


def flows_beyond(flows: pd.DataFrame, ladder: pd.DataFrame) -> pd.DataFrame:
    """Flows with no ladder day: no cash account in their currency."""
    return flows[~flows["account"].isin(ladder["account"])]
