"""Cells of notebooks/nav.ipynb: the shadow NAV, its controls and its explain."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Shadow NAV (fund accounting)

The fund's **net asset value per share class, struck independently from our books**: trade-date
positions valued at the fund's ranked price sources and FX, bond interest accrued by each bond's day
count, dividends receivable from ex-date, management, fixed and performance fees accrued per class, and
subscriptions and redemptions dealt at the NAV per share. The day is **struck from the books' closing
state of the previous NAV date** and the day's deliveries, compared with the **administrator's NAV**
against the fund's materiality, and its change is **explained** (capital, market, FX, income, expenses,
fees) down to a residual below one cent per share. Pricing exceptions and a material difference must be
cleared before the NAV is signed off; a **locked** NAV (`bo close`) never changes silently: a later
correction shows as *restatement required* until the day is reopened (`bo reopen`).
"""),
    parameters_cell("nav"),
    code("""
import pandas as pd

from bo_lib.nav.explain import explain_steps
from bo_lib.report import show_figure, show_table
from bo_lib.report.control import open_control
from bo_lib.report.nav import explain_waterfall, nav_explorer, nav_history_chart, show_cash_in_nav, show_flagged_prices, show_income_checks
"""),
    code("""
run = open_control("nav", globals())  # parameters checked, books rolled to the date, inputs gathered and assessed
fund_params, date, inputs, report = run.fund, run.business_date, run.inputs, run.result
"""),
    code("""
previous = inputs.previous.business_date if inputs.previous is not None else None
run.header(previous, books=f"struck from the closing state of {previous}" if previous else "no previous state")
"""),
    md("## Exceptions"),
    code("""
run.show_exceptions()
""", "nbval-check-output"),
    md("""
## Restatements and the period lock
A NAV restated on a day not locked yet (a corrected delivery, struck again) is listed for the reviewer; a
locked day is never struck again: a later correction's effect per class and per share is shown here, red,
until `bo reopen` applies it.
"""),
    code("""
show_table(inputs.required, "Locked NAVs a later delivery would change (restatement required)",
           decimals={"stored_nav_per_share": 4, "recomputed_nav_per_share": 4, "difference_per_share": 4, "units": 3, "effect_net_assets": 2},
           empty="none: no locked NAV is affected")
show_table(inputs.restated, "NAVs restated since the last close", decimals={"stored_nav_per_share": 4, "recomputed_nav_per_share": 4,
           "difference_per_share": 6, "units": 3, "effect_net_assets": 2}, empty="none: no NAV restated")
"""),
    md("""
## NAV per share class
Units roll forward from the register's dealing (subscribed and redeemed units at the day's NAV per share);
the NAV per share is net assets before dealing / units, rounded half-up to the fund's decimals. Net assets
are after the day's dealing. Currency: the fund's base currency.
"""),
    code("""
base = fund_params.base_currency
show_table(report.class_table, f"NAV per class on {date} ({base})",
           decimals={"nav_per_share": fund_params.nav_decimals, "administrator_nav_per_share": fund_params.nav_decimals,
                     "units_opening": fund_params.unit_decimals, "units_subscribed": fund_params.unit_decimals,
                     "units_redeemed": fund_params.unit_decimals, "units_outstanding": fund_params.unit_decimals,
                     "high_water_mark": 4, "difference_pct": 3})
show_table(report.balance_sheet_today, f"Statement of net assets on {date} ({base})")
"""),
    md("""
## Cash in the NAV against the bank
Per cash account, the books' cash at the bank (the NAV's cash line) against the closing balance of the
latest MT940 / camt.053 statement delivered, and each reconciling item with its effect on the NAV: an
**unbooked bank charge** (the NAV is overstated until it is booked), **failed-trade cash** (the books took
the cash on the contractual settlement date, the bank has not: a timing item, no NAV effect),
**withholding tax above the treaty rate** (the excess is a reclaim receivable, not cash: no NAV effect,
amber while the books hold it as cash), and any **unexplained difference** (red). Book cash - reconciling
items = bank balance, per account.
"""),
    code("""
show_cash_in_nav(report.cash_accounts, report.cash_items, base)
"""),
    md("""
## Income: coupons against their accrual, market claims
Income is the fund's on its holding at the close before the ex-date, paid to the holder of record (the
settled holding at the record date); a trade crossing the record date is a **market claim** with its
counterparty (UK gilts trade ex by settlement date, so theirs never are). Each coupon recognised or paid
today is compared with the interest its bond accrued for the period by its day count (ACT/360 and
ACT/365F pay the period's actual days, not rate / frequency), and on its pay date the custodian's payment
with what is due on the holding of record.
"""),
    code("""
show_income_checks(report.coupons, report.market_claims)
"""),
    md("## Shadow NAV against the administrator"),
    code("""
today = report.shadow_vs_administrator[report.shadow_vs_administrator["nav_date"] == pd.Timestamp(date)]
units = fund_params.unit_decimals
show_table(today, "Shadow vs administrator, today", decimals={"shadow_nav_per_share": 4, "administrator_nav_per_share": 4,
           "difference_per_share": 4, "difference_pct": 3, "explained_per_share": 4, "unexplained_per_share": 4,
           "units_outstanding": units, "administrator_units": units, "units_difference": units},
           note="explained: what today's price jumps (valued against the secondary source) account for; "
                "units_difference: the administrator's units outstanding - the books' (red when it shows at the unit decimals)")
show_figure(nav_history_chart(report.shadow_vs_administrator, f"{fund}: NAV per share, shadow and administrator"))
"""),
    md("""
## NAV explain
The day's change in each class's net assets: capital activity, market moves (price changes and the
result of the day's trades), FX translation, income (interest accrued, dividends and coupons going ex),
expenses (transaction costs, fixed fees) and the class's fees (management, performance). The residual is
what the books' flows do not account for.
"""),
    code("""
for share_class in report.class_table["share_class"]:
    show_figure(explain_waterfall(explain_steps(report.explain, date, share_class),
                                  f"{fund} class {share_class}: NAV explain {date}", base))
show_table(report.explain[report.explain["nav_date"] == pd.Timestamp(date)], "NAV explain today",
           decimals={"residual_per_share": 6})
show_table(report.explain, "NAV explain, every NAV date of the last quarter", decimals={"residual_per_share": 6})
"""),
    md("""
## Pricing and FX exceptions
A holding with no price today is valued at its last price (carried forward); a price repeated for the
fund's stale-days limit or more is stale; a move beyond the asset class's tolerance (after splits and
dividends) is a jump, with the secondary source's move beside it. A NAV struck at an unconfirmed jump, a stale
or a carried-forward price is **not approvable** (the period close refuses it) until a manual price override
of the day (`overrides/prices.csv`, with a reason and who approved it) resolves it; beside each, what the
next-ranked source's price would move the NAV by.
"""),
    code("""
show_table(report.price_exceptions, "Pricing exceptions of held securities",
           decimals={"price": 4, "previous_price": 4, "secondary_price": 4, "move_pct": 2, "secondary_move_pct": 2, "quantity": 0})
show_flagged_prices(report.flagged_prices, base)
show_table(report.fx_exceptions, "FX fixing exceptions", decimals={"rate": 6, "previous_rate": 6, "move_pct": 2})
show_table(report.coupons_without_event, "Coupon dates without a coupon event", decimals={"nominal": 0})
show_table(report.position_exceptions, "Positions with no price, negative positions or cash")
"""),
    md("## Accruals roll-forward (opening + accrued - paid = closing) and income receivable"),
    code("""
accruals = report.result.accruals
show_table(accruals[accruals["nav_date"] == pd.Timestamp(date)], f"Fee accruals on {date} ({base})")
show_table(report.result.income, "Income entitlements receivable or recognised today (dividends net of withholding tax, coupons)",
           decimals={"holding": 0})
show_table(report.result.booked_events, "Corporate actions booked today", empty="none booked today")
"""),
    md("""
## Units against the dealing, and the register's rounding
The books' units outstanding per class against the transfer agent's dealing: the previous NAV date's units
plus the units of the orders the capital-activity feed says were dealt today (status DEALT), subscriptions in,
redemptions out. Each order is then re-dealt at the shadow NAV per share; `register_rounding_ok` says whether
the register's units (a subscription) or amount (a redemption) follow from its own NAV per share at the fund's
decimals.
"""),
    code("""
show_table(report.units_rollforward[report.units_rollforward["nav_date"] == pd.Timestamp(date)], "Units against the dealing today",
           decimals={c: fund_params.unit_decimals for c in ["prior_units", "units_subscribed", "units_redeemed", "units_outstanding", "expected_units", "difference"]})
show_table(report.result.dealing[report.result.dealing["dealing_date"] == pd.Timestamp(date)], "Orders dealt today, re-dealt at the shadow NAV",
           decimals={"nav_per_share": 4, "shadow_nav_per_share": 4, "units": 3, "shadow_units": 3, "units_difference": 3}, empty="no order dealt today")
"""),
    md("## Positions (trade date): average cost, realised and unrealised P&L"),
    code("""
show_table(report.result.positions, f"Positions on {date} (local currency)",
           decimals={"quantity": 0, "price": 4, "average_cost": 4})
"""),
    md("## Explorer (interactive in JupyterLab)"),
    code("""
history = report.shadow_vs_administrator
nav_explorer(history, report.result.valuation[["nav_date", "account", "security_id", "quantity", "price", "source", "currency",
                                               "market_value_local", "accrued_interest_local", "market_value_base"]],
             interactive=(run_id == "interactive"), securities=inputs.securities)
"""),
    md("## Recorded results"),
    code("""
run.record()
"""),
]
