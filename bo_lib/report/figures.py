"""Key figures as a reader sees them: label, value at the declared decimals, unit, in the order the
control declares them (``bo_lib.controls``). The run's index page and the report's own key-figures
table both show them from here, so a figure reads the same in both places."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bo_lib.controls import CONTROLS, Figure
from bo_lib.money import amount_text


def _number(value: float, decimals: int | None) -> str:
    if decimals is None:
        text = repr(float(value))
        decimals = min(max(len(text.split(".")[1]), 2), 6) if "." in text and "e" not in text else 2
    return amount_text(value, decimals)


def declared_decimals(figure: Figure | None, results: dict | None = None) -> int | None:
    """The decimals a float figure is printed at: the recorded figure its control names
    (``decimals_from``, an int), else its declared ``decimals``; None when it declares none (printed
    as recorded, 2 to 6 decimals)."""
    if figure is None:
        return None
    if figure.decimals_from and isinstance((results or {}).get(figure.decimals_from), int):
        return (results or {})[figure.decimals_from]
    return figure.decimals


def format_figure(value, figure: Figure | None = None, results: dict | None = None) -> str:
    """A recorded figure as text: thousands separators, the declared decimals (or those recorded),
    no negative zero; dates and strings as they are; missing as an em dash."""
    results = results or {}
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return _number(value, declared_decimals(figure, results))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def singular(unit: str) -> str:
    """``breaks`` -> ``break`` for a count of one (``securities`` -> ``security``, ``business days`` ->
    ``business day``); other units unchanged."""
    if unit.endswith("ies"):
        return unit[:-3] + "y"
    if unit.endswith("s") and unit[:1].isalpha():
        return unit[:-1]
    return unit


@dataclass(frozen=True)
class ShownFigure:
    name: str
    label: str
    value: str
    unit: str


def shown_figures(notebook: str, results: dict) -> list[ShownFigure]:
    """The recorded figures of a job as the reader sees them, in the control's order: label, value
    with its decimals, unit. Figures recorded only as units are left out, undeclared ones come last
    under their recorded name."""
    control = CONTROLS.get(notebook)
    rows: list[tuple[int, int, ShownFigure]] = []
    skip = {"business_date", "exceptions", "exception_checks"}
    for position, (name, value) in enumerate(results.items()):
        if name in skip or not (value is None or isinstance(value, (str, int, float, bool))):
            continue
        declared = control.figure(name) if control is not None else None
        if declared is None:
            rows.append((len(control.figures) if control else 0, position, ShownFigure(name, name.replace("_", " "), format_figure(value), "")))
            continue
        figure, label = declared
        if label is None:
            continue
        unit = re.sub(r"\{(\w+)\}", lambda m: str(results.get(m.group(1)) or ""), figure.unit)
        text = format_figure(value, figure, results)
        rows.append((control.order(name), position, ShownFigure(name, label, text, singular(unit) if text == "1" else unit)))
    return [row for _order, _position, row in sorted(rows, key=lambda r: (r[0], r[1]))]
