"""Red / amber / green: the one definition of exception statuses, their order, and what every
control does with them (the worst of several; a summary sorted worst first)."""

from __future__ import annotations

import pandas as pd

RED, AMBER, GREEN = "red", "amber", "green"
RANK = {GREEN: 0, AMBER: 1, RED: 2}


def worst(rags) -> str:
    """The most severe status among ``rags`` (green when there is none)."""
    return max(rags, key=RANK.get, default=GREEN)


def worst_first(table: pd.DataFrame, column: str = "rag") -> pd.DataFrame:
    """``table`` sorted red, amber, green, keeping the order within each status."""
    return table.sort_values(column, key=lambda s: s.map(RANK), ascending=False, kind="stable").reset_index(drop=True)


def worst_first_key(column: pd.Series) -> pd.Series:
    """A ``sort_values(key=...)`` for tables sorted on several columns, the ``rag`` column worst first."""
    return -column.map(RANK) if column.name == "rag" else column
