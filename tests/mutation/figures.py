"""Figures level: a mutation through the whole pipeline (ingest, books, recons, intake, shadow NAV)
without notebooks, and every fund's figures against the clean ones.

The clean store is the session's (``sample_store``: the sample world ingested, the books struck and
the recons recorded up to the last date). A case copies the world and the store, mutates a file of
the last date (or deletes a day), ingests and rolls the books (``prepare_books``), reconciles, and
computes per fund:

* numbers: NAV per share and net assets per class at the close of the last date (the books' state),
  the recon breaks (recon, item, classification, difference, value), the recon, shadow NAV and
  (on demand) settlement key figures, as the notebooks record them;
* status: the intake control's checks (red / amber / green, counts) and key figures, the recon's
  and the shadow NAV's exception counts, the books' problems;
* what the fund's intake report shows as violations.

The judgement per fund (``judge_fund``): a fund whose row it is not (a bystander) keeps every
number, and its status too unless it is shown a violation naming the row; any other fund either
keeps every figure, or is shown a violation naming the file, the line and the column, with no break
the clean run does not have (a held-out row makes no break) and no figure becoming non-finite.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import duckdb

from tests.mutation.verdict import BAD_FIGURE, COLLATERAL, CRASH, INCOMPLETE, OUTCOMES, SILENT, UNCHANGED, VIOLATION
from tests.mutation.world import DATA, LAST, funds
RUN_ID = "mutation"


# ------------------------------------------------------------------------------------------------
# worlds and stores


def copy_world(target: Path) -> Path:
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("store"))
    return target


def copy_store(store: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(store, target)
    wal = Path(str(store) + ".wal")
    if wal.exists():
        shutil.copy2(wal, Path(str(target) + ".wal"))
    return target


#: tables without a business date: notes and the break actions' trail are kept, the breaks table is rebuilt from the observations
_UNDATED = {"recon_break_notes": "keep", "recon_break_actions": "keep", "recon_breaks": "empty"}


def store_as_of(store: Path, day: dt.date) -> None:
    """Cut a store back to what it held at the close of ``day``: every delivery, row, violation,
    book state, restatement, recon run and open item of a later business date is deleted (the
    reference data and the opening stay). What a store built only up to ``day`` would hold."""
    with duckdb.connect(str(store)) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        for table in tables:
            columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
            if table in _UNDATED:
                if _UNDATED[table] == "empty":
                    con.execute(f"DELETE FROM {table}")
                continue
            column = "book_date" if "book_date" in columns else "business_date" if "business_date" in columns else None
            assert column is not None, f"store table {table} has no business date: teach store_as_of about it"
            con.execute(f"DELETE FROM {table} WHERE {column} > ?", [day])
        con.execute("CHECKPOINT")


# ------------------------------------------------------------------------------------------------
# figures


def _num(x):
    """A figure as compared: floats rounded to 6 places, NaN as 'nan' (so that NaN equals NaN)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return x
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return round(x, 6)


def _clean_dict(d: dict) -> dict:
    return {k: (_clean_dict(v) if isinstance(v, dict) else _num(v) if isinstance(v, float) else v) for k, v in d.items()}


@dataclass
class FundFigures:
    fund: str
    classes: dict = field(default_factory=dict)  # class -> {nav_per_share, net_assets}
    breaks: dict = field(default_factory=dict)  # (recon, item, classification) -> (difference, value_base)
    recon_items: dict = field(default_factory=dict)  # (recon, key) -> (status, the compared values): what each recon matched
    recon: dict = field(default_factory=dict)  # {"exceptions": counts, **key figures} as the notebook records
    recon_checks: dict = field(default_factory=dict)  # check -> rag
    nav: dict = field(default_factory=dict)
    settlement: dict = field(default_factory=dict)
    intake: dict = field(default_factory=dict)
    intake_checks: dict = field(default_factory=dict)  # check -> (rag, count, detail)
    intake_later: dict = field(default_factory=dict)  # date -> check -> (rag, count, detail): intake of other dates
    violations: list = field(default_factory=list)  # what the fund's intake report shows
    problems: list = field(default_factory=list)  # the books' problems (no opening, no state)
    struck: list = field(default_factory=list)  # days the roll struck
    errors: list = field(default_factory=list)  # exceptions computing a figure: crashes
    nav_computed: bool = False  # the shadow NAV report (left out for a bystander fund, to save time: its books are compared)

    def numbers(self) -> dict:
        strip = lambda d: {k: v for k, v in d.items() if k not in ("exceptions", "exception_checks", "business_date")}  # noqa: E731
        out = {"NAV per class": self.classes, "recon breaks": self.breaks, "recon items": self.recon_items,
               "recon key figures": strip(self.recon)}
        if self.nav_computed:
            out["shadow NAV key figures"] = strip(self.nav)
        return out

    def status(self) -> dict:
        out = {"intake": self.intake, "intake checks": {c: v[:2] for c, v in self.intake_checks.items()},
               "recon exceptions": self.recon.get("exceptions"), "recon checks": self.recon_checks, "books problems": self.problems}
        if self.nav_computed:
            out["shadow NAV exceptions"] = self.nav.get("exceptions")
        return out

    def non_finite(self) -> list[str]:
        out = [f"NAV class {c} {k} = {v}" for c, row in self.classes.items() for k, v in row.items() if not _finite(v)]
        out += [f"break {key} {v}" for key, v in self.breaks.items() if not all(_finite(x) for x in v)]
        out += [f"shadow NAV {k} = {v}" for k, v in self.nav.items() if k != "exceptions" and isinstance(v, (int, float, str)) and not _finite(v)]
        return out




def _as_recorded(summary, figures: dict) -> dict:
    """What the notebook records (``record_key_figures``): the exceptions' counts and red / amber
    checks from its exceptions table, then its key figures."""
    from bo_lib.report.record import exception_record

    counts, checks = exception_record(summary)
    return _clean_dict({"exceptions": counts, "exception_checks": checks, **figures})

def _finite(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v not in ("nan", "inf", "-inf")
    if isinstance(v, (int, float)):
        return math.isfinite(v) and abs(v) < 1e15
    return True


def _error(where: str, exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    frame = next((f for f in reversed(tb) if "/bo_lib/" in f.filename), tb[-1])
    return f"{where}: {type(exc).__name__}: {exc} (at {Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno})"


def _items(today) -> dict:
    """Every item each recon compared, with its status and the values compared."""
    out = {}
    for r in today.positions.table.itertuples():
        out[("positions", f"{r.account}|{r.isin}")] = (str(r.status), *map(_num, (r.quantity_left, r.quantity_right, r.market_value_left,
                                                                                r.market_value_right)))
    for r in today.trades.table.itertuples():
        out[("trades", r.reference)] = (str(r.status), *map(_num, (r.quantity_left, r.quantity_right, r.price_left, r.price_right,
                                                                     r.net_amount_left, r.net_amount_right)))
    for r in today.cash.groups.itertuples():
        out[("cash", f"{r.account}|{r.currency}|{r.reference}")] = (str(r.status), _num(r.amount_left), _num(r.amount_right))
    return out


def fund_figures(store: Path, code: str, day: dt.date = LAST, *, settlement: bool = False, later: list[dt.date] = (),
                 nav: bool = True) -> FundFigures:
    """One fund's figures for ``day`` from a store whose books are rolled to the day (the recons are
    brought up to the day here, as the reconciliation notebook does)."""
    from bo_lib import intake as intake_control
    from bo_lib import settlement as settlement_control
    from bo_lib.books.state import load_state
    from bo_lib.intake.inputs import gather_fund_day
    from bo_lib.nav.daily import nav_report
    from bo_lib.nav.inputs import gather_nav
    from bo_lib.recon import control
    from bo_lib.recon.daily import reconcile_day
    from bo_lib.settlement.inputs import gather_settlement

    fund = funds()[code]
    out = FundFigures(code)
    try:
        state = load_state(store, code, day)
        out.classes = {} if state is None else {
            r.share_class: {"nav_per_share": _num(r.nav_per_share), "net_assets": _num(r.net_assets)} for r in state.classes.itertuples()}
        if state is None:
            out.problems.append(f"no books state for {day}")
    except Exception as exc:
        out.errors.append(_error("books state", exc))
    try:
        inputs, today, history = reconcile_day(store, fund, day, RUN_ID)
        summary = control.summarise(today, history, inputs.violations_table, inputs.held_out, inputs.problems)
        out.recon = _as_recorded(summary, {"base_currency": today.base_currency, **control.key_figures(today, history)})
        out.recon_checks = dict(zip(summary["check"], summary["rag"]))
        out.breaks = {(r.recon, r.item, r.classification): (_num(r.difference), _num(r.value_base)) for r in today.breaks().itertuples()}
        out.recon_items = _items(today)
    except Exception as exc:
        out.errors.append(_error("reconciliation", exc))
    try:
        day_inputs = gather_fund_day(store, fund, day)
        result = intake_control.assess(day_inputs)
        out.intake = _as_recorded(result.summary.table, result.key_figures())
        out.intake_checks = {r.check: (r.rag, int(r.count), r.detail) for r in result.summary.table.itertuples()}
        out.violations = list(day_inputs.violations)
    except Exception as exc:
        out.errors.append(_error("intake", exc))
    for other in later:
        try:
            result = intake_control.assess(gather_fund_day(store, fund, other))
            out.intake_later[other] = {r.check: (r.rag, int(r.count), r.detail) for r in result.summary.table.itertuples()}
        except Exception as exc:
            out.errors.append(_error(f"intake of {other}", exc))
    if nav:
        out.nav_computed = True
        try:
            report = nav_report(gather_nav(store, fund, day))
            out.nav = _as_recorded(report.summary, report.key_figures())
        except Exception as exc:
            out.errors.append(_error("shadow NAV", exc))
    if settlement:
        try:
            result = settlement_control.assess(gather_settlement(store, fund, day, 20), 5, 20)
            out.settlement = _as_recorded(result.summary, result.key_figures())
        except Exception as exc:
            out.errors.append(_error("settlement", exc))
    return out


def all_figures(store: Path, day: dt.date = LAST, bystanders: frozenset[str] = frozenset(), **kw) -> dict[str, FundFigures]:
    """Every fund's figures; a bystander's without the shadow NAV report (its books are compared)."""
    return {code: fund_figures(store, code, day, nav=code not in bystanders, **kw) for code in sorted(funds())}


def prepare(world: Path, store: Path, day: dt.date = LAST) -> tuple[dict, list[str]]:
    """Ingest the world's new and changed deliveries and roll every fund's books to ``day``;
    returns ({fund: (days struck, problems)}, errors)."""
    from bo_lib.books import prepare_books

    try:
        ready = prepare_books(world, store, funds(), sorted(funds()), day, run_id=RUN_ID)
    except Exception as exc:
        return {}, [_error("ingest and books (prepare_books)", exc)]
    return {code: (list(roll.struck), list(roll.problems)) for code, roll in ready.rolls.items()}, []


# ------------------------------------------------------------------------------------------------
# cases and their judgement


@dataclass(frozen=True)
class FigureCase:
    name: str
    kind: str  # "row": one row; "file": the file as a whole; "day": a day folder deleted
    file: str | None  # the file mutated, under the data root (the day's folder for "day")
    line: int | None
    columns: frozenset[str] | None  # columns a violation may name (None: any)
    mutate: Callable[[Path], None] = field(compare=False, repr=False)  # on the world copy
    bystanders: frozenset[str] = frozenset()  # funds whose row it is not: every number stays
    also_lines: frozenset[int] = frozenset()
    dataset: str | None = None
    day: dt.date | None = None  # "day": the deleted date

    def describe(self) -> str:
        where = {"row": f"line {self.line}", "file": "the whole file", "day": "the whole day"}[self.kind]
        col = f", column {'/'.join(sorted(self.columns))}" if self.columns else ""
        return f"{self.name} ({self.file}, {where}{col})"


def names_row(case: FigureCase, v) -> bool:
    if case.kind == "day":
        return v.file is not None and case.day is not None and case.day.isoformat() in v.file
    if v.file != case.file:
        return False
    line_ok = v.line in (None, 1) if case.kind == "file" else (v.line == case.line or v.line in case.also_lines)
    return line_ok and (case.columns is None or v.column in case.columns)


def flagged(case: FigureCase, f: FundFigures) -> bool:
    """Whether the fund's reports show the input problem: a violation naming the row (the file for
    a file-level case); a file-level case or a missing day may instead be a red intake check that
    names the dataset or the date, on the day (and, for a missing day, on every later date)."""
    if any(names_row(case, v) for v in f.violations):
        return True
    if case.kind == "file" and case.dataset:
        return any(rag == "red" and case.dataset in detail for rag, _, detail in f.intake_checks.values())
    if case.kind == "day" and case.day:
        mark = case.day.isoformat()
        days = [f.intake_checks] + list(f.intake_later.values())
        return all(any(rag == "red" and mark in detail for rag, _, detail in checks.values()) for checks in days)
    return False


def diff(clean, mutated, path: str = "") -> list[str]:
    """Readable differences of two nested dicts of figures."""
    if isinstance(clean, dict) and isinstance(mutated, dict):
        out = []
        for key in list(clean) + [k for k in mutated if k not in clean]:
            name = f"{path} {key}".strip() if not isinstance(key, tuple) else f"{path} {'/'.join(map(str, key))}".strip()
            if key not in mutated:
                out.append(f"{name}: clean {clean[key]!r} -> gone")
            elif key not in clean:
                out.append(f"{name}: new {mutated[key]!r}")
            else:
                out += diff(clean[key], mutated[key], name)
        return out
    return [] if clean == mutated else [f"{path}: clean {clean!r} -> mutated {mutated!r}"]


def _short(items: list[str], limit: int = 8) -> str:
    return "; ".join(items[:limit]) + (f"; ... and {len(items) - limit} more" if len(items) > limit else "")


def judge_fund(case: FigureCase, clean: FundFigures, mutated: FundFigures) -> tuple[str, str]:
    code = mutated.fund
    if mutated.errors:
        return CRASH, f"{code}: " + " | ".join(mutated.errors)
    if not mutated.nav_computed:
        clean = replace(clean, nav_computed=False)
    number_diffs = diff(clean.numbers(), mutated.numbers())
    status_diffs = diff(clean.status(), mutated.status())
    if not number_diffs and not status_diffs:
        return UNCHANGED, f"{code}: every figure unchanged"
    shown = flagged(case, mutated)
    mentions = [v for v in mutated.violations if case.file and v.file == case.file]
    bad = [x for x in mutated.non_finite() if x not in clean.non_finite()]
    if code in case.bystanders:
        if number_diffs:
            return COLLATERAL, f"{code} (not the row's fund): figures changed: {_short(number_diffs)}"
        if not shown:
            why = f"it is shown {_vs(mentions)}, not naming the row" if mentions else "no violation naming the row is shown"
            return SILENT, f"{code} (not the row's fund): status changed and {why}: {_short(status_diffs)}"
        return VIOLATION, f"{code}: shown the violation, figures unchanged"
    if not shown:
        what = _short(number_diffs + status_diffs)
        if case.kind == "day":
            return SILENT, f"{code}: figures changed and the intake of the last date (and of every date after the gap) shows no red " \
                           f"check naming the missing day {case.day}: {what}"
        if mentions:
            return INCOMPLETE, f"{code}: figures changed; the violations shown do not name the row ({_vs(mentions)}): {what}"
        return SILENT, f"{code}: figures changed with no violation naming the row: {what}"
    if bad:
        return BAD_FIGURE, f"{code}: the problem is shown ({_how_shown(case, mutated)}), but figures became non-finite or implausible: " \
                           f"{_short(bad)}"
    new_breaks = sorted(set(mutated.breaks) - set(clean.breaks))
    if new_breaks and case.kind != "day":
        return COLLATERAL, f"{code}: the problem is shown ({_how_shown(case, mutated)}), but breaks the clean run does not have " \
                           f"(made up from held-out input): " \
                           + _short([f"{r} {i} {c}" for r, i, c in new_breaks])
    return VIOLATION, f"{code}: the problem is shown ({_how_shown(case, mutated)})" + (
        f"; figures of the row changed: {_short(number_diffs, 3)}" if number_diffs else "")


def _how_shown(case: FigureCase, f: FundFigures) -> str:
    named = [v for v in f.violations if names_row(case, v)]
    if named:
        return _vs(named, 2)
    checks = [f"red check {c!r}: {detail}" for c, (rag, _, detail) in f.intake_checks.items() if rag == "red"
              and ((case.dataset and case.dataset in detail) or (case.day and case.day.isoformat() in detail))]
    return "; ".join(checks[:2])


def _vs(violations, limit: int = 3) -> str:
    return "; ".join(f"[{v.file} line {v.line} column {v.column}: {v.rule}]" for v in violations[:limit]) \
        + (f" and {len(violations) - limit} more" if len(violations) > limit else "")


SEVERITY = {o: i for i, o in enumerate((UNCHANGED, VIOLATION, INCOMPLETE, SILENT, COLLATERAL, BAD_FIGURE, CRASH))}


def worst(outcomes: list[str]) -> str:
    return max(outcomes, key=lambda o: SEVERITY.get(o, len(SEVERITY)))


__all__ = ["FigureCase", "FundFigures", "all_figures", "fund_figures", "prepare", "copy_world", "copy_store", "store_as_of", "judge_fund",
           "worst", "BAD_FIGURE", "diff", "OUTCOMES"]
