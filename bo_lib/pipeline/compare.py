"""Comparing two sealed runs: their recorded figures, the tables their reports archived, their breaks.

Pure functions over two manifests and two run folders (nothing here runs a job or writes a file),
used by ``bo replay`` (a run against its replay: every figure and every archived table) and
``bo diff`` (two runs of one date or of two dates: key figures and reconciliation breaks).

Rules:

- **What is compared.** Each job's recorded ``results`` (key figures, the ``exceptions`` counts,
  each red/amber ``exception_checks`` entry), jobs matched by ``FUND/notebook``; for a replay also
  each archived table (``<FUND>/<notebook>_files/tables/*.csv``) cell by cell, rows in order, and
  the books' closing-state digests the run started from and struck (``books``).
- **Tolerance: exact to the declared decimals.** A figure is equal when it prints the same at its
  declared decimals (``report.figures.format_figure``: the text of the report and the index page);
  a float figure that declares no decimals (``report.figures.declared_decimals`` None) is compared at
  full precision (its ``repr``: the printed default of 2 to 6 decimals would make ``3e-07`` equal
  ``9e-07``).
  A table cell is equal when its CSV text is the same, or both are numbers equal at the digits the
  CSV printed (every float at full precision, so ``1.0`` equals ``1`` and ``-0.0`` equals ``0``,
  and ``0.30000000000000004`` does not equal ``0.3``).
- **What is ignored** is what differs between any two runs by nature: ``IGNORED`` lists it with why.
"""

from __future__ import annotations

import csv
import decimal
from dataclasses import dataclass, field
from pathlib import Path

from bo_lib.controls import CONTROLS, Figure
from bo_lib.pipeline.index import exception_counts
from bo_lib.report.figures import declared_decimals, format_figure

#: never compared, with why: what a new run has of its own whatever it computes
IGNORED: dict[str, str] = {
    "run_id": "a new run has a new id (also in every job's parameters and the notebooks' headers)",
    "created, finished, duration_seconds, books.seconds; each job's started, ended, duration_seconds":
        "when the run happened and how long it took",
    "run folder, output_dir, store and every output path and hash": "where the run's files and its store are: a replay "
        "writes its own folder and works on a scratch copy of the store; the outputs' hashes change with the run id and "
        "the time printed in each report's header",
    "command, host, python, packages, settings, code_version, replay_of": "how the run was started and on what (the "
        "settings its controls read, the 13F's schema folder, are set again as the run had them; a code version "
        "that differs is said before a replay, not counted as a difference)",
    "books.days_struck, books.ingest": "what this run had to strike or ingest depends on what the store held already "
        "(a replay strikes the date again on its scratch copy, which forgot it, and finds it ingested); the digests of the "
        "states it started from and struck are compared",
    "each report's header (run id, generated at, the store it used)": "not a table: the header is shown, not archived "
        "as CSV; no archived table carries a run id or a moment of the run, so every table column is compared",
}
#: results that are no figure of their own: read as ``exceptions`` and ``exception_checks`` below
_STRUCTURED = ("exceptions", "exception_checks")
#: difference lines printed before "... and N more"
MAX_LINES = 50
ABSENT = "(absent)"


@dataclass
class Comparison:
    """What two runs were compared on, and each difference as one line."""

    figures: int = 0
    tables: int = 0
    rows: int = 0
    breaks: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


# --------------------------------------------------------------------------------------------
# Figures


def compared_figure(value, figure: Figure | None, results: dict) -> str:
    """A recorded figure as compared: a float that declares no decimals at full precision (``repr``),
    any other figure as printed at its declared decimals (``format_figure``)."""
    if isinstance(value, float) and declared_decimals(figure, results) is None:
        return repr(value)
    return format_figure(value, figure, results)


def compared_figures(notebook: str, results: dict) -> dict[str, str]:
    """A job's recorded results as compared text by name: each figure by ``compared_figure``,
    ``exceptions.<rag>`` counts, and ``exception_checks["<check>"]`` as ``rag count`` (the check's
    detail text is the report's and is compared with its tables)."""
    control = CONTROLS.get(notebook)
    printed: dict[str, str] = {}
    for name, value in (results or {}).items():
        if name in _STRUCTURED:
            continue
        declared = control.figure(name) if control is not None else None
        printed[name] = compared_figure(value, declared[0] if declared else None, results)
    for level, count in (exception_counts(results or {}) or {}).items():  # read as the index and bo run read them
        printed[f"exceptions.{level}"] = str(count)
    for check in (results or {}).get("exception_checks") or []:
        if isinstance(check, dict):
            printed[f'exception_checks["{check.get("check")}"]'] = f"{check.get('rag')} {check.get('count')}"
    return printed


def jobs_by_id(manifest: dict) -> dict[str, dict]:
    """The manifest's jobs by ``FUND/notebook`` (the company's code for a company-wide notebook)."""
    return {job["job_id"]: job for job in manifest.get("jobs", [])}


def compare_figures(manifest_a: dict, manifest_b: dict, comparison: Comparison) -> None:
    """Every recorded figure of each job in both runs (a job in one run only is one line)."""
    jobs_a, jobs_b = jobs_by_id(manifest_a), jobs_by_id(manifest_b)
    for job_id in sorted(jobs_a.keys() | jobs_b.keys()):
        if job_id not in jobs_b or job_id not in jobs_a:
            comparison.differences.append(f"{job_id}: only in run {(manifest_a if job_id in jobs_a else manifest_b)['run_id']}")
            continue
        job_a, job_b = jobs_a[job_id], jobs_b[job_id]
        if job_a.get("status") != job_b.get("status"):
            comparison.differences.append(f"{job_id} status: {job_a.get('status')} -> {job_b.get('status')}")
        a = compared_figures(job_a["notebook"], job_a.get("results") or {})
        b = compared_figures(job_b["notebook"], job_b.get("results") or {})
        for name in list(a) + [n for n in b if n not in a]:
            comparison.figures += 1
            if a.get(name, ABSENT) != b.get(name, ABSENT):
                comparison.differences.append(f"{job_id} {name}: {a.get(name, ABSENT)} -> {b.get(name, ABSENT)}")


def compare_books(manifest_a: dict, manifest_b: dict, comparison: Comparison) -> None:
    """Per fund, the digest of the closing state the run started from and of the one it struck:
    the same books, or which differ (a correction or a reopen since)."""
    funds_a = (manifest_a.get("books") or {}).get("funds") or {}
    funds_b = (manifest_b.get("books") or {}).get("funds") or {}
    for code in sorted(funds_a.keys() | funds_b.keys()):
        for part in ("previous_state", "state"):
            a = ((funds_a.get(code) or {}).get(part) or {}).get("digest", ABSENT)
            b = ((funds_b.get(code) or {}).get(part) or {}).get("digest", ABSENT)
            comparison.figures += 1
            if a != b:
                comparison.differences.append(f"{code} books {part.replace('_', ' ')} digest: {a[:16]} -> {b[:16]}")


# --------------------------------------------------------------------------------------------
# Archived tables


def archived_tables(manifest: dict, run_dir: Path) -> dict[tuple[str, str], Path]:
    """The run's archived report tables: ``(FUND/notebook, table name)`` -> CSV path, the name
    being the file's (the slug of the table's title)."""
    tables = {}
    for job in manifest.get("jobs", []):
        for key, entry in (job.get("outputs") or {}).items():
            path = (entry or {}).get("path", "")
            if key.startswith("file:") and "/tables/" in path and path.endswith(".csv"):
                tables[(job["job_id"], Path(path).stem)] = Path(run_dir) / path
    return tables


def read_table(path: Path) -> list[dict[str, str]]:
    """An archived table's rows as text by column (as the CSV printed them)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> decimal.Decimal | None:
    try:
        number = decimal.Decimal(text)
    except (decimal.InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def same_cell(a: str | None, b: str | None) -> bool:
    """Equal text, or equal numbers at the digits printed (``1.0`` == ``1``, ``-0.0`` == ``0``)."""
    if a == b:
        return True
    x, y = _number(a or ""), _number(b or "")
    return x is not None and y is not None and x == y


def compare_table(job_id: str, name: str, rows_a: list[dict], rows_b: list[dict], comparison: Comparison) -> None:
    """Row by row (in order), column by column."""
    comparison.tables += 1
    comparison.rows += max(len(rows_a), len(rows_b))
    where = f'{job_id} table "{name}"'
    if len(rows_a) != len(rows_b):
        comparison.differences.append(f"{where}: {len(rows_a)} rows -> {len(rows_b)} rows")
    columns_a, columns_b = (list(rows[0]) if rows else [] for rows in (rows_a, rows_b))
    if rows_a and rows_b and columns_a != columns_b:
        comparison.differences.append(f"{where} columns: {', '.join(columns_a)} -> {', '.join(columns_b)}")
    for number, (row_a, row_b) in enumerate(zip(rows_a, rows_b), start=1):
        for column in [c for c in row_a if c in row_b]:
            if not same_cell(row_a[column], row_b[column]):
                comparison.differences.append(f"{where} row {number} column {column}: {row_a[column]} -> {row_b[column]}")


def compare_tables(manifest_a: dict, run_a: Path, manifest_b: dict, run_b: Path, comparison: Comparison) -> None:
    """Every table either run archived (a table archived by one run only is one line)."""
    tables_a, tables_b = archived_tables(manifest_a, run_a), archived_tables(manifest_b, run_b)
    for key in sorted(tables_a.keys() | tables_b.keys()):
        job_id, name = key
        if key not in tables_a or key not in tables_b:
            only = manifest_a if key in tables_a else manifest_b
            comparison.differences.append(f'{job_id} table "{name}": only in run {only["run_id"]}')
            continue
        compare_table(job_id, name, read_table(tables_a[key]), read_table(tables_b[key]), comparison)


def compare_replay(manifest_a: dict, run_a: Path, manifest_b: dict, run_b: Path) -> Comparison:
    """A run against its replay: every recorded figure, the books' digests and every archived table."""
    comparison = Comparison()
    compare_figures(manifest_a, manifest_b, comparison)
    compare_books(manifest_a, manifest_b, comparison)
    compare_tables(manifest_a, Path(run_a), manifest_b, Path(run_b), comparison)
    return comparison


# --------------------------------------------------------------------------------------------
# Breaks (bo diff)

#: the reconciliation report's table of every break of the fund up to its date (its title's slug)
BREAK_HISTORY = "break-history"
#: break columns that move with the as-of date alone: compared only when both runs are of one date
AS_OF_COLUMNS = frozenset({"last_seen", "age_business_days"})


def break_lists(manifest: dict, run_dir: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Per fund, its breaks by id as the reconciliation report archived them (``Break history``:
    open and resolved, up to the run's date); a fund whose report archived none has an empty list."""
    lists: dict[str, dict[str, dict[str, str]]] = {}
    for job in manifest.get("jobs", []):
        if job.get("notebook") == "reconciliation" and job.get("status") == "ok":
            lists[job["job_id"]] = {}
    for (job_id, name), path in archived_tables(manifest, run_dir).items():
        if name == BREAK_HISTORY and job_id in lists:
            lists[job_id] = {row["break_id"]: row for row in read_table(path)}
    return lists


def _changed_columns(a: dict[str, str], b: dict[str, str], same_date: bool) -> list[str]:
    skip = {"break_id"} | (set() if same_date else AS_OF_COLUMNS)
    return [f"{c} {a.get(c) or '-'} -> {b.get(c) or '-'}" for c in list(a) + [c for c in b if c not in a]
            if c not in skip and not same_cell(a.get(c), b.get(c))]


def compare_breaks(manifest_a: dict, run_a: Path, manifest_b: dict, run_b: Path, comparison: Comparison) -> None:
    """Each fund's breaks by id: ``new`` (in B only), ``gone`` (in A only), ``changed`` (the
    columns that differ; the age and last-seen date only between runs of one date)."""
    lists_a, lists_b = break_lists(manifest_a, Path(run_a)), break_lists(manifest_b, Path(run_b))
    same_date = manifest_a.get("business_date") == manifest_b.get("business_date")
    for job_id in sorted(lists_a.keys() & lists_b.keys()):
        a, b = lists_a[job_id], lists_b[job_id]
        comparison.breaks += len(a.keys() | b.keys())
        for break_id in sorted(a.keys() | b.keys()):
            row = b.get(break_id) or a[break_id]
            what = f"{row.get('recon')} {row.get('account')} {row.get('item')} {row.get('classification')}, {row.get('status')}"
            if break_id not in a:
                comparison.differences.append(f"{job_id} break {break_id} new: {what}")
            elif break_id not in b:
                comparison.differences.append(f"{job_id} break {break_id} gone: {what}")
            elif changed := _changed_columns(a[break_id], b[break_id], same_date):
                comparison.differences.append(f"{job_id} break {break_id} changed: {'; '.join(changed)}")


def compare_runs(manifest_a: dict, run_a: Path, manifest_b: dict, run_b: Path) -> Comparison:
    """Two runs (a rerun of a date, or two dates): key figures per job and the reconciliation breaks."""
    comparison = Comparison()
    compare_figures(manifest_a, manifest_b, comparison)
    compare_breaks(manifest_a, run_a, manifest_b, run_b, comparison)
    return comparison


def report_lines(comparison: Comparison, limit: int = MAX_LINES) -> list[str]:
    """``identical: N figures, M tables (T rows)`` (and breaks, when compared), or one line per
    difference, the first ``limit`` of them and a count of the rest."""
    if comparison.identical:
        what = [f"{comparison.figures:,} figures"]
        if comparison.tables:
            what.append(f"{comparison.tables:,} tables ({comparison.rows:,} rows)")
        if comparison.breaks:
            what.append(f"{comparison.breaks:,} breaks")
        return ["identical: " + ", ".join(what)]
    lines = comparison.differences[:limit]
    if len(comparison.differences) > limit:
        lines.append(f"... and {len(comparison.differences) - limit:,} more differences")
    return lines
