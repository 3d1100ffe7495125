"""The shadow NAV: a fund's net asset value per share class struck independently from the books,
day by day from the quarter-end opening to the business date.

Each NAV date:
1. value the trade-date positions (ranked prices, FX to base, accrued interest);
2. build the balance sheet: investments, accrued interest, cash at the bank (opening + the books'
   cash ledger by value date), receivables / payables of trades, income and capital dealt but not
   yet settled, and the fee liabilities;
3. split the day's result of the common pool (everything but class-specific fees and capital) across
   share classes pro rata to their assets at the previous NAV;
4. accrue each class's management fee on its previous net assets and its performance fee above the
   high-water mark, and strike the NAV per share: ``round_half_up(net assets / units, nav_decimals)``;
5. deal the day's subscriptions and redemptions at that NAV per share (the register's units and amounts
   are used; ``dealing`` re-deals them at the shadow NAV as a check) and roll the units forward.

Capital activity is in class currency, which must be the fund's base currency (as in every fund
configured so far). All amounts are float64 in base currency; the NAV per share and dealt units are
rounded ROUND_HALF_UP at the fund's decimals, net assets reported to cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bo_lib.nav import fees
from bo_lib.nav.accruals import income_entitlements
from bo_lib.nav.positions import roll_positions
from bo_lib.nav.rounding import half_up
from bo_lib.nav.pricing import as_ns, fx_to_base, ratio_adjustment, select_prices, valuation_prices
from bo_lib.nav.valuation import average_cost_and_pnl, holdings_by_date, to_valuation_date, value_positions
from bo_lib.parameters import FundParameters

#: the balance-sheet lines, in the order a statement of net assets shows them
BALANCE_SHEET_LINES = ["investments", "accrued_interest", "cash_at_bank", "securities_sold_receivable", "securities_purchased_payable",
                       "income_receivable", "subscriptions_receivable", "redemptions_payable", "fixed_fees_payable",
                       "management_fees_payable", "performance_fees_payable"]


@dataclass
class NavBooks:
    """What the shadow NAV of one fund is struck from (loaded by ``bo_lib.data.nav_inputs``)."""

    fund: FundParameters
    valuation_dates: list[dt.date]  # the opening date first, then each NAV date up to the business date
    securities: pd.DataFrame
    opening_positions: pd.DataFrame
    opening_cash: pd.DataFrame
    opening_share_classes: pd.DataFrame
    trades: pd.DataFrame
    corporate_actions: pd.DataFrame
    capital_activity: pd.DataFrame
    cash_ledger: pd.DataFrame
    price_history: pd.DataFrame  # every delivery's prices, the opening valuation's included
    fx_history: pd.DataFrame
    admin_nav: pd.DataFrame
    price_overrides: pd.DataFrame | None = None


@dataclass
class NavResult:
    fund: FundParameters
    valuation_dates: list[dt.date]
    class_nav: pd.DataFrame  # nav_date, share_class, units, NAV per share, net assets, fees, HWM, dealing
    balance_sheet: pd.DataFrame  # nav_date, line, share_class ('' = fund), amount_base
    valuation: pd.DataFrame  # nav_date, account, security_id, quantity, price, source, market values, accrued interest
    chosen_prices: pd.DataFrame
    price_adjustments: pd.DataFrame
    fx: pd.DataFrame
    income: pd.DataFrame  # income entitlements (dividends, coupons)
    pool_flows: pd.DataFrame  # nav_date, market, fx, income, expenses, pnl (fund level, base)
    accruals: pd.DataFrame  # nav_date, accrual, share_class, opening, accrued, paid, closing
    dealing: pd.DataFrame  # every order re-dealt at the shadow NAV per share
    positions: pd.DataFrame  # final date: quantity, average cost, realised / unrealised P&L
    ledger_suspense: pd.DataFrame  # cash-ledger movements the books cannot attribute
    cash: pd.DataFrame  # nav_date, currency, cash_at_bank (local)
    notes: list[str] = field(default_factory=list)


def _fee_payments(cash_ledger: pd.DataFrame, fund_code: str) -> pd.DataFrame:
    """Fee payments in the cash ledger: the class from the reference ``F<yymm><fund><class>``
    (``FX`` = fixed fees)."""
    fee = cash_ledger[cash_ledger["movement_type"].eq("FEE_PAYMENT")]
    suffix = fee["reference"].str.slice(5).str.removeprefix(fund_code)
    return pd.DataFrame({"value_date": fee["value_date"], "share_class": suffix.where(suffix.ne("FX"), ""), "amount": -fee["amount"],
                         "currency": fee["currency"]})


def _known_references(books: NavBooks) -> pd.Series:
    refs = [books.trades["trade_id"], books.capital_activity["order_id"], books.corporate_actions["event_id"]]
    return pd.concat([r.astype("string") for r in refs], ignore_index=True)


def compute_nav(books: NavBooks) -> NavResult:
    """Strike the shadow NAV of every share class on every valuation date (see the module doc)."""
    fund = books.fund
    base = fund.base_currency
    dates = sorted(books.valuation_dates)
    ts_dates = pd.DatetimeIndex(as_ns(pd.Series(dates)))
    secs = books.securities
    notes: list[str] = []
    foreign_classes = [c.code for c in fund.share_classes if c.currency != base]
    if foreign_classes:
        raise ValueError(f"{fund.fund_code}: share classes {foreign_classes} are not in the base currency {base} (not supported yet)")

    # --- positions, prices, FX, valuation -------------------------------------------------------
    _, movements = roll_positions(books.opening_positions, books.trades, books.corporate_actions, dates[-1], basis="trade")
    holdings = holdings_by_date(movements, dates)
    chosen = select_prices(books.price_history, secs, fund.pricing.hierarchy, books.price_overrides)
    held_pairs = holdings.groupby(["nav_date", "security_id"], as_index=False)["quantity"].sum().rename(columns={"nav_date": "price_date"})
    prices = valuation_prices(chosen, held_pairs, dates)
    currencies = sorted(set(secs.loc[secs["security_id"].isin(holdings["security_id"]), "currency"]) | set(books.opening_cash["currency"]) | {base})
    fx = fx_to_base(books.fx_history, base, currencies)
    fx = fx[fx["rate_date"].isin(ts_dates)]
    valuation = value_positions(holdings, prices, fx, secs)

    # --- income, trades, capital, ledger mapped to NAV dates --------------------------------------
    income = income_entitlements(books.corporate_actions, movements, fund.fund_code, secs, fund.withholding_tax_pct, dates[1:])
    income["pay_on"] = to_valuation_date(income["pay_date"], dates + [dates[-1] + dt.timedelta(days=36500)])
    trades = books.trades.copy()
    trades["trade_on"] = to_valuation_date(trades["trade_date"], dates)
    trades["settle_on"] = to_valuation_date(trades["settlement_date"], dates + [dates[-1] + dt.timedelta(days=36500)])
    sign = np.where(trades["side"].eq("BUY"), 1.0, -1.0)
    trades["gross_cashflow"] = -sign * trades["gross_amount"]
    trades["interest_cashflow"] = -sign * trades["accrued_interest"]
    trades["costs"] = trades["commission"] + trades["fees"]
    trades["net_cashflow"] = -sign * trades["net_amount"]
    capital = books.capital_activity.copy()
    capital["deal_on"] = to_valuation_date(capital["dealing_date"], dates)
    capital["settle_on"] = to_valuation_date(capital["settlement_date"], dates + [dates[-1] + dt.timedelta(days=36500)])
    capital["signed_amount"] = np.where(capital["order_type"].eq("SUB"), 1.0, -1.0) * capital["amount"]
    capital["signed_units"] = np.where(capital["order_type"].eq("SUB"), 1.0, -1.0) * capital["units"]
    ledger = books.cash_ledger.copy()
    ledger["value_on"] = to_valuation_date(ledger["value_date"], dates)
    fee_paid = _fee_payments(books.cash_ledger, fund.fund_code)
    fee_paid["paid_on"] = to_valuation_date(fee_paid["value_date"], dates)
    suspense = ledger[~ledger["reference"].isin(_known_references(books)) & ledger["movement_type"].ne("FEE_PAYMENT")]

    fx_wide = fx.pivot_table(index="rate_date", columns="currency", values="rate_to_base").reindex(ts_dates)
    cash_open = books.opening_cash.groupby("currency")["balance"].sum()

    # --- per-date balance sheet of the common pool, by currency (local) ----------------------------
    def by_ccy(frame: pd.DataFrame, date_col: str, value: str, until_col: str | None = None) -> pd.DataFrame:
        """Sum of ``value`` per NAV date and currency: cumulative from ``date_col`` (and until ``until_col`` exclusive)."""
        out = pd.DataFrame(0.0, index=ts_dates, columns=currencies)
        if frame.empty:
            return out
        starts = frame.pivot_table(index=date_col, columns="currency", values=value, aggfunc="sum").reindex(index=ts_dates, columns=currencies).fillna(0.0)
        out = starts.cumsum()
        if until_col is not None:
            ends = frame.pivot_table(index=until_col, columns="currency", values=value, aggfunc="sum").reindex(index=ts_dates, columns=currencies).fillna(0.0)
            out = out - ends.cumsum()
        return out

    zero = pd.DataFrame(0.0, index=ts_dates, columns=currencies)
    mv = valuation.pivot_table(index="nav_date", columns="currency", values="market_value_local", aggfunc="sum").reindex(index=ts_dates, columns=currencies).fillna(0.0)
    ai = valuation.pivot_table(index="nav_date", columns="currency", values="accrued_interest_local", aggfunc="sum").reindex(index=ts_dates, columns=currencies).fillna(0.0)
    bank = zero.add(cash_open.reindex(currencies).fillna(0.0), axis=1) + by_ccy(ledger, "value_on", "amount")
    sold = trades[trades["side"].eq("SELL")]
    bought = trades[trades["side"].eq("BUY")]
    sold_recv = by_ccy(sold, "trade_on", "net_amount", "settle_on")
    bought_pay = -by_ccy(bought, "trade_on", "net_amount", "settle_on")
    income_recv = by_ccy(income, "recognised_on", "net_amount", "pay_on")
    subs = capital[capital["order_type"].eq("SUB")]
    reds = capital[capital["order_type"].eq("RED")]
    subs_recv = by_ccy(subs, "deal_on", "amount", "settle_on")
    reds_pay = -by_ccy(reds, "deal_on", "amount", "settle_on")
    local_total = mv + ai + bank + sold_recv + bought_pay + income_recv + subs_recv + reds_pay
    capital_today = capital.groupby("deal_on")["signed_amount"].sum().reindex(ts_dates).fillna(0.0)
    to_base = fx_wide.reindex(columns=currencies)

    def base_total(frame: pd.DataFrame) -> pd.Series:
        return (frame * to_base).sum(axis=1)

    # --- the day's flows of the common pool, for the explain (local, then at the previous FX) -----
    day = lambda frame, col, value: frame.pivot_table(index=col, columns="currency", values=value, aggfunc="sum").reindex(index=ts_dates, columns=currencies).fillna(0.0) if len(frame) else zero  # noqa: E731
    gross_cf = day(trades, "trade_on", "gross_cashflow")
    interest_cf = day(trades, "trade_on", "interest_cashflow")
    costs = day(trades, "trade_on", "costs")
    income_today = day(income, "recognised_on", "net_amount")
    market_local = mv.diff() + gross_cf
    income_local = ai.diff() + interest_cf + income_today
    pre_dealing_local = local_total.copy()
    pre_dealing_local[base] = pre_dealing_local[base] - capital_today
    fx_effect = (pre_dealing_local * (to_base - to_base.shift())).sum(axis=1)
    prev_fx = to_base.shift()
    market = (market_local * prev_fx).sum(axis=1)
    income_base = (income_local * prev_fx).sum(axis=1)
    costs_base = (costs * prev_fx).sum(axis=1)

    # --- the daily class split: a recursion over NAV dates ----------------------------------------
    classes = {c.code: c for c in fund.share_classes}
    opening = books.opening_share_classes.set_index("share_class")
    annual_fixed = sum(f.annual_amount for f in fund.fixed_fees)
    fixed_paid = fee_paid[fee_paid["share_class"].eq("")].groupby("paid_on")["amount"].sum()
    mgmt_paid = fee_paid[fee_paid["share_class"].ne("")].groupby(["paid_on", "share_class"])["amount"].sum()
    cap_by_class = capital.groupby(["deal_on", "share_class"]).agg(amount=("signed_amount", "sum"), units=("signed_units", "sum"),
                                                                    subscribed=("units", lambda u: u[capital.loc[u.index, "order_type"].eq("SUB")].sum()),
                                                                    redeemed=("units", lambda u: u[capital.loc[u.index, "order_type"].eq("RED")].sum()))
    pool_assets = base_total(local_total)
    state = {}
    fixed_liability = 0.0
    opening_total = pool_assets.iloc[0]
    declared = sum(float(opening.at[c, "net_assets"]) + float(opening.at[c, "performance_fee_accrued"] or 0.0) for c in classes)
    scale = opening_total / declared if declared else 1.0
    notes.append(f"opening: the books value the quarter-end book at {opening_total:,.2f} {base} against class net assets "
                 f"(plus accrued performance fees) of {declared:,.2f}: difference {opening_total - declared:,.2f} spread pro rata")
    for code in classes:
        perf_accrued = float(opening.at[code, "performance_fee_accrued"] or 0.0)
        hwm = opening.at[code, "high_water_mark"]
        state[code] = {"gross": (float(opening.at[code, "net_assets"]) + perf_accrued) * scale, "mgmt": 0.0, "perf": perf_accrued,
                       "units": float(opening.at[code, "units_outstanding"]), "hwm": float(hwm) if pd.notna(hwm) else np.nan,
                       "net_prev": float(opening.at[code, "net_assets"]), "crystallised": 0.0}
    rows, accrual_rows, flow_rows = [], [], []
    for code, s in state.items():
        rows.append({"nav_date": ts_dates[0], "share_class": code, "units_opening": s["units"], "units_subscribed": 0.0, "units_redeemed": 0.0,
                     "units_outstanding": s["units"], "gross_assets": s["gross"], "management_fee_accrued": 0.0, "performance_fee_accrued": s["perf"],
                     "nav_per_share": float(opening.at[code, "nav_per_share"]), "net_assets_before_dealing": s["net_prev"],
                     "capital_activity": 0.0, "net_assets": s["net_prev"], "high_water_mark": s["hwm"], "management_fee_charge": 0.0,
                     "performance_fee_charge": 0.0, "pool_share": np.nan})
    pool_after_prev = pool_assets.iloc[0]
    for i in range(1, len(dates)):
        d, prev = ts_dates[i], ts_dates[i - 1]
        days = (d - prev).days
        paid_today = {c: float(mgmt_paid.get((d, c), 0.0)) for c in classes}
        fixed_paid_today = float(fixed_paid.get(d, 0.0))
        fixed_accrued = fees.fixed_fee_accrual(annual_fixed, days, fund.day_basis)
        fixed_opening = fixed_liability
        fixed_liability += fixed_accrued - fixed_paid_today
        pool_now = pool_assets.iloc[i] - capital_today.iloc[i] - fixed_liability
        pnl = pool_now - (pool_after_prev - sum(paid_today.values()))
        for c, s in state.items():  # a fee paid leaves the pool's cash and the class's liability together
            s["gross"] -= paid_today[c]
            s["mgmt"] -= paid_today[c]
        total_gross = sum(s["gross"] for s in state.values())
        next_date = dates[i + 1] if i + 1 < len(dates) else None
        for c, s in state.items():
            params = classes[c]
            weight = s["gross"] / total_gross
            s["gross"] += pnl * weight
            mgmt_opening = s["mgmt"] + paid_today[c]
            mgmt_accrued = float(fees.management_fee_accrual(s["net_prev"], params.management_fee_pct, days, fund.day_basis))
            s["mgmt"] += mgmt_accrued
            perf_opening = s["perf"]
            perf = params.performance_fee
            if perf is not None and not np.isnan(s["hwm"]):
                gross_nps = (s["gross"] - s["mgmt"]) / s["units"]
                frac = fees.period_fraction(d.date(), perf.crystallisation)
                s["perf"] = float(fees.performance_fee_per_share(gross_nps, s["hwm"], perf.rate_pct, perf.hurdle_pct, frac)) * s["units"]
            net = s["gross"] - s["mgmt"] - s["perf"]
            nps = float(half_up(net / s["units"], fund.nav_decimals))
            cap = cap_by_class.loc[(d, c)] if (d, c) in cap_by_class.index else None
            units_opening = s["units"]
            if cap is not None:
                s["gross"] += float(cap["amount"])
                s["units"] += float(cap["units"])  # the register's dealt units, kept exact (rounded where shown)
            net_after = s["gross"] - s["mgmt"] - s["perf"]
            perf_charge = s["perf"] - perf_opening
            if perf is not None and not np.isnan(s["hwm"]) and fees.is_period_end(d.date(), next_date, perf.crystallisation) and s["perf"] > 0:
                # crystallise: the accrued fee becomes payable to the manager and the high-water mark resets
                s["crystallised"] += s["perf"]
                s["hwm"] = max(s["hwm"], nps)
                s["gross"] -= s["perf"]
                s["perf"] = 0.0
            rows.append({"nav_date": d, "share_class": c, "units_opening": units_opening,
                         "units_subscribed": float(cap["subscribed"]) if cap is not None else 0.0,
                         "units_redeemed": float(cap["redeemed"]) if cap is not None else 0.0, "units_outstanding": s["units"],
                         "gross_assets": s["gross"], "management_fee_accrued": s["mgmt"], "performance_fee_accrued": s["perf"], "nav_per_share": nps,
                         "net_assets_before_dealing": net, "capital_activity": float(cap["amount"]) if cap is not None else 0.0, "net_assets": net_after,
                         "high_water_mark": s["hwm"], "management_fee_charge": mgmt_accrued, "performance_fee_charge": perf_charge, "pool_share": weight})
            accrual_rows += [
                {"nav_date": d, "accrual": "management fee", "share_class": c, "opening": mgmt_opening, "accrued": mgmt_accrued, "paid": paid_today[c], "closing": s["mgmt"]},
                {"nav_date": d, "accrual": "performance fee", "share_class": c, "opening": perf_opening, "accrued": perf_charge, "paid": 0.0, "closing": s["perf"]},
            ]
            s["net_prev"] = net_after
        accrual_rows.append({"nav_date": d, "accrual": "fixed fees (audit, administration)", "share_class": "", "opening": fixed_opening,
                             "accrued": fixed_accrued, "paid": fixed_paid_today, "closing": fixed_liability})
        flow_rows.append({"nav_date": d, "market": market.iloc[i], "fx": fx_effect.iloc[i], "income": income_base.iloc[i],
                          "expenses": -costs_base.iloc[i] - fixed_accrued, "transaction_costs": -costs_base.iloc[i], "fixed_fees": -fixed_accrued,
                          "pnl": pnl, "fixed_fees_payable": fixed_liability})
        pool_after_prev = pool_now + capital_today.iloc[i]
    class_nav = pd.DataFrame(rows)
    class_nav["net_assets"] = half_up(class_nav["net_assets"], 2)
    class_nav["units_outstanding"] = half_up(class_nav["units_outstanding"], fund.unit_decimals)
    pool_flows = pd.DataFrame(flow_rows)
    pool_flows["residual"] = pool_flows["pnl"] - pool_flows[["market", "fx", "income", "expenses"]].sum(axis=1)

    # --- balance sheet lines (base) ---------------------------------------------------------------
    lines = {"investments": base_total(mv), "accrued_interest": base_total(ai), "cash_at_bank": base_total(bank),
             "securities_sold_receivable": base_total(sold_recv), "securities_purchased_payable": base_total(bought_pay),
             "income_receivable": base_total(income_recv), "subscriptions_receivable": base_total(subs_recv),
             "redemptions_payable": base_total(reds_pay)}
    sheet = pd.DataFrame(lines)
    sheet["fixed_fees_payable"] = -pd.Series([0.0] + list(pool_flows["fixed_fees_payable"]), index=ts_dates)
    by_date = class_nav.groupby("nav_date")
    sheet["management_fees_payable"] = -by_date["management_fee_accrued"].sum().reindex(ts_dates)
    sheet["performance_fees_payable"] = -by_date["performance_fee_accrued"].sum().reindex(ts_dates)
    balance_sheet = sheet.rename_axis("nav_date").reset_index().melt(id_vars="nav_date", var_name="line", value_name="amount_base")

    accruals = pd.DataFrame(accrual_rows)
    last = pd.Timestamp(dates[-1])
    cost = average_cost_and_pnl(books.opening_positions, movements, books.trades)
    final = valuation[valuation["nav_date"].eq(last)].groupby("security_id", as_index=False).agg(
        quantity=("quantity", "sum"), price=("price", "first"), currency=("currency", "first"), asset_class=("asset_class", "first"),
        multiplier=("multiplier", "first"), market_value_local=("market_value_local", "sum"), market_value_base=("market_value_base", "sum"))
    positions = final.merge(cost.drop(columns="quantity"), on="security_id", how="left")
    positions["book_cost"] = positions["book_cost"] * positions["multiplier"]  # bonds: per 100 of nominal
    positions["unrealised_pnl_local"] = positions["market_value_local"] - positions["book_cost"]
    positions["realised_pnl_local"] = positions["realised_pnl"] * positions["multiplier"]
    positions = positions.drop(columns=["realised_pnl"])
    dealing = _redeal(capital, class_nav, fund)
    adjustments = ratio_adjustment(books.corporate_actions, dates)
    cash = bank.rename_axis("nav_date").reset_index().melt(id_vars="nav_date", var_name="currency", value_name="cash_at_bank")
    return NavResult(fund, dates, class_nav, balance_sheet, valuation, chosen, adjustments, fx, income, pool_flows, accruals, dealing,
                     positions, suspense.reset_index(drop=True), cash, notes)


def _redeal(capital: pd.DataFrame, class_nav: pd.DataFrame, fund: FundParameters) -> pd.DataFrame:
    """Every order re-dealt at the shadow NAV per share of its dealing date: a subscription's units
    are ``round_half_up(amount / NAV per share, unit_decimals)``, a redemption's amount is
    ``round_half_up(units x NAV per share, 2)``. Compared with what the register dealt."""
    nps = class_nav[["nav_date", "share_class", "nav_per_share"]].rename(columns={"nav_date": "deal_on", "nav_per_share": "shadow_nav_per_share"})
    out = capital.merge(nps, on=["deal_on", "share_class"], how="left")
    is_sub = out["order_type"].eq("SUB")
    out["shadow_units"] = np.where(is_sub, half_up(out["amount"] / out["shadow_nav_per_share"], fund.unit_decimals), out["units"])
    out["shadow_amount"] = np.where(is_sub, out["amount"], half_up(out["units"] * out["shadow_nav_per_share"], 2))
    out["register_check_units"] = np.where(is_sub, half_up(out["amount"] / out["nav_per_share"], fund.unit_decimals), out["units"])
    out["register_check_amount"] = np.where(is_sub, out["amount"], half_up(out["units"] * out["nav_per_share"], 2))
    out["units_difference"] = out["units"] - out["shadow_units"]
    out["amount_difference"] = out["amount"] - out["shadow_amount"]
    out["register_rounding_ok"] = np.isclose(out["register_check_units"], out["units"], atol=0.5 * 10.0 ** -fund.unit_decimals) & np.isclose(
        out["register_check_amount"], out["amount"], atol=0.005)
    cols = ["order_id", "share_class", "investor_id", "order_type", "dealing_date", "settlement_date", "amount", "units", "nav_per_share",
            "shadow_nav_per_share", "shadow_units", "shadow_amount", "units_difference", "amount_difference", "register_rounding_ok"]
    return out[cols]
