"""What ``bo run`` prints: job lines, the heartbeat, the run line and the exceptions summary.

Every function here is pure: it formats a manifest (or one of its ``jobs``) and prints nothing, so
the terminal output is tested without a kernel. A job's exceptions are what its notebook recorded
(``bo_lib.report.record.record_key_figures``): ``exceptions``, the number of checks per status
(``{"red": n, "amber": n, "green": n}``), and, when the notebook passed its exceptions table,
``exception_checks``, the red and amber checks themselves (``rag``, ``check``, ``count``,
``detail``), worst first. A job that recorded no ``exceptions`` says nothing about them.

Progress (job lines, heartbeat) goes to stderr; the run line, the failed jobs, the exceptions
summary and last the index path go to stdout (``bo_lib.cli``).
"""

from __future__ import annotations

import sys
import textwrap
from typing import Callable, TextIO

from bo_lib.pipeline.index import exception_counts, run_totals
from bo_lib.report.record import shorten

LINE_WIDTH = 120  # the exceptions summary's lines are cut to this (the report has the whole detail)


def recorded_exceptions(job: dict) -> dict[str, int] | None:
    """The job's recorded red/amber/green counts, or None when it recorded none (read as the run's
    index page reads them)."""
    return exception_counts(job.get("results") or {})


def counts_text(exceptions: dict | None) -> str:
    """``2 red, 1 amber``; ``no red or amber`` when all are green; ``""`` when nothing was recorded."""
    if exceptions is None:
        return ""
    parts = [f"{exceptions.get(rag, 0)} {rag}" for rag in ("red", "amber") if exceptions.get(rag, 0)]
    return ", ".join(parts) if parts else "no red or amber"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def job_line(done: int, total: int, job: dict, id_width: int = 0) -> str:
    """``[ 3/13] ok      USEQ/nav         24.1s  2 red, 1 amber`` or ``[ 4/13] FAILED  GLBD/settlement  3.2s  <reason>``.

    ``job`` is a manifest job (``job_id``, ``status``, ``error``, ``duration_seconds``, ``results``).
    An ok job adds its recorded exception counts; a failed job its reason instead (what it recorded
    before it failed is partial).
    """
    ok = job["status"] == "ok"
    line = (f"[{done:>{len(str(total))}}/{total}] {'ok' if ok else 'FAILED':<6}  {job['job_id']:<{id_width}}  "
            f"{_seconds(job.get('duration_seconds')):>6}")
    tail = counts_text(recorded_exceptions(job)) if ok else (job.get("error") or "")
    return f"{line}  {tail}" if tail else line


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m{seconds % 60:02d}s"


def heartbeat_line(done: int, total: int, running: list[tuple[str, float]]) -> str:
    """``... 5/13 done; running: USEQ/nav 62s, GLBD/reconciliation 31s`` (longest running first)."""
    jobs = ", ".join(f"{job_id} {_duration(seconds)}" for job_id, seconds in sorted(running, key=lambda item: -item[1]))
    return f"... {done}/{total} done; running: {jobs or 'waiting for a worker'}"


def exception_totals(manifest: dict) -> dict[str, int]:
    """Red and amber checks over the run's jobs that ran to the end and recorded exceptions (a
    failed job's checks are incomplete: it counts as failed), the run index's totals."""
    totals = run_totals(manifest)
    return {"red": totals.red, "amber": totals.amber}


def run_line(manifest: dict) -> str:
    """``run <id> (<date>): 12 ok, 1 failed in 150.2s; 13 red, 9 amber exceptions``."""
    summary = manifest["summary"]
    line = (f"run {manifest['run_id']} ({manifest['business_date']}): {summary['ok']} ok, {summary['failed']} failed "
            f"in {manifest['duration_seconds']:.1f}s")
    if any(recorded_exceptions(job) is not None for job in manifest.get("jobs", [])):
        totals = exception_totals(manifest)
        line += f"; {totals['red']} red, {totals['amber']} amber exceptions"
    return line


def exceptions_summary(manifest: dict, width: int = LINE_WIDTH) -> list[str]:
    """The run's red exceptions, one line per red check (job, check, count, detail; cut to
    ``width``), then the amber counts per job; nothing when the run has neither.

    A job that recorded counts only (no ``exception_checks``) gets one line with its red count.
    """
    jobs = [(job, recorded_exceptions(job)) for job in manifest.get("jobs", []) if job.get("status") == "ok"]  # a failed job is listed as failed
    jobs = [(job, exceptions) for job, exceptions in jobs if exceptions is not None]
    red = [(job, exceptions) for job, exceptions in jobs if exceptions.get("red", 0)]
    amber = [(job["job_id"], exceptions.get("amber", 0)) for job, exceptions in jobs if exceptions.get("amber", 0)]
    lines: list[str] = []
    if red:
        id_width = max(len(job["job_id"]) for job, _ in red)
        total = sum(exceptions.get("red", 0) for _, exceptions in red)
        lines.append(f"red exceptions: {total} in {len(red)} job{'s' if len(red) != 1 else ''}")
        for job, exceptions in red:
            checks = [c for c in (job.get("results") or {}).get("exception_checks") or [] if c.get("rag") == "red"]
            prefix = f"  {job['job_id']:<{id_width}}  "
            if not checks:
                lines.append(f"{prefix}{exceptions.get('red', 0)} red check(s), not itemised (the report lists them)")
            for check in checks:
                count = f" ({check['count']})" if check.get("count") is not None else ""
                detail = f": {check['detail']}" if check.get("detail") else ""
                lines.append(prefix + shorten(f"{check['check']}{count}{detail}", max(20, width - len(prefix))))
    if amber:
        text = f"amber exceptions: {sum(n for _, n in amber)} in {len(amber)} job{'s' if len(amber) != 1 else ''}: " + ", ".join(
            f"{job_id} {n}" for job_id, n in amber)
        lines += textwrap.wrap(text, width=width, subsequent_indent="  ", break_on_hyphens=False)
    return lines


def progress_printer(job_ids: list[str], stream: TextIO | None = None) -> Callable[[int, int, dict, dict], None]:
    """An ``on_finished`` for ``run_daily`` printing :func:`job_line`, job ids aligned over ``job_ids``."""
    width = max((len(job_id) for job_id in job_ids), default=0)

    def on_finished(done: int, total: int, spec: dict, outcome: dict) -> None:
        print(job_line(done, total, {"job_id": spec["job_id"], **outcome}, width), file=stream or sys.stderr, flush=True)

    return on_finished


def print_progress(done: int, total: int, spec: dict, outcome: dict) -> None:
    """The default ``on_finished``: :func:`job_line` on stderr (job ids not aligned)."""
    print(job_line(done, total, {"job_id": spec["job_id"], **outcome}), file=sys.stderr, flush=True)


def print_heartbeat(done: int, total: int, running: list[tuple[str, float]]) -> None:
    """The default ``on_heartbeat``: :func:`heartbeat_line` on stderr."""
    print(heartbeat_line(done, total, running), file=sys.stderr, flush=True)
