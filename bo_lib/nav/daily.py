"""The NAV report of one fund and business date, assembled from the pure NAV functions: the day's
NAV per class as the books struck it, its pricing and FX exceptions, the controls against the
administrator over the history window, the explain, the restatements, the lock, and the key
figures the archive index shows. What the NAV notebook displays, in one call (``nav_report``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from bo_lib.books.nav import NavResult
from bo_lib.books.quality import provisional_reasons
from bo_lib.nav import controls
from bo_lib.nav.cash import ACCOUNT_COLUMNS as CASH_ACCOUNT_COLUMNS
from bo_lib.nav.cash import ITEM_COLUMNS as CASH_ITEM_COLUMNS
from bo_lib.nav.cash import CashInNav, cash_in_nav
from bo_lib.nav.cash import summary_line as cash_line
from bo_lib.nav.explain import nav_explain
from bo_lib.nav.income import COUPON_COLUMNS, claims_line, coupon_check, coupon_line, market_claims_open
from bo_lib.nav.inputs import NavInputs
from bo_lib.nav.pricing import FLAGGED_COLUMNS, flagged_line, flagged_prices, fx_exceptions, price_exceptions
from bo_lib.prices import ratio_adjustment
from bo_lib.rag import AMBER, GREEN, RED, worst_first

CLASS_TABLE_COLUMNS = ["share_class", "units_opening", "units_subscribed", "units_redeemed", "units_outstanding", "nav_per_share",
                       "net_assets_before_dealing", "capital_activity", "net_assets", "management_fee_accrued", "performance_fee_accrued",
                       "performance_fee_payable", "high_water_mark", "administrator_nav_per_share", "difference_pct", "status"]


@dataclass
class NavReport:
    business_date: dt.date
    inputs: NavInputs
    result: NavResult  # the day's figures (empty tables when the NAV could not be struck)
    explain: pd.DataFrame  # the history window
    price_exceptions: pd.DataFrame
    fx_exceptions: pd.DataFrame
    day_moves: pd.DataFrame
    shadow_vs_administrator: pd.DataFrame  # the history window
    units_rollforward: pd.DataFrame  # the books' units against the dealing of the transfer agent's feed, the history window
    position_exceptions: pd.DataFrame
    coupons_without_event: pd.DataFrame
    summary: pd.DataFrame
    cash: CashInNav | None = None  # the books' cash per account against the bank, and the reconciling items
    flagged_prices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAGGED_COLUMNS))  # struck at a flagged price
    coupons: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COUPON_COLUMNS))  # today's coupons against their accrual
    market_claims: pd.DataFrame = field(default_factory=pd.DataFrame)  # open claims of trades crossing a record date

    @property
    def cash_accounts(self) -> pd.DataFrame:
        """Per cash account: book cash, the latest bank balance and its date, the check (book cash - items = bank)."""
        return self.cash.accounts if self.cash is not None else pd.DataFrame(columns=CASH_ACCOUNT_COLUMNS)

    @property
    def cash_items(self) -> pd.DataFrame:
        """The reconciling items between the books' cash and the bank, classified, with their NAV effect."""
        return self.cash.items if self.cash is not None else pd.DataFrame(columns=CASH_ITEM_COLUMNS)

    @property
    def approvable(self) -> bool:
        """Whether the NAV may be approved: not struck at a price its own control flagged."""
        return self.flagged_prices.empty

    @property
    def class_table(self) -> pd.DataFrame:
        """The day's NAV per class: units, NAV per share, net assets, fees, the administrator's figure."""
        d = pd.Timestamp(self.business_date)
        nav = self.inputs.history[self.inputs.history["nav_date"].eq(d)]
        if nav.empty or self.inputs.result is None:
            return pd.DataFrame(columns=CLASS_TABLE_COLUMNS)
        shadow = self.shadow_vs_administrator[self.shadow_vs_administrator["nav_date"].eq(d)]
        table = nav.merge(shadow[["share_class", "administrator_nav_per_share", "difference_pct", "status"]], on="share_class", how="left")
        return table.reindex(columns=CLASS_TABLE_COLUMNS)

    @property
    def balance_sheet_today(self) -> pd.DataFrame:
        bs = self.result.balance_sheet
        today = bs[bs["nav_date"].eq(pd.Timestamp(self.business_date))][["line", "amount_base"]]
        total = pd.DataFrame({"line": ["net assets"], "amount_base": [today["amount_base"].sum()]})
        return pd.concat([today, total], ignore_index=True)

    def key_figures(self) -> dict:
        d = pd.Timestamp(self.business_date)
        nav = self.inputs.history[self.inputs.history["nav_date"].eq(d)].set_index("share_class")
        if nav.empty or self.inputs.result is None:
            return {"base_currency": self.inputs.fund.base_currency, "net_assets": None, "pricing_exceptions": len(self.price_exceptions)}
        figures: dict = {"base_currency": self.inputs.fund.base_currency, "nav_decimals": self.inputs.fund.nav_decimals}
        figures |= {f"nav_per_share_{c}": float(nav.at[c, "nav_per_share"]) for c in nav.index}
        figures["net_assets"] = round(float(nav["net_assets"].sum()), 2)
        figures["pricing_exceptions"] = len(self.price_exceptions)
        shadow = self.shadow_vs_administrator[self.shadow_vs_administrator["nav_date"].eq(d)]
        figures["max_admin_difference_pct"] = round(float(shadow["difference_pct"].abs().max()), 4) if len(shadow) else None
        today = self.explain.loc[self.explain["nav_date"].eq(d), "residual_per_share"]
        figures["max_explain_residual_per_share"] = float(today.abs().max()) if len(today) else None
        figures["restatements_required"] = int(len(self.inputs.required))
        figures["navs_restated_unlocked"] = int(len(self.inputs.restated))
        figures["locked_through"] = self.inputs.locked_through.isoformat() if self.inputs.locked_through else None
        figures["cash_items"] = len(self.cash_items)
        figures["cash_nav_effect_base"] = round(self.cash.nav_effect_base, 2) if self.cash is not None else None
        figures["flagged_prices"] = len(self.flagged_prices)
        return figures

    @property
    def counts(self) -> dict:
        return {r: int((self.summary["rag"] == r).sum()) for r in (RED, AMBER, GREEN)}


def _empty(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c.endswith("date") else "object") for c in columns})


def _unavailable(inputs: NavInputs) -> NavReport:
    """A report that says why the NAV could not be shown, with empty tables of the usual shape."""
    summary = pd.DataFrame([{"check": "input data", "rag": RED, "count": max(len(inputs.violations), len(inputs.problems)),
                             "detail": "the NAV cannot be struck: " + "; ".join(inputs.problems)}])
    shadow = _empty("nav_date", "share_class", "shadow_nav_per_share", "administrator_nav_per_share", "difference_pct", "status", "rag")
    result = NavResult(inputs.fund, [inputs.business_date],
                       class_nav=_empty("nav_date", "share_class", "nav_per_share", "units_outstanding", "net_assets", "net_assets_before_dealing"),
                       balance_sheet=_empty("nav_date", "line", "amount_base"),
                       valuation=_empty("nav_date", "account", "security_id", "quantity", "price", "source", "currency", "market_value_local",
                                        "accrued_interest_local", "market_value_base"),
                       chosen_prices=_empty("price_date", "security_id", "price"), price_adjustments=_empty("price_date", "security_id"),
                       fx=_empty("rate_date", "currency", "rate_to_base"), income=_empty("event_id"), pool_flows=_empty("nav_date"),
                       accruals=_empty("nav_date", "accrual", "share_class", "opening", "accrued", "paid", "closing"),
                       dealing=_empty("dealing_date", "order_id"), positions=_empty("security_id"), ledger_suspense=_empty("reference"),
                       cash=_empty("nav_date", "currency", "cash_at_bank"), booked_events=_empty("event_id"), notes=list(inputs.problems))
    return NavReport(inputs.business_date, inputs, result, _empty("nav_date", "share_class", "residual_per_share"), _empty("security_id", "exception"),
                     _empty("currency"), _empty("nav_date", "share_class", "rag"), shadow, _empty("nav_date", "share_class", "rag"),
                     _empty("exception"), _empty("security_id"), summary)


def nav_report(inputs: NavInputs) -> NavReport:
    """Every NAV control on the business date (or, when the books have no NAV for it, a report that
    says why: never a crash)."""
    if inputs.problems or inputs.result is None:
        return _unavailable(inputs)
    fund, d, result, day = inputs.fund, inputs.business_date, inputs.result, inputs.day
    ts = pd.Timestamp(d)
    valued = valued_today(result.valuation, ts)
    adjustments = ratio_adjustment(day.corporate_actions, result.valuation_dates)
    prices = price_exceptions(valued, result.chosen_prices, inputs.securities, d, fund.pricing.stale_days, fund.pricing.jump_pct,
                              adjustments)
    held_ccy = sorted(set(result.valuation.loc[result.valuation["nav_date"].eq(ts), "currency"]) | set(result.cash["currency"]) | {fund.base_currency})
    fx = fx_exceptions(inputs.fx_history, d, fund.pricing.fx_move_pct, held_ccy)
    impact = prices[prices["exception"].eq("price_jump")].assign(nav_date=ts)[["nav_date", "impact_base"]]
    history = inputs.history
    shadow = controls.shadow_vs_administrator(history, inputs.admin_history, fund.nav_thresholds.materiality_pct, impact,
                                              unit_decimals=fund.unit_decimals)
    explain = nav_explain(history, inputs.flows_history)
    moves = controls.day_moves(history, fund.nav_thresholds.day_move_pct)
    units = controls.units_rollforward(history, inputs.capital_history, fund.unit_decimals)
    positions = controls.position_exceptions(result.valuation, result.cash, d)
    coupons = controls.coupons_without_event(result.valuation, inputs.securities, day.corporate_actions, result.valuation_dates)
    flagged = flagged_prices(prices, history, d, fund.base_currency)
    cash = nav_cash(inputs)
    summary = controls.summary(prices, fx, moves, shadow, units, positions, result.ledger_suspense, coupons, explain, d,
                               fund.base_currency, len(inputs.violations), dealing=result.dealing)
    summary = with_books_checks(summary, inputs, result)
    coupon_checks = coupon_check(result.income, inputs.securities, day.cash_ledger, d)
    claims = market_claims_open(result.income)
    extra = pd.DataFrame([flagged_line(flagged, d), cash_line(cash, fund.base_currency), coupon_line(coupon_checks, fund.base_currency),
                          claims_line(claims)])
    summary = worst_first(pd.concat([summary, extra], ignore_index=True))
    return NavReport(d, inputs, result, explain, prices, fx, moves, shadow, units, positions, coupons, summary, cash, flagged,
                     coupon_checks, claims)


def nav_cash(inputs: NavInputs) -> CashInNav | None:
    """The cash in the NAV of the day against the bank (``bo_lib.nav.cash``), from what ``gather_nav`` read."""
    if inputs.state is None or inputs.result is None:
        return None
    fx = inputs.result.fx
    fx = fx[fx["rate_date"].eq(pd.Timestamp(inputs.business_date))]
    return cash_in_nav(inputs.state.cash, inputs.cash_statements, inputs.cash_entries, inputs.cash_ledger, inputs.settlement_status,
                       inputs.cash_events, inputs.securities, inputs.fund.withholding_tax_pct, inputs.state.open_income, fx, inputs.history,
                       business_date=inputs.business_date, base_currency=inputs.fund.base_currency)


def valued_today(valuation: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The day's holdings per security (all accounts) with their price and how it was chosen."""
    today = valuation[valuation["nav_date"].eq(day)]
    grouped = today.groupby(["nav_date", "security_id"], as_index=False)
    sums = grouped[["quantity", "market_value_base"]].sum()
    firsts = grouped[["price", "source", "price_as_of", "carried_forward", "is_override", "secondary_price"]].first()
    return sums.merge(firsts, on=["nav_date", "security_id"]).rename(columns={"nav_date": "price_date"})


def _provisional_line(state) -> tuple:
    """Red while the NAV was struck on input that broke a rule or with a delivery day missing: a
    provisional NAV is not closed and is no baseline for restatements (``bo_lib.books.quality``)."""
    if state is None or not state.is_provisional:
        return ("provisional NAV", GREEN, 0, "final: struck on input that meets every contract, no delivery day missing")
    reasons = provisional_reasons(list(state.provisional), list(state.missing_days))
    more = f"; and {len(reasons) - 5} more" if len(reasons) > 5 else ""
    return ("provisional NAV", RED, len(reasons), "not final, cannot be closed until corrected: " + "; ".join(reasons[:5]) + more)


def with_books_checks(summary: pd.DataFrame, inputs: NavInputs, result) -> pd.DataFrame:
    """The NAV summary with the book-of-record lines: a locked NAV that changed deliveries would
    move (red: restatement required, applied only after a reopen), NAVs restated since the last
    close (amber: the reviewer sees them before closing), and the day struck again from the
    previous state agreeing with the stored state (red otherwise: the books would not reproduce)."""
    rows = [_provisional_line(inputs.state)]
    required = inputs.required
    if len(required):
        detail = "; ".join(f"{pd.Timestamp(r.business_date):%Y-%m-%d} class {r.share_class}: locked {r.stored_nav_per_share:,.4f}, "
                           f"{r.recomputed_nav_per_share:,.4f} with the corrected deliveries ({r.difference_per_share:+,.4f} per share, "
                           f"{r.effect_net_assets:+,.2f} {inputs.fund.base_currency} net assets)" for r in required.head(6).itertuples())
        first = pd.Timestamp(required["business_date"].min()).date()
        rows.append(("restatement required", RED, len(required),
                     f"{detail}; not applied: a locked NAV changes only after `bo reopen --fund {inputs.fund.fund_code} --date {first} --reason ... --by ...`"))
    else:
        rows.append(("restatement required", GREEN, 0, "no locked NAV is affected by a later delivery"))
    restated = inputs.restated
    if len(restated):
        detail = "; ".join(f"{pd.Timestamp(r.business_date):%Y-%m-%d} class {r.share_class}: {r.stored_nav_per_share:,.4f} -> "
                           f"{r.recomputed_nav_per_share:,.4f} ({r.reason})" for r in restated.tail(6).itertuples())
        days = pd.to_datetime(restated["business_date"])
        rows.append(("restatements", AMBER, len(restated), f"{len(restated)} class NAV(s) restated on {days.nunique()} day(s), "
                     f"{days.min():%Y-%m-%d} to {days.max():%Y-%m-%d}, since the last close (not locked yet); latest: {detail}"))
    else:
        rows.append(("restatements", GREEN, 0, "no NAV restated since the last close"))
    stored = inputs.state.classes.set_index("share_class")["nav_per_share"] if inputs.state is not None else pd.Series(dtype="float64")
    struck = result.class_nav[result.class_nav["nav_date"].eq(pd.Timestamp(inputs.business_date))].set_index("share_class")["nav_per_share"]
    differs = [c for c in stored.index if c in struck.index and abs(float(stored[c]) - float(struck[c])) > 1e-9]
    locked = inputs.locked_through is not None and inputs.business_date <= inputs.locked_through
    if differs:
        rows.append(("books reproduce", RED, len(differs), "struck again from the previous state, the NAV differs from the books' for class(es) "
                     + ", ".join(f"{c} ({float(stored[c]):,.4f} stored, {float(struck[c]):,.4f} now)" for c in differs)
                     + ("; the day is locked: the stored NAV stands" if locked else "")))
    else:
        rows.append(("books reproduce", GREEN, 0, f"the day struck again from the closing state of {inputs.previous.business_date} gives the "
                     f"books' NAV" + (f"; locked through {inputs.locked_through}" if inputs.locked_through else "; not locked")))
    extra = pd.DataFrame(rows, columns=["check", "rag", "count", "detail"])
    return worst_first(pd.concat([summary, extra], ignore_index=True))
