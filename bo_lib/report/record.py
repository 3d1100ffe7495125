"""Recorded results: key figures a notebook leaves for the archive index and manifest.

A notebook calls ``record("net_assets", 123.4)``; the value travels inside the executed notebook
as a display output of the MIME type below (invisible in HTML), and the pipeline collects every
such output after execution with :func:`recorded_results`.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

RECORD_MIME = "application/vnd.bo.record+json"


def _jsonable(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy / pandas scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record(name: str, value) -> None:
    """Record one key figure (a number, string, date, or a small dict/list of them)."""
    from IPython.display import display

    display({RECORD_MIME: {name: _jsonable(value)}}, raw=True)


def recorded_results(notebook) -> dict:
    """All recorded figures of an executed notebook (nbformat node), later records winning."""
    results: dict = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RECORD_MIME in data:
                results.update(data[RECORD_MIME])
    return results


DETAIL_LIMIT = 300  # characters of a check's detail kept in ``exception_checks`` (the report shows it whole)


def shorten(text, limit: int = DETAIL_LIMIT) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``limit`` characters with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def exception_record(exceptions) -> tuple[dict, list[dict] | None]:
    """What :func:`record_key_figures` records for ``exceptions``: the red/amber/green counts and,
    for an exceptions summary table, its red and amber checks (worst first; None for a counts dict).

    A table has one row per check and the columns ``rag``, ``check``, ``count`` and ``detail``; its
    counts are the number of checks of each status (as the controls' ``counts`` give them). Each
    check is ``{"rag", "check", "count", "detail"}``: ``count`` an int (None when missing),
    ``detail`` on one line, at most ``DETAIL_LIMIT`` characters.
    """
    from bo_lib.rag import AMBER, GREEN, RANK, RED

    if isinstance(exceptions, dict):
        return exceptions, None
    rows = exceptions.to_dict(orient="records")
    counts = {rag: sum(1 for row in rows if row["rag"] == rag) for rag in (RED, AMBER, GREEN)}
    flagged = sorted((row for row in rows if row["rag"] in (RED, AMBER)), key=lambda row: -RANK[row["rag"]])  # stable
    import pandas as pd

    def missing(value) -> bool:
        return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))

    return counts, [{
        "rag": row["rag"],
        "check": str(row["check"]),
        "count": None if missing(row.get("count")) else int(row["count"]),
        "detail": "" if missing(row.get("detail")) else shorten(row["detail"]),
    } for row in flagged]


def record_key_figures(business_date, exceptions, figures: dict, shown_extra: dict | None = None, notebook: str = "") -> None:
    """Record a report's business date, red/amber/green counts and key figures for the archive
    index, and show the figures as a table (``shown_extra``: shown, not recorded).

    ``notebook``: the control whose declared labels, units and decimals the shown table uses.
    ``exceptions`` is the report's exceptions summary table (``rag``, ``check``, ``count``,
    ``detail``: one row per check), or a dict of counts ``{"red": n, "amber": n, "green": n}``. A
    table records both ``exceptions`` (its counts, as a dict would) and ``exception_checks`` (its red
    and amber checks, worst first: see :func:`exception_record`), which ``bo run`` prints.
    """
    import pandas as pd

    from bo_lib.report.display import show_table

    counts, checks = exception_record(exceptions)
    record("business_date", business_date)
    record("exceptions", counts)
    if checks is not None:
        record("exception_checks", checks)
    for name, value in figures.items():
        record(name, value)
    if notebook:  # labelled, with units and decimals, as the archive index shows them (bo_lib.controls)
        from bo_lib.report.figures import shown_figures

        shown = pd.DataFrame([{"figure": f.label, "value": f.value, "unit": f.unit} for f in shown_figures(notebook, figures)])
        show_table(shown, "Key figures recorded for the archive index", note="as the run's index page shows them")
        return
    show_table(pd.DataFrame([figures | (shown_extra or {})]), "Key figures recorded for the archive index")
