"""Validation errors for inbound and reference data: each violation names the file, the line, the
column and the rule broken; all violations of a load are reported together."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class Violation:
    file: str
    line: int | None  # 1 = header line; None = the file as a whole
    column: str | None
    rule: str
    value: str | None = None
    fund: str | None = None  # the fund the offending row belongs to, when it can be told

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        col = f", column {self.column}" if self.column else ""
        got = f" (got {self.value!r})" if self.value is not None else ""
        return f"{self.file}: {where}{col}: {self.rule}{got}"


VIOLATION_COLUMNS = ["file", "line", "column", "rule", "value", "fund"]


def violations_frame(violations: list[Violation]) -> pd.DataFrame:
    return pd.DataFrame([asdict(v) for v in violations], columns=VIOLATION_COLUMNS).astype({"line": "Int64"})


class DataValidationError(ValueError):
    """One or more contract violations in a data file; ``violations`` lists them all."""

    def __init__(self, violations: list[Violation], max_shown: int = 20):
        self.violations = list(violations)
        files = sorted({v.file for v in self.violations})
        shown = "\n  ".join(str(v) for v in self.violations[:max_shown])
        more = f"\n  ... and {len(self.violations) - max_shown} more" if len(self.violations) > max_shown else ""
        super().__init__(f"{len(self.violations)} data problem(s) in {', '.join(files)}:\n  {shown}{more}")

    def to_frame(self) -> pd.DataFrame:
        return violations_frame(self.violations)
