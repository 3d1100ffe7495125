"""Mutation suite: bad input never becomes a number.

The product rule: a bad input row gets a violation naming file, line, column and rule; that row is
held out and counted; the rest of the file, the other funds and the other jobs go on; never a
crash, never a different figure under a green input check.

The inbound files of the last sample date are mutated systematically (every dataset, every column
of its contract: generated from ``CONTRACTS`` in ``tests/mutation/generate.py``), and the bank
statements of that date. For each mutation: EITHER a violation names the file, the line, the
column and a rule, and every figure that does not depend on the bad row equals the clean run's,
OR every figure is unchanged. Never an exception escaping, never a changed figure with no
violation.

Levels:

1. loader (fast): the mutated file is validated with the loaders; the rows no violation names must
   come out with exactly the clean file's typed values. Hypothesis drives random numbers into
   numeric columns and random text into code columns.
2. figures: a dozen important mutations through the whole pipeline without notebooks: a copy of
   the world and of the session's store, ingest, books, recons, intake; every fund's figures
   (NAV per share and net assets per class, recon breaks, recon / intake / shadow NAV results)
   against the clean ones.
3. full runs (slow): `bo run` on a mutated world: every job ok, the bad row reported, the other
   funds' results as clean.

A failing case says which mutation (dataset, column, kind, line) and what went wrong. The session
prints the counts at the end (tests/mutation/tally.py).

Running it (``BO_REFERENCE_DIR`` as for the rest of the suite):

* everything: ``python -m pytest tests/test_mutations.py`` (the session builds the sample store
  once, as every session does: tests/../conftest.py);
* without the two full runs: ``-m "not slow"``;
* the loader level alone, without building the store: ``PYTHONPATH=. python -m pytest
  tests/test_mutations.py --noconftest -k "not figures and not full_run"``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bo_lib.data.contracts import CONTRACTS
from bo_lib.data.layout import INBOUND_FILES

from tests.mutation import figures as fig
from tests.mutation.generate import (PLAUSIBLE_MAX, Mutation, all_csv_mutations, append_copy, clean_bytes, clean_statement_bytes,
                                     header_only, latin1_in_row, pick_line, records, set_cell, statement_mutations, wrong_check_digit)
from tests.mutation.tally import TALLY, SummaryPlugin
from tests.mutation.verdict import (CRASH, SILENT, UNCHANGED, VIOLATION, Verdict, by_line, judge, judge_statement, read_statement,
                                    row_diffs, validate_bytes)
from tests.mutation.world import DATES, LAST, NOTEBOOKS, PARAMETERS, account_funds, funds, known_currencies, reference, share_classes
from tests.commands import bo

CSV_MUTATIONS = all_csv_mutations()
STATEMENT_MUTATIONS = statement_mutations()


@pytest.fixture(scope="module", autouse=True)
def mutation_summary(request):
    """The counts printed at the end of the session (only in sessions that run this module)."""
    manager = request.config.pluginmanager
    if not manager.has_plugin("bo-mutation-summary"):
        manager.register(SummaryPlugin(TALLY), "bo-mutation-summary")
    return TALLY


@pytest.fixture(scope="module")
def loader_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutation-loader")


_CLEAN: dict = {}


def clean_result(dataset: str, root: Path):
    if dataset not in _CLEAN:
        _CLEAN[dataset] = validate_bytes(dataset, clean_bytes(dataset), root / "clean")
    return _CLEAN[dataset]


# ================================================================================================
# level 1: loaders


@pytest.mark.parametrize("dataset", list(INBOUND_FILES))
def test_clean_files_validate_without_violations(dataset, loader_root):
    """The starting point: every inbound file of the last sample date meets its contract."""
    result = clean_result(dataset, loader_root)
    assert result.violations == [], result.violations
    assert len(result.frame) == result.rows_in_file == len(records(dataset)) > 0


def _run_csv_mutation(m: Mutation, root: Path) -> Verdict:
    clean = clean_result(m.dataset, root)
    try:
        mutated = validate_bytes(m.dataset, m.apply(clean_bytes(m.dataset)), root / "mutated")
    except Exception as exc:  # an exception escaping the loaders is a crash, reported as one
        return judge(m, clean, error=exc)
    return judge(m, clean, mutated)


@pytest.mark.parametrize("m", CSV_MUTATIONS, ids=lambda m: m.id)
def test_loader_mutation(m: Mutation, loader_root):
    verdict = _run_csv_mutation(m, loader_root)
    TALLY.record("loader", m.id, verdict.outcome, verdict.message, m.kind, m.dataset)
    assert verdict.ok, f"[{verdict.outcome}] {verdict.message}"


@pytest.mark.parametrize("m", STATEMENT_MUTATIONS, ids=lambda m: m.id)
def test_statement_mutation(m: Mutation, loader_root):
    clean_parsed, clean_findings = read_statement(m.file, clean_statement_bytes(m.file), loader_root / "clean")
    assert clean_findings == [], clean_findings
    try:
        parsed, findings = read_statement(m.file, m.apply(clean_statement_bytes(m.file)), loader_root / "mutated")
    except Exception as exc:
        verdict = judge_statement(m, clean_parsed, error=exc)
    else:
        verdict = judge_statement(m, clean_parsed, parsed, findings)
    TALLY.record("statement", m.id, verdict.outcome, verdict.message, m.kind, m.file.rsplit("/", 1)[-1])
    assert verdict.ok, f"[{verdict.outcome}] {verdict.message}"


# ------------------------------------------------------------------------------------------------
# properties (hypothesis): random values into one cell of a middle row


def _numeric_columns(dataset: str) -> list[str]:
    return [c.name for c in CONTRACTS[dataset].columns if c.kind in ("float", "int")]


def _code_columns(dataset: str) -> list[str]:
    contract = CONTRACTS[dataset]
    referenced = {r.column for r in contract.references}
    return [c.name for c in contract.columns if c.kind == "str" and (
        c.pattern or c.allowed or c.check or c.name in referenced or c.name in (contract.fund_column, contract.account_column, "account",
                                                                                "share_class", "isin"))]


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: f"{x:.3e}"),
    st.from_regex(r"\A[ +-]?(\d{0,19}(\.\d{0,12})?([eE][+-]?\d{1,4})?|inf|Inf|INF|nan|NaN|Infinity|infinity)[ ]?\Z"),
    st.text(alphabet="0123456789.,eE+-_ xXinfaINFAy", max_size=14),
)
CODE_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=14),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./", min_size=1, max_size=14),
)
#: bounded: 15 examples a property, no shrinking (the first falsifying example is reported as found)
PROPERTY_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None, phases=(Phase.explicit, Phase.generate),
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _property(name: str, body, strategy_args: dict):
    """Run a hypothesis property, counting its examples and recording its verdict for the summary."""
    ran = [0]

    @PROPERTY_SETTINGS
    @given(**strategy_args)
    def prop(**kwargs):
        ran[0] += 1
        body(**kwargs)

    try:
        prop()
    except BaseException as exc:
        TALLY.record_property(name, ran[0], f"{type(exc).__name__}: {exc}".split("\nFalsifying")[0])
        raise
    TALLY.record_property(name, ran[0], None)


def _cell_property(dataset: str, column: str, text: str, root: Path, unflagged_ok) -> None:
    """One cell of a middle row set to ``text``: no exception escapes; a value no violation names
    must be one the contract and the world accept (``unflagged_ok``); the other rows are unchanged."""
    line = pick_line(dataset)
    m = Mutation(dataset, "random value", column, text, line, "", set_cell(line, column, text), frozenset({column}))
    clean = clean_result(dataset, root)
    try:
        result = validate_bytes(dataset, m.apply(clean_bytes(dataset)), root / "property")
    except Exception as exc:
        raise AssertionError(f"[{CRASH}] {judge(m, clean, error=exc).message}") from exc
    flagged = any(v.line == line and v.column == column for v in result.violations)
    held = {v.line for v in result.violations if v.line is not None and v.line > 1} | {line}
    clean_rows, rows = by_line(clean.frame), by_line(result.frame)
    diffs = row_diffs(clean_rows, rows, set(clean_rows) - held)
    assert not diffs, f"[collateral damage] {column}={text!r} on line {line}: rows no violation names changed: {diffs[:4]}"
    if not flagged:
        assert line in rows, f"{column}={text!r} on line {line}: the row is gone but no violation names it"
        problem = unflagged_ok(rows[line][column], rows[line], text)
        assert problem is None, f"[{SILENT}] {dataset}.{column}={text!r} on line {line}: no violation, but {problem}"


def _numeric_ok(dataset: str, column: str):
    col = next(c for c in CONTRACTS[dataset].columns if c.name == column)

    def check(value, row, text):
        stripped = text.strip()
        if stripped == "" and not col.required:
            return None
        try:
            expected = float(stripped)
        except ValueError:
            return f"{text!r} is not a number and became {value!r}"
        if value is None or value != value:
            return f"the value became {value!r}"
        if value in (float("inf"), float("-inf")) or abs(value) >= PLAUSIBLE_MAX:
            return f"the value became {value!r} (not a finite figure below {PLAUSIBLE_MAX:g})"
        if value != expected:
            return f"{text!r} became {value!r}"
        if col.min_value is not None and (value <= col.min_value if col.exclusive_min else value < col.min_value):
            return f"{value!r} breaks the contract's minimum {col.min_value:g}"
        return None
    return check


def _code_ok(dataset: str, column: str):
    contract = CONTRACTS[dataset]
    col = next(c for c in contract.columns if c.name == column)
    refs = {r.column: r for r in contract.references}
    import re

    from bo_lib.data.identifiers import is_valid_isin

    def check(value, row, text):
        if value == "" and not col.required:
            return None
        if col.allowed is not None and value not in col.allowed:
            return f"{value!r} is not one of the allowed codes"
        if col.pattern is not None and not re.fullmatch(col.pattern, value):
            return f"{value!r} does not match {col.pattern}"
        if (col.check == "isin" or column == "isin") and not is_valid_isin(value):
            return f"{value!r} is not a valid ISIN"
        if column in refs:
            known = set(reference()[refs[column].dataset][refs[column].target].astype(str))
            if value not in known:
                return f"{value!r} is unknown in {refs[column].dataset}"
        if column == contract.fund_column and value not in funds():
            return f"fund {value!r} is not a fund of the parameters"
        if column in ("account", contract.account_column) and value not in account_funds():
            return f"account {value!r} belongs to no fund"
        if column == "account" and contract.fund_column and account_funds().get(value) != row.get(contract.fund_column):
            return f"account {value!r} is not an account of the row's fund {row.get(contract.fund_column)!r}"
        if column == "share_class" and value not in share_classes(row.get(contract.fund_column, "")):
            return f"share class {value!r} is not a class of fund {row.get(contract.fund_column)!r}"
        if col.pattern is not None and "A-Z]{3}" in col.pattern and value not in known_currencies():
            return f"currency {value!r} is unknown"
        return None
    return check


@pytest.mark.parametrize("dataset", [d for d in INBOUND_FILES if _numeric_columns(d)])
def test_property_random_numbers_are_finite_plausible_or_flagged(dataset, loader_root):
    columns = _numeric_columns(dataset)
    _property(f"{dataset}: random numbers", lambda column, text: _cell_property(dataset, column, text, loader_root,
                                                                                _numeric_ok(dataset, column)),
              {"column": st.sampled_from(columns), "text": NUMBER_TEXT})


@pytest.mark.parametrize("dataset", [d for d in INBOUND_FILES if _code_columns(d)])
def test_property_random_codes_are_known_or_flagged(dataset, loader_root):
    columns = _code_columns(dataset)
    _property(f"{dataset}: random codes", lambda column, text: _cell_property(dataset, column, text, loader_root,
                                                                              _code_ok(dataset, column)),
              {"column": st.sampled_from(columns), "text": CODE_TEXT})


# ================================================================================================
# level 2: figures (the pipeline without notebooks)


def _file_case(name: str, dataset: str, transform, *, line: int | None, columns, bystanders=(), also_lines=(), kind="row"):
    rel = inbound_rel_of(dataset)

    def mutate(world: Path) -> None:
        path = world / rel
        path.write_bytes(transform(path.read_bytes()))
    return fig.FigureCase(name, kind, rel, line, frozenset(columns) if columns else None, mutate, frozenset(bystanders),
                          frozenset(also_lines), dataset)


def inbound_rel_of(dataset: str) -> str:
    from tests.mutation.world import inbound_rel

    return inbound_rel(dataset)


def _cell_case(name: str, dataset: str, column: str, value, want=lambda r: True, *, columns=None, bystanders=("GLBD", "MAHF")):
    line = pick_line(dataset, want)
    value = value(records(dataset)[line - 2]) if callable(value) else value
    return _file_case(name, dataset, set_cell(line, column, value), line=line, columns=columns or {column}, bystanders=bystanders)


def _useq(row) -> bool:
    return row.get("fund") == "USEQ" or account_funds().get(row.get("account", "")) == "USEQ"


def _deleted_day_case() -> fig.FigureCase:
    day = DATES[-4]  # a delivered business day between the month end and the last date: the books must roll over its gap

    def mutate(world: Path) -> None:
        shutil.rmtree(world / "inbound" / day.isoformat())
    return fig.FigureCase(f"day {day} not delivered", "day", f"inbound/{day.isoformat()}/", None, None, mutate, frozenset(), frozenset(),
                          None, day)


def _figure_cases() -> list[fig.FigureCase]:
    trade_line = pick_line("trades", _useq)
    custody = "custodian_positions"
    return [
        _cell_case("inf trade price", "trades", "price", "inf", _useq),
        _cell_case("1e308 custodian quantity", custody, "quantity", "1e308", _useq),
        _cell_case("fx rate inf", "fx_rates", "rate", "inf", lambda r: r["from_currency"] == "EUR", bystanders=()),
        _cell_case("fund NO on a trade", "trades", "fund", "NO", _useq, columns={"fund", "account"}),
        _cell_case("fund GLBD on a USEQ-account trade", "trades", "fund", "GLBD", _useq, columns={"fund", "account"}, bystanders=("MAHF",)),
        _cell_case("currency ZZZ on a trade", "trades", "currency", "ZZZ", _useq),
        _cell_case("capital order class Z", "capital_activity", "share_class", "Z", _useq),
        _file_case("duplicate trade id with trailing space", "trades", append_copy(trade_line, {"trade_id": lambda v: v + " "}),
                   line=len(records("trades")) + 2, columns={"trade_id"}, bystanders=("GLBD", "MAHF"), also_lines={trade_line}),
        _file_case("Latin-1 byte in custodian_positions", custody, latin1_in_row(pick_line(custody, _useq), "security_name"),
                   line=pick_line(custody, _useq), columns=None, bystanders=("GLBD", "MAHF")),
        _deleted_day_case(),
        _file_case("header-only custodian file", custody, header_only, line=None, columns=None, kind="file"),
        _cell_case("bad ISIN check digit in custodian file", custody, "isin", lambda r: wrong_check_digit(r["isin"]), _useq),
    ]


FIGURE_CASES = _figure_cases()


@pytest.fixture(scope="session")
def clean_figures(sample_store) -> dict:
    """Every fund's figures on the last date from the session's clean store."""
    figures = fig.all_figures(sample_store, LAST, settlement=True, later=())
    for code, f in figures.items():
        assert not f.errors and not f.problems, (code, f.errors, f.problems)
        assert not f.violations, (code, f.violations)
    return figures


def _world_and_store(sample_store, tmp_path: Path) -> tuple[Path, Path]:
    return fig.copy_world(tmp_path / "data"), fig.copy_store(sample_store, tmp_path / "store" / "workbench.duckdb")


def _figures_verdict(case: fig.FigureCase, clean: dict, world: Path, store: Path) -> tuple[str, str]:
    if case.kind == "day":
        fig.store_as_of(store, max(d for d in DATES if d < case.day))
    case.mutate(world)
    rolls, errors = fig.prepare(world, store)
    head = f"figures: {case.describe()}"
    if errors:
        return CRASH, f"{head}: " + " | ".join(errors)
    later = [d for d in DATES if case.day and case.day < d < LAST]
    mutated = fig.all_figures(store, LAST, bystanders=case.bystanders, later=later)
    verdicts = [fig.judge_fund(case, clean[code], mutated[code]) for code in sorted(mutated)]
    stale = [code for code, (struck, problems) in rolls.items() if LAST not in struck and not problems]
    if stale and case.kind != "day":
        verdicts.append((fig.COLLATERAL, f"books of {', '.join(stale)} not struck again after {case.file} changed: "
                                         f"every figure of the day is the previous delivery's"))
    outcome = fig.worst([o for o, _ in verdicts])
    return outcome, f"{head}: [{outcome}] " + " || ".join(f"[{o}] {m}" for o, m in verdicts)


def test_figures_baseline_restruck_clean_day_equals_the_clean_figures(clean_figures, sample_store, tmp_path):
    """The harness itself: the clean world ingested, struck and reconciled again from the store as
    of the previous date gives exactly the clean figures (so a difference below is the mutation's)."""
    world, store = _world_and_store(sample_store, tmp_path)
    fig.store_as_of(store, DATES[-2])
    rolls, errors = fig.prepare(world, store)
    assert not errors, errors
    assert all(struck == [LAST] and not problems for struck, problems in rolls.values()), rolls
    again = fig.all_figures(store, LAST, settlement=True)
    for code in sorted(again):
        differences = fig.diff(clean_figures[code].numbers(), again[code].numbers()) + fig.diff(clean_figures[code].status(), again[code].status())
        differences += fig.diff({"settlement": clean_figures[code].settlement}, {"settlement": again[code].settlement})
        assert not again[code].errors and not differences, (code, again[code].errors, differences)


@pytest.mark.parametrize("case", FIGURE_CASES, ids=lambda c: c.name)
def test_figures_mutation(case: fig.FigureCase, clean_figures, sample_store, tmp_path):
    world, store = _world_and_store(sample_store, tmp_path)
    outcome, message = _figures_verdict(case, clean_figures, world, store)
    TALLY.record("figures", case.name, outcome, message, case.name)
    assert outcome in (VIOLATION, UNCHANGED), message


# ================================================================================================
# level 3: full runs (`bo run` with the notebooks)




RUN_CASES = [c for c in FIGURE_CASES if c.name in ("inf trade price", "Latin-1 byte in custodian_positions")]
#: per fund notebook, what the in-process figures call its recorded results
NOTEBOOK_RESULTS = {"intake": "intake", "nav": "nav", "reconciliation": "recon", "settlement": "settlement"}


@pytest.mark.slow
@pytest.mark.parametrize("case", RUN_CASES, ids=lambda c: c.name)
def test_full_run(case: fig.FigureCase, clean_figures, sample_store, tmp_path):
    """`bo run` on the mutated world (from a copy of the clean store): every job ok, never a failed
    job; the bad row reported in its fund's intake; the other funds' recorded results as clean."""
    world, store = _world_and_store(sample_store, tmp_path)
    case.mutate(world)
    head = f"full run: {case.describe()}"
    try:
        code, out, err = bo("run", "--data", str(world), "--reports", str(tmp_path / "reports"), "--parameters", str(PARAMETERS),
                            "--notebooks", str(NOTEBOOKS), "--workers", "2", "--store", str(store))
    except BaseException as exc:  # noqa: BLE001 - an exception escaping `bo run` is the fault being looked for
        TALLY.record("full run", case.name, CRASH, f"{head}: {type(exc).__name__}: {exc}")
        raise
    problems: list[tuple[str, str]] = []
    if code != 0:
        problems.append((CRASH, f"bo run exited {code}: {(out + err)[-1500:]}"))
    try:
        run_dir = Path(out.strip().splitlines()[-1]).parent
        manifest = json.loads((run_dir / "manifest.json").read_text())
    except Exception as exc:  # noqa: BLE001
        TALLY.record("full run", case.name, CRASH, f"{head}: no manifest ({type(exc).__name__}: {exc}); {(out + err)[-1500:]}")
        raise AssertionError(f"[{CRASH}] {head}: no manifest: {exc}\n{out[-1500:]}\n{err[-1500:]}") from exc
    failed = [(j["job_id"], j.get("error")) for j in manifest["jobs"] if j["status"] != "ok"]
    if failed:
        problems.append((CRASH, f"failed jobs: {failed}"))
    jobs = {(j["fund"], j["notebook"]): j for j in manifest["jobs"] if j.get("fund")}
    owners = sorted(set(funds()) - case.bystanders)
    after = fig.all_figures(store, LAST, bystanders=case.bystanders)  # what the run's store holds: is the row named to each fund?
    for code_ in sorted(funds()):
        shown = fig.flagged(case, after[code_])
        for notebook, attr in NOTEBOOK_RESULTS.items():
            job = jobs.get((code_, notebook))
            if job is None or job["status"] != "ok":
                continue
            recorded = fig._clean_dict({k: v for k, v in (job.get("results") or {}).items() if k != "business_date"})
            expected = getattr(clean_figures[code_], attr)
            if code_ in case.bystanders and shown:  # shown the violation: its status may turn red, its figures stay
                recorded, expected = ({k: v for k, v in d.items() if k not in ("exceptions", "exception_checks", "validation_errors")} for d in (recorded, expected))
            changes = fig.diff(expected, recorded)
            if code_ in case.bystanders and changes:
                problems.append((fig.COLLATERAL, f"{code_}/{notebook} (not the row's fund): results changed: {'; '.join(changes[:6])}"))
            if code_ in owners and notebook == "intake" and changes and not recorded.get("validation_errors"):
                problems.append((SILENT, f"{code_}/intake: results changed with no validation error: {'; '.join(changes[:6])}"))
    for owner in owners:
        changes = fig.diff(clean_figures[owner].numbers(), after[owner].numbers())
        if changes and not fig.flagged(case, after[owner]):
            problems.append((SILENT, f"{owner}: figures changed and its intake does not name the row: {'; '.join(changes[:4])}"))
    outcome = fig.worst([o for o, _ in problems]) if problems else VIOLATION
    message = f"{head}: " + (" || ".join(f"[{o}] {m}" for o, m in problems) if problems else "every job ok, the row reported")
    TALLY.record("full run", case.name, outcome, message, case.name)
    assert not problems, message
