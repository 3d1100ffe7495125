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


def record_key_figures(business_date, exceptions: dict, figures: dict, shown_extra: dict | None = None) -> None:
    """Record a report's business date, red/amber/green counts and key figures for the archive
    index, and show the figures as a table (``shown_extra``: shown, not recorded)."""
    import pandas as pd

    from bo_lib.report.display import show_table

    record("business_date", business_date)
    record("exceptions", exceptions)
    for name, value in figures.items():
        record(name, value)
    show_table(pd.DataFrame([figures | (shown_extra or {})]), "Key figures recorded for the archive index")
