"""Cells of notebooks/corporate_actions.ipynb: notifications to a golden record, entitlements, elections, confirmations, the diary."""

from tools.notebooks.cells import code, md, parameters_cell

CELLS = [
    md("""
# Corporate actions: notifications, entitlements, elections and confirmations

What the issuers' events mean for the fund. The custodians notify every event in **ISO 15022 MT564**
(new, replacement, cancellation; preliminary or complete); the notifications of every custodian and
account the fund holds the security at are built into **one golden record per event**, term by term: a
term the custodians disagree on is an exception until they agree, and a term a replacement changed is
shown. The fund is **entitled** on its settled holding at the record date (trades made cum and settling
after it are **market claims**). **Elections** on voluntary and choice events are due by the fund's
internal deadline (the market deadline less the fund's buffer, in business days of the market); the
elections sent are the fund's MT565s (`bo elect` sends one: the elections table shows the command). Each
**MT566 confirmation** is compared with the entitlement: quantity, rate, tax and pay date; a short payment
is an exception with the difference. The books book the elective and reorganisation events (DVOP, DRIP,
RHTS, MRGR, SOFF, TEND) from the golden record once complete and agreed; an event due in the books (ex-date
passed) that the books have not booked is red, and a notification still preliminary (PREU) near its first
date is amber. Exceptions come first.
"""),
    parameters_cell("corporate_actions"),
    code("""
from bo_lib.report import corporate_actions as view, explorer
from bo_lib.report.control import open_control
"""),
    code("""
run = open_control("corporate_actions", globals())  # parameters checked, books rolled to the date, inputs gathered and assessed
fund_params, date, inputs, result = run.fund, run.business_date, run.inputs, run.result
"""),
    code("""
run.header(books=f"the books' closing state of {date}" if inputs.state is not None else "no closing state of the books for the date")
"""),
    md("## Exceptions"),
    code("""
run.show_exceptions()
""", "nbval-check-output"),
    md("""
## Diary
Every date of the live events in the coming business days: ex-date, record date, pay date, and for
elections the fund's internal deadline and the market's deadline.
"""),
    code("""
view.show_diary(result, diary_days)
"""),
    md("""
## Elections
Voluntary (VOLU) and choice (CHOS) events the fund holds: units eligible, units instructed (MT565 sent),
the default option, the deadlines. `due` (amber) from the warning days before the internal deadline,
`overdue` (red) past it, `missed` (red) past the market deadline: the default option applies.
"""),
    code("""
view.show_elections(result)
"""),
    md("""
## Confirmations against entitlements
Each MT566 (every one of an event and account counted: a later refund adds to the first payment) against
the entitlement on the holding of record: net cash or new securities, with the confirmed balance, rate,
tax rate and pay date beside ours.
"""),
    code("""
view.show_confirmations(result)
view.show_not_booked(result)
"""),
    md("""
## Entitlements and market claims
What the fund receives from each event and option, on the settled holding at the record date and on each
trade crossing it. Dividends net of the fund's treaty rate for the issuer's country; new securities in whole
units, the fraction paid as cash in lieu; cost carried to the new securities where the event replaces or
splits the holding.
"""),
    code("""
view.show_entitlements(result)
"""),
    md("""
## The golden record
The events notified to the fund, their options and terms, what the custodians disagree on, and what
replacement notifications changed.
"""),
    code("""
view.show_golden_record(result)
"""),
    md("## Explorer (interactive in JupyterLab)"),
    code("""
explorer({"events": result.events, "options": result.golden, "entitlements": result.entitlements, "elections": result.elections,
          "confirmations": result.confirmations, "messages": inputs.messages},
         ["event_type", "event_id", "account", "status", "security_id", "message_type"], interactive=(run_id == "interactive"))
"""),
    md("## Recorded results"),
    code("""
run.record()
"""),
]
