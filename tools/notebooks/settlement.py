"""Cells of notebooks/settlement.ipynb: settlement status, fails and ageing, CSDR penalties, the cash ladder."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Settlement: fails, ageing, CSDR penalties and the cash ladder

What happens between trade and settlement for the fund. Every instruction we sent the custodian is joined
with the custodian's status report (MT548 / sese.024): **matched or unmatched**, **pending** (settlement date
not reached), **failing** (past its intended settlement date, not or only partly settled) or **settled**,
with its reason code. Fails are **aged in business days** on the market's settlement calendar (exchange and
payment system). Fails in EU CSDs accrue **CSDR cash penalties** every business day (we pay when we lack
securities or cash, we receive when the counterparty does). The **cash ladder** projects each cash account
over the next business days and flags overdrafts. Exceptions come first; resolve or explain them before
sign-off.
"""),
    parameters_cell("settlement"),
    code("""
import pandas as pd

from bo_lib.report import explorer, settlement as charts, show_figure, show_table
from bo_lib.report.control import open_control
"""),
    code("""
run = open_control("settlement", globals())  # parameters checked, books rolled to the date, inputs gathered and assessed
fund_params, date, inputs, result = run.fund, run.business_date, run.inputs, run.result
base = fund_params.base_currency
"""),
    code("""
run.header(previous=inputs.previous_date)
"""),
    md("## Exceptions"),
    code("""
run.show_exceptions()
""", "nbval-check-output"),
    md("""
## Fails
Failing instructions, oldest first: age in business days since the intended settlement date on the market's
settlement calendar (ISD Monday, business date Tuesday = 1). `partial`: part of the quantity settled; the
unsettled part is what still fails. Values in the fund's base currency use the business date's fixings.
"""),
    code("""
fail_columns = ["trade_id", "counterparty", "security_id", "name", "market", "currency", "side", "quantity", "settled_quantity",
                "unsettled_amount", "unsettled_amount_base", "intended_settlement_date", "reason_code", "reason", "partial",
                "age_business_days", "age_bucket", "csdr_in_scope"]
show_table(result.fails[fail_columns], "Failing instructions", empty="no fails", decimals={"quantity": 0, "settled_quantity": 0})
show_table(result.ages, f"Fails by age bucket (business days), value in {base}")
"""),
    code("""
for by in ("by_reason", "by_counterparty", "by_market", "by_currency"):
    show_table(getattr(result, by), f"Fails {by.replace('_', ' ')}", empty="no fails")
show_figure(charts.fails_by_reason_and_age(result.fails, base, f"{fund}: fails by reason and age on {date}"))
"""),
    md("""
## All open instructions
Every instruction open or settled today, with the custodian's match and settlement status. `not reported by
custodian` (ours, absent from the feed) and `not in our books` (in the feed, not ours) are exceptions.
"""),
    code("""
show_table(result.report.drop(columns=["price_multiplier"]), "Instructions and custodian status",
           decimals={"quantity": 0, "settled_quantity": 0, "unsettled_quantity": 0})
"""),
    md("""
## Counterparty fail rates
Of the instructions due to settle over the look-back window, the share each counterparty failed on its
intended settlement date (as the custodian reported it that day).
"""),
    code("""
show_table(result.fail_rates, f"Counterparty fail rates over the last {fail_rate_days} status deliveries", decimals={"fail_rate_pct": 1})
show_figure(charts.counterparty_fail_rates(result.fail_rates, f"{fund}: fail rate on the intended settlement date by counterparty"))
"""),
    md("""
## CSDR cash penalties
Fails in EU CSDs (EUR settlement on XETR, XPAR, XAMS, or EUR OTC bonds), for each business day of failure
from the intended settlement date: reference price (the day's price the fund values at: override, ranked
sources, else carried forward) x failing quantity x the category's daily rate (lack of securities), or x the ECB marginal lending
rate / 360 (lack of cash). Each day is rounded to the cent; a month is the sum of its days. Negative: we pay.
"""),
    code("""
show_table(result.monthly_penalties, "Penalties by month and counterparty (paid, received, net)", empty="no penalties")
show_table(result.penalties, "Daily penalties", empty="no CSDR penalties: no fails in EU CSDs",
           decimals={"failing_quantity": 0, "reference_price": 4, "daily_rate_bp": 2, "cash_rate_pct": 2})
"""),
    md("""
## Cash ladder
Per cash account: the latest bank statement's closing balance, then the cash due over the next business days
of the currency's payment calendar (pending trades at their contractual amounts, subscriptions and
redemptions, dividends and coupons on holdings). Failing trades are cash at risk: `worst_case_balance`
assumes every failing purchase settles and no failing sale does. Opening + inflows + outflows = projected.
"""),
    code("""
show_table(result.ladder, f"Cash ladder over {ladder_days} business days")
show_figure(charts.cash_ladder_chart(result.ladder, f"{fund}: projected cash by account"))
show_table(result.flows, "Projected flows", empty="nothing due over the ladder")
show_table(result.at_risk, "Cash at risk: failing instructions", empty="no failing instructions")
"""),
    md("## Explorer (interactive in JupyterLab)"),
    code("""
explorer({"instructions": result.report, "fails": result.fails, "penalties": result.penalties, "cash flows": result.flows},
         ["counterparty", "market", "state", "reason_code", "currency", "account"], interactive=(run_id == "interactive"))
"""),
    md("## Recorded results"),
    code("""
run.record()
"""),
]
