"""The NAV report of one fund and business date, assembled from the pure NAV functions: the shadow
NAV history, the day's pricing and FX exceptions, the controls, the explain and the key figures the
archive index shows. What the NAV notebook displays, in one call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from bo_lib.nav import controls
from bo_lib.nav.explain import nav_explain
from bo_lib.nav.nav import NavBooks, NavResult, compute_nav
from bo_lib.nav.pricing import fx_exceptions, price_exceptions


@dataclass
class NavReport:
    business_date: dt.date
    result: NavResult
    explain: pd.DataFrame
    price_exceptions: pd.DataFrame
    fx_exceptions: pd.DataFrame
    day_moves: pd.DataFrame
    shadow_vs_administrator: pd.DataFrame
    units_rollforward: pd.DataFrame
    position_exceptions: pd.DataFrame
    coupons_without_event: pd.DataFrame
    summary: pd.DataFrame

    @property
    def class_table(self) -> pd.DataFrame:
        """The day's NAV per class: units, NAV per share, net assets, fees, the administrator's figure."""
        d = pd.Timestamp(self.business_date)
        if self.result.class_nav.empty:
            return pd.DataFrame(columns=["share_class", "units_outstanding", "nav_per_share", "net_assets"])
        nav = self.result.class_nav[self.result.class_nav["nav_date"].eq(d)]
        shadow = self.shadow_vs_administrator[self.shadow_vs_administrator["nav_date"].eq(d)]
        table = nav.merge(shadow[["share_class", "administrator_nav_per_share", "difference_pct", "status"]], on="share_class", how="left")
        return table[["share_class", "units_opening", "units_subscribed", "units_redeemed", "units_outstanding", "nav_per_share",
                      "net_assets_before_dealing", "capital_activity", "net_assets", "management_fee_accrued", "performance_fee_accrued",
                      "high_water_mark", "administrator_nav_per_share", "difference_pct", "status"]]

    @property
    def balance_sheet_today(self) -> pd.DataFrame:
        bs = self.result.balance_sheet
        today = bs[bs["nav_date"].eq(pd.Timestamp(self.business_date))][["line", "amount_base"]]
        total = pd.DataFrame({"line": ["net assets"], "amount_base": [today["amount_base"].sum()]})
        return pd.concat([today, total], ignore_index=True)

    def store_rows(self) -> pd.DataFrame:
        """Every date's class results with the administrator's figure, for the workbench store."""
        nav = self.result.class_nav
        shadow = self.shadow_vs_administrator[["nav_date", "share_class", "administrator_nav_per_share", "difference_pct"]]
        rows = nav.merge(shadow, on=["nav_date", "share_class"], how="left").rename(columns={"administrator_nav_per_share": "admin_nav_per_share"})
        return rows.assign(fund=self.result.fund.fund_code)

    def key_figures(self) -> dict:
        if self.result.class_nav.empty:
            return {"net_assets": None, "pricing_exceptions": len(self.price_exceptions)}
        d = pd.Timestamp(self.business_date)
        nav = self.result.class_nav[self.result.class_nav["nav_date"].eq(d)].set_index("share_class")
        figures = {f"nav_per_share_{c}": float(nav.at[c, "nav_per_share"]) for c in nav.index}
        figures["net_assets"] = round(float(nav["net_assets"].sum()), 2)
        figures["pricing_exceptions"] = len(self.price_exceptions)
        shadow = self.shadow_vs_administrator[self.shadow_vs_administrator["nav_date"].eq(d)]
        figures["max_admin_difference_pct"] = round(float(shadow["difference_pct"].abs().max()), 4) if len(shadow) else None
        figures["max_explain_residual_per_share"] = float(self.explain.loc[self.explain["nav_date"].eq(d), "residual_per_share"].abs().max())
        return figures

    @property
    def counts(self) -> dict:
        return {r: int((self.summary["rag"] == r).sum()) for r in ("red", "amber", "green")}


def missing_inputs(books: NavBooks) -> list[str]:
    """What the NAV cannot be struck without: the opening book and each share class's opening line."""
    problems = []
    if len(books.valuation_dates) < 2:
        problems.append("no opening date and NAV date to roll from")
    classes = set(books.opening_share_classes["share_class"]) if "share_class" in books.opening_share_classes else set()
    missing = [c.code for c in books.fund.share_classes if c.code not in classes]
    if missing:
        problems.append(f"no opening share-class line for class(es) {', '.join(missing)}")
    if books.opening_positions.empty and books.opening_cash.empty:
        problems.append("no opening positions or cash")
    return problems


def _unavailable(books: NavBooks, business_date: dt.date, problems: list[str], violations: int) -> NavReport:
    """A report that says why the NAV could not be struck, with empty tables of the usual shape."""
    def empty(*columns: str) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c.endswith("date") else "object") for c in columns})

    result = NavResult(books.fund, books.valuation_dates,
                       class_nav=empty("nav_date", "share_class", "nav_per_share", "units_outstanding", "net_assets", "net_assets_before_dealing"),
                       balance_sheet=empty("nav_date", "line", "amount_base"),
                       valuation=empty("nav_date", "account", "security_id", "quantity", "price", "source", "currency", "market_value_local",
                                       "accrued_interest_local", "market_value_base"),
                       chosen_prices=empty("price_date", "security_id", "price"), price_adjustments=empty("price_date", "security_id"),
                       fx=empty("rate_date", "currency", "rate_to_base"), income=empty("event_id"), pool_flows=empty("nav_date"),
                       accruals=empty("nav_date", "accrual", "share_class", "opening", "accrued", "paid", "closing"),
                       dealing=empty("dealing_date", "order_id"), positions=empty("security_id"), ledger_suspense=empty("reference"),
                       cash=empty("nav_date", "currency", "cash_at_bank"), notes=problems)
    summary = pd.DataFrame([{"check": "input data", "rag": controls.RED, "count": max(violations, len(problems)),
                             "detail": "the NAV cannot be struck: " + "; ".join(problems)}])
    shadow = empty("nav_date", "share_class", "shadow_nav_per_share", "administrator_nav_per_share", "difference_pct", "rag")
    return NavReport(business_date, result, empty("nav_date", "share_class", "residual_per_share"), empty("security_id", "exception"),
                     empty("currency"), empty("nav_date", "share_class", "rag"), shadow, empty("nav_date", "share_class", "rag"),
                     empty("exception"), empty("security_id"), summary)


def strike_nav(books: NavBooks, business_date: dt.date, violations: int = 0) -> NavReport:
    """Compute the shadow NAV history to ``business_date`` and run every NAV control on that date
    (or, when the opening book is missing, a report that says so: never a crash)."""
    problems = missing_inputs(books)
    if problems:
        return _unavailable(books, business_date, problems, violations)
    fund = books.fund
    result = compute_nav(books)
    d = pd.Timestamp(business_date)
    valued_today = result.valuation.groupby(["nav_date", "security_id"], as_index=False).agg(
        quantity=("quantity", "sum"), market_value_base=("market_value_base", "sum"), price=("price", "first"), source=("source", "first"),
        price_as_of=("price_as_of", "first"), carried_forward=("carried_forward", "first"), is_override=("is_override", "first"),
        secondary_price=("secondary_price", "first")).rename(columns={"nav_date": "price_date"})
    prices = price_exceptions(valued_today, result.chosen_prices, books.securities, business_date, fund.pricing.stale_days,
                              fund.pricing.jump_pct, result.price_adjustments)
    held_ccy = sorted(set(result.valuation.loc[result.valuation["nav_date"].eq(d), "currency"]) | set(result.cash["currency"]) | {fund.base_currency})
    fx = fx_exceptions(books.fx_history, business_date, fund.pricing.fx_move_pct, held_ccy)
    impact = prices[prices["exception"].eq("price_jump")].assign(nav_date=d)[["nav_date", "impact_base"]]
    shadow = controls.shadow_vs_administrator(result.class_nav, books.admin_nav, fund.nav_thresholds.materiality_pct, impact)
    explain = nav_explain(result.class_nav, result.pool_flows)
    moves = controls.day_moves(result.class_nav, fund.nav_thresholds.day_move_pct)
    units = controls.units_rollforward(result.class_nav, fund.unit_decimals)
    positions = controls.position_exceptions(result.valuation, result.cash, business_date)
    coupons = controls.coupons_without_event(result.valuation, books.securities, books.corporate_actions, result.valuation_dates)
    summary = controls.summary(prices, fx, moves, shadow, units, positions, result.ledger_suspense, coupons, explain, business_date,
                               fund.base_currency, violations)
    return NavReport(business_date, result, explain, prices, fx, moves, shadow, units, positions, coupons, summary)
