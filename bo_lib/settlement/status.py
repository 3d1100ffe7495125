"""Settlement status of the fund's instructions: our trades joined with the custodian's status feed
(MT548 / sese.024 style), each instruction matched or unmatched and pending, failing or settled,
with its reason code; fails aged in business days on the market's settlement calendar since the
intended settlement date; fails by reason, counterparty, market, currency and age bucket; and
counterparty fail rates over a look-back window.

Pure functions over DataFrames (no I/O). Amounts are the instruction currency's unless the
column says ``_base`` (the fund's base currency at the business date's fixings, ``bo_lib.fx.rate_to_base``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.fx import rate_to_base
from bo_lib.money import round_half_up_array

SETTLED, PENDING, FAILING = "settled", "pending", "failing"
NOT_REPORTED, NOT_IN_BOOKS = "not reported by custodian", "not in our books"
#: custodian settlement statuses that mean "past its intended date and not (fully) settled"
FAILING_STATUSES = ("PENF", "PART")
#: age buckets in business days since intended settlement (0: failed on its intended date, today)
AGE_BUCKETS = ("0", "1", "2-3", "4-5", "6-10", ">10")
_AGE_EDGES = [-0.5, 0.5, 1.5, 3.5, 5.5, 10.5, np.inf]
#: what each reason code says, for the report (ISO 20022 / MT548 pending and failing reasons)
REASON_TEXT = {
    "LACK": "lack of securities (our side)", "CLAC": "counterparty lacks securities", "MONY": "insufficient money (our side)",
    "CMON": "counterparty insufficient money", "CYCL": "awaiting next settlement cycle", "BOTH": "both instructions on hold",
    "CMIS": "counterparty instruction missing (unmatched)", "NCON": "no confirmation", "PRCY": "counterparty instruction on hold",
    "DDAT": "settlement date differs", "DEPO": "deal price differs", "SBLO": "securities blocked", "LATE": "market deadline missed",
    "FUTU": "awaiting settlement date", "NARR": "see narrative", "OTHR": "other",
}

REPORT_COLUMNS = [
    "trade_id", "account", "counterparty", "security_id", "isin", "name", "asset_class", "market", "currency", "side", "movement",
    "quantity", "settled_quantity", "unsettled_quantity", "settlement_amount", "settled_amount", "unsettled_amount",
    "unsettled_amount_base", "trade_date", "intended_settlement_date", "effective_settlement_date", "match_status",
    "settlement_status", "reason_code", "reason", "state", "partial", "age_business_days", "age_bucket", "csdr_in_scope",
    "csdr_category", "price_multiplier",
]


def custody_instructions(trades: pd.DataFrame, securities: pd.DataFrame) -> pd.DataFrame:
    """The settlement instructions our trades give the custodian: every trade but listed options
    (they clear at the broker, no custodian instruction), with market, CSDR category and counterparty."""
    sec = securities[["security_id", "name", "asset_class", "mic", "csdr_category", "price_multiplier"]].rename(columns={"mic": "market"})
    out = trades.merge(sec, on="security_id", how="left").rename(columns={"broker_id": "counterparty"})
    return out[out["asset_class"].ne("option")].reset_index(drop=True)


def age_bucket(age: pd.Series) -> pd.Series:
    """Business-day age -> bucket label (``AGE_BUCKETS``), ordered categorical."""
    return pd.cut(age, _AGE_EDGES, labels=list(AGE_BUCKETS)).astype(pd.CategoricalDtype(list(AGE_BUCKETS), ordered=True))


def settlement_report(instructions: pd.DataFrame, status_history: pd.DataFrame, business_date: dt.date,
                      closures: pd.DataFrame | None = None, fx_rates: pd.DataFrame | None = None,
                      base_currency: str = "USD") -> pd.DataFrame:
    """One row per open or just-settled instruction on ``business_date``.

    Expected in the day's status feed: every instruction traded by the business date whose
    settlement date is today or later, and every earlier one the custodian has not reported
    settled. Rows the feed has and our books do not are shown as ``not in our books``; our
    instructions the feed lacks as ``not reported by custodian``. Instructions the custodian
    reported settled on an earlier date are done and left out.
    """
    bd = pd.Timestamp(business_date)
    history = status_history[status_history["status_date"] <= bd]
    today = history[history["status_date"] == bd]
    settled_before = set(history.loc[history["status_date"].lt(bd) & history["settlement_status"].eq("SETT"), "client_reference"])
    first_feed = history["status_date"].min() if len(history) else bd
    mine = instructions[instructions["trade_date"].le(bd)]
    expected = mine[mine["settlement_date"].ge(bd) | mine["trade_id"].isin(today["client_reference"])
                    | (mine["settlement_date"].ge(first_feed) & ~mine["trade_id"].isin(settled_before))]
    feed = today.rename(columns={"client_reference": "trade_id", "account": "feed_account", "isin": "feed_isin",
                                 "quantity": "feed_quantity", "currency": "feed_currency", "trade_date": "feed_trade_date"})
    joined = expected.merge(feed, on="trade_id", how="outer", indicator=True)
    in_books = joined["_merge"].ne("right_only")
    in_feed = joined["_merge"].ne("left_only")
    joined["account"] = joined["account"].where(in_books, joined["feed_account"])
    joined["isin"] = joined["isin"].where(in_books, joined["feed_isin"])
    joined["quantity"] = joined["quantity"].where(in_books, joined["feed_quantity"])
    joined["currency"] = joined["currency"].where(in_books, joined["feed_currency"])
    joined["trade_date"] = joined["trade_date"].where(in_books, joined["feed_trade_date"])
    joined["settlement_amount"] = joined["net_amount"].where(in_books, joined["settlement_amount"])
    joined["intended_settlement_date"] = joined["settlement_date"].where(in_books, joined["intended_settlement_date"])
    joined["side"] = joined["side"].where(in_books, np.where(joined["movement"].isin(["RVP", "RFP"]), "BUY", "SELL"))
    joined["movement"] = joined["movement"].where(in_feed, np.where(joined["side"].eq("BUY"), "RVP", "DVP"))
    joined["settled_quantity"] = joined["settled_quantity"].where(in_feed, 0.0).astype("float64")
    joined["settled_amount"] = joined["settled_amount"].where(in_feed, 0.0).astype("float64")
    joined["reason_code"] = joined["reason_code"].fillna("").astype(str)

    past_due = joined["intended_settlement_date"].le(bd)
    status = joined["settlement_status"].fillna("")
    failing = in_feed & (status.isin(FAILING_STATUSES) | (status.eq("PEND") & past_due))
    joined["state"] = np.select(
        [~in_books, ~in_feed, status.eq("SETT"), failing], [NOT_IN_BOOKS, NOT_REPORTED, SETTLED, FAILING], default=PENDING)
    joined["unsettled_quantity"] = (joined["quantity"] - joined["settled_quantity"]).where(joined["state"].ne(SETTLED), 0.0)
    joined["unsettled_amount"] = round_half_up_array((joined["settlement_amount"] - joined["settled_amount"]).where(joined["state"].ne(SETTLED), 0.0), 2)
    joined["partial"] = joined["state"].eq(FAILING) & joined["settled_quantity"].gt(0)
    joined["reason"] = joined["reason_code"].map(REASON_TEXT).fillna("")

    age = pd.Series(np.nan, index=joined.index)
    aged = joined["state"].isin([FAILING, NOT_REPORTED]) & past_due & joined["market"].notna()
    if aged.any():
        age[aged] = calendars.business_days_elapsed(joined[aged], "intended_settlement_date", business_date, closures)
    joined["age_business_days"] = age.astype("Int64")
    joined["age_bucket"] = age_bucket(age)
    region = pd.Series("", index=joined.index)
    known = joined["market"].notna()
    region[known] = calendars.settlement_regions(joined[known])
    joined["csdr_in_scope"] = region.eq("EU") & joined["currency"].eq("EUR")
    rate = rate_to_base(joined["currency"], fx_rates, base_currency) if fx_rates is not None else pd.Series(np.nan, index=joined.index)
    joined["unsettled_amount_base"] = round_half_up_array(joined["unsettled_amount"] * rate, 2)
    order = joined["state"].map({NOT_IN_BOOKS: 0, NOT_REPORTED: 1, FAILING: 2, PENDING: 3, SETTLED: 4})
    joined = joined.assign(_order=order).sort_values(["_order", "age_business_days", "trade_id"], ascending=[True, False, True])
    return joined.reindex(columns=REPORT_COLUMNS).reset_index(drop=True)


def fails(report: pd.DataFrame) -> pd.DataFrame:
    """The failing instructions, oldest first."""
    return report[report["state"].eq(FAILING)].reset_index(drop=True)


def fails_by(report: pd.DataFrame, by: str) -> pd.DataFrame:
    """Fails counted and valued (base currency) by ``by``: reason_code, counterparty, market, currency."""
    failing = fails(report)
    grouped = failing.groupby(by, observed=True).agg(fails=("trade_id", "size"), unsettled_amount_base=("unsettled_amount_base", "sum"),
                                                     oldest_business_days=("age_business_days", "max"))
    return grouped.sort_values(["fails", "unsettled_amount_base"], ascending=False).reset_index()


def age_profile(report: pd.DataFrame) -> pd.DataFrame:
    """Fails by age bucket (every bucket shown, empty ones as zero)."""
    failing = fails(report)
    grouped = failing.groupby("age_bucket", observed=False).agg(fails=("trade_id", "size"), unsettled_amount_base=("unsettled_amount_base", "sum"))
    return grouped.reindex(list(AGE_BUCKETS), fill_value=0).rename_axis("age_bucket").reset_index()


def counterparty_fail_rates(status_history: pd.DataFrame, instructions: pd.DataFrame, business_date: dt.date, days: int = 20,
                            counterparties: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per counterparty, of the instructions due to settle over the last ``days`` status deliveries
    up to the business date: how many were due, how many failed on their intended settlement date
    (the custodian's report of that date is not ``SETT``), and the fail rate in percent."""
    bd = pd.Timestamp(business_date)
    dates = np.sort(status_history.loc[status_history["status_date"].le(bd), "status_date"].unique())[-days:]
    due = status_history[status_history["status_date"].isin(dates) & status_history["intended_settlement_date"].eq(status_history["status_date"])]
    due = due.merge(instructions[["trade_id", "counterparty"]], left_on="client_reference", right_on="trade_id", how="left")
    due["counterparty"] = due["counterparty"].fillna("(not in our books)")
    due["failed"] = due["settlement_status"].ne("SETT")
    rates = due.groupby("counterparty").agg(instructions_due=("client_reference", "size"), failed_on_due_date=("failed", "sum"))
    rates["fail_rate_pct"] = (rates["failed_on_due_date"] / rates["instructions_due"] * 100).round(1)
    rates = rates.reset_index()
    if counterparties is not None and len(counterparties):
        rates.insert(1, "counterparty_name", rates["counterparty"].map(dict(zip(counterparties["counterparty_id"], counterparties["name"]))).fillna(""))
    window = f"{pd.Timestamp(dates[0]).date()}..{pd.Timestamp(dates[-1]).date()}" if len(dates) else ""
    return rates.assign(window=window).sort_values(["fail_rate_pct", "instructions_due"], ascending=False).reset_index(drop=True)
