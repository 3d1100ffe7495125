"""Cells of notebooks/nav.ipynb: the shadow NAV, its controls and its explain."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Shadow NAV (fund accounting)

The fund's **net asset value per share class, struck independently from our books**: trade-date
positions valued at the fund's ranked price sources and FX, bond interest accrued by each bond's day
count, dividends receivable from ex-date, management, fixed and performance fees accrued per class, and
subscriptions and redemptions dealt at the NAV per share. It is computed from the quarter-end opening
every run, compared with the **administrator's NAV** against the fund's materiality, and the day's
change is **explained** (capital, market, FX, income, expenses, fees) down to a residual below one cent
per share. Pricing exceptions and a material difference must be cleared before the NAV is signed off.
"""),
    parameters_cell(fund="USEQ"),
    code("""
import pandas as pd

from bo_lib.data.layout import input_files, previous_business_date, resolve_business_date
from bo_lib.data.loaders import account_fund_map
from bo_lib.data.nav_inputs import gather_nav_books, read_nav_results, save_nav_results
from bo_lib.nav import controls
from bo_lib.nav.daily import strike_nav
from bo_lib.nav.explain import explain_steps
from bo_lib.parameters import check_notebook_parameters, load_funds
from bo_lib.report import record_key_figures, record, show_exceptions, show_figure, show_run_header, show_table
from bo_lib.report.nav import explain_waterfall, nav_explorer, nav_history_chart
from bo_lib.store import resolve_store
"""),
    code("""
params = check_notebook_parameters("nav", dict(fund=fund, business_date=business_date, data_root=data_root,
                                                parameters_dir=parameters_dir, run_id=run_id, store=store, output_dir=output_dir))
funds = load_funds(parameters_dir)
fund_params = funds[fund]
date = resolve_business_date(data_root, business_date)
inputs = gather_nav_books(data_root, fund_params, date, account_fund_map(funds))
report = strike_nav(inputs.books, date, violations=len(inputs.violations))
earlier = read_nav_results(resolve_store(store, data_root), fund)  # what earlier runs stored, before today's run replaces it
restated = controls.restatements(earlier, report.store_rows(), date)
summary = controls.with_restatement_check(report.summary, restated)
stored = save_nav_results(resolve_store(store, data_root), report.store_rows(), run_id)
"""),
    code("""
delivered = input_files(data_root, date, statement_accounts=[])
show_run_header("Shadow NAV", fund, fund_params.name, date, run_id, delivered, params.model_dump(),
                previous_business_date(data_root, date))
"""),
    md("## Exceptions"),
    code("""
show_exceptions(summary, f"NAV exceptions for {fund} on {date}")
""", "nbval-check-output"),
    md("## Restatements: earlier NAVs as stored against today's recomputation"),
    code("""
show_table(restated, "NAVs of earlier dates that changed since they were stored", decimals={"nav_per_share_stored": 4, "nav_per_share_recomputed": 4, "difference": 6},
           note="empty: every earlier NAV stored in the workbench database is unchanged")
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
    md("## Shadow NAV against the administrator"),
    code("""
today = report.shadow_vs_administrator[report.shadow_vs_administrator["nav_date"] == pd.Timestamp(date)]
show_table(today, "Shadow vs administrator, today", decimals={"shadow_nav_per_share": 4, "administrator_nav_per_share": 4,
           "difference_per_share": 4, "difference_pct": 3, "explained_per_share": 4, "unexplained_per_share": 4, "units_difference": 4},
           note="explained: what today's price jumps (valued against the secondary source) account for")
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
show_table(report.explain, "NAV explain, every date since the opening", decimals={"residual_per_share": 6})
"""),
    md("""
## Pricing and FX exceptions
A holding with no price today is valued at its last price (carried forward); a price repeated for the
fund's stale-days limit or more is stale; a move beyond the asset class's tolerance (after splits and
dividends) is a jump, with the secondary source's move beside it.
"""),
    code("""
show_table(report.price_exceptions, "Pricing exceptions of held securities",
           decimals={"price": 4, "previous_price": 4, "secondary_price": 4, "move_pct": 2, "secondary_move_pct": 2, "quantity": 0})
show_table(report.fx_exceptions, "FX fixing exceptions", decimals={"rate": 6, "previous_rate": 6, "move_pct": 2})
show_table(report.coupons_without_event, "Coupon dates without a coupon event", decimals={"nominal": 0})
show_table(report.position_exceptions, "Positions with no price, negative positions or cash")
"""),
    md("## Accruals roll-forward (opening + accrued - paid = closing) and income receivable"),
    code("""
accruals = report.result.accruals
show_table(accruals[accruals["nav_date"] == pd.Timestamp(date)], f"Fee accruals on {date} ({base})")
show_table(accruals.groupby(["accrual", "share_class"], as_index=False)[["accrued", "paid"]].sum(),
           "Fees accrued and paid since the opening")
show_table(report.result.income, "Income entitlements (dividends net of withholding tax, coupons)", decimals={"holding": 0})
"""),
    md("## Units roll-forward and dealing"),
    code("""
show_table(report.units_rollforward[report.units_rollforward["nav_date"] == pd.Timestamp(date)], "Units roll-forward today",
           decimals={c: fund_params.unit_decimals for c in ["prior_units", "units_subscribed", "units_redeemed", "units_outstanding", "expected_units", "difference"]})
show_table(report.result.dealing[report.result.dealing["dealing_date"] == pd.Timestamp(date)], "Orders dealt today, re-dealt at the shadow NAV",
           decimals={"nav_per_share": 4, "shadow_nav_per_share": 4, "units": 3, "shadow_units": 3, "units_difference": 3})
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
             interactive=(run_id == "interactive"))
"""),
    md("## Recorded results"),
    code("""
history_rows = len(read_nav_results(resolve_store(store, data_root), fund))
counts = summary["rag"].value_counts().reindex(["red", "amber", "green"], fill_value=0).to_dict()
record_key_figures(date, counts, report.key_figures() | {"restated_navs": len(restated)}, {"stored_rows": stored, "rows_in_store": history_rows})
"""),
]
