"""Before the notebooks of a run start: ingest what is new (the business date's deliveries and any
date not ingested yet), roll every fund's books forward to the business date and record the day's
reconciliations, so that every job of the run reads the same, current books, and parallel jobs
only read the store (DuckDB lets one process write at a time; readers do not wait for each other).

What the books started from and what they struck is recorded for the manifest: per fund, the
previous closing state (date and digest), the state of the business date, the days struck (a gap
filled, a correction re-struck), the restatements recorded and the locked days a correction would
change.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from bo_lib.books import prepare_books
from bo_lib.books.state import state_index
from bo_lib.controls import CONTROLS
from bo_lib.report.control import record_day_ahead


def rolled_funds(plan) -> list[str]:
    """The funds whose books a run rolls: every fund when a company-wide report runs, else the
    funds of its jobs."""
    if any(job.scope == "company" for job in plan.jobs):
        return sorted(plan.funds)
    return sorted({job.fund for job in plan.jobs if job.fund})


def recording_jobs(plan) -> list:
    """The jobs whose control records its day before the jobs start (``bo_lib.controls``: ``writes``),
    once per fund."""
    return [job for job in plan.jobs if CONTROLS[job.notebook].writes and job.fund]


def prepare_run(plan, *, echo=None) -> dict:
    """Ingest and roll the books of the funds the plan needs (``rolled_funds``); returns the
    manifest's ``books`` section. ``echo(line)`` shows progress."""
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    codes = rolled_funds(plan)
    store = plan.store

    def on_ingest(done: int, total: int, path: str) -> None:
        if total > 50 and (done == total or done % 200 == 0):
            echo(f"ingest: {done}/{total} files")

    def on_roll(code: str, done: int, total: int, day: dt.date) -> None:
        if total > 1 and (done == total or done % 20 == 0):
            echo(f"books {code}: {done}/{total} days struck (to {day})")

    ready = prepare_books(plan.data_root, store, plan.funds, codes, plan.business_date, run_id=plan.run_id, on_ingest=on_ingest, on_roll=on_roll,
                          delivery_calendar=plan.schedule.calendar)
    report = ready.ingest
    if report.new or report.superseded:
        echo(report.summary())
    for item in report.superseded:
        echo(f"corrected re-delivery: {item['path']} version {item['version']} supersedes the earlier one")
    superseded = [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in item.items()} for item in report.superseded]
    books = {"ingest": {"ingest_id": report.ingest_id, "new": len(report.new), "superseded": superseded, "unchanged": report.unchanged,
                        "violations": report.violations}, "funds": {}}
    for code, roll in ready.rolls.items():
        index = state_index(store, code).set_index("business_date") if Path(store).exists() else None
        today = index.loc[plan.business_date] if index is not None and plan.business_date in index.index else None
        books["funds"][code] = {
            "state": {"business_date": plan.business_date.isoformat(), "digest": today["digest"]} if today is not None else None,
            "previous_state": ({"business_date": today["previous_date"].isoformat(), "digest": today["previous_digest"]}
                               if today is not None and today["previous_date"] is not None else None),
            "days_struck": [d.isoformat() for d in roll.struck],
            "restated": int(len(roll.restated)), "restatements_required": int(len(roll.required)),
            "locked_through": roll.locked_through.isoformat() if roll.locked_through else None,
            "problems": roll.problems,
        }
        if roll.problems:
            echo(f"books {code}: " + "; ".join(roll.problems))
        if len(roll.required):
            echo(f"books {code}: RESTATEMENT REQUIRED on locked day(s) {', '.join(sorted({str(d.date()) for d in roll.required['business_date']}))}")
    # a control that persists (bo_lib.controls: ``writes``) records its day now, once per fund, so
    # its report and every other job only read the store
    for job in recording_jobs(plan):
        control = CONTROLS[job.notebook]
        if not ready.rolls[job.fund].problems:
            record_day_ahead(control, store, plan.funds[job.fund], plan.business_date, plan.run_id,
                             progress=lambda done, total, day, code=job.fund, name=job.notebook:
                             echo(f"{name} {code}: {done}/{total} days") if done % 20 == 0 else None)
    return books
