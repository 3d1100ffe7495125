"""``bo replay RUN_DIR`` (execute a sealed run again from its recorded inputs and compare) and
``bo diff RUN_A RUN_B`` (key figures and reconciliation breaks of two runs), registered by
``bo_lib.cli.build_parser``.

Exit codes: 0 identical (the same), 1 differences (each listed), 2 refused or a usage error
(``bo: error: ...``: a recorded input missing or changed, each named), 4 an unsealed run folder
(as ``bo verify``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _sealed_run(text: str) -> tuple[Path, dict] | int:
    """The run folder and its manifest, or the exit code when it is no sealed run (``bo verify``'s rule)."""
    from bo_lib.cli import _unsealed_run
    from bo_lib.pipeline.archive import read_manifest

    run_dir = Path(text)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    unsealed = _unsealed_run(run_dir.resolve())
    if unsealed is not None:
        return unsealed
    return run_dir.resolve(), read_manifest(run_dir)


def _print_comparison(comparison, limit: int | None = None) -> int:
    from bo_lib.cli import EXIT_FAILED, EXIT_OK
    from bo_lib.pipeline.compare import MAX_LINES, report_lines

    shown = MAX_LINES if limit is None else (limit or len(comparison.differences))
    for line in report_lines(comparison, shown):
        print(line)
    return EXIT_OK if comparison.identical else EXIT_FAILED


def _cmd_replay(args: argparse.Namespace, argv: list[str]) -> int:
    """Check every recorded input, run the same scope again on a scratch store that forgot what was
    computed from the date on (``pipeline.replay.forget_from_date``), compare."""
    from bo_lib.cli import _error
    from bo_lib.pipeline import new_run_id, run_daily
    from bo_lib.pipeline.archive import read_manifest
    from bo_lib.pipeline.compare import compare_replay
    from bo_lib.pipeline.execute import interrupts_raise
    from bo_lib.pipeline.replay import (check_recorded_inputs, forget_from_date, plan_replay, recorded_settings, relock_as_run, replay_of,
                                        scratch_store)
    from bo_lib.pipeline.terminal import progress_printer

    sealed = _sealed_run(args.run_dir)
    if isinstance(sealed, int):
        return sealed
    run_dir, manifest = sealed
    check = check_recorded_inputs(manifest, run_dir)
    for warning in check.warnings:
        print(f"bo replay: warning: {warning}", file=sys.stderr)
    if not check.ok:
        return _error(f"cannot replay run {manifest['run_id']}: {len(check.problems)} recorded input(s) not as recorded:\n  "
                      + "\n  ".join(check.problems))
    with scratch_store(manifest["store"]) as store, recorded_settings(manifest) as changed:
        for line in changed:
            print(f"bo replay: note: {line}", file=sys.stderr)
        plan = plan_replay(manifest, run_dir, run_id=new_run_id(), store=store)
        forgotten = forget_from_date(plan)
        print(f"bo replay {plan.business_date} run {manifest['run_id']} as run {plan.run_id}: {len(plan.jobs)} jobs "
              f"on a scratch copy of {manifest['store']} ({sum(forgotten.values())} closing states from {plan.business_date} "
              f"on forgotten there: struck again)", file=sys.stderr, flush=True)
        with interrupts_raise():
            result = run_daily(plan, command=["bo", *argv], on_finished=progress_printer([job.job_id for job in plan.jobs]),
                               heartbeat_seconds=args.heartbeat, replay_of=replay_of(manifest, run_dir),
                               after_prepare=lambda: relock_as_run(plan, manifest))
    print(f"replay {result.manifest['run_id']} of run {manifest['run_id']}: {result.index_path.resolve()}")
    return _print_comparison(compare_replay(manifest, run_dir, read_manifest(result.run_dir), result.run_dir))


def _cmd_diff(args: argparse.Namespace, argv: list[str]) -> int:
    """Key figures per job and reconciliation breaks of two sealed runs."""
    from bo_lib.pipeline.compare import compare_runs

    runs = [_sealed_run(text) for text in (args.run_a, args.run_b)]
    for run in runs:
        if isinstance(run, int):
            return run
    (dir_a, manifest_a), (dir_b, manifest_b) = runs
    print(f"diff run {manifest_a['run_id']} ({manifest_a['business_date']}) -> run {manifest_b['run_id']} ({manifest_b['business_date']})",
          file=sys.stderr)
    return _print_comparison(compare_runs(manifest_a, dir_a, manifest_b, dir_b), args.limit)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``bo replay`` and ``bo diff`` to ``bo``."""
    replay = commands.add_parser(
        "replay", help="execute a sealed run again from its recorded inputs (on a scratch store) and compare every figure and table",
        description="Check every input the run recorded (data files, parameter files, notebooks: refused, exit 2, when one is missing "
                    "or changed), execute the same scope again into a new run marked as its replay, on a scratch copy of the run's "
                    "store (deleted afterwards), then compare every recorded figure and every archived table: 'identical: ...' "
                    "(exit 0) or one line per difference (exit 1).")
    replay.add_argument("run_dir", help="the run folder: <reports>/<date>/<run id>")
    replay.add_argument("--heartbeat", type=float, default=30, metavar="SECONDS",
                        help="every SECONDS, print the jobs still running (default 30; 0: never)")
    replay.set_defaults(handler=_cmd_replay)

    diff = commands.add_parser(
        "diff", help="compare the key figures and the reconciliation breaks of two sealed runs",
        description="Key figures per job (matched by fund/notebook; a job in one run only is listed) and each fund's reconciliation "
                    "breaks by id (new, gone, changed) of two runs: a rerun of one date, or two dates. Exit 0 the same, 1 different.")
    diff.add_argument("run_a", help="the first run folder")
    diff.add_argument("run_b", help="the second run folder")
    diff.add_argument("--limit", type=int, default=None, metavar="N", help="difference lines printed before '... and N more' (default 50; 0: all)")
    diff.set_defaults(handler=_cmd_diff)
