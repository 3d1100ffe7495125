"""The ``bo`` command: ``bo run`` (the daily job), ``bo verify`` (check a sealed run), and
``bo sample-data`` (generate the sample world).

Expected errors (invalid parameters, missing files or dates, bad data) print ``bo: error: ...``
and exit 2, never a traceback. ``bo run`` exits 0 when every job is ok and 1 when any failed;
the last line it prints is the absolute path of the run's index page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bo_lib.parameters import ParameterError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _error(message: str) -> int:
    print(f"bo: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline import new_run_id, plan_run, run_daily

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
    result = run_daily(plan, command=["bo", *argv])
    summary = result.manifest["summary"]
    print(f"run {plan.run_id} ({plan.business_date}): {summary['ok']} ok, {summary['failed']} failed "
          f"in {result.manifest['duration_seconds']:.1f}s")
    for job in result.failed_jobs:
        print(f"FAILED {job['job_id']}: {job['error']}")
    print(result.index_path.resolve())
    return EXIT_OK if result.ok else EXIT_FAILED


def _cmd_verify(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline.archive import verify_run

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    verification = verify_run(run_dir)
    for problem in verification.problems:
        print(problem)
    if verification.inputs_absent:
        print(f"note: {len(verification.inputs_absent)} input files no longer at their recorded path (not checked)", file=sys.stderr)
    if not verification.ok:
        return EXIT_FAILED
    print(f"verified: {verification.checked} files")
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


def _cmd_form13f(args: argparse.Namespace, argv: list[str]) -> int:
    import datetime as dt

    from bo_lib.data.layout import opening_date
    from bo_lib.data.regulatory_inputs import gather_regulatory_inputs
    from bo_lib.parameters import load_company, load_funds
    from bo_lib.regulatory import control, form13f
    from bo_lib.report.regulatory import save_documents

    quarter_end = dt.date.fromisoformat(args.quarter_end)
    if opening_date(args.data) != quarter_end:
        return _error(f"no quarter-end book for {quarter_end} under {Path(args.data).resolve()} (opening folder: {opening_date(args.data)})")
    inputs = gather_regulatory_inputs(args.data, load_company(args.parameters), load_funds(args.parameters), quarter_end)
    report = control.form13f_report(inputs, form13f.schema_directory(), dt.date.today())
    if len(report.rule_breaks):
        raise form13f.Form13FError(f"{report.rule_breaks['row'].nunique()} holding(s) break EDGAR's rules; nothing written", report.rule_breaks)
    names = report.file_names
    written = save_documents(args.out, {names["information_table"]: report.information_table, names["cover"]: report.cover})
    for path in written:
        print(path.resolve())
    print(f"13F {quarter_end}: {report.summary['table_entry_total']} rows, value total ${report.summary['table_value_total']:,}; {report.schema_status}")
    return EXIT_FAILED if report.schema_errors else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from bo_lib.data.sample_world import DEFAULT_DAYS, DEFAULT_SEED

    parser = argparse.ArgumentParser(prog="bo", description="Back-office workbench: daily notebook runs and their archive.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="execute the scheduled notebooks for one business date")
    run.add_argument("--date", help="business date YYYY-MM-DD (default: latest date under the data root)")
    run.add_argument("--fund", action="append", metavar="FUND", help="only this fund (repeatable)")
    run.add_argument("--notebook", action="append", metavar="NOTEBOOK", help="only this scheduled notebook (repeatable)")
    run.add_argument("--workers", type=int, help="parallel jobs (default: schedule.workers or the CPU count)")
    run.add_argument("--data", help="data root (default: the schedule's data_root)")
    run.add_argument("--reports", help="report root (default: the schedule's report_root)")
    run.add_argument("--parameters", default="parameters", help="parameters directory (default: parameters/)")
    run.add_argument("--notebooks", default="notebooks", help="notebooks directory (default: notebooks/)")
    run.add_argument("--store", help="the workbench's DuckDB file (default: the schedule's store, under the data root)")
    run.set_defaults(handler=_cmd_run)

    verify = commands.add_parser("verify", help="recompute every hash of an archived run")
    verify.add_argument("run_dir", help="the run folder: <reports>/<date>/<run id>")
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
    form13f.add_argument("--quarter-end", required=True, help="the quarter end YYYY-MM-DD (the opening book's date)")
    form13f.add_argument("--out", default=".", help="folder for the XML files (default: the current folder)")
    form13f.add_argument("--data", default="data", help="data root (default: data/)")
    form13f.add_argument("--parameters", default="parameters", help="parameters directory (default: parameters/)")
    form13f.set_defaults(handler=_cmd_form13f)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "workers", None) is not None and args.workers < 1:
        return _error("--workers must be at least 1")
    try:
        return args.handler(args, argv)
    except ParameterError as exc:
        return _error(str(exc))
    except (FileNotFoundError, NotADirectoryError, PermissionError, FileExistsError, ValueError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print("bo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
