"""Valuation prices and FX: the price each holding is valued at (ranked sources per asset class,
manual overrides first), the pricing exceptions a fund accountant clears before the NAV is
struck (missing, stale, jump, override), and FX to the fund's base currency with its move check.

Conventions: equities and options are priced per unit (options times their contract multiplier),
bonds per 100 of nominal (the securities master's ``price_multiplier`` of 0.01 turns a clean
price into value per unit of nominal). FX fixings arrive as X→USD; a cross to the base currency is
``rate(X→USD) / rate(base→USD)``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from bo_lib.rag import AMBER, GREEN, RED

MANUAL_SOURCE = "MANUAL"
DEFAULT_JUMP_PCT = {"equity": 5.0, "government_bond": 1.0, "corporate_bond": 1.0, "option": 25.0}
RATIO_EVENTS = ("SPLF", "SPLR", "DVSE", "BONU")


def as_ns(dates) -> pd.Series:
    """Dates as datetime64[ns] (files, stores and Python dates arrive at different resolutions)."""
    return pd.to_datetime(dates).astype("datetime64[ns]")


def select_prices(price_history: pd.DataFrame, securities: pd.DataFrame, hierarchy: dict[str, list[str]],
                  overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """The best available price per security and date: a manual override first, then the fund's
    sources in hierarchy order. A source outside the hierarchy is never used.

    Columns: price_date, security_id, price, source, source_rank (0 = override), is_override,
    sources_delivered (how many ranked sources priced it), secondary_price (the next-ranked
    source's price, for corroborating a move).
    """
    asset_class = securities.set_index("security_id")["asset_class"]
    ranks = pd.DataFrame([(ac, src, i + 1) for ac, sources in hierarchy.items() for i, src in enumerate(sources)],
                         columns=["asset_class", "source", "source_rank"])
    px = price_history[["price_date", "security_id", "source", "price"]].copy()
    px["price_date"] = as_ns(px["price_date"])
    px["asset_class"] = px["security_id"].map(asset_class)
    px = px.merge(ranks, on=["asset_class", "source"], how="inner")
    px["is_override"] = False
    if overrides is not None and len(overrides):
        manual = overrides[["price_date", "security_id", "price"]].assign(source=MANUAL_SOURCE, source_rank=0, is_override=True,
                                                                          price_date=as_ns(overrides["price_date"]))
        manual["asset_class"] = manual["security_id"].map(asset_class)
        px = pd.concat([px, manual], ignore_index=True)
    px = px.sort_values(["price_date", "security_id", "source_rank"])
    ranked = px[~px["is_override"]]
    delivered = ranked.groupby(["price_date", "security_id"]).size().rename("sources_delivered")
    secondary = ranked.groupby(["price_date", "security_id"])["price"].nth(1)
    secondary = ranked.loc[secondary.index, ["price_date", "security_id", "price"]].rename(columns={"price": "secondary_price"})
    best = px.drop_duplicates(["price_date", "security_id"], keep="first")
    best = best.merge(delivered.reset_index(), on=["price_date", "security_id"], how="left").merge(secondary, on=["price_date", "security_id"], how="left")
    best["sources_delivered"] = best["sources_delivered"].fillna(0).astype("int64")
    return best[["price_date", "security_id", "price", "source", "source_rank", "is_override", "sources_delivered", "secondary_price"]].reset_index(drop=True)


def ratio_adjustment(corporate_actions: pd.DataFrame | None, dates: list[dt.date]) -> pd.DataFrame:
    """Per security and valuation date, the factor that makes the previous close comparable with
    today's after a split or stock dividend (ratio_old / ratio_new), and the cash dividend going ex
    (subtracted from the previous close). Columns: price_date, security_id, ratio_factor, dividend."""
    cols = ["price_date", "security_id", "ratio_factor", "dividend"]
    if corporate_actions is None or corporate_actions.empty or not dates:
        return pd.DataFrame(columns=cols)
    ev = corporate_actions[corporate_actions["event_status"].ne("CANC")] if "event_status" in corporate_actions else corporate_actions
    valuation = as_ns(pd.Series(sorted(dates)))
    # an event going ex on a non-valuation day hits the next valuation date's price
    pos = np.searchsorted(valuation.to_numpy(), as_ns(ev["ex_date"]).to_numpy(), side="left")
    ev = ev.assign(price_date=[valuation.iloc[p] if p < len(valuation) else pd.NaT for p in pos]).dropna(subset=["price_date"])
    ratio = ev[ev["event_type"].isin(RATIO_EVENTS)]
    cash = ev[ev["event_type"].eq("DVCA")]
    factors = pd.concat([
        ratio.assign(ratio_factor=ratio["ratio_old"] / ratio["ratio_new"], dividend=0.0),
        cash.assign(ratio_factor=1.0, dividend=cash["gross_rate"]),
    ], ignore_index=True)
    if factors.empty:
        return pd.DataFrame(columns=cols)
    return factors.groupby(["price_date", "security_id"], as_index=False).agg(ratio_factor=("ratio_factor", "prod"), dividend=("dividend", "sum"))[cols]


def valuation_prices(chosen: pd.DataFrame, held: pd.DataFrame, dates: list[dt.date]) -> pd.DataFrame:
    """The price each held security is valued at on each date: today's best price, or, where no
    source priced it, the last price carried forward (``carried_forward`` True, a pricing exception).

    ``held``: price_date, security_id (what needs a price). Returns held + price, source,
    price_as_of (date of the price used), carried_forward, is_override, sources_delivered, secondary_price.
    """
    need = held[["price_date", "security_id"]].drop_duplicates()
    need = need.assign(price_date=as_ns(need["price_date"]))
    chosen = chosen.assign(price_date=as_ns(chosen["price_date"]), price_as_of=as_ns(chosen["price_date"]))
    today = need.merge(chosen, on=["price_date", "security_id"], how="left")
    missing = today["price"].isna()
    if missing.any():
        # carry the latest earlier price forward (merge_asof: the last chosen price on or before the date)
        last = pd.merge_asof(today.loc[missing, ["price_date", "security_id"]].sort_values("price_date"),
                             chosen[["price_date", "security_id", "price", "source", "price_as_of"]].sort_values("price_date"),
                             on="price_date", by="security_id", direction="backward", allow_exact_matches=True)
        today = today.set_index(["price_date", "security_id"])
        last = last.set_index(["price_date", "security_id"])
        today.loc[last.index, ["price", "source", "price_as_of"]] = last[["price", "source", "price_as_of"]]
        today = today.reset_index()
    today["carried_forward"] = today["price_as_of"].lt(today["price_date"]) | today["price"].isna()
    today["is_override"] = today["is_override"].fillna(False).astype(bool)
    today["sources_delivered"] = today["sources_delivered"].fillna(0).astype("int64")
    return today


def unchanged_runs(chosen: pd.DataFrame) -> pd.Series:
    """Per row of ``chosen`` (price_date, security_id, price): how many consecutive deliveries,
    ending with this one, carried exactly this price (1 = it changed today)."""
    ordered = chosen.sort_values(["security_id", "price_date"])
    changed = ordered["price"].ne(ordered.groupby("security_id")["price"].shift()) | ordered["security_id"].ne(ordered["security_id"].shift())
    run_id = changed.cumsum()
    runs = ordered.groupby(run_id).cumcount() + 1
    return runs.reindex(chosen.index)


def price_exceptions(valued: pd.DataFrame, chosen: pd.DataFrame, securities: pd.DataFrame, business_date: dt.date,
                     stale_days: int, jump_pct: dict[str, float], adjustments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pricing exceptions of the held securities on ``business_date``.

    - ``price_missing``: no ranked source priced it today (valued at the last price, carried forward);
    - ``price_stale``: the price used is dated before the NAV date, or the same price has been
      delivered for ``stale_days`` or more consecutive deliveries;
    - ``price_jump``: the move against the previous valuation price (adjusted for splits and cash
      dividends going ex) beyond the asset class's tolerance; the secondary source's move shows
      whether the market really moved;
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
    jump = ~missing & ~no_price & today["move_pct"].abs().gt(tolerance)
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
    return out[_EXCEPTION_COLUMNS].sort_values(["rag", "exception", "security_id"], key=_rag_order).reset_index(drop=True)


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


def _rag_order(col: pd.Series) -> pd.Series:
    return col.map({RED: 0, AMBER: 1, GREEN: 2}) if col.name == "rag" else col


def fx_to_base(fx_history: pd.DataFrame, base_currency: str, currencies: list[str]) -> pd.DataFrame:
    """Rates from each currency to the base currency per date (1 for the base itself).

    Columns: rate_date, currency, rate_to_base. Crosses through USD, as the fixings are quoted.
    """
    usd = fx_history[fx_history["to_currency"].eq("USD")][["rate_date", "from_currency", "rate"]].rename(columns={"from_currency": "currency"})
    usd["rate_date"] = as_ns(usd["rate_date"])
    dates = usd["rate_date"].drop_duplicates()
    usd = pd.concat([usd, pd.DataFrame({"rate_date": dates, "currency": "USD", "rate": 1.0})], ignore_index=True)
    wide = usd.pivot_table(index="rate_date", columns="currency", values="rate", aggfunc="last")
    if base_currency not in wide:
        raise ValueError(f"no FX fixing for the base currency {base_currency}")
    needed = sorted(set(currencies) | {base_currency})
    cross = wide.reindex(columns=needed).div(wide[base_currency], axis=0)
    out = cross.stack(future_stack=True).rename("rate_to_base").reset_index().rename(columns={"level_1": "currency"})
    out.columns = ["rate_date", "currency", "rate_to_base"]
    return out


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
