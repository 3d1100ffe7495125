"""Cells of notebooks/reconciliation.ipynb: position, cash and trade reconciliations and their breaks across days."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Reconciliation: positions, cash and trades

The fund's books against the outside world, every business day. **Positions**: the books' settled holdings
(opening + trades settled + corporate actions paid) against the custodian's statement, per account and ISIN, on
quantity and on market value at the custodian's price. **Cash**: the books' cash ledger against what the bank
booked (MT940 / camt.053), after checking that each statement balances and opens where the previous one closed.
**Trades**: the trades against the brokers' confirmations, a break staying open until a matching or corrected
confirmation arrives. Every break is **classified**, valued in the
fund's base currency and kept in the workbench store with a **stable id, first-seen date, age, owner and
comment**, so an open item is followed from day to day until it resolves. Exceptions come first.
"""),
    parameters_cell("reconciliation"),
    code("""
import pandas as pd

from bo_lib.recon import control
from bo_lib.recon.break_actions import write_off_thresholds
from bo_lib.report import explorer, show_figure, show_message, show_table
from bo_lib.report import recon as charts
from bo_lib.report.break_panel import break_action_panel
from bo_lib.report.control import open_control
"""),
    code("""
run = open_control("reconciliation", globals())  # parameters checked, books rolled, the day reconciled and its breaks recorded
fund_params, date, report = run.fund, run.business_date, run.result
inputs, today, history = report.inputs, report.today, report.history
base = fund_params.base_currency
"""),
    code("""
run.header(inputs.previous_date, books=f"settled positions at the close of {date}; cash items open since {inputs.carried.as_of or 'the opening'}")
"""),
    md("## Exceptions"),
    code("""
run.show_exceptions()
""", "nbval-check-output"),
    md(f"""
## Open breaks by recon and classification
Count and absolute value (base currency, business date's fixings) of every open break, how many are new today
and how many are older than {5} business days; and how much of each recon matched automatically. `timing`: a trade
the custodian reports pending, failing or partially settled explains the difference — it should clear when the
trade settles (see the settlement report).
"""),
    code("""
open_summary = control.open_break_summary(history, date)
show_table(open_summary, f"Open breaks, value in {base}", empty="no open breaks", decimals={"abs_value_base": 2})
show_table(today.match_rates(), "Automatic matching", decimals={"auto_match_rate_pct": 1})
show_figure(charts.break_value_chart(open_summary, base, f"{fund}: open breaks by classification on {date}"))
"""),
    md("""
## Positions: books settled vs custodian
Quantity differences are custodian minus books; market value is both quantities at the custodian's price (the
price vendor's where the custodian reports no position). Listed options are held at the clearing broker, which
sends no custodian statement: they are not reconciled here (counted in the exceptions).
"""),
    code("""
position_columns = ["account", "isin", "name", "quantity_left", "quantity_right", "quantity_diff", "market_value_diff", "currency",
                    "classification", "break_value_base", "detail"]
show_table(today.positions.breaks[position_columns].rename(columns={"quantity_left": "books", "quantity_right": "custodian"}),
           "Position breaks", empty="every position agrees", decimals={"books": 0, "custodian": 0, "quantity_diff": 0})
if len(today.positions.options_excluded):
    show_message(f"{len(today.positions.options_excluded)} option position(s) at the clearing broker not reconciled (no custodian feed).", "amber")
"""),
    md("""
## Cash: books ledger vs bank statements
Ledger lines and statement entries are grouped per account, currency and reference (our trade, order or event
id, echoed by the bank) with value dates up to three business days apart: one bank entry may settle several
ledger lines. Two identical entries on one day are two entries. Entries without our reference (bank charges) are
keyed by the bank's reference. First, each statement's integrity.
"""),
    code("""
integrity_columns = ["account", "statement_id", "opening_balance", "entries", "entries_total", "closing_balance", "difference",
                     "previous_closing", "chain_difference", "integrity", "rag"]
show_table(today.cash.integrity[integrity_columns], "Statement integrity (today's statements)", empty="no statement delivered today")
cash_columns = ["group_id", "account", "currency", "reference", "first_date", "entries_left", "entries_right", "amount_left",
                "amount_right", "amount_diff", "classification", "break_value_base", "detail"]
show_table(today.cash.breaks[cash_columns].rename(columns={"entries_left": "books_lines", "entries_right": "bank_entries"}),
           "Cash breaks (books = ledger, right = bank)", empty="every ledger line matched the bank")
"""),
    md("""
## Trades: books vs broker confirmations
Today's trades, and the trades earlier days left unconfirmed or differing, paired with the brokers'
confirmations by our trade id; side and settlement date must agree exactly, quantity, price and net amount
within the fund's tolerances. A trade break stays open (and ages) until a confirmation that matches arrives: a
late confirmation, or the broker's corrected one (a later confirmation of a trade supersedes the earlier one).
"""),
    code("""
trade_columns = ["reference", "confirm_id", "broker_id", "isin", "trade_date", "side_left", "quantity_left", "quantity_right", "price_left",
                 "price_right", "net_amount_left", "net_amount_right", "settlement_date_left", "settlement_date_right",
                 "classification", "fields", "break_value_base", "detail"]
show_table(today.trades.breaks[trade_columns], "Trade breaks (left = books, right = broker)", empty="every trade confirmed as booked",
           decimals={"quantity_left": 0, "quantity_right": 0, "price_left": 4, "price_right": 4})
show_table(today.trades.resolved, "Trade breaks of earlier days resolved today", empty="none resolved today")
"""),
    md("""
## Ageing and break history
Ages are business days of the fund's valuation calendar since the break was first seen. The history lists every
break of the fund up to the business date, open and resolved, with its workflow: state (new, assigned,
investigating, write-off proposed, resolved, written off, manually matched), owner, expected resolution date
(overdue when past) and the last action, all from the append-only trail of analysts' actions
(`recon_break_actions`; `bo break show ID`). A difference an analyst matched manually with another is not a
break (listed below with who matched it and when).
"""),
    code("""
ageing = control.ageing(history)
show_figure(charts.ageing_chart(ageing, f"{fund}: open breaks by age on {date}"))
show_table(ageing, "Open breaks by age bucket (business days)")
history_columns = ["break_id", "recon", "account", "item", "classification", "first_seen", "last_seen", "status", "resolved_on",
                   "resolution", "age_business_days", "value_base", "state", "owner", "expected_date", "overdue", "last_action",
                   "last_actor", "comment"]
show_table(history[history_columns], "Break history", empty="no breaks recorded", decimals={"value_base": 2})
show_table(today.manually_matched()[["recon", "account", "item", "classification", "difference", "value_base", "manual_match", "detail"]],
           "Manually matched today (not breaks)", empty="no manual match applied today", decimals={"value_base": 2})
"""),
    md("""
## Working breaks (interactive in JupyterLab)
Assign, investigate, comment, resolve, write off (above the fund's threshold a second person approves), match two
breaks that explain each other: the same rules as `bo break ...`. In a `bo lab` session the action is recorded in
the production store (the book of record) and mirrored into the session's scratch copy; a read-only session
refuses it.
"""),
    code("""
break_action_panel(run.store, history, write_off_thresholds(run.funds), interactive=(run_id == "interactive"))
"""),
    md("## Explorer (interactive in JupyterLab)"),
    code("""
explorer(control.explorer_tables(today, history), ["recon", "account", "status", "classification"],
         interactive=(run_id == "interactive"))
"""),
    md("## Recorded results"),
    code("""
run.record()
"""),
]
