"""Pricing and FX controls a fund accountant clears before the NAV is struck: a held security
with no price today (carried forward), a stale price, a move beyond tolerance (after splits and
dividends), a manual override; a fixing missing or moved beyond tolerance. The prices themselves
come from the one price hierarchy (``bo_lib.prices``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.nav.controls import per_share_of_pool
from bo_lib.prices import as_ns, unchanged_runs
from bo_lib.rag import AMBER, GREEN, RED, worst_first_key

DEFAULT_JUMP_PCT = {"equity": 5.0, "government_bond": 1.0, "corporate_bond": 1.0, "option": 25.0}


def price_exceptions(valued: pd.DataFrame, chosen: pd.DataFrame, securities: pd.DataFrame, business_date: dt.date,
                     stale_days: int, jump_pct: dict[str, float], adjustments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pricing exceptions of the held securities on ``business_date``.

    - ``price_missing``: no ranked source priced it today (valued at the last price, carried forward);
    - ``price_stale``: the price used is dated before the NAV date, or the same price has been
      delivered for ``stale_days`` or more consecutive deliveries;
    - ``price_jump``: the move against the previous valuation price (adjusted for splits and cash
      dividends going ex) beyond the asset class's tolerance; the secondary source's move shows
      whether the market really moved. A move that undoes the previous day's unconfirmed jump (the
      previous price stood beyond tolerance off the secondary source's, today's is back within it)
      is the vendor's correction, not a new exception;
    - ``price_override``: valued at a manual override (shown, never silent).

    ``valued``: valuation_prices() rows with quantity and market_value_base for impact.
    Columns: security_id, isin, name, asset_class, exception, source, price, previous_price,
    move_pct, secondary_move_pct, unchanged_deliveries, quantity, market_value_base, impact_base, rag, detail.
    """
    bd = pd.Timestamp(business_date)
    secs = securities.set_index("security_id")
    chosen = chosen.assign(price_date=as_ns(chosen["price_date"]))
    chosen = chosen.assign(unchanged_deliveries=unchanged_runs(chosen))
    today = valued[valued["price_date"].eq(bd)].copy()
    today = today.merge(chosen[["price_date", "security_id", "unchanged_deliveries"]], on=["price_date", "security_id"], how="left")
    # the previous valuation price and the secondary source's previous price, for the move check
    earlier = chosen[chosen["price_date"].lt(bd)].sort_values("price_date").drop_duplicates("security_id", keep="last")
    today = today.merge(earlier[["security_id", "price", "secondary_price"]].rename(columns={"price": "previous_price", "secondary_price": "previous_secondary"}),
                        on="security_id", how="left")
    factor = pd.Series(1.0, index=today.index)
    dividend = pd.Series(0.0, index=today.index)
    if adjustments is not None and len(adjustments):
        adj = today[["security_id"]].merge(adjustments[pd.to_datetime(adjustments["price_date"]).eq(bd)], on="security_id", how="left")
        factor = adj["ratio_factor"].fillna(1.0).set_axis(today.index)
        dividend = adj["dividend"].fillna(0.0).set_axis(today.index)
    comparable = today["previous_price"] * factor - dividend
    comparable_secondary = today["previous_secondary"] * factor - dividend
    today["move_pct"] = (today["price"] / comparable - 1) * 100
    today["secondary_move_pct"] = (today["secondary_price"] / comparable_secondary - 1) * 100
    today["asset_class"] = today["security_id"].map(secs["asset_class"])
    tolerance = today["asset_class"].map(lambda ac: jump_pct.get(ac, DEFAULT_JUMP_PCT.get(ac, 5.0)))
    missing = today["carried_forward"] & today["price_as_of"].notna()
    no_price = today["price"].isna()
    stale = ~missing & ~no_price & today["unchanged_deliveries"].fillna(1).ge(stale_days)
    was_off = ((today["previous_price"] / today["previous_secondary"] - 1).abs() * 100).gt(tolerance)
    back_in_line = ((today["price"] / today["secondary_price"] - 1).abs() * 100).le(tolerance)
    jump = ~missing & ~no_price & today["move_pct"].abs().gt(tolerance) & ~(was_off & back_in_line)
    override = today["is_override"]
    rows = []
    for kind, mask, rag in (("price_missing", missing | no_price, RED), ("price_stale", stale, AMBER), ("price_jump", jump, RED),
                            ("price_override", override, AMBER)):
        hit = today[mask].assign(exception=kind, rag=rag, tolerance_pct=tolerance[mask])
        rows.append(hit)
    out = pd.concat(rows, ignore_index=True) if rows else today.iloc[0:0]
    if out.empty:
        return pd.DataFrame(columns=_EXCEPTION_COLUMNS)
    out["isin"] = out["security_id"].map(secs["isin"])
    out["name"] = out["security_id"].map(secs["name"])
    # what the exception could be worth: a jump valued against the secondary source, a carried or
    # stale price by its market value (the whole holding rests on an unconfirmed price)
    alt = out["secondary_price"].where(out["exception"].eq("price_jump"))
    out["impact_base"] = np.where(out["exception"].eq("price_jump"),
                                  out["market_value_base"] * (1 - alt / out["price"]), out["market_value_base"])
    out["detail"] = _detail(out)
    return out[_EXCEPTION_COLUMNS].sort_values(["rag", "exception", "security_id"], key=worst_first_key).reset_index(drop=True)


_EXCEPTION_COLUMNS = ["security_id", "isin", "name", "asset_class", "exception", "source", "price", "price_as_of", "previous_price", "move_pct",
                      "secondary_price", "secondary_move_pct", "tolerance_pct", "unchanged_deliveries", "quantity", "market_value_base", "impact_base",
                      "rag", "detail"]


def _detail(out: pd.DataFrame) -> list[str]:
    texts = []
    for r in out.itertuples():  # one line per exception: a handful per day
        if r.exception == "price_missing":
            asof = r.price_as_of.date().isoformat() if pd.notna(r.price_as_of) else "never"
            texts.append(f"no ranked source priced it today; valued at the {r.source} price of {asof}")
        elif r.exception == "price_stale":
            texts.append(f"{r.source} delivered the same price {int(r.unchanged_deliveries)} deliveries in a row")
        elif r.exception == "price_jump":
            sec = f"; secondary source moved {r.secondary_move_pct:+.2f}%" if pd.notna(r.secondary_move_pct) else "; no secondary source"
            texts.append(f"{r.source} moved {r.move_pct:+.2f}% (tolerance {r.tolerance_pct:g}%){sec}")
        else:
            texts.append(f"valued at a manual override of {r.price:,.4f}")
    return texts


def fx_exceptions(fx_history: pd.DataFrame, business_date: dt.date, move_pct: float, fund_currencies: list[str]) -> pd.DataFrame:
    """FX fixings of the feed on ``business_date`` missing or moved beyond ``move_pct`` against the
    previous fixing. Each is marked whether it affects the fund (a currency it holds or deals in).

    Columns: currency, rate, previous_rate, move_pct, exception, affects_fund, rag, detail.
    """
    bd = pd.Timestamp(business_date)
    fx = fx_history[fx_history["to_currency"].eq("USD")].sort_values("rate_date")
    today = fx[fx["rate_date"].eq(bd)].drop_duplicates("from_currency", keep="last").set_index("from_currency")["rate"]
    previous = fx[fx["rate_date"].lt(bd)].drop_duplicates("from_currency", keep="last").set_index("from_currency")["rate"]
    table = pd.DataFrame({"rate": today, "previous_rate": previous}).rename_axis("currency").reset_index()
    table["move_pct"] = (table["rate"] / table["previous_rate"] - 1) * 100
    needed = set(fund_currencies) - {"USD"}
    table["affects_fund"] = table["currency"].isin(needed)
    missing = table["rate"].isna() & table["affects_fund"]
    moved = table["move_pct"].abs().gt(move_pct)
    table = table[missing | moved].copy()
    table["exception"] = np.where(table["rate"].isna(), "fx_missing", "fx_move")
    table["rag"] = np.where(table["affects_fund"], RED, AMBER)
    table["detail"] = [
        ("no fixing today" if pd.isna(r.rate) else f"{r.currency}/USD moved {r.move_pct:+.2f}% (tolerance {move_pct:g}%)")
        + ("" if r.affects_fund else "; the fund holds no " + r.currency + ": no NAV impact, a feed exception")
        for r in table.itertuples()]
    return table[["currency", "rate", "previous_rate", "move_pct", "exception", "affects_fund", "rag", "detail"]].reset_index(drop=True)


#: the pricing exceptions a NAV may not be approved at: struck at a jump nobody confirmed, a stale or a
#: carried-forward price. A manual price override of the day (overrides/prices.csv) resolves them.
FLAGGING_EXCEPTIONS = ("price_jump", "price_stale", "price_missing")
FLAGGED_COLUMNS = ["security_id", "name", "exception", "source", "price", "fallback_price", "quantity", "market_value_base",
                   "fallback_effect_base", "rag", "detail", "reason"]


def flagged_prices(exceptions: pd.DataFrame, class_nav: pd.DataFrame, business_date: dt.date, base_currency: str) -> pd.DataFrame:
    """The holdings the NAV of ``business_date`` is struck at a price its own control flagged
    (``price_exceptions``: a price jump, a stale or a carried-forward price) and no manual override
    resolves, each with the NAV effect of the fallback source: the next-ranked source's price of the
    day, (fallback - used) x quantity x multiplier x FX = market value in base x (fallback / used - 1)
    (for a jump, minus the exception's ``impact_base``), in base and per share of each class
    (``per_share_<class>``, shared by class assets as the day's result is). No other source priced
    it today: the effect is unknown (NaN). ``reason`` names the security and the exception (what the
    NAV summary and the period close say)."""
    if exceptions.empty:
        return pd.DataFrame(columns=FLAGGED_COLUMNS)
    overridden = set(exceptions.loc[exceptions["exception"].eq("price_override"), "security_id"])
    out = exceptions[exceptions["exception"].isin(FLAGGING_EXCEPTIONS) & ~exceptions["security_id"].isin(overridden)].copy()
    if out.empty:
        return pd.DataFrame(columns=FLAGGED_COLUMNS)
    out["fallback_price"] = out["secondary_price"].astype("float64")
    out["fallback_effect_base"] = (out["market_value_base"] * (out["fallback_price"] / out["price"] - 1)).round(2)
    out["rag"] = RED
    day = pd.Timestamp(business_date)
    today = class_nav[pd.to_datetime(class_nav["nav_date"]).eq(day)].reset_index(drop=True) if len(class_nav) else class_nav
    per_unit = per_share_of_pool(today, pd.Series(1.0, index=today.index)) if len(today) else pd.Series(dtype="float64")
    classes = list(zip(today.get("share_class", []), per_unit))
    for share_class, unit in classes:
        out[f"per_share_{share_class}"] = (out["fallback_effect_base"] * unit).round(6)
    out["reason"] = [f"{r.security_id} ({r.name}) {r.exception.removeprefix('price_')}: {r.detail}" for r in out.itertuples()]
    texts = []
    for r in out.to_dict("records"):  # a handful
        if pd.isna(r["fallback_effect_base"]):
            texts.append(f"NAV struck at {r['source']} {r['price']:,.4f}; no other source priced it today: the fallback's effect is unknown")
            continue
        shares = ", ".join(f"{r[f'per_share_{c}']:+,.4f} class {c}" for c, _ in classes)
        texts.append(f"NAV struck at {r['source']} {r['price']:,.4f}; at the next-ranked source's {r['fallback_price']:,.4f} it would move "
                     f"{r['fallback_effect_base']:+,.2f} {base_currency}" + (f" ({shares} per share)" if shares else ""))
    out["detail"] = texts
    extra = [f"per_share_{c}" for c, _ in classes]
    return out[FLAGGED_COLUMNS + extra].reset_index(drop=True)


def flagged_line(flagged: pd.DataFrame, business_date: dt.date) -> dict:
    """The NAV summary's line: red while the NAV is struck at a flagged price (not approvable: the
    period close refuses it), green otherwise."""
    check = "NAV at a flagged price"
    if flagged.empty:
        return {"check": check, "rag": GREEN, "count": 0,
                "detail": "no holding valued at a price its own control flagged (or each resolved by a manual override)"}
    return {"check": check, "rag": RED, "count": len(flagged),
            "detail": f"not approvable, the period close refuses it: {'; '.join(f'{r.reason} ({r.detail})' for r in flagged.itertuples())}; "
                      f"resolve with a manual price override of the day (overrides/prices.csv, with a reason and who approved it), then "
                      f"`bo run --date {business_date}` strikes the NAV again"}
