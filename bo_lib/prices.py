"""The one price hierarchy: the price each holding is valued at, and the factors that make a
previous close comparable after a split or a dividend going ex. Every control values through it:
the books' NAV (``bo_lib.books.nav``), the position recon's price for what the custodian does not
price (``bo_lib.recon.positions``), the CSDR penalty reference price (``bo_lib.settlement.csdr``),
the 13F holdings value (``bo_lib.regulatory.form13f``) and the intake's best source
(``bo_lib.intake.control``). None ranks sources of its own.

**The one rule**, for a security held by a fund on a date:

1. a manual override (``price_overrides``: approved, with a reason) of the security and date comes
   first (``source`` ``MANUAL``, ``source_rank`` 0);
2. then the fund's ranked sources for the security's asset class, best first
   (``FundParameters.pricing.hierarchy``);
3. a source outside the hierarchy (not listed for the asset class) is never used, not even when it
   is the only one that priced the security: its price is the feed's, not a valuation price;
4. where neither an override nor a ranked source priced the security that day, the last price
   chosen by 1-2 on or before the date is carried forward, flagged (``carried_forward`` True,
   ``price_as_of`` the date of the price used): a pricing exception every control shows, never a
   silent fallback. Where none was chosen in the history a control reads, the price is NaN.

A fund's hierarchy prices the fund's holdings; a report across funds (the 13F) prices each
position by the hierarchy of the fund that holds it (``fund_holding_prices``). ``select_prices``
is steps 1-3 (every delivered date), ``valuation_prices`` step 4; ``holding_prices`` and
``fund_holding_prices`` are the whole rule in one call.

Conventions: equities and options are priced per unit (options times their contract multiplier),
bonds per 100 of nominal (the securities master's ``price_multiplier`` of 0.01 turns a clean
price into value per unit of nominal).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib.codes import CANCELLED_EVENT, RATIO_EVENTS

MANUAL_SOURCE = "MANUAL"


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
    ev = corporate_actions[corporate_actions["event_status"].ne(CANCELLED_EVENT)] if "event_status" in corporate_actions else corporate_actions
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
        # (security ids as objects on both sides: merge_asof refuses keys of different string dtypes)
        last = pd.merge_asof(today.loc[missing, ["price_date", "security_id"]].astype({"security_id": object}).sort_values("price_date"),
                             chosen[["price_date", "security_id", "price", "source", "price_as_of"]].astype({"security_id": object}).sort_values("price_date"),
                             on="price_date", by="security_id", direction="backward", allow_exact_matches=True)
        today = today.set_index(["price_date", "security_id"])
        last = last.set_index(["price_date", "security_id"])
        today.loc[last.index, ["price", "source", "price_as_of"]] = last[["price", "source", "price_as_of"]]
        today = today.reset_index()
    today["price"] = pd.to_numeric(today["price"], errors="coerce").astype("float64")
    today["carried_forward"] = today["price_as_of"].lt(today["price_date"]) | today["price"].isna()
    today["is_override"] = today["is_override"].fillna(False).astype(bool)
    today["sources_delivered"] = today["sources_delivered"].fillna(0).astype("int64")
    return today


def holding_prices(held: pd.DataFrame, price_history: pd.DataFrame, securities: pd.DataFrame, hierarchy: dict[str, list[str]],
                   overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """The one rule in one call: the price each held security is valued at on each date by the
    fund's ``hierarchy`` (``select_prices`` then ``valuation_prices``).

    ``held``: price_date, security_id (other columns are ignored); ``price_history``: prices by
    source of the date and of as many deliveries before it as a carried-forward price may reach
    back. Returns ``valuation_prices()`` rows (one per price_date and security_id held).
    """
    need = held[["price_date", "security_id"]].drop_duplicates()
    history = price_history[price_history["security_id"].isin(need["security_id"])]
    chosen = select_prices(history, securities, hierarchy, overrides)
    return valuation_prices(chosen, need, sorted(as_ns(need["price_date"]).dt.date.unique()))


def fund_holding_prices(held: pd.DataFrame, price_history: pd.DataFrame, securities: pd.DataFrame,
                        hierarchies: dict[str, dict[str, list[str]]], overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """``holding_prices`` for many funds at once, each position priced by the hierarchy of the fund
    holding it (a fund without a hierarchy prices nothing: NaN).

    ``held``: fund, price_date, security_id. Returns ``valuation_prices()`` rows with ``fund``.
    """
    need = held[["fund", "price_date", "security_id"]].drop_duplicates()
    parts = [holding_prices(rows, price_history, securities, hierarchies.get(fund, {}), overrides).assign(fund=fund)
             for fund, rows in need.groupby("fund", sort=True)]
    if not parts:
        empty = holding_prices(need, price_history.iloc[0:0], securities, {}, None)
        return empty.assign(fund=pd.Series(dtype="object"))
    return pd.concat(parts, ignore_index=True)


def unchanged_runs(chosen: pd.DataFrame) -> pd.Series:
    """Per row of ``chosen`` (price_date, security_id, price): how many consecutive deliveries,
    ending with this one, carried exactly this price (1 = it changed today)."""
    ordered = chosen.sort_values(["security_id", "price_date"])
    changed = ordered["price"].ne(ordered.groupby("security_id")["price"].shift()) | ordered["security_id"].ne(ordered["security_id"].shift())
    run_id = changed.cumsum()
    runs = ordered.groupby(run_id).cumcount() + 1
    return runs.reindex(chosen.index)


