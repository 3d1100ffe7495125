"""The ``bo`` command: ``bo run`` (the daily job), ``bo ingest`` (load deliveries into the store),
``bo books`` (the book of record's status), ``bo close`` / ``bo reopen`` (lock and unlock a fund's
NAV and books), ``bo verify`` (check a sealed run), ``bo form13f`` (the 13F of a quarter end),
``bo sample-data`` (generate the sample world), ``bo inspect`` (what the workbench reads from one
delivered file, with its violations) and ``bo lab`` (JupyterLab on a working copy of the notebooks,
with a scratch copy of the store).

Expected errors (invalid parameters, missing files or dates, bad data) print ``bo: error: ...``
and exit 2, never a traceback; a file the system cannot write (read-only or full disk) prints
``bo: cannot write <path>: <reason>`` and exits 3. ``bo run`` exits 0 when every job is ok and 1
when any failed; the last line it prints is the absolute path of the run's index page. With
``--fail-on red`` (or ``amber``) a run whose jobs all ran but recorded a red (or a red or amber)
exception exits 5 instead of 0: a scheduler tells "the controls found exceptions" (5) from "a job
broke" (1, which wins when both hold) and from a bad command (2). The default ``--fail-on failed``
keeps exit 0 for exceptions: they are the reports' findings, not a failure of the run. SIGTERM or
SIGINT stop ``bo run`` with its workers and kernels, mark the run incomplete and exit 128 + the
signal. The exit codes are listed in ``EXIT_CODES`` (shown by ``bo --help``).

``bo run`` prints its progress on stderr: a line per finished job (status, duration, its red and
amber counts or its failure's reason) and, every ``--heartbeat`` seconds, the jobs still running.
On stdout: the run line, each failed job, the red exceptions (one line per check) and the amber
counts per job, and last the index path (``bo_lib.pipeline.terminal``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from bo_lib.parameters import ParameterError
from bo_lib.store import StoreBusyError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FILESYSTEM, EXIT_INCOMPLETE, EXIT_EXCEPTIONS = 0, 1, 2, 3, 4, 5
FAIL_ON = ("failed", "red", "amber")

EXIT_CODES = """\
exit codes:
  0  done: every job ok (run), every file verified (verify), signed (signoff),
     identical (replay, diff)
  1  a job failed (run; the other jobs ran and are archived), a problem found (verify,
     ledger), the 13F breaks its schema (form13f), a difference found (replay, diff),
     approved but a fund's close refused (signoff --close), violations found (inspect)
  2  usage, parameter, data or store error ("bo: error: ..."); a sign-off or a replay
     refused (every reason named)
  3  file-system error: a file cannot be written or read (read-only or full disk, ...),
     printed as "bo: cannot write <path>: <reason>"
  4  the run is incomplete: it has no manifest (interrupted or killed) or is still
     running (verify)
  5  every job ran, but with --fail-on red: a red exception was recorded (with
     --fail-on amber: a red or amber one) (run; 1 wins when a job failed too)
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM (128 + the signal): the workers
     and kernels are stopped, the run is marked incomplete (INCOMPLETE.json)
"""


def _error(message: str) -> int:
    print(f"bo: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _os_error(exc: OSError) -> int:
    """Rule: an error the workbench raised itself (no errno: a missing input, a bad path given) is a
    usage error (2); one the system raised is a file-system error (3), printed as one line naming
    the path and the system's reason."""
    if exc.errno is None:
        return _error(str(exc))
    from bo_lib.pipeline.files import describe_os_error

    print(f"bo: {describe_os_error(exc)}", file=sys.stderr)
    return EXIT_FILESYSTEM


def exit_status(manifest: dict, fail_on: str = "failed") -> int:
    """``bo run``'s exit code for a sealed run's manifest: 1 when a job failed, else 5 when
    ``fail_on`` is ``red`` and a job recorded a red exception (``amber``: a red or amber one), else 0.

    Rule: exceptions are counted from each job's recorded ``exceptions`` (checks per status); the
    default ``failed`` never turns exceptions into a non-zero exit.
    """
    from bo_lib.pipeline.terminal import exception_totals

    if fail_on not in FAIL_ON:
        raise ValueError(f"--fail-on: {fail_on!r} is not one of {', '.join(FAIL_ON)}")
    if any(job["status"] != "ok" for job in manifest["jobs"]):
        return EXIT_FAILED
    totals = exception_totals(manifest)
    if (fail_on == "red" and totals["red"]) or (fail_on == "amber" and totals["red"] + totals["amber"]):
        return EXIT_EXCEPTIONS
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline import new_run_id, plan_run, run_daily
    from bo_lib.pipeline.execute import interrupts_raise
    from bo_lib.pipeline.terminal import exception_totals, exceptions_summary, progress_printer, run_line

    if args.heartbeat < 0:
        return _error(f"--heartbeat: {args.heartbeat:g} is negative (seconds between lines; 0: none)")
    plan = plan_run(
        args.parameters,
        run_id=new_run_id(),
        business_date=args.date,
        funds=args.fund,
        notebooks=args.notebook,
        data_root=args.data,
        report_root=args.reports,
        notebooks_dir=args.notebooks,
        workers=args.workers,
        store=args.store,
    )
    print(
        f"bo run {plan.business_date} run {plan.run_id}: {len(plan.jobs)} jobs, {min(plan.workers, len(plan.jobs))} workers",
        file=sys.stderr, flush=True,
    )
    with interrupts_raise():  # SIGTERM/SIGINT: workers and kernels killed, the run marked incomplete
        result = run_daily(plan, command=["bo", *argv], on_finished=progress_printer([job.job_id for job in plan.jobs]),
                           heartbeat_seconds=args.heartbeat)
    manifest = result.manifest
    print(run_line(manifest))
    for job in result.failed_jobs:
        print(f"FAILED {job['job_id']}: {job['error']}")
    for line in exceptions_summary(manifest):
        print(line)
    print(result.index_path.resolve())
    status = exit_status(manifest, args.fail_on)
    if status == EXIT_EXCEPTIONS:
        totals = exception_totals(manifest)
        found = f"{totals['red']} red" + (f", {totals['amber']} amber" if args.fail_on == "amber" else "")
        print(f"bo: --fail-on {args.fail_on}: {found} exception(s) recorded, exit {EXIT_EXCEPTIONS}", file=sys.stderr)
    return status


def _unsealed_run(run_dir: Path) -> int | None:
    """A run without a manifest: one line and exit 4 (an incomplete run is marked first, if the
    archive can be written); None for a sealed run."""
    from bo_lib.pipeline.files import CannotWrite
    from bo_lib.pipeline.journal import (ABANDONED, COMPLETE, RUNNING, describe_incomplete, incomplete_record, looks_like_a_run,
                                         mark_incomplete, run_state)

    state = run_state(run_dir)
    if state == COMPLETE or not looks_like_a_run(run_dir):
        return None
    if state == RUNNING:
        print(f"RUNNING run {run_dir.name} ({run_dir.parent.name}): still running, no manifest yet")
        return EXIT_INCOMPLETE
    try:
        record = mark_incomplete(run_dir, ABANDONED)
    except CannotWrite:  # a read-only archive: say what is known without marking it
        record = incomplete_record(run_dir, ABANDONED)
    print(describe_incomplete(record))
    return EXIT_INCOMPLETE


def _verify_options(args: argparse.Namespace):
    from bo_lib.pipeline.ledger import load_public_key
    from bo_lib.pipeline.verify import Roots

    public_key = load_public_key(args.public_key) if args.public_key else None
    roots = Roots(*(Path(value) if value else None for value in (args.data, args.parameters, args.notebooks)))
    return {"public_key": public_key, "roots": roots, "ledger_file": Path(args.ledger) if args.ledger else None,
            "expect_head": args.expect_head}


def _verified_line(verification) -> str:
    from bo_lib.pipeline.index import plural

    entry = verification.ledger_entry or {}
    entries = plural(verification.ledger_entries, "entry")
    signed = (f"{entries}, signatures checked" if verification.signatures_checked
              else f"{entries}, {verification.signed_entries} signed (--public-key checks them)")
    adopted = (f" (adopted into the ledger on {entry.get('at')}, sealed before it: the ledger vouches for the run from then on only)"
               if entry.get("adopted") else "")
    return (f"verified: {verification.checked} files (outputs, inputs, parameter files, notebooks) against ledger entry "
            f"{entry.get('seq')}{adopted}; ledger chain intact ({signed}); ledger head {verification.ledger_head}")


def _is_report_root(folder: Path) -> bool:
    from bo_lib.pipeline.journal import DATE_DIR
    from bo_lib.pipeline.ledger import LEDGER

    return not (folder / "manifest.json").exists() and ((folder / LEDGER).is_file() or any(
        child.is_dir() and DATE_DIR.match(child.name) for child in folder.iterdir()))


def _verify_archive(root: Path, options: dict) -> int:
    """Every sealed run of a report root, one line each (problems prefixed with the run)."""
    from bo_lib.pipeline.journal import COMPLETE, run_folders
    from bo_lib.pipeline.verify import verify_run

    failed = 0
    folders = run_folders(root)
    for folder in reversed(folders):
        name = f"{folder.run_dir.parent.name}/{folder.run_dir.name}"
        if folder.state != COMPLETE:
            print(f"{name}: {folder.state.lower()} (no manifest), not checked")
            continue
        verification = verify_run(folder.run_dir, **options)
        failed += not verification.ok
        for problem in verification.problems:
            print(f"{name}: {problem}")
        if verification.ok:
            print(f"{name}: {_verified_line(verification)}")
    print(f"{len(folders) - failed} of {len(folders)} runs verified" if folders else f"no runs under {root}")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_verify(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline.verify import verify_run

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    options = _verify_options(args)
    if _is_report_root(run_dir):
        return _verify_archive(run_dir.resolve(), options)
    unsealed = _unsealed_run(run_dir.resolve())
    if unsealed is not None:
        return unsealed
    verification = verify_run(run_dir.resolve(), **options)
    for problem in verification.problems:
        print(problem)
    if not verification.ok:
        print(f"NOT VERIFIED: {len(verification.problems)} problem(s)", file=sys.stderr)
        return EXIT_FAILED
    print(_verified_line(verification))
    return EXIT_OK


def _cmd_sample_data(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.data.sample_world import generate_sample_world

    try:
        summary = generate_sample_world(
            Path(args.out), seed=args.seed, funds=args.funds, securities=args.securities,
            trades_per_day=args.trades_per_day, days=args.days, parameters_dir=args.parameters,
        )
    except ValueError as exc:
        return _error(str(exc))
    print("sample world written to " + str(Path(args.out).resolve()) + ": "
          + ", ".join(f"{key}={value}" for key, value in summary.items() if key != "out_dir"))
    return EXIT_OK


class _Setup:
    """What the book-of-record commands share: the parameters, the data root and the store."""

    def __init__(self, args: argparse.Namespace):
        from bo_lib.controls import load_schedule
        from bo_lib.parameters import load_funds

        parameters = Path(args.parameters)
        schedule = load_schedule(parameters / "schedule.yaml")
        self.funds = load_funds(parameters)
        self.parameters = parameters
        self.calendar = schedule.calendar
        self.data_root = Path(args.data) if args.data else Path(schedule.data_root)
        self.store = Path(args.store) if getattr(args, "store", None) else (
            Path(schedule.store) if Path(schedule.store).is_absolute() else self.data_root / schedule.store)
        if not self.data_root.is_dir():
            raise FileNotFoundError(f"data root not found: {self.data_root.resolve()}")

    def fund(self, code: str):
        if code not in self.funds:
            raise ValueError(f"--fund: unknown fund {code!r} (known: {', '.join(sorted(self.funds))})")
        return self.funds[code]


def _date(text: str, option: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a date YYYY-MM-DD") from None


def _cmd_ingest(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.data.ingest import ingest

    setup = _Setup(args)
    dates = [_date(args.date, "--date")] if args.date else None
    report = ingest(setup.data_root, setup.store, setup.funds, dates=dates)
    for item in report.superseded:
        print(f"corrected: {item['path']} version {item['version']} supersedes the earlier version ({item['rows']} rows, {item['violations']} violations)")
    for item in report.new:
        if item["violations"]:
            print(f"violations: {item['path']}: {item['violations']}")
    print(report.summary())
    return EXIT_OK


def _cmd_books(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.books.periods import audit_trail, locked_through
    from bo_lib.books.roll import pending_restatements, unlocked_restatements
    from bo_lib.books.state import state_index

    setup = _Setup(args)
    codes = [setup.fund(args.fund).fund_code] if args.fund else sorted(setup.funds)
    for code in codes:
        index = state_index(setup.store, code)
        lock = locked_through(setup.store, code)
        if index.empty:
            print(f"{code}: no books yet (run `bo run --fund {code}` to strike them)")
            continue
        first, last = index["business_date"].min(), index["business_date"].max()
        required = pending_restatements(setup.store, code)
        restated = unlocked_restatements(setup.store, code)
        print(f"{code}: books {first} .. {last} ({len(index)} closing states), locked through {lock or 'nothing'}; "
              f"{len(restated)} NAV(s) restated since the last close; {len(required)} restatement(s) required on locked days")
        for row in required.itertuples():
            print(f"  RESTATEMENT REQUIRED {row.business_date:%Y-%m-%d} class {row.share_class}: locked {row.stored_nav_per_share:.4f}, "
                  f"corrected deliveries give {row.recomputed_nav_per_share:.4f} ({row.difference_per_share:+.4f} per share)")
        if args.audit:
            for row in audit_trail(setup.store, code).itertuples():
                print(f"  {row.recorded_at:%Y-%m-%d %H:%M} {row.action:<6} {row.business_date:%Y-%m-%d} by {row.by_name}"
                      + (f" ({row.period})" if row.period else "") + (f": {row.reason}" if row.reason else ""))
    return EXIT_OK


def _stale_dates(setup: _Setup, code: str, up_to) -> list:
    """Days of the fund whose deliveries changed since the books struck them."""
    import pandas as pd

    from bo_lib.books.state import state_index
    from bo_lib.data.catalogue import Catalogue

    index = state_index(setup.store, code).set_index("business_date")
    catalogue = Catalogue(setup.store)
    latest = catalogue.latest_ingest()
    changes = list(zip(latest["business_date"], latest["ingested_at"])) + list(catalogue.price_override_changes().itertuples(index=False))
    return sorted({d for d, at in changes if d <= up_to and d in index.index and pd.Timestamp(at) > pd.Timestamp(index.at[d, "computed_at"])})


def _price_flags(setup: _Setup, fund, day) -> list[str]:
    """The NAV of ``day`` struck at a price its own control flagged (the NAV report's reasons): what a close refuses."""
    from bo_lib.books.state import state_index
    from bo_lib.nav.daily import nav_report
    from bo_lib.nav.inputs import gather_nav

    index = state_index(setup.store, fund.fund_code)
    if index.empty or day not in set(index["business_date"]):
        return []  # no books for the day: the close says so
    return list(nav_report(gather_nav(setup.store, fund, day)).flagged_prices["reason"])


def _cmd_close(args: argparse.Namespace, argv: list[str]) -> int:
    setup = _Setup(args)
    print(close_fund(setup, setup.fund(args.fund), _date(args.date, "--date"), args.by or _user(), args.comment or ""))
    return EXIT_OK


def close_fund(setup: _Setup, fund, day, by: str, comment: str) -> str:
    """Lock ``fund``'s NAV and books through ``day`` (``close_books``, refusing stale or flagged
    days); the line saying what was closed. ``bo close`` and an approving ``bo signoff --close``."""
    from bo_lib.books.periods import close_books
    from bo_lib.books.roll import next_nav_date
    from bo_lib.data.catalogue import Catalogue

    closures = Catalogue(setup.store).reference()["market_closures"]
    action = close_books(setup.store, fund.fund_code, day, by, next_business_day=next_nav_date(fund, day, closures),
                         comment=comment, stale_dates=_stale_dates(setup, fund.fund_code, day),
                         price_flags=_price_flags(setup, fund, day))
    navs = ", ".join(f"{c} {v:,.{fund.nav_decimals}f}" for c, v in action.nav_per_share.items())
    return (f"closed {fund.fund_code} through {day}" + (f" ({action.period})" if action.period else "") + f": NAV per share {navs}; "
            "a later correction to a locked day is shown as restatement required until `bo reopen`")


def _cmd_reopen(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.books.periods import reopen_books
    from bo_lib.books.state import state_index

    setup = _Setup(args)
    fund = setup.fund(args.fund)
    day = _date(args.date, "--date")
    index = state_index(setup.store, fund.fund_code)
    before = index.loc[index["business_date"] < day, "business_date"]
    action = reopen_books(setup.store, fund.fund_code, day, args.reason, args.by, before.max() if len(before) else None)
    print(f"reopened {fund.fund_code} from {day} (locked through {action.locked_through or 'nothing'} now), by {args.by}: {args.reason}; "
          "the next run strikes the reopened days again and records each NAV that moves as a restatement")
    return EXIT_OK


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return ""


def _cmd_form13f(args: argparse.Namespace, argv: list[str]) -> int:
    import datetime as dt

    import pandas as pd

    from bo_lib.books import prepare_books
    from bo_lib.data.layout import business_dates, opening_date
    from bo_lib.parameters import load_company
    from bo_lib.calendars import trading_calendar
    from bo_lib.regulatory import control, form13f
    from bo_lib.regulatory.inputs import gather_regulatory
    from bo_lib.report.regulatory import save_documents

    setup = _Setup(args)
    quarter_end = _date(args.quarter_end, "--quarter-end")
    if pd.Timestamp(quarter_end) != pd.Timestamp(quarter_end).to_period("Q").end_time.normalize():
        return _error(f"--quarter-end: {quarter_end} is not a calendar quarter end (Mar 31, Jun 30, Sep 30, Dec 31)")
    try:
        opened = opening_date(setup.data_root)
    except FileNotFoundError:
        opened = None
    delivered = [d for d in business_dates(setup.data_root) if d <= quarter_end]
    last = max(delivered, default=None)
    # the books must reach the quarter's last session (the quarter end or the session before it)
    sessions = trading_calendar(setup.calendar)
    last_session = quarter_end if sessions.is_business_day(quarter_end) else sessions.previous_business_day(quarter_end)
    if opened is None or quarter_end < opened or (quarter_end > opened and last != last_session):
        span = f"{opened} .. {max(business_dates(setup.data_root), default=opened)}" if opened else "none"
        return _error(f"--quarter-end: no books for {quarter_end} under {setup.data_root.resolve()} (data: {span})")
    up_to = max([d for d in (opened, last) if d is not None])
    ready = prepare_books(setup.data_root, setup.store, setup.funds, sorted(setup.funds), up_to, delivery_calendar=setup.calendar)
    problems = ready.problems
    if problems:
        return _error("; ".join(f"{code}: {', '.join(p)}" for code, p in problems.items()))
    inputs = gather_regulatory(setup.store, load_company(setup.parameters), setup.funds, up_to + dt.timedelta(days=1), quarter_end=quarter_end)
    if inputs.at_quarter_end is None:
        return _error("; ".join(inputs.problems))
    report = control.form13f_report(inputs, form13f.schema_directory(), dt.date.today())
    if len(report.rule_breaks):
        raise form13f.Form13FError(f"{report.rule_breaks['row'].nunique()} holding(s) break EDGAR's rules; nothing written", report.rule_breaks)
    names = report.file_names
    written = save_documents(args.out, {names["information_table"]: report.information_table, names["cover"]: report.cover})
    for path in written:
        print(path.resolve())
    print(f"13F {quarter_end}: {report.summary['table_entry_total']} rows, value total ${report.summary['table_value_total']:,} "
          f"(books at the close of {inputs.at_quarter_end.date}); {report.schema_status}")
    return EXIT_FAILED if report.schema_errors else EXIT_OK


def _cmd_lab(args: argparse.Namespace, argv: list[str]) -> int:
    """JupyterLab on the working copy ``lab/`` (never the templates) with a scratch copy of the store."""
    import signal as signals
    import shutil
    import subprocess

    from bo_lib.parameters import load_schedule
    from bo_lib.pipeline import lab

    extra: list[str] = []
    if "--" in argv:  # everything after -- goes to jupyter lab (argparse would take its first word for NOTEBOOK)
        cut = argv.index("--")
        args, extra = build_parser().parse_args(argv[:cut]), argv[cut + 1:]
    setup = _Setup(args)
    templates = Path(args.notebooks)
    folder = lab.working_copy_for(templates)
    copy = lab.prepare_working_copy(templates, folder, refresh=args.refresh)
    print(copy.summary(), file=sys.stderr)
    if (folder / ".." / "data").resolve() != setup.data_root.resolve():
        print(f"bo lab: note: the notebooks' data_root ../data is {(folder.parent / 'data').resolve()}, not {setup.data_root.resolve()}",
              file=sys.stderr)
    open_path = None
    if args.notebook:
        report_root = Path(load_schedule(setup.parameters / "schedule.yaml").report_root)
        archived = lab.copy_archived(args.notebook, folder, report_root)
        open_path = archived.relative_to(folder).as_posix()
        print(f"archived notebook {args.notebook}: read-only copy {archived} (the archive is not modified)", file=sys.stderr)
    installed = lab.ensure_kernelspec()
    if installed is not None:
        print(f"installed the kernel {lab.KERNEL_NAME} ({lab.KERNEL_DISPLAY_NAME}) in {installed}", file=sys.stderr)
    scratch = None
    if args.read_only_store:
        env = lab.read_only_environment(folder, code_root=templates.resolve().parent)
        print(f"store: the production store {setup.store.resolve()}, read-only (BO_STORE_MODE=read-only): a write fails", file=sys.stderr)
    else:
        scratch = lab.take_scratch_store(setup.store, folder)
        env = lab.lab_environment(scratch, folder, code_root=templates.resolve().parent)
        print(f"store: {scratch.describe()}", file=sys.stderr)
    command = lab.jupyter_command(folder, open_path=open_path, extra=extra)
    server = subprocess.Popen(command, env=env, cwd=folder)
    # Ctrl-C reaches the server from the terminal (it asks to confirm); bo lab waits for it to stop
    previous = signals.signal(signals.SIGINT, signals.SIG_IGN), signals.signal(signals.SIGTERM, lambda *_: server.terminate())
    try:
        code = server.wait()
    finally:
        signals.signal(signals.SIGINT, previous[0])
        signals.signal(signals.SIGTERM, previous[1])
        if scratch is not None and not args.keep_scratch:
            shutil.rmtree(scratch.path.parent, ignore_errors=True)
        elif scratch is not None:
            print(f"scratch store kept: {scratch.path}", file=sys.stderr)
    return EXIT_OK if code in (0, -signals.SIGTERM, 128 + signals.SIGTERM) else EXIT_FAILED


def _book_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="data root (default: the schedule's data_root)")
    parser.add_argument("--parameters", default="parameters", help="parameters directory (default: parameters/)")
    parser.add_argument("--store", help="the workbench's DuckDB file (default: the schedule's store, under the data root)")


class _VersionAction(argparse.Action):
    """``bo --version``: the code version (git commit, dirty flag) and the installed package's
    version, worked out only when asked (the code version runs git)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``bo 0.1.0+g1a2b3c4d5e6f (bo-workbench 0.1.0)``; the package version is the installed
    distribution's, or ``not installed`` when bo_lib runs from a source tree only."""
    import importlib.metadata

    from bo_lib.version import code_version

    try:
        package = importlib.metadata.version("bo-workbench")
    except importlib.metadata.PackageNotFoundError:
        package = "not installed"
    return f"bo {code_version()} (bo-workbench {package})"


def _parameters_hint(argv: list[str]) -> str:
    """The ``--parameters`` folder named on the command line (for ``bo run --help``), else the default."""
    for position, arg in enumerate(argv):
        if arg == "--parameters" and position + 1 < len(argv):
            return argv[position + 1]
        if arg.startswith("--parameters="):
            return arg.split("=", 1)[1]
    return "parameters"


def run_epilog(parameters: str | os.PathLike = "parameters") -> str:
    """``bo run --help``'s epilog: the notebooks, the funds of ``parameters``/funds/*.yaml (read now)
    and the exit codes of a run."""
    import textwrap

    from bo_lib.controls import CONTROLS

    notebooks = ", ".join(f"{name} ({control.title}{', company-wide' if control.scope == 'company' else ''})"
                          for name, control in CONTROLS.items())
    folder = Path(parameters) / "funds"
    funds = sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []
    where = f"{folder}/*.yaml"
    try:
        from bo_lib.parameters import load_company

        company = f" ({load_company(parameters).code})"
    except Exception:  # help works whatever the parameters hold
        company = ""
    if funds:
        found = f"funds (--fund), from {where}: {', '.join(funds)}; the company's code{company} selects its company-wide notebooks"
    else:
        found = (f"funds (--fund): the file names of {where} (" + ("none there" if folder.is_dir() else "no such folder")
                 + "; --parameters names another folder)")
    def wrap(text: str) -> str:
        return textwrap.fill(text, width=100, subsequent_indent="  ", break_on_hyphens=False)

    return "\n".join([
        wrap(f"notebooks (--notebook): {notebooks}"),
        wrap(found),
        "",
        "exit codes of a run: 0 every job ok; 1 a job failed; 2 a usage, parameter or data error;",
        "  3 a file-system error; 5 (with --fail-on red or amber) exceptions of that status were",
        "  recorded; 130/143 interrupted. See bo --help.",
    ])


def build_parser(parameters_hint: str | os.PathLike = "parameters") -> argparse.ArgumentParser:
    from bo_lib.data.sample_world import DEFAULT_DAYS, DEFAULT_SEED

    parser = argparse.ArgumentParser(prog="bo", description="Back-office workbench: daily notebook runs and their archive.",
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_VersionAction, help="show the code version (git commit) and the package version, and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="execute the scheduled notebooks for one business date",
                              epilog=run_epilog(parameters_hint), formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--date", help="business date YYYY-MM-DD (default: latest date under the data root)")
    run.add_argument("--fund", action="append", metavar="FUND", help="only this fund (repeatable)")
    run.add_argument("--notebook", action="append", metavar="NOTEBOOK", help="only this scheduled notebook (repeatable)")
    run.add_argument("--workers", type=int, help="parallel jobs (default: schedule.workers or the CPU count)")
    run.add_argument("--data", help="data root (default: the schedule's data_root)")
    run.add_argument("--reports", help="report root (default: the schedule's report_root)")
    run.add_argument("--parameters", default="parameters", help="parameters directory (default: parameters/)")
    run.add_argument("--notebooks", default="notebooks", help="notebooks directory (default: notebooks/)")
    run.add_argument("--store", help="the workbench's DuckDB file (default: the schedule's store, under the data root)")
    run.add_argument("--fail-on", choices=FAIL_ON, default="failed",
                     help="what makes the exit code non-zero: a failed job (default; exit 1), or also a red exception "
                          "(red) or a red or amber one (amber): exit 5")
    run.add_argument("--heartbeat", type=float, default=30, metavar="SECONDS",
                     help="every SECONDS, print the jobs still running and for how long (default 30; 0: never)")
    run.set_defaults(handler=_cmd_run)

    verify = commands.add_parser("verify", help="check a sealed run against its manifest and the archive's ledger, and its inputs",
                                 description="Recompute every hash of a sealed run (outputs, inputs, parameter files, input notebooks) "
                                             "against what the archive's ledger recorded when it was sealed; check the sign-off log and the "
                                             "ledger's chain (and, with --public-key, its signatures). Exit 0 verified, 1 a problem found.")
    verify.add_argument("run_dir", help="the run folder: <reports>/<date>/<run id>; or the report root: every run in it")
    verify.add_argument("--public-key", metavar="KEY.pub.pem", help="require every ledger entry to carry a good Ed25519 signature by this key")
    verify.add_argument("--expect-head", metavar="HASH", help="a ledger head hash noted earlier (printed by verify): it must still be in the ledger")
    verify.add_argument("--ledger", help="the archive's ledger.jsonl, for a run folder copied out of its archive (default: <reports>/ledger.jsonl)")
    verify.add_argument("--data", help="check the data inputs under this folder instead of the recorded data root")
    verify.add_argument("--parameters", help="check the parameter files in this folder instead of the recorded one")
    verify.add_argument("--notebooks", help="check the input notebooks in this folder instead of their recorded paths")
    verify.set_defaults(handler=_cmd_verify)

    sample = commands.add_parser("sample-data", help="generate the sample world (reference, opening and inbound files)")
    sample.add_argument("--out", default="data", help="output directory (default: data/)")
    sample.add_argument("--parameters", default=None, help="where company.yaml and funds/*.yaml go (default: <out>/../parameters)")
    sample.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED}: the committed world)")
    sample.add_argument("--funds", type=int, default=3, help="number of funds; beyond 3, copies of the three templates")
    sample.add_argument("--securities", type=int, default=None, help="securities in the master (adds US equities)")
    sample.add_argument("--trades-per-day", type=int, default=None, help="trades per fund and day")
    sample.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"business days after the quarter-end opening (default {DEFAULT_DAYS})")
    sample.set_defaults(handler=_cmd_sample_data)

    form13f = commands.add_parser("form13f", help="write the management company's Form 13F (information table and cover document)")
    form13f.add_argument("--quarter-end", required=True, help="a calendar quarter end YYYY-MM-DD covered by the data (the books at its close)")
    form13f.add_argument("--out", default=".", help="folder for the XML files (default: the current folder)")
    _book_options(form13f)
    form13f.set_defaults(handler=_cmd_form13f)

    ingest = commands.add_parser("ingest", help="validate and load delivered files into the workbench store (idempotent; corrections supersede)")
    ingest.add_argument("--date", help="only this business date's inbound folder (with reference data and the opening); default: every date")
    _book_options(ingest)
    ingest.set_defaults(handler=_cmd_ingest)

    books = commands.add_parser("books", help="the book of record: closing states, lock, restatements per fund")
    books.add_argument("--fund", help="only this fund")
    books.add_argument("--audit", action="store_true", help="also list every close and reopen")
    _book_options(books)
    books.set_defaults(handler=_cmd_books)

    close = commands.add_parser("close", help="lock a fund's NAV and books up to a business date (a month or quarter end closes the period)")
    close.add_argument("--fund", required=True)
    close.add_argument("--date", required=True, help="the last business date to lock, YYYY-MM-DD")
    close.add_argument("--by", help="who closes (default: the user name)")
    close.add_argument("--comment", help="why, or what was checked")
    _book_options(close)
    close.set_defaults(handler=_cmd_close)

    reopen = commands.add_parser("reopen", help="unlock a fund's books from a business date, so the next run strikes them again")
    reopen.add_argument("--fund", required=True)
    reopen.add_argument("--date", required=True, help="the first business date to unlock, YYYY-MM-DD (later days unlock too)")
    reopen.add_argument("--reason", required=True, help="why the locked figures must change")
    reopen.add_argument("--by", required=True, help="who reopens")
    _book_options(reopen)
    reopen.set_defaults(handler=_cmd_reopen)

    lab = commands.add_parser("lab", help="JupyterLab on a working copy of the notebooks (lab/) with a scratch copy of the store",
                              description="Start JupyterLab rooted at lab/ (copies of notebooks/*.ipynb; an edited copy is kept unless "
                                          "--refresh) with a scratch copy of the production store as $BO_STORE, so no notebook writes "
                                          "the production store or the templates. Arguments after -- go to jupyter lab.")
    lab.add_argument("notebook", nargs="?", help="an archived notebook to open read-only: <reports>/<date>/<run>/<fund>/<name>.ipynb")
    lab.add_argument("--refresh", action="store_true", help="replace the working copies by the templates (edits are lost)")
    lab.add_argument("--notebooks", default="notebooks", help="the notebook templates (default: notebooks/; the working copy is beside it)")
    lab.add_argument("--read-only-store", action="store_true", help="no scratch copy: the production store, opened read-only (writes fail)")
    lab.add_argument("--keep-scratch", action="store_true", help="keep the session's scratch store when the Lab stops")
    lab.add_argument("jupyter_args", nargs="*", help=argparse.SUPPRESS)
    _book_options(lab)
    lab.set_defaults(handler=_cmd_lab)

    from bo_lib.cli import audit, breaks, elect, inspect, replay  # the auditor's commands, each group in its module

    for group in (audit, breaks, replay, inspect, elect):
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_parameters_hint(argv)).parse_args(argv)
    if getattr(args, "workers", None) is not None and args.workers < 1:
        return _error("--workers must be at least 1")
    try:
        return args.handler(args, argv)
    except ParameterError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _os_error(exc)
    except ValueError as exc:
        return _error(str(exc))
    except StoreBusyError as exc:
        return _error(str(exc))
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGINT during bo run (RunInterrupted)
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"bo: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
