"""A control's setup in its notebook, from its declaration in :mod:`bo_lib.controls`.

``run = open_control("nav", globals())`` takes the notebook's parameters from its namespace, checks
them (a mistyped fund or date gets the same error as ``bo run``, naming the parameter), loads the
fund or company, resolves the business date and the store (an interactive session never writes the
production store: see ``bo_lib.store.resolve_store``), rolls the books to the date when the daily
run has not (a no-op in a scheduled run), gathers the control's inputs and assesses them. The
notebook then shows sections from ``run.inputs`` and ``run.result``; ``run.header()``,
``run.show_exceptions()`` and ``run.record()`` are the same in every notebook.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import os
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from bo_lib.books import prepare_books
from bo_lib.controls import Control, check_notebook_parameters, control_of
from bo_lib.data.layout import resolve_business_date
from bo_lib.parameters import FundParameters, ManagementCompany, NotebookParameters, ParameterError, load_company, load_funds
from bo_lib.report.display import archive_tables_to, show_exceptions as _show_exceptions, show_run_header
from bo_lib.report.record import record_key_figures
from bo_lib.store import LAB_VARIABLE, describe_store, resolve_store


def _callable(reference: str) -> Callable:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _call(function: Callable, context: dict, *first) -> Any:
    """Call ``function`` with ``first`` positionally, then each further parameter it declares by
    name from ``context`` (parameters with a default and no value in the context keep their default)."""
    signature = inspect.signature(function)
    names = list(signature.parameters)[len(first):]
    kwargs = {}
    for name in names:
        parameter = signature.parameters[name]
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in context:
            kwargs[name] = context[name]
        elif parameter.default is parameter.empty:
            raise TypeError(f"{function.__module__}.{function.__name__}: no value for its parameter {name!r} in the control's context "
                            f"(known: {sorted(context)})")
    return function(*first, **kwargs)


@dataclass
class ControlRun:
    """A control set up in its notebook: parameters, entity, date, store, inputs and result."""

    control: Control
    params: NotebookParameters
    funds: dict[str, FundParameters]
    fund: FundParameters | None
    company: ManagementCompany | None
    business_date: dt.date
    store: Path
    store_note: str
    inputs: Any
    result: Any

    @property
    def output_dir(self) -> Path | None:
        """The folder for files the archive keeps (filings), or None (see :func:`archive_folder`)."""
        return archive_folder(self.params)

    @property
    def entity(self) -> str:
        return self.fund.fund_code if self.fund is not None else self.company.code

    @property
    def entity_name(self) -> str:
        return self.fund.name if self.fund is not None else f"{self.company.name} (CIK {self.company.cik})"

    @property
    def exceptions(self) -> pd.DataFrame:
        """The exceptions table (rag, check, count, detail), worst first."""
        return attrgetter(self.control.exceptions)(self.result)

    def header(self, previous: dt.date | None = None, books: str | None = None) -> None:
        """The report's header: title, entity, date, run, code version, inputs with their hashes."""
        show_run_header(self.control.title, self.entity, self.entity_name, self.business_date, self.params.run_id,
                        self.inputs.delivered, self.params.model_dump(), previous, books=books, store=self.store_note)

    def show_exceptions(self) -> None:
        _show_exceptions(self.exceptions, f"{self.control.short} exceptions for {self.entity} on {self.business_date}")

    def record(self) -> None:
        """Record the business date, the exceptions and the key figures for the archive index."""
        record_key_figures(self.business_date, self.exceptions, self.result.key_figures(), notebook=self.control.notebook)


def open_control(notebook: str, namespace: dict) -> ControlRun:
    """Set up the control ``notebook`` from the notebook's parameters (its ``globals()``)."""
    control = control_of(notebook)
    values = {name: namespace[name] for name in control.parameters.model_fields if name in namespace}
    parameters_dir = values.get("parameters_dir", "")
    where = f"parameters of notebook {notebook!r}"
    if not (Path(parameters_dir) / "funds").is_dir():
        raise ParameterError(where, [("parameters_dir", f"{Path(parameters_dir).resolve()} has no funds/ folder (the fund and company files)")])
    if not Path(values.get("data_root", "")).is_dir():
        raise ParameterError(where, [("data_root", f"no such folder: {Path(values.get('data_root', '')).resolve()}")])
    funds = load_funds(parameters_dir)
    params = check_notebook_parameters(notebook, values, funds=funds)
    fund = funds[params.fund] if control.scope == "fund" else None
    company = load_company(parameters_dir) if control.scope == "company" else None
    try:
        business_date = resolve_business_date(params.data_root, params.business_date)
    except FileNotFoundError as exc:
        raise ParameterError(where, [("business_date", str(exc))]) from None
    store, store_note = _store(params)
    archive_tables_to(archive_folder(params))  # in a scheduled run every table shown is archived in full
    prepare_books(params.data_root, store, funds, [fund.fund_code] if fund is not None else list(funds), business_date, run_id=params.run_id)
    context = params.model_dump() | {"store": store, "fund": fund, "funds": funds, "company": company, "business_date": business_date}
    inputs = _call(_callable(control.gather), context)
    result = _call(_callable(control.assess), context, inputs)
    # a result that carries the day's inputs (the reconciliation gathers the day while it brings
    # the recons up to date) names them: the header lists what was delivered
    inputs = getattr(result, "inputs", inputs)
    return ControlRun(control, params, funds, fund, company, business_date, store, store_note, inputs, result)


def record_day_ahead(control: Control, store: Path, fund: FundParameters, business_date: dt.date, run_id: str, progress=None):
    """What the daily run does before its jobs for a control that persists (``writes``): gather its
    day once, recording what it records, so the jobs then only read the store."""
    return _call(_callable(control.gather), {"store": store, "fund": fund, "business_date": business_date, "run_id": run_id,
                                             "progress": progress})


def _store(params: NotebookParameters) -> tuple[Path, str]:
    """The store the control reads and writes, and a line saying which (interactive: a scratch copy,
    never the production file; see ``bo_lib.store.resolve_store``)."""
    path = resolve_store(params.store, params.data_root, run_id=params.run_id)
    return Path(path), describe_store(path)


def archive_folder(params: NotebookParameters) -> Path | None:
    """Where the notebook leaves files for the archive: its ``output_dir`` in a scheduled run; none
    interactively, and none when an archived notebook is re-run in a Lab session (its folder is
    the sealed run's)."""
    if not params.output_dir or (os.environ.get(LAB_VARIABLE) and params.run_id != "interactive"):
        return None
    return Path(params.output_dir)
