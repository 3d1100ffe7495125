"""Cells of notebooks/regulatory.ipynb: the management company's regulatory report."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Regulatory reporting: Form 13F, ownership thresholds, filing calendar

The management company files for **all its funds together**. This report, run once per business date
for the company (not per fund), shows **what needs filing and when**: ownership thresholds crossed since
the last quarter end (Schedules 13D/13G, EU net short positions) with the filing each triggers and its
due date, the filings due in the next 10 business days, and the **Form 13F** for the quarter end — the
holdings, the EDGAR information table and cover document (checked against EDGAR's rules and, where the
official schemas are configured, validated against them) saved in this run's archive folder.
"""),
    parameters_cell("regulatory"),
    code("""
import pandas as pd

from bo_lib.regulatory import control
from bo_lib.report import explorer, show_figure, show_table
from bo_lib.report.control import open_control
from bo_lib.report.regulatory import ownership_chart, save_documents, show_document_links, top_holdings_chart
"""),
    code("""
run = open_control("regulatory", globals())  # parameters checked, every fund's books rolled to the date, inputs gathered and assessed
company, date, inputs, result = run.company, run.business_date, run.inputs, run.result
report = result.form13f
"""),
    code("""
run.header(inputs.quarter_end,
           books=f"13F from the closing state of {inputs.at_quarter_end.date if inputs.at_quarter_end else 'none'}; "
                 f"ownership from every fund's state since then")
"""),
    md("## Exceptions"),
    code("""
run.show_exceptions()
""", "nbval-check-output"),
    md("""
## Form 13F for the quarter end
The latest calendar quarter end before the business date: every fund's positions in the books' closing state of
that day (the quarter-end state, the next quarter's opening), long positions in securities on the 13(f) list
only, valued at the price the holding fund's NAV uses (one price rule) and the quarter-end FX rate. One row per CUSIP,
put/call, investment discretion and other manager; options are reported on the underlying's CUSIP with
`putCall` on rows of their own, with the underlying's shares and value (SEC staff 13F FAQ). Values are
whole US dollars, each row rounded half-up once from its exact value.
"""),
    code("""
summary = pd.DataFrame([{"period": report.period_end, "filer CIK": company.cik, "manager": company.name,
                         "table entry total (rows)": report.summary["table_entry_total"],
                         "table value total (USD)": report.summary["table_value_total"], "schema validation": report.schema_status}])
show_table(summary, "13F summary page", decimals={"table value total (USD)": 0})
show_figure(top_holdings_chart(report.rows, f"13F top holdings at {report.period_end} (USD)"))
show_table(report.rows.drop(columns=["figi"]), "Information table rows", decimals={"exact_value": 2})
"""),
    code("""
show_table(report.rule_breaks, "Holdings that break EDGAR's rules", empty="none: every row can be filed")
show_table(pd.DataFrame({"schema error": report.schema_errors}), "Schema validation errors", note=report.schema_status)
excluded = report.holdings[~report.holdings["reportable"]]
show_table(excluded[["fund", "security_id", "quantity", "exclusion_reason"]], "Positions not reported, and why")
"""),
    md("""
### The filing documents
The information table and the cover document (`primary_doc.xml`) are saved in this run's archive folder,
hashed with the run. The CCC (the filer's EDGAR access code) is never stored: it is entered at submission.
"""),
    code("""
documents = {report.file_names["information_table"]: report.information_table, report.file_names["cover"]: report.cover}
written = save_documents(run.output_dir, documents) if run.output_dir else []
show_document_links(written, run.output_dir.parent if run.output_dir else None,
                    note="" if run.output_dir else "interactive run: no archive folder, documents not written (use `bo form13f`)")
"""),
    md("""
### Who must file: the $100M test
Rule 13f-1(a)(1): 13(f) securities worth $100M or more on the last trading day of any month of a calendar
year oblige the manager to file for that year's December quarter and the next three quarters.
"""),
    code("""
show_table(result.filing_test, "13(f) securities on each month-end trading day delivered", decimals={"value_usd": 0})
"""),
    md("""
## Ownership thresholds
Every fund's holding aggregated per issuer (long shares and shares under long calls) against split-adjusted
shares outstanding, on each delivery date since the quarter end (the books' closing state of each day). The company is a registered investment
adviser (a qualified institution), so a 5% crossing calls for Schedule 13G, due 45 days after the quarter
end (10%: 5 business days after the month end). EU net short positions are notified from 0.1% of issued
share capital in 0.1% steps and published from 0.5%, by the next trading day.
"""),
    code("""
show_table(result.monitor.crossings, "Crossings since the last report, the filing each triggers and its due date",
           note=f"baseline: the quarter end {result.monitor.since}", decimals={"shares": 0, "shares_outstanding": 0, "business_days_to_due": 0})
watched = list(dict.fromkeys(result.monitor.crossings["security_id"].tolist() + result.monitor.latest(3)["security_id"].tolist()))
show_figure(ownership_chart(result.monitor.ownership, watched, "Firm-wide ownership of the largest and crossing positions"))
show_table(result.monitor.latest(10), "Largest holdings as % of shares outstanding", decimals={"shares": 0, "shares_outstanding": 0, "ownership_pct": 3})
"""),
    code("""
short = result.monitor.net_short[result.monitor.net_short["date"].eq(result.monitor.net_short["date"].max())]
show_table(short.drop(columns=["mic"]), "EU shares: firm-wide net position (net short 0 = net long)",
           decimals={"net_position": 0, "net_short_shares": 0, "shares_outstanding": 0, "net_short_pct": 3})
"""),
    md("""
## Filing calendar
The next periodic filing of each regime the company is subject to, from the rules in
`bo_lib/reference/filing_rules.csv` (period, offset, business-day roll, calendar and the rule cited), with
the filings the threshold monitor triggered. Sizes that select a rule (Form PF, AIFMD reporting frequency)
come from the funds' quarter-end net assets.
"""),
    code("""
show_table(pd.DataFrame([control.regulatory_facts(inputs)]), "Sizes that select the rules", decimals={"private_fund_aum_usd": 0, "hedge_fund_aum_usd": 0, "aifm_aum_eur": 0})
show_table(result.calendar, "Next filings", decimals={"business_days_to_due": 0})
"""),
    md("## Explorer (interactive in JupyterLab)"),
    code("""
explorer({"13F holdings": report.holdings, "13F rows": report.rows, "ownership": result.monitor.ownership, "calendar": result.calendar},
         ["fund", "reportable", "security_id", "regime"], interactive=(run_id == "interactive"))
"""),
    md("## Recorded results"),
    code("""
run.record()
"""),
]
