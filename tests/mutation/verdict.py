"""The loader-level judgement of one mutation.

A mutated file is validated with the loaders (``read_dataset`` with the reference data and the
funds' account map). The product rule, per mutation:

* EITHER a violation names the file, the mutated row's line (a file-level mutation: line 1 or the
  whole file), the column (where one is involved) and a rule, AND every row no violation names
  survives with exactly the clean file's typed values (the bad row is held out, the rest goes on);
* OR nothing is reported and the typed frame is exactly the clean one (the mutation changes
  nothing, e.g. whitespace the contract strips).

Anything else is a fault, classified for the report: a crash (an exception escaped), a silent
change (a different value and no violation), an incomplete violation (the file is named but not the
line or the column), a misplaced violation (another line), collateral damage (good rows lost or
changed along with the bad one).
"""

from __future__ import annotations

import inspect
import math
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bo_lib.data.loaders import read_dataset

from tests.mutation.generate import Mutation
from tests.mutation.world import LAST, account_funds, funds, inbound_rel, reference

# outcomes
VIOLATION = "clear violation"
UNCHANGED = "unchanged result"
EMPTY_ACCEPTED = "empty delivery accepted"
CRASH = "crash"
SILENT = "silent change"
INCOMPLETE = "incomplete violation"
MISPLACED = "misplaced violation"
COLLATERAL = "collateral damage"
BAD_FIGURE = "non-finite or implausible figure"  # figures level: a NAV or break that is inf / nan / astronomical
PASSING = (VIOLATION, UNCHANGED, EMPTY_ACCEPTED)
OUTCOMES = (VIOLATION, UNCHANGED, EMPTY_ACCEPTED, CRASH, SILENT, INCOMPLETE, MISPLACED, COLLATERAL, BAD_FIGURE)

#: what the loaders are given besides the file: the reference data and the funds' account map (and,
#: should ``read_dataset`` come to take them, the fund parameters themselves: fund codes, classes)
_SIGNATURE = inspect.signature(read_dataset).parameters


def loader_kwargs() -> dict:
    kwargs = {"account_funds": account_funds(), "reference": reference(), "keep_attribution": True}
    if "funds" in _SIGNATURE:
        kwargs["funds"] = funds()
    return kwargs


@dataclass
class Verdict:
    outcome: str
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome in PASSING


def validate_bytes(dataset: str, data: bytes, root: Path):
    """Write ``data`` as the dataset's file of the last date under ``root`` and read it back."""
    path = root / inbound_rel(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return read_dataset(dataset, root, LAST, path=path, **loader_kwargs())


# ------------------------------------------------------------------------------------------------
# comparing typed frames


def _same(a, b) -> bool:
    a_na = a is None or a is pd.NA or a is pd.NaT or (isinstance(a, float) and math.isnan(a))
    b_na = b is None or b is pd.NA or b is pd.NaT or (isinstance(b, float) and math.isnan(b))
    if a_na or b_na:
        return a_na and b_na
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def by_line(frame: pd.DataFrame) -> dict[int, dict]:
    columns = [c for c in frame.columns if c != "source_line"]
    return {int(line): dict(zip(columns, values)) for line, values in
            zip(frame["source_line"], frame[columns].itertuples(index=False, name=None))} if "source_line" in frame else {}


def row_diffs(clean: dict[int, dict], mutated: dict[int, dict], lines) -> list[str]:
    """What differs on ``lines``: a line missing, or a value changed (clean -> mutated)."""
    out = []
    for line in sorted(lines):
        if line not in mutated:
            out.append(f"line {line} lost")
            continue
        if line not in clean:
            out.append(f"line {line} added: {_show(mutated[line])}")
            continue
        for column, value in clean[line].items():
            got = mutated[line].get(column, "<no column>")
            if not _same(value, got):
                out.append(f"line {line} {column}: clean {value!r} -> mutated {got!r}")
    return out


def _show(row: dict, limit: int = 6) -> str:
    items = list(row.items())[:limit]
    return ", ".join(f"{k}={v!r}" for k, v in items) + (", ..." if len(row) > limit else "")


def _short(diffs: list[str], limit: int = 6) -> str:
    return "; ".join(diffs[:limit]) + (f"; ... and {len(diffs) - limit} more" if len(diffs) > limit else "")


def _violations(violations, limit: int = 4) -> str:
    if not violations:
        return "no violation"
    shown = "; ".join(f"[line {v.line}, column {v.column}: {v.rule}]" for v in violations[:limit])
    return shown + (f" and {len(violations) - limit} more" if len(violations) > limit else "")


# ------------------------------------------------------------------------------------------------
# the verdict


def names_the_row(m: Mutation, v) -> bool:
    if m.file_level:
        line_ok = v.line in (None, 1)
    else:
        line_ok = v.line == m.line or v.line in m.also_lines
    # a key violation names the key's columns together ("fund,share_class")
    columns = set((v.column or "").split(","))
    return line_ok and (m.expect_columns is None or bool(columns & set(m.expect_columns))) and bool(v.rule)


def judge(m: Mutation, clean, mutated=None, error: BaseException | None = None) -> Verdict:
    """``clean``, ``mutated``: the LoadResults of the clean and the mutated file."""
    head = m.describe()
    if error is not None:
        tb = traceback.extract_tb(error.__traceback__)[-1]
        return Verdict(CRASH, f"{head}: {type(error).__name__}: {error} (at {Path(tb.filename).name}:{tb.lineno})")
    file_violations = [v for v in mutated.violations if v.file == m.file]
    others = [v for v in mutated.violations if v.file != m.file]
    if others:
        return Verdict(MISPLACED, f"{head}: violations name another file: {_violations(others)}")
    clean_rows, rows = by_line(clean.frame), by_line(mutated.frame)
    all_lines = set(clean_rows) | set(rows)
    if not file_violations:
        diffs = row_diffs(clean_rows, rows, all_lines)
        if not diffs:
            return Verdict(UNCHANGED, f"{head}: nothing reported, typed frame unchanged")
        if m.kind == "header only" and not rows:
            return Verdict(EMPTY_ACCEPTED, f"{head}: accepted as a delivery without rows")
        return Verdict(SILENT, f"{head}: no violation, but {_short(diffs)}")
    named = [v for v in file_violations if names_the_row(m, v)]
    if named:
        if m.file_level:
            return Verdict(VIOLATION, f"{head}: {_violations(named)}")
        held = {v.line for v in file_violations if v.line is not None and v.line > 1} | {m.line}
        wholesale = [v for v in file_violations if v.line in (None, 1)]
        diffs = row_diffs(clean_rows, rows, set(clean_rows) - held)
        if diffs:
            why = f" (file-level violation {_violations(wholesale)})" if wholesale else ""
            return Verdict(COLLATERAL, f"{head}: the row is named {_violations(named)}, but rows no violation names changed{why}: "
                                       f"{_short(diffs)}")
        return Verdict(VIOLATION, f"{head}: {_violations(named)}")
    same_line = [v for v in file_violations if (m.file_level and v.line in (None, 1)) or (not m.file_level and v.line == m.line)]
    if same_line:
        return Verdict(INCOMPLETE, f"{head}: the line is named but not the column (expected one of {sorted(m.expect_columns or [])}): "
                                   f"{_violations(same_line)}")
    wholesale = [v for v in file_violations if v.line in (None, 1)]
    if wholesale and not m.file_level:
        lost = len(set(clean_rows) - set(rows))
        return Verdict(INCOMPLETE, f"{head}: the violation does not name the row's line {m.line}: {_violations(wholesale)}"
                                   + (f"; {lost} of {len(clean_rows)} rows of the file lost with it" if lost else ""))
    return Verdict(MISPLACED, f"{head}: violations name other lines: {_violations(file_violations)}")


# ------------------------------------------------------------------------------------------------
# statements


def read_statement(rel: str, data: bytes, root: Path):
    """Parse one statement file as the loaders do for the account it is named after; returns
    (parsed statements, findings) where findings are the loader's violations plus the statements
    that do not balance (the integrity check every control runs)."""
    from bo_lib.data.formats.statement import statement_integrity, statement_summaries
    from bo_lib.data.loaders import read_statement_file

    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    account, _, suffix = path.name.partition(".")
    cash = {a.account: a for f in funds().values() for a in f.cash_accounts}[account]
    parsed, violations = read_statement_file(path, root, account, cash.currency, cash.statement_format)
    findings = list(violations)
    if parsed:
        integrity = statement_integrity(statement_summaries(parsed))
        from bo_lib.data.errors import Violation

        findings += [Violation(rel, None, None, f"integrity: {r.integrity} (difference {r.difference:+,.2f})")
                     for r in integrity.itertuples() if r.integrity != "ok"]
    return parsed, findings


def judge_statement(m: Mutation, clean_parsed, parsed=None, findings=None, error: BaseException | None = None) -> Verdict:
    from tests.mutation.generate import XXE_TARGET

    head = m.describe()
    if error is not None:
        tb = traceback.extract_tb(error.__traceback__)[-1]
        return Verdict(CRASH, f"{head}: {type(error).__name__}: {error} (at {Path(tb.filename).name}:{tb.lineno})")
    if m.kind == "external entity":
        secret = Path(XXE_TARGET).read_text(errors="replace").splitlines()[0] if Path(XXE_TARGET).exists() else "root:"
        if any(secret in repr(s) for s in parsed):
            return Verdict(SILENT, f"{head}: the entity was expanded: {XXE_TARGET} content in the parsed statement")
    mine = [v for v in findings if v.file == m.file]
    if not mine:
        if parsed == clean_parsed and not findings:
            return Verdict(UNCHANGED, f"{head}: nothing reported, statements unchanged")
        return Verdict(SILENT, f"{head}: no violation, but the parsed statements differ from the clean ones")
    named = [v for v in mine if m.expect_columns is None or v.column in m.expect_columns]
    if named:
        return Verdict(VIOLATION, f"{head}: {_violations(named)}")
    return Verdict(INCOMPLETE, f"{head}: the file is named but not the column (expected {sorted(m.expect_columns)}): {_violations(mine)}")
