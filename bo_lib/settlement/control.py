"""The settlement control for one fund and business date: wires status, fails and ageing, CSDR
penalties and the cash ladder together, and summarises what needs attention red / amber / green
(exceptions first) with the key figures the archive index shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from bo_lib import calendars
from bo_lib.settlement import cash_ladder as ladder_mod
from bo_lib.settlement import csdr, status
from bo_lib.rag import AMBER, GREEN, RED, worst_first

#: fails older than this many business days are red (buckets 6-10 and >10)
OLD_FAIL_BUSINESS_DAYS = 5


@dataclass
class SettlementResult:
    business_date: dt.date
    base_currency: str
    report: pd.DataFrame  # every open or just-settled instruction
    fails: pd.DataFrame
    by_reason: pd.DataFrame
    by_counterparty: pd.DataFrame
    by_market: pd.DataFrame
    by_currency: pd.DataFrame
    ages: pd.DataFrame
    fail_rates: pd.DataFrame
    penalties: pd.DataFrame  # one row per instruction and day of failure
    monthly_penalties: pd.DataFrame
    flows: pd.DataFrame
    at_risk: pd.DataFrame
    ladder: pd.DataFrame
    violations: pd.DataFrame
    summary: pd.DataFrame  # check, rag, count, detail

    @property
    def month(self) -> str:
        return f"{self.business_date:%Y-%m}"

    @property
    def penalties_this_month(self) -> pd.DataFrame:
        return self.monthly_penalties[self.monthly_penalties["month"].eq(self.month)]

    @property
    def counts(self) -> dict[str, int]:
        return {rag: int(self.summary["rag"].eq(rag).sum()) for rag in (RED, AMBER, GREEN)}

    def key_figures(self) -> dict:
        month = self.penalties_this_month
        return {
            "base_currency": self.base_currency,
            "fails": len(self.fails),
            "fails_value_base": float(self.fails["unsettled_amount_base"].sum().round(2)),
            "oldest_fail_business_days": int(self.fails["age_business_days"].max()) if len(self.fails) else 0,
            "partial_settlements": int(self.fails["partial"].sum()),
            "unmatched_instructions": int(self.report["match_status"].eq("NMAT").sum()),
            "not_reported_by_custodian": int(self.report["state"].eq(status.NOT_REPORTED).sum()),
            "not_in_our_books": int(self.report["state"].eq(status.NOT_IN_BOOKS).sum()),
            # CSDR penalties are in the settlement currency of the EU CSD (EUR here), not the fund's base
            "csdr_penalty_currency": ", ".join(sorted(month["currency"].unique())) if "currency" in month and len(month) else "EUR",
            "csdr_penalties_paid_month": float(month["paid"].sum().round(2)),
            "csdr_penalties_received_month": float(month["received"].sum().round(2)),
            "csdr_penalties_net_month": float(month["net"].sum().round(2)),
            "projected_overdrafts": int(self.ladder.loc[self.ladder["overdraft"], "account"].nunique()),
        }


def _money(value: float, currency: str) -> str:
    return f"{currency} {value:,.2f}"


def summarise(result: SettlementResult) -> pd.DataFrame:
    base = result.base_currency
    failing, report = result.fails, result.report
    old = failing[failing["age_business_days"].gt(OLD_FAIL_BUSINESS_DAYS)]
    buckets = ", ".join(f"{r.age_bucket}: {r.fails}" for r in result.ages.itertuples() if r.fails)
    oldest = failing.iloc[0] if len(failing) else None
    fail_detail = (f"{len(failing)} failing, {_money(failing['unsettled_amount_base'].sum(), base)} unsettled; by age (business days) {buckets}; "
                   f"oldest {oldest['trade_id']} {oldest['reason_code']} {int(oldest['age_business_days'])} days"
                   + (f"; {int(failing['partial'].sum())} partially settled" if failing["partial"].any() else "")) if len(failing) else "no fails"
    unmatched = report[report["match_status"].eq("NMAT")]
    unmatched_due = unmatched["intended_settlement_date"].le(pd.Timestamp(result.business_date))
    not_reported = report[report["state"].eq(status.NOT_REPORTED)]
    unknown = report[report["state"].eq(status.NOT_IN_BOOKS)]
    month = result.penalties_this_month
    paid, received = float(month["paid"].sum()), float(month["received"].sum())
    missing_price = result.penalties[result.penalties["penalty"].isna()]
    penalties = result.penalties
    carried_price = penalties[penalties["reference_price_carried_forward"].fillna(False).astype(bool)
                              & pd.to_datetime(penalties["penalty_date"]).dt.strftime("%Y-%m").eq(result.month)]
    overdrafts = result.ladder[result.ladder["overdraft"]]
    worst = result.ladder[result.ladder["overdraft_if_fails_settle"] & ~result.ladder["overdraft"]]
    ladder_breaks = ladder_mod.ladder_breaks(result.ladder)
    no_account = result.flows[result.flows["account"].eq("")]
    rows = [
        ("Settlement fails", RED if len(old) else AMBER if len(failing) else GREEN, len(failing), fail_detail),
        ("Unmatched instructions", RED if unmatched_due.any() else AMBER if len(unmatched) else GREEN, len(unmatched),
         "; ".join(f"{r.trade_id} {r.reason_code} ({r.reason}), settles {r.intended_settlement_date:%Y-%m-%d}" for r in unmatched.itertuples())
         or "every instruction matched"),
        ("Custodian reporting", RED if len(not_reported) or len(unknown) else GREEN, len(not_reported) + len(unknown),
         "; ".join([f"{t} not reported by the custodian" for t in not_reported["trade_id"]] + [f"{t} reported but not in our books" for t in unknown["trade_id"]])
         or f"all {len(report)} open instructions reported"),
        ("CSDR penalties this month", RED if len(missing_price) else AMBER if paid > 0 or len(carried_price) else GREEN, int(month["penalty_days"].sum()),
         (f"{len(missing_price)} penalty day(s) without a reference price; " if len(missing_price) else "")
         + (f"{len(carried_price)} penalty day(s) at a reference price carried forward (no ranked source priced the day); "
            if len(carried_price) else "")
         + (f"{result.month}: paid EUR {paid:,.2f}, received EUR {received:,.2f}, net EUR {received - paid:+,.2f}" if len(month) else "no penalties accrued")),
        ("Projected overdrafts", RED if len(overdrafts) or len(ladder_breaks) or len(no_account) else AMBER if len(worst) else GREEN,
         int(overdrafts["account"].nunique()),
         "; ".join([f"{a} ({g['currency'].iat[0]}) below zero from {g['date'].min()}: {_money(g['projected_balance'].min(), g['currency'].iat[0])}"
                    for a, g in overdrafts.groupby("account")]
                   + [f"{a} below zero if failing purchases settle: {_money(g['worst_case_balance'].min(), g['currency'].iat[0])}"
                      for a, g in worst.groupby("account")]
                   + ([f"{len(ladder_breaks)} ladder row(s) do not balance"] if len(ladder_breaks) else [])
                   + ([f"{len(no_account)} flow(s) in a currency without a cash account"] if len(no_account) else []))
         or f"{result.ladder['account'].nunique()} account(s) stay in credit over {int(result.ladder['day'].max())} business days"),
        ("Input data", RED if len(result.violations) else GREEN, len(result.violations),
         f"{len(result.violations)} violation(s) in the settlement inputs (see the intake report)" if len(result.violations) else "inputs meet their contracts"),
    ]
    table = pd.DataFrame(rows, columns=["check", "rag", "count", "detail"])
    return worst_first(table)


def assess(inputs, ladder_days: int = ladder_mod.DEFAULT_DAYS, fail_rate_days: int = 20) -> SettlementResult:
    """Run the settlement control on gathered ``bo_lib.settlement.inputs.SettlementInputs``."""
    fund, bd = inputs.fund, inputs.business_date
    instructions = status.custody_instructions(inputs.trades, inputs.securities)
    report = status.settlement_report(instructions, inputs.status_history, bd, inputs.closures, inputs.fx_rates, fund.base_currency)
    failing = status.fails(report)
    rates = status.counterparty_fail_rates(inputs.status_history, instructions, bd, fail_rate_days, inputs.counterparties)
    days = csdr.penalty_days(instructions, inputs.status_history, inputs.prices, fund.pricing.hierarchy, bd, inputs.closures,
                             inputs.price_overrides)
    penalties = csdr.csdr_penalties(days).reindex(columns=csdr.PENALTY_COLUMNS)
    cash_accounts = pd.DataFrame([a.model_dump() for a in fund.cash_accounts])
    balances = cash_accounts[["account", "currency"]].merge(inputs.statements[["account", "closing_date", "closing_balance"]], on="account", how="left")
    balances["closing_balance"] = balances["closing_balance"].fillna(0.0)
    horizon = max(_horizon(c, bd, ladder_days) for c in cash_accounts["currency"])
    flows = ladder_mod.expected_flows(inputs.trades, inputs.capital_activity, inputs.income_due, cash_accounts, bd, horizon, failing["trade_id"])
    risk = ladder_mod.at_risk(report, cash_accounts)
    ladder = ladder_mod.cash_ladder(balances, flows, risk, bd, ladder_days)
    result = SettlementResult(bd, fund.base_currency, report, failing, status.fails_by(report, "reason_code"), status.fails_by(report, "counterparty"),
                              status.fails_by(report, "market"), status.fails_by(report, "currency"), status.age_profile(report), rates,
                              penalties, csdr.monthly_penalties(penalties), flows, risk, ladder, inputs.violations_table, pd.DataFrame())
    result.summary = summarise(result)
    return result


def _horizon(currency: str, business_date: dt.date, days: int) -> dt.date:
    return calendars.calendar_for(calendars.OTC_MARKET, currency).add_business_days(business_date, days)


__all__ = ["SettlementResult", "assess", "summarise"]
