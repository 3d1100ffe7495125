"""NAV controls a fund accountant signs off: the day-over-day NAV per share move, the shadow NAV
against the administrator's (difference per share and in % of NAV against the fund's materiality,
with the error's value and per-share impact, and its units outstanding against the administrator's),
the books' units against the dealing (the previous units plus the day's dealt orders of the
transfer agent's feed), the register's own rounding of each order, positions with no price,
negative positions or cash, suspense items in the cash ledger, coupons due with no coupon event, and
the red/amber/green summary that heads the NAV report.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.daycount import coupon_per_100, coupon_period
from bo_lib.rag import AMBER, GREEN, RED, worst_first

#: a shadow NAV within this % of the administrator's agrees (NAV per share rounding, fee accrual cents)
AGREEMENT_PCT = 0.01
#: the status of a class whose units outstanding differ from the administrator's
UNITS_DIFFER = "units differ"
#: the capital-activity status of an order the transfer agent dealt (PENDING and CANCELLED ones are not)
DEALT = "DEALT"


def units_differ(difference: pd.Series | np.ndarray, unit_decimals: int) -> np.ndarray:
    """Whether a units difference shows at the fund's unit decimals (half a unit of the last
    decimal or more: 0.001 at 3 decimals differs, float noise does not)."""
    return np.abs(np.asarray(difference, dtype="float64")) >= 0.5 * 10.0 ** -unit_decimals


def day_moves(class_nav: pd.DataFrame, day_move_pct: float) -> pd.DataFrame:
    """NAV per share move against the previous NAV per class and date, flagged beyond the fund's tolerance."""
    nav = class_nav.sort_values(["share_class", "nav_date"]).copy()
    nav["previous_nav_per_share"] = nav.groupby("share_class")["nav_per_share"].shift()
    nav["move_pct"] = (nav["nav_per_share"] / nav["previous_nav_per_share"] - 1) * 100
    nav = nav.dropna(subset=["previous_nav_per_share"])
    nav["tolerance_pct"] = day_move_pct
    nav["rag"] = np.where(nav["move_pct"].abs() > day_move_pct, RED, GREEN)
    return nav[["nav_date", "share_class", "previous_nav_per_share", "nav_per_share", "move_pct", "tolerance_pct", "rag"]].reset_index(drop=True)


def shadow_vs_administrator(class_nav: pd.DataFrame, admin_nav: pd.DataFrame, materiality_pct: float,
                            price_exception_impact: pd.DataFrame | None = None, *, unit_decimals: int) -> pd.DataFrame:
    """Shadow NAV per share and units outstanding against the administrator's, per class and date.

    difference_per_share = administrator - shadow; difference_pct in % of the shadow NAV per share;
    error_value = difference_per_share x units outstanding (what investors dealing at the
    administrator's price would be over- or under-charged in total). Status: ``agrees`` within
    AGREEMENT_PCT, ``immaterial`` up to the fund's materiality, ``material`` beyond it.
    units_difference = administrator's units - the books' units: one that shows at the fund's
    ``unit_decimals`` is red whatever the NAV per share does, status ``units differ`` (after the NAV
    status when that is not ``agrees``: ``material; units differ``): the register and the books do
    not hold the same investors' units.
    ``price_exception_impact`` (nav_date, impact_base): what today's pricing exceptions could move
    the fund's NAV by, shared by class assets: the part of a difference a known cause explains.
    """
    admin = admin_nav[["nav_date", "share_class", "nav_per_share", "units_outstanding", "net_assets"]].rename(columns={
        "nav_per_share": "administrator_nav_per_share", "units_outstanding": "administrator_units", "net_assets": "administrator_net_assets"})
    admin = admin.assign(nav_date=pd.to_datetime(admin["nav_date"]).astype("datetime64[ns]"))
    out = class_nav[["nav_date", "share_class", "nav_per_share", "units_outstanding", "net_assets_before_dealing", "net_assets"]].merge(
        admin, on=["nav_date", "share_class"], how="inner")
    out = out.rename(columns={"nav_per_share": "shadow_nav_per_share"})
    out["difference_per_share"] = out["administrator_nav_per_share"] - out["shadow_nav_per_share"]
    out["difference_pct"] = out["difference_per_share"] / out["shadow_nav_per_share"] * 100
    out["error_value"] = out["difference_per_share"] * out["units_outstanding"]
    out["units_difference"] = out["administrator_units"] - out["units_outstanding"]
    out["materiality_pct"] = materiality_pct
    agrees = out["difference_pct"].abs() <= AGREEMENT_PCT
    material = out["difference_pct"].abs() > materiality_pct
    units_off = units_differ(out["units_difference"], unit_decimals)
    nav_status = pd.Series(np.select([agrees, material], ["agrees", "material"], default="immaterial"), index=out.index)
    out["status"] = nav_status.where(~units_off, np.where(agrees, UNITS_DIFFER, nav_status + "; " + UNITS_DIFFER))
    out["rag"] = np.where(units_off, RED, np.select([agrees, material], [GREEN, RED], default=AMBER))
    out["explained_per_share"] = 0.0
    if price_exception_impact is not None and len(price_exception_impact):
        impact = price_exception_impact.groupby("nav_date")["impact_base"].sum()
        # our price above the alternative source: the administrator's NAV is lower by that much
        out["explained_per_share"] = -per_share_of_pool(out, out["nav_date"].map(impact).fillna(0.0))
    out["unexplained_per_share"] = out["difference_per_share"] - out["explained_per_share"]
    cols = ["nav_date", "share_class", "shadow_nav_per_share", "administrator_nav_per_share", "difference_per_share", "difference_pct",
            "materiality_pct", "error_value", "explained_per_share", "unexplained_per_share", "units_outstanding", "administrator_units",
            "units_difference", "status", "rag"]
    return out[cols].sort_values(["nav_date", "share_class"]).reset_index(drop=True)


def per_share_of_pool(class_nav: pd.DataFrame, pool_effect: pd.Series) -> pd.Series:
    """An effect on the common pool's net assets (base, per row's nav_date) per unit of each class:
    shared by the classes' net assets before dealing, as the day's result is, over units outstanding."""
    share = class_nav["net_assets_before_dealing"] / class_nav.groupby("nav_date")["net_assets_before_dealing"].transform("sum")
    return pool_effect * share / class_nav["units_outstanding"]


def units_rollforward(class_nav: pd.DataFrame, capital_activity: pd.DataFrame, unit_decimals: int) -> pd.DataFrame:
    """The books' units outstanding per class and date against the dealing: the books' units of the
    previous NAV date plus the units of the orders the transfer agent's feed (capital activity)
    says it dealt that day (status DEALT, dealing date = the NAV date), subscriptions in and
    redemptions out. Red when they differ at the unit decimals: the books dealt an order the
    register did not (a pending or cancelled one, one of another day or class), missed one, or
    rolled the units wrong. ``orders``: how many dealt orders the feed holds for the class and day."""
    cols = ["nav_date", "share_class", "prior_units", "orders", "units_subscribed", "units_redeemed", "expected_units", "units_outstanding",
            "difference", "rag"]
    nav = class_nav.sort_values(["share_class", "nav_date"])[["nav_date", "share_class", "units_outstanding"]].copy()
    nav["prior_units"] = nav.groupby("share_class")["units_outstanding"].shift()
    nav = nav.dropna(subset=["prior_units"])
    dealt = capital_activity[capital_activity["status"].eq(DEALT)] if len(capital_activity) else capital_activity
    if len(dealt):
        dealt = dealt.assign(nav_date=pd.to_datetime(dealt["dealing_date"]).astype("datetime64[ns]"),
                             sub=np.where(dealt["order_type"].eq("SUB"), dealt["units"], 0.0),
                             red=np.where(dealt["order_type"].eq("RED"), dealt["units"], 0.0))
        per_day = dealt.groupby(["nav_date", "share_class"], as_index=False).agg(
            orders=("order_id", "count"), units_subscribed=("sub", "sum"), units_redeemed=("red", "sum"))
    else:
        per_day = pd.DataFrame({"nav_date": pd.Series(dtype="datetime64[ns]"), "share_class": pd.Series(dtype="str"),
                                "orders": pd.Series(dtype="int64"), "units_subscribed": pd.Series(dtype="float64"),
                                "units_redeemed": pd.Series(dtype="float64")})
    nav = nav.assign(nav_date=nav["nav_date"].astype("datetime64[ns]")).merge(per_day, on=["nav_date", "share_class"], how="left")
    nav["orders"] = nav["orders"].fillna(0).astype("int64")
    nav[["units_subscribed", "units_redeemed"]] = nav[["units_subscribed", "units_redeemed"]].fillna(0.0)
    nav["expected_units"] = nav["prior_units"] + nav["units_subscribed"] - nav["units_redeemed"]
    nav["difference"] = (nav["units_outstanding"] - nav["expected_units"]).round(unit_decimals + 2)
    nav["rag"] = np.where(units_differ(nav["difference"], unit_decimals), RED, GREEN)
    return nav[cols].sort_values(["nav_date", "share_class"]).reset_index(drop=True)


def register_rounding(dealing: pd.DataFrame) -> pd.DataFrame:
    """The day's orders whose units or amount do not follow from the register's own NAV per share
    (``register_rounding_ok`` of ``bo_lib.books.nav.redeal``: a subscription's units =
    round_half_up(amount / NAV per share, unit decimals), a redemption's amount = round_half_up(units
    x NAV per share, 2)): red, the investor holds or was paid what the price does not give."""
    cols = ["dealing_date", "order_id", "share_class", "order_type", "amount", "units", "nav_per_share", "rag"]
    if dealing.empty:
        return pd.DataFrame(columns=cols)
    off = dealing[~dealing["register_rounding_ok"].astype(bool)]
    return off.assign(rag=RED).reindex(columns=cols).reset_index(drop=True)


def position_exceptions(valuation: pd.DataFrame, cash: pd.DataFrame, nav_date: dt.date) -> pd.DataFrame:
    """Holdings with no price at all, negative positions, and negative cash at the bank on ``nav_date``."""
    d = pd.Timestamp(nav_date)
    v = valuation[valuation["nav_date"].eq(d)]
    no_price = v[v["price"].isna()].assign(exception="no_price", detail="no price from any source, ever: valued at zero")
    negative = v[v["quantity"].lt(0) & ~v["asset_class"].eq("option")].assign(exception="negative_position", detail="short in the books")
    rows = pd.concat([no_price, negative], ignore_index=True)
    rows = rows.assign(currency=rows.get("currency"), amount=rows.get("quantity"))[["exception", "account", "security_id", "currency", "amount", "detail"]] if len(rows) else pd.DataFrame(columns=["exception", "account", "security_id", "currency", "amount", "detail"])
    c = cash[cash["nav_date"].eq(d) & cash["cash_at_bank"].lt(-0.005)]
    neg_cash = pd.DataFrame({"exception": "negative_cash", "account": "", "security_id": "", "currency": c["currency"], "amount": c["cash_at_bank"],
                             "detail": "overdrawn at the bank"})
    out = pd.concat([rows, neg_cash], ignore_index=True)
    out["rag"] = RED
    return out


def coupons_without_event(valuation: pd.DataFrame, securities: pd.DataFrame, corporate_actions: pd.DataFrame, valuation_dates: list[dt.date]) -> pd.DataFrame:
    """Coupon dates of held bonds since the opening that have no coupon event (INTR) in the feed:
    the accrued interest reset to zero on the coupon date but no coupon was booked as income or
    receivable. Columns: security_id, coupon_date, nominal, coupon_amount (local), currency."""
    cols = ["security_id", "coupon_date", "nominal", "coupon_amount", "currency", "rag", "detail"]
    bonds = securities[securities["asset_class"].isin(["government_bond", "corporate_bond"])].set_index("security_id")
    held = valuation[valuation["security_id"].isin(bonds.index)]
    if held.empty:
        return pd.DataFrame(columns=cols)
    first, last = min(valuation_dates), max(valuation_dates)
    events = corporate_actions[corporate_actions["event_type"].eq("INTR")] if len(corporate_actions) else corporate_actions
    rows = []
    for sid in held["security_id"].unique():  # bonds held: a handful
        b = bonds.loc[sid]
        maturity, freq = pd.Timestamp(b["maturity_date"]).date(), int(b["coupon_frequency"])
        if first >= maturity:
            continue
        _, end = coupon_period(first + dt.timedelta(days=1), maturity, freq)
        while end <= last:
            on = pd.Timestamp(end)
            mine = events[events["security_id"].eq(sid)] if len(events) else events
            booked = len(mine) and ((pd.to_datetime(mine["ex_date"]) <= on) & (pd.to_datetime(mine["pay_date"]) >= on - pd.Timedelta(days=7))).any()
            nominal = held.loc[held["security_id"].eq(sid) & held["nav_date"].le(on), :].sort_values("nav_date")
            qty = float(nominal.loc[nominal["nav_date"].eq(nominal["nav_date"].max()), "quantity"].sum()) if len(nominal) else 0.0
            if not booked and qty:
                start = coupon_period(end, maturity, freq)[0]
                amount = qty * coupon_per_100(start, end, float(b["coupon_rate"]), str(b["day_count"])) / 100
                rows.append({"security_id": sid, "coupon_date": on, "nominal": qty, "coupon_amount": amount, "currency": b["currency"], "rag": AMBER,
                             "detail": f"coupon of {end} due per the bond's schedule: accrued interest reset, no INTR event, no coupon income booked"})
            if end >= maturity:
                break
            _, end = coupon_period(end + dt.timedelta(days=1), maturity, freq)
    return pd.DataFrame(rows, columns=cols)


def summary(price_exceptions: pd.DataFrame, fx_exceptions: pd.DataFrame, day_move: pd.DataFrame, shadow: pd.DataFrame,
            units: pd.DataFrame, positions: pd.DataFrame, suspense: pd.DataFrame, coupons: pd.DataFrame, explain: pd.DataFrame,
            nav_date: dt.date, base_currency: str, violations: int = 0, *, dealing: pd.DataFrame) -> pd.DataFrame:
    """The exceptions-first table: one line per check with its worst status, count and detail (the
    business date's rows only). ``dealing``: the day's orders re-dealt (``NavResult.dealing``, with
    ``register_rounding_ok``)."""
    d = pd.Timestamp(nav_date)

    def line(check: str, rows: pd.DataFrame, ok: str, describe) -> dict:
        if rows.empty:
            return {"check": check, "rag": GREEN, "count": 0, "detail": ok}
        rag = RED if (rows["rag"] == RED).any() else AMBER
        return {"check": check, "rag": rag, "count": len(rows), "detail": describe(rows)}

    today_shadow = shadow[shadow["nav_date"].eq(d)]
    off = today_shadow[today_shadow["rag"].ne(GREEN)]
    today_units = units[units["nav_date"].eq(d) & units["rag"].ne(GREEN)]
    dealing_today = dealing[pd.to_datetime(dealing["dealing_date"]).eq(d)] if len(dealing) else dealing
    moves = day_move[day_move["nav_date"].eq(d) & day_move["rag"].ne(GREEN)]
    residual = explain[explain["nav_date"].eq(d)]
    big_residual = residual[residual["residual_per_share"].abs() >= 0.01].assign(rag=RED)
    rows = [
        line("input data", pd.DataFrame({"rag": [RED] * violations}), "every file the NAV reads meets its contract",
             lambda r: f"{len(r)} contract violations in the files the NAV reads (see the intake report)"),
        line("pricing exceptions", price_exceptions, "every holding priced today by its ranked sources, no stale price, no jump",
             lambda r: "; ".join(f"{x.exception.removeprefix('price_')} {x.security_id} ({x.name}): {x.detail}" for x in r.itertuples())),
        line("FX fixings", fx_exceptions, "every fixing present and within the move tolerance",
             lambda r: "; ".join(x.detail for x in r.itertuples())),
        line("NAV move", moves, "every class within the fund's day-move tolerance",
             lambda r: "; ".join(f"class {x.share_class} {x.move_pct:+.2f}% (tolerance {x.tolerance_pct:g}%)" for x in r.itertuples())),
        line("shadow vs administrator", off, "every class agrees with the administrator's NAV per share and units outstanding",
             lambda r: "; ".join(_shadow_detail(x, base_currency) for x in r.itertuples())),
        line("units vs dealing", today_units, "prior units + the units of the day's dealt orders (transfer agent's feed) = units outstanding, every class",
             lambda r: "; ".join(f"class {x.share_class}: books {x.units_outstanding:,.4f} units, prior {x.prior_units:,.4f} + {x.units_subscribed:,.4f} "
                                 f"subscribed - {x.units_redeemed:,.4f} redeemed in {x.orders} dealt order(s) = {x.expected_units:,.4f} "
                                 f"({x.difference:+,.4f})" for x in r.itertuples())),
        line("register rounding", register_rounding(dealing_today), "every order's units and amount follow from the register's NAV per share",
             lambda r: "; ".join(f"order {x.order_id} class {x.share_class} {x.order_type} {x.amount:,.2f} = {x.units:,.4f} units at "
                                 f"{x.nav_per_share:,.4f}: not what the NAV per share gives at the fund's decimals" for x in r.itertuples())),
        line("positions and cash", positions, "no unpriced holding, no negative position, no overdrawn account",
             lambda r: "; ".join(f"{x.exception} {x.security_id or x.currency} {x.amount:,.2f}" for x in r.itertuples())),
        line("suspense", suspense.assign(rag=AMBER), "every cash-ledger movement attributed to a trade, order, event or fee",
             lambda r: f"{len(r)} cash-ledger movements with unknown references, total {r['amount'].sum():,.2f}"),
        line("coupons without event", coupons, "every coupon date of a held bond has its coupon event",
             lambda r: "; ".join(f"{x.security_id} coupon of {x.coupon_date:%Y-%m-%d}: {x.coupon_amount:,.2f} {x.currency} not booked" for x in r.itertuples())),
        line("NAV explain residual", big_residual, "residual below 0.01 per share in every class",
             lambda r: "; ".join(f"class {x.share_class} residual {x.residual:,.2f} ({x.residual_per_share:,.4f} per share)" for x in r.itertuples())),
    ]
    return worst_first(pd.DataFrame(rows))


def _shadow_detail(x, base_currency: str) -> str:
    nav = (f"class {x.share_class}: administrator {x.administrator_nav_per_share:,.4f} vs shadow {x.shadow_nav_per_share:,.4f}, "
           f"{x.difference_per_share:+,.4f} per share ({x.difference_pct:+.3f}%, materiality {x.materiality_pct:g}%): "
           f"{x.status}, error value {x.error_value:+,.2f} {base_currency}")
    if UNITS_DIFFER in x.status:
        nav += (f"; units outstanding: administrator {x.administrator_units:,.4f} vs books {x.units_outstanding:,.4f} "
                f"({x.units_difference:+,.4f})")
    return nav
