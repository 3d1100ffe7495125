"""The control registry: every notebook's control declared once.

A control is one daily check of the back office (intake, settlement, reconciliation, NAV,
regulatory reporting, corporate actions), run as a parameterized notebook. Its declaration here says:

- ``notebook``, ``title``, ``short`` and ``purpose``: the file under ``notebooks/``, the human title
  used in report headers, page titles and the archive index, what its exceptions are called, and
  one line on what it checks;
- ``scope``: ``fund`` (one job per fund) or ``company`` (one job for the management company);
- ``parameters``: the pydantic model of the notebook's parameters (papermill passes them; the
  notebook's parameters cell is generated from it, policy values such as windows included);
- ``gather`` and ``assess``: where its inputs come from (read from the store) and the pure function
  that turns them into a result (``"module:function"``, imported when the control runs, so this
  module stays below the domains it names). Their arguments are given by name from the run's
  context: ``store``, ``fund``, ``funds``, ``company``, ``business_date``, ``run_id`` and every
  parameter of the control; ``assess`` takes the gathered inputs first;
- ``exceptions``: the result's attribute holding the exceptions table (rag, check, count, detail);
  the result also has ``key_figures()``, a dict of the figures recorded for the archive;
- ``figures``: each key figure's label, unit and decimals, in the order the index shows them;
- ``writes``: what it persists, the store tables it records itself (the reconciliation's runs,
  breaks and open items: it records them while it gathers); every setup may also roll the book of
  record forward (ingest, closing states) when the daily run has not.

``NOTEBOOK_PARAMETERS``, :func:`check_notebook_parameters`, :func:`check_schedule`, the notebook
templates (``tools/build_notebooks.py``), the run index's labels, and the notebook contract test
read from here; :func:`bo_lib.report.control.open_control` runs a control's setup in a notebook.
Adding a control touches this registry, its domain module and its notebook's cells (and a line of
the schedule); the pipeline, the index and the CLI follow from the declaration (a control that
persists has its day recorded by the daily run before the jobs start).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from bo_lib.parameters import FundNotebookParameters, NotebookParameters, ParameterError, Schedule, _validate, load_schedule as _load_schedule

#: the kernel the notebooks declare: the project's virtual environment (``make`` installs it)
KERNEL_NAME = "bo-workbench"
KERNEL_DISPLAY_NAME = "Back-office workbench (.venv)"


# --------------------------------------------------------------------------------------------
# Parameters of the controls with policy values of their own


class SettlementParameters(FundNotebookParameters):
    ladder_days: int = Field(default=5, ge=1, le=30, description="business days the cash ladder projects")
    fail_rate_days: int = Field(default=20, ge=1, le=250, description="status deliveries the counterparty fail rates look back over")


class CorporateActionParameters(FundNotebookParameters):
    diary_days: int = Field(default=20, ge=1, le=120, description="business days of the fund's calendar the diary of events looks ahead")
    election_warning_days: int = Field(default=5, ge=0, le=30, description="business days before the internal deadline an election shows as due")
    preliminary_warning_days: int = Field(default=5, ge=0, le=30, description="business days before an event's first date (ex-date, "
                                                                              "market deadline or pay date) a notification still "
                                                                              "preliminary (PREU) shows as not completed")


# --------------------------------------------------------------------------------------------
# Declarations


@dataclass(frozen=True)
class Figure:
    """How a recorded key figure reads: ``label`` (``{}`` takes the part of the name matched by ``*``),
    ``unit`` (``{name}`` takes another recorded figure, e.g. ``{base_currency}``), ``decimals``
    (None: integers as integers, other numbers as recorded, at least 2 decimals); ``decimals_from``:
    a recorded figure holding the decimals (a fund's NAV decimals). ``label=None``: recorded for
    other figures' units, not shown."""

    label: str | None
    unit: str = ""
    decimals: int | None = None
    decimals_from: str | None = None


@dataclass(frozen=True)
class Control:
    notebook: str
    title: str
    short: str  # what its exceptions are called ("NAV exceptions")
    purpose: str
    scope: Literal["fund", "company"]
    parameters: type[NotebookParameters]
    gather: str
    assess: str
    exceptions: str = "summary"
    figures: tuple[tuple[str, Figure], ...] = field(default_factory=tuple)
    writes: tuple[str, ...] = ()  # the store tables the control itself records (beyond the book of record every setup rolls)

    def figure(self, name: str) -> tuple[Figure, str] | None:
        """The declaration of a recorded figure and its label, or None when it is not declared."""
        for pattern, figure in self.figures:
            match = re.fullmatch(re.escape(pattern).replace(r"\*", "(.+)"), name)
            if match:
                label = figure.label.replace("{}", match.group(1)) if figure.label is not None and match.groups() else figure.label
                return figure, label
        return None

    def order(self, name: str) -> int:
        """Where a figure comes in the index: its declaration's position (undeclared last)."""
        for position, (pattern, _figure) in enumerate(self.figures):
            if re.fullmatch(re.escape(pattern).replace(r"\*", "(.+)"), name):
                return position
        return len(self.figures)


def _f(label: str | None, unit: str = "", decimals: int | None = None, decimals_from: str | None = None) -> Figure:
    return Figure(label, unit, decimals, decimals_from)


_BASE = "{base_currency}"
_RECONS = (("positions", "position", "Positions"), ("cash", "cash", "Cash items"), ("trades", "trade", "Trades"))

CONTROLS: dict[str, Control] = {control.notebook: control for control in (
    Control(
        "intake", "Inbound data control", "Intake", "did every expected file arrive, meet its contract, and are prices, FX and statements fresh",
        "fund", FundNotebookParameters, "bo_lib.intake.inputs:gather_fund_day", "bo_lib.intake.control:assess", exceptions="summary.table",
        figures=(
            ("files_missing", _f("Files missing", "files")),
            ("validation_errors", _f("Rows breaking their contract", "rows")),
            ("prices_not_fresh", _f("Held securities without a fresh price", "securities")),
            ("fx_exceptions", _f("FX fixings missing or moved", "currencies")),
            ("statements_not_balancing", _f("Bank statements not balancing", "statements")),
            ("files_received", _f("Files received", "files")),
        )),
    Control(
        "settlement", "Settlement report", "Settlement", "trades due to settle, fails and their age, CSDR penalties, the cash ladder",
        "fund", SettlementParameters, "bo_lib.settlement.inputs:gather_settlement", "bo_lib.settlement.control:assess",
        figures=(
            ("fails", _f("Settlement fails", "trades")),
            ("fails_value_base", _f("Value of fails", _BASE, 2)),
            ("oldest_fail_business_days", _f("Oldest fail", "business days")),
            ("projected_overdrafts", _f("Accounts projected overdrawn", "accounts")),
            ("unmatched_instructions", _f("Instructions unmatched at the custodian", "instructions")),
            ("csdr_penalties_net_month", _f("CSDR penalties this month, net", "{csdr_penalty_currency}", 2)),
            ("partial_settlements", _f("Partial settlements", "trades")),
            ("not_reported_by_custodian", _f("Trades the custodian does not report", "trades")),
            ("not_in_our_books", _f("Custodian instructions not in our books", "instructions")),
            ("csdr_penalties_paid_month", _f("CSDR penalties paid this month", "{csdr_penalty_currency}", 2)),
            ("csdr_penalties_received_month", _f("CSDR penalties received this month", "{csdr_penalty_currency}", 2)),
            ("base_currency", _f(None)),
            ("csdr_penalty_currency", _f(None)),
        )),
    Control(
        "regulatory", "Regulatory reporting", "Regulatory", "Form 13F for the quarter end, ownership thresholds, the filing calendar",
        "company", NotebookParameters, "bo_lib.regulatory.inputs:gather_regulatory", "bo_lib.regulatory.control:assess_with_schemas",
        figures=(
            ("form13f_schema", _f("13F against EDGAR's schemas")),
            ("form13f_rule_breaks", _f("13F holdings breaking EDGAR's rules", "holdings")),
            ("threshold_crossings", _f("Ownership thresholds crossed", "crossings")),
            ("filings_due_10bd", _f("Filings due within 10 business days", "filings")),
            ("next_filing", _f("Next filing")),
            ("form13f_period", _f("13F period")),
            ("form13f_rows", _f("13F information table rows", "rows")),
            ("form13f_value_usd", _f("13F table value", "USD", 0)),
        )),    Control(
        "nav", "Shadow NAV", "NAV", "the NAV per share class struck independently, against the administrator's, explained day over day",
        "fund", FundNotebookParameters, "bo_lib.nav.inputs:gather_nav", "bo_lib.nav.daily:nav_report",
        figures=(
            ("nav_per_share_*", _f("NAV per share, class {}", "per share", decimals_from="nav_decimals")),
            ("net_assets", _f("Net assets", _BASE, 2)),
            ("max_admin_difference_pct", _f("Largest difference to the administrator", "%", 4)),
            ("pricing_exceptions", _f("Pricing exceptions", "securities")),
            ("flagged_prices", _f("NAV struck at a flagged price", "holdings")),
            ("restatements_required", _f("Restatements required on locked days", "NAVs")),
            ("max_explain_residual_per_share", _f("Largest unexplained NAV move", "per share", 6)),
            ("navs_restated_unlocked", _f("NAVs restated since the last close", "NAVs")),
            ("locked_through", _f("Books locked through")),
            ("cash_items", _f("Cash items against the bank", "items")),
            ("cash_nav_effect_base", _f("Cash items' effect on the NAV", _BASE, 2)),
            ("base_currency", _f(None)),
            ("nav_decimals", _f(None)),
        )),
    Control(
        "reconciliation", "Reconciliation report", "Reconciliation", "positions, cash and trades against custodian, bank and brokers; breaks followed across days",
        "fund", FundNotebookParameters, "bo_lib.recon.daily:reconcile_day", "bo_lib.recon.control:assess",
        figures=(
            ("new_breaks", _f("New breaks today", "breaks")),
            ("aged_breaks", _f("Aged breaks (past the ageing limit)", "breaks")),
            *((f"{recon}_open_breaks", _f(f"Open {noun} breaks", "breaks")) for recon, noun, _items in _RECONS),
            *((f"{recon}_open_value_base", _f(f"Open {noun} breaks, value", _BASE, 2)) for recon, noun, _items in _RECONS),
            *((f"{recon}_auto_match_pct", _f(f"{items} matched automatically", "%", 1)) for recon, _noun, items in _RECONS),
            ("statements_failing_integrity", _f("Bank statements failing integrity", "statements")),
            ("base_currency", _f(None)),
        ),
        writes=("recon_runs", "recon_break_observations", "recon_break_resolutions", "recon_breaks", "recon_cash_open_items",
                "recon_statement_chain", "recon_trade_open_items")),
    Control(
        "corporate_actions", "Corporate actions", "Corporate actions",
        "the custodians' MT564 notifications to one golden record, entitlements and claims, elections and their deadlines, MT566 confirmations, events the books missed",
        "fund", CorporateActionParameters, "bo_lib.corporate_actions.inputs:gather_corporate_actions", "bo_lib.corporate_actions.control:assess",
        figures=(
            ("notification_differences", _f("Events the custodians disagree on", "events")),
            ("elections_missed_or_overdue", _f("Elections missed or past the internal deadline", "elections")),
            ("short_payments", _f("Short payments", "confirmations")),
            ("short_payment_value", _f("Short-paid, net", "{short_payment_currency}", 2)),
            ("events_not_booked", _f("Events not booked", "events")),
            ("elections_due", _f("Elections due", "elections")),
            ("events_live", _f("Events followed", "events")),
            ("diary_events", _f("Events in the diary", "events")),
            ("short_payment_currency", _f(None)),
        )),

)}

#: each notebook's parameters model (papermill's parameters are checked against it before a kernel starts)
NOTEBOOK_PARAMETERS: dict[str, type[NotebookParameters]] = {name: control.parameters for name, control in CONTROLS.items()}


def control_of(notebook: str) -> Control:
    control = CONTROLS.get(notebook)
    if control is None:
        raise ParameterError(f"notebook {notebook!r}", [("notebook", f"no such control declared in bo_lib.controls (known: {sorted(CONTROLS)})")])
    return control


def check_notebook_parameters(notebook: str, parameters: dict, funds: dict | None = None) -> NotebookParameters:
    """Validate one job's parameters against the notebook's declaration (before a kernel starts, and
    again in the notebook). ``funds``: the funds known (``load_funds``); a fund not among them is
    named with the ones that exist."""
    model = control_of(notebook).parameters
    params = _validate(model, parameters, f"parameters of notebook {notebook!r}")
    fund = getattr(params, "fund", None)
    if funds is not None and fund is not None and fund not in funds:
        raise ParameterError(f"parameters of notebook {notebook!r}", [("fund", f"unknown fund {fund!r} (known: {', '.join(sorted(funds))})")])
    return params


def check_schedule(schedule: Schedule, path: Path | str) -> Schedule:
    """Every scheduled notebook is a declared control, scheduled at the control's scope."""
    unknown = [j.notebook for j in schedule.jobs if j.notebook not in CONTROLS]
    if unknown:
        raise ParameterError(path, [("jobs.notebook", f"no such notebook declared: {unknown} (known: {sorted(CONTROLS)})")])
    wrong = [f"{j.notebook} (scope {j.scope}, declared {CONTROLS[j.notebook].scope})" for j in schedule.jobs if j.scope != CONTROLS[j.notebook].scope]
    if wrong:
        raise ParameterError(path, [("jobs.scope", f"scheduled at another scope than the control's: {wrong}")])
    return schedule


def load_schedule(path: Path | str) -> Schedule:
    """The daily schedule (``bo_lib.parameters.load_schedule``), its notebooks checked against the registry."""
    return check_schedule(_load_schedule(path), path)


# --------------------------------------------------------------------------------------------
# The parameters cell of a notebook, from its model

_CELL_DEFAULTS = {"business_date": '""', "data_root": '"../data"', "parameters_dir": '"../parameters"'}
_CELL_COMMENTS = {
    "business_date": "YYYY-MM-DD, or empty for the latest date delivered",
    "store": "the workbench DuckDB file, empty: a scratch copy of the production store when interactive",
    "output_dir": "where files for the archive go (set by the daily run), empty for none",
}


def parameters_cell_source(notebook: str, fund: str = "USEQ") -> str:
    """The source of the notebook's parameters cell: one line per declared parameter with its
    interactive default (comments hold no ';': papermill's parser stops there)."""
    lines = ["# Parameters (papermill injects the scheduled values below this cell)"]
    fields = control_of(notebook).parameters.model_fields
    for name, info in sorted(fields.items(), key=lambda item: item[0] != "fund"):
        if name == "fund":
            value = f'"{fund}"'
        elif name in _CELL_DEFAULTS:
            value = _CELL_DEFAULTS[name]
        else:
            value = repr(info.default)
            if isinstance(info.default, str):
                value = f'"{info.default}"'
        comment = _CELL_COMMENTS.get(name) or (info.description or "")
        lines.append(f"{name} = {value}" + (f"  # {comment}" if comment and name not in ("fund", "data_root", "parameters_dir", "run_id") else ""))
    return "\n".join(lines).replace(";", ",")
