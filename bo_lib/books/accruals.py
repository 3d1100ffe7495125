"""Income accruals: bond interest accrued by each bond's day-count convention (on QuantLib via
``daycount``; the ex-coupon period in business days of the bond's payment calendar), and the
income entitlements of corporate actions (cash dividends net of the fund's withholding-tax rate,
coupons) receivable from ex-date to pay date, with the market claims of trades crossing the
record date. Expense accruals (fees) are in
``fees``; the roll-forward of every accrual (opening + accrued - paid = closing) is here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.daycount import accrued_interest
from bo_lib.money import half_up

BOND_CLASSES = ("government_bond", "corporate_bond")


def ex_coupon_days(bond: pd.Series) -> int:
    """A bond's ex-coupon period in business days of its currency's payment calendar (0: none)."""
    days = bond.get("ex_coupon_days")
    return int(days) if days is not None and pd.notna(days) else 0


def _ex_coupon_days_of(securities: pd.DataFrame) -> pd.Series:
    column = securities["ex_coupon_days"] if "ex_coupon_days" in securities else pd.Series(0, index=securities.index)
    return pd.Series(pd.to_numeric(column, errors="coerce").fillna(0).to_numpy(), index=securities["security_id"])


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
                                             int(b["coupon_frequency"]), str(b["day_count"]), ex_coupon_days(b),
                                             calendars.calendar_for(calendars.OTC_MARKET, str(b["currency"])))
    keys = list(zip(pairs["security_id"], pairs["price_date"]))
    return pd.Series([values.get(k, 0.0) for k in keys], index=pairs.index, dtype="float64")


def holdings_before(movements: pd.DataFrame, fund: str, security_ids: pd.Series, dates: pd.Series) -> np.ndarray:
    """Trade-date holding of each (security, date) at the close before ``date`` (the economic
    entitlement: whoever held at the close before the ex-date), summed over the fund's accounts,
    from ``roll_positions`` movements (opening rows have no date)."""
    mv = movements[movements["fund"].eq(fund)]
    out = np.zeros(len(security_ids))
    for i, (sid, on) in enumerate(zip(security_ids, pd.to_datetime(dates))):  # one per event: a handful
        rows = mv[mv["security_id"].eq(sid)]
        out[i] = rows.loc[rows["effective_date"].isna() | rows["effective_date"].lt(on), "quantity"].sum()
    return out


INCOME = "income"
MARKET_CLAIM = "market claim"
INCOME_COLUMNS = ["event_id", "event_type", "kind", "trade_id", "counterparty", "security_id", "currency", "ex_date", "record_date", "pay_date",
                  "recognised_on", "holding", "gross_rate", "withholding_tax_pct", "gross_amount", "withholding_tax", "net_amount"]


def market_claims(events: pd.DataFrame, pending_trades: pd.DataFrame | None) -> pd.DataFrame:
    """The trades that make the holder of record differ from the entitled holder, per event.

    A trade made before the ex-date (cum) that settles after the record date leaves the seller on
    the register: the seller is paid and owes the buyer the income (a market claim). A trade made
    on or after the ex-date that settles by the record date puts the buyer on the register without
    the entitlement (a reverse claim). Columns: event_id, trade_id, counterparty, claim_quantity
    (positive: the fund claims the income from the counterparty; negative: the fund owes it) and
    claim_pay_date (the event's pay date, or the trade's settlement when later: a claim settles
    with its trade). ``pending_trades``: the fund's trades not settled at the close before the recognition (and the
    day's), with trade_date, settlement_date, side, quantity, security_id, trade_id, broker_id.
    """
    cols = ["event_id", "trade_id", "counterparty", "claim_quantity", "claim_pay_date"]
    if pending_trades is None or pending_trades.empty or events.empty:
        return pd.DataFrame(columns=cols)
    t = pending_trades.assign(trade_date=pd.to_datetime(pending_trades["trade_date"]), settlement_date=pd.to_datetime(pending_trades["settlement_date"]))
    t = t.assign(signed=np.where(t["side"].eq("BUY"), 1.0, -1.0) * t["quantity"].astype("float64"))
    pairs = events[["event_id", "security_id", "ex_date", "record_date", "pay_date"]].merge(t, on="security_id", how="inner")
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    ex, record = pd.to_datetime(pairs["ex_date"]), pd.to_datetime(pairs["record_date"]).fillna(pd.to_datetime(pairs["ex_date"]))
    cum_late = pairs["trade_date"].lt(ex) & pairs["settlement_date"].gt(record)
    ex_early = pairs["trade_date"].ge(ex) & pairs["settlement_date"].le(record)
    claims = pairs[cum_late | ex_early]
    # a cum buy settling late: the fund is entitled, not on the register -> claims from the seller (+);
    # an ex buy on the register by the record date: the seller is entitled -> the fund owes (-)
    quantity = np.where(cum_late[cum_late | ex_early], claims["signed"], -claims["signed"])
    return pd.DataFrame({"event_id": claims["event_id"].to_numpy(), "trade_id": claims["trade_id"].to_numpy(),
                         "counterparty": claims["broker_id"].fillna("").to_numpy() if "broker_id" in claims else "",
                         "claim_quantity": quantity,
                         # a claim is paid on the pay date, or when its trade settles if that is later
                         "claim_pay_date": np.maximum(pd.to_datetime(claims["pay_date"]).to_numpy(), claims["settlement_date"].to_numpy())})


def income_entitlements(corporate_actions: pd.DataFrame, movements: pd.DataFrame, fund: str, securities: pd.DataFrame,
                        withholding_tax_pct: dict[str, float], valuation_dates: list[dt.date],
                        pending_trades: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cash income the fund is entitled to from the corporate-actions feed: dividends (DVCA) net of
    the fund's withholding-tax rate for the issuer's country, coupons (INTR) per 100 of nominal.

    The issuer pays the holder of record: the settled holding at the record date. The fund is
    entitled on its trade-date holding at the close before the ex-date, which differs by the trades
    crossing the record date (``market_claims``). So each event gives an ``income`` row on the
    holding of record (what the custodian pays) and a ``market claim`` row per crossing trade (what
    a counterparty owes the fund, or the fund owes it); together they are the entitlement. A bond
    with an ex-coupon period (UK gilts, record date the business day before the ex-date) trades ex
    by settlement date: a trade settling after the record date was priced ex (negative accrued
    interest), so the coupon is the holder of record's and there is no claim.

    Recognised on the first valuation date on or after the ex-date (income in the NAV), receivable
    until the pay date. Amounts are rounded half-up to cents per row. Columns: ``INCOME_COLUMNS``.
    """
    if corporate_actions is None or corporate_actions.empty:
        return pd.DataFrame(columns=INCOME_COLUMNS)
    ev = corporate_actions[corporate_actions["event_type"].isin(["DVCA", "INTR"])]
    if "event_status" in ev:
        ev = ev[ev["event_status"].ne("CANC")]
    if "record_date" not in ev:
        ev = ev.assign(record_date=ev["ex_date"])
    valuation = np.array(sorted(pd.to_datetime(valuation_dates)), dtype="datetime64[ns]")
    pos = np.searchsorted(valuation, pd.to_datetime(ev["ex_date"]).to_numpy(dtype="datetime64[ns]"), side="left")
    ev = ev.assign(recognised_on=[pd.Timestamp(valuation[p]) if p < len(valuation) else pd.NaT for p in pos]).dropna(subset=["recognised_on"])
    if ev.empty:
        return pd.DataFrame(columns=INCOME_COLUMNS)
    ev = ev.assign(entitled=holdings_before(movements, fund, ev["security_id"], ev["ex_date"]))
    claims = market_claims(ev, pending_trades)
    claimed = claims.groupby("event_id")["claim_quantity"].sum()
    income = ev.assign(kind=INCOME, trade_id="", counterparty="", holding=ev["entitled"] - ev["event_id"].map(claimed).fillna(0.0))
    # a bond with an ex-coupon period (the gilts) trades ex by settlement date: whoever is on the
    # register at the record date has the coupon, the crossing trade was priced ex, nothing to claim
    by_settlement = set(ev.loc[ev["security_id"].map(_ex_coupon_days_of(securities)).gt(0), "event_id"])
    claims = claims[~claims["event_id"].isin(by_settlement)]
    claim_rows = claims.merge(ev.drop(columns=["entitled"]), on="event_id").rename(columns={"claim_quantity": "holding"}).assign(kind=MARKET_CLAIM)
    claim_rows = claim_rows.assign(pay_date=claim_rows["claim_pay_date"]).drop(columns="claim_pay_date")
    rows = pd.concat([income, claim_rows], ignore_index=True) if len(claim_rows) else income
    rows = rows[rows["holding"].ne(0)].copy()
    country = rows["security_id"].map(securities.set_index("security_id")["country"])
    is_dividend = rows["event_type"].eq("DVCA")
    rows["withholding_tax_pct"] = np.where(is_dividend, country.map(lambda c: withholding_tax_pct.get(c, 0.0)).astype(float), 0.0)
    per_unit = np.where(is_dividend, rows["gross_rate"], rows["gross_rate"] / 100.0)
    rows["gross_amount"] = half_up(rows["holding"] * per_unit, 2)
    rows["net_amount"] = half_up(rows["holding"] * per_unit * (1 - rows["withholding_tax_pct"] / 100.0), 2)
    rows["withholding_tax"] = rows["gross_amount"] - rows["net_amount"]
    return rows.reindex(columns=INCOME_COLUMNS).sort_values(["event_id", "kind", "trade_id"]).reset_index(drop=True)


def accrual_rollforward(accruals: pd.DataFrame) -> pd.DataFrame:
    """Opening + accrued - paid = closing per accrual and date, with the check column.

    ``accruals``: nav_date, accrual, accrued, paid, closing (closing as carried in the books).
    Adds opening (the previous closing) and difference (closing - (opening + accrued - paid)).
    """
    out = accruals.sort_values(["accrual", "nav_date"]).copy()
    out["opening"] = out.groupby("accrual")["closing"].shift().fillna(out["closing"] - out["accrued"] + out["paid"])
    out["difference"] = out["closing"] - (out["opening"] + out["accrued"] - out["paid"])
    return out[["nav_date", "accrual", "opening", "accrued", "paid", "closing", "difference"]].reset_index(drop=True)
