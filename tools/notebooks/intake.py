"""Cells of notebooks/intake.ipynb: the inbound-data control."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Inbound data control (intake)

Before any settlement, reconciliation, NAV or regulatory work runs for a fund and business date, this
control confirms that **every file due** from the OMS, brokers, custodians, banks, price vendors and the
fund administrator **arrived**, that each **meets its data contract** (columns, types, allowed codes,
unique keys, references to the securities master), that **volumes** look like the previous delivery's,
and that **prices and FX are today's**. A red line here means the fund's other reports for this date
stand on incomplete or wrong data: resolve it, or say why it does not matter, before signing them off.
"""),
    parameters_cell("intake"),
    code("""
import pandas as pd

from bo_lib.report import explorer, show_figure, show_table
from bo_lib.report.charts import today_vs_previous_bars
from bo_lib.report.control import open_control
"""),
    code("""
run = open_control("intake", globals())  # parameters checked, books rolled to the date, inputs gathered and assessed
fund_params, date, day, result = run.fund, run.business_date, run.inputs, run.result
"""),
    code("""
run.header(previous=day.previous_date)
"""),
    md("## Exceptions"),
    code("""
run.show_exceptions()
""", "nbval-check-output"),
    md("""
## Files delivered
Every daily feed is due on each business day; a bank statement is due when the account currency's
payment system is open (no USD statement on a Federal Reserve holiday such as Columbus Day).
"""),
    code("""
show_table(result.arrival.drop(columns=["sha256"]), "Expected and delivered files", decimals={"size_bytes": 0})
"""),
    md("""
## Validation errors
Each violation names the file, the line, the column and the rule. Rows of shared files are attributed to
a fund by its fund column or account; problems nobody can be attributed appear in every fund's report.
"""),
    code("""
show_table(result.violations, "Contract violations", empty="none: every delivered file meets its contract")
"""),
    md("## Row counts against the previous delivery"),
    code("""
show_figure(today_vs_previous_bars(result.counts, "dataset", "rows", "previous_rows",
                                   f"{fund}: rows delivered on {date} vs the previous delivery"))
show_table(result.counts, "Rows per dataset", decimals={"change_pct": 1})
"""),
    md("""
## Prices and FX
For each security the fund holds: which sources priced it today, the source the fund values it at (the one price
rule: override, ranked sources), and for how many deliveries that price has not changed. FX: a fixing for every currency the
fund needs, and its move against the previous fixing.
"""),
    code("""
show_table(result.prices, "Price freshness of held securities", decimals={"quantity": 0, "age_days": 0})
show_table(result.fx, "FX fixings", decimals={"rate_to_usd": 6, "previous_rate": 6, "move_pct": 3})
"""),
    md("## Bank statements: opening + entries = closing, and today opens where yesterday closed"),
    code("""
show_table(result.statements, "Statement integrity")
"""),
    md("## Explorer (interactive in JupyterLab)"),
    code("""
explorer({"files": result.arrival, "violations": result.violations, "prices": result.prices, "row counts": result.counts},
         ["rag", "status", "file", "asset_class"], interactive=(run_id == "interactive"))
"""),
    md("## Recorded results"),
    code("""
run.record()
"""),
]
