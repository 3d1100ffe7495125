"""The daily run: plan the jobs, execute them with papermill, archive, seal and index the results.

``plan_run`` (``jobs``) validates everything before a kernel starts; ``run_daily`` ingests the new
deliveries and rolls the books to the date (``prepare``), executes the plan (``execute``), renders
offline HTML (``html``), writes the run's index page (``index``), the manifest and its checksum
(``archive``), makes every file of the run read-only and regenerates the report root's index. Once sealed, the run is recorded in the archive's ledger; ``verify_run`` (``verify``) is the auditor's
check of a sealed run, ``bo signoff`` (``signoff``) its maker-checker sign-off.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time

# nbformat validates notebooks with jsonschema, which imports every optional format checker it
# finds installed; rfc3987-syntax (pulled in by Jupyter's extras) builds a grammar on import, 1.7 s
# in every process that reads a notebook. The notebook schema checks no IRI format: keep it out.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from bo_lib.controls import CONTROLS
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.layout import input_files
from bo_lib.hashing import sha256_file
from bo_lib.pipeline.archive import (
    MANIFEST,
    MANIFEST_VERSION,
    RUN_INDEX,
    RUN_LOG,
    create_run_folder,
    environment,
    file_entry,
    new_run_id,
    record_in_ledger,
    seal_read_only,
    write_manifest,
)
from bo_lib.pipeline.execute import RunInterrupted, execute_jobs, one_line
from bo_lib.pipeline.files import append_text, describe_os_error, utc_iso, writing
from bo_lib.pipeline.html import ASSETS, write_assets
from bo_lib.pipeline.index import write_reports_index, write_run_index
from bo_lib.pipeline.journal import INCOMPLETE, describe_incomplete, mark_abandoned_runs, mark_incomplete, open_journal
from bo_lib.pipeline.jobs import Job, RunPlan, plan_run
from bo_lib.pipeline.prepare import prepare_run
from bo_lib.pipeline.signoff import write_signoff_page
from bo_lib.pipeline.terminal import print_heartbeat, print_progress
from bo_lib.pipeline.verify import verify_run
from bo_lib.version import code_version

__all__ = ["Job", "RunPlan", "RunResult", "new_run_id", "plan_run", "report_title", "run_daily", "verify_run"]


@dataclass
class RunResult:
    run_dir: Path
    index_path: Path
    manifest: dict

    @property
    def failed_jobs(self) -> list[dict]:
        return [job for job in self.manifest["jobs"] if job["status"] != "ok"]

    @property
    def ok(self) -> bool:
        return not self.failed_jobs


def report_title(plan: RunPlan, job: Job) -> str:
    """The title of a job's HTML page (its ``<title>`` and archive bar): fund or entity, the control's
    title (``bo_lib.controls``) and business date, e.g. ``USEQ · Shadow NAV · 2026-11-06``."""
    control = CONTROLS.get(job.notebook)
    return f"{job.entity} · {control.title if control else job.notebook} · {plan.business_date.isoformat()}"


def _job_spec(plan: RunPlan, job: Job, run_dir: Path) -> dict:
    return {
        "job_id": job.job_id,
        "run_id": plan.run_id,
        "run_dir": str(run_dir),
        "input_notebook": str(job.input_notebook),
        "output_notebook": job.output_notebook,
        "output_html": job.output_html,
        "output_files": job.output_files,
        "title": report_title(plan, job),
        "assets_dir": ASSETS,
        "parameters": job.parameters,
        "cwd": str(plan.notebooks_dir),
        "timeout_seconds": plan.job_timeout_seconds,
    }


def _inputs(plan: RunPlan) -> list[dict]:
    """The files the run's jobs read, with SHA-256 and the delivery version ingested: reference data,
    the opening book, the business date's deliveries (earlier days reach the run through the books'
    closing state, whose digest the ``books`` section records)."""
    files = input_files(plan.data_root, plan.business_date)
    catalogue = Catalogue(plan.store)
    with catalogue.session():
        versions = catalogue.deliveries(on=plan.business_date, reference=True, opening=True)
    version_of = dict(zip(versions["path"], versions["version"]))
    delivery_of = dict(zip(versions["path"], versions["delivery_id"]))
    files["version"] = files["path"].map(version_of).astype("Int64")
    files["delivery_id"] = files["path"].map(delivery_of).astype("Int64")
    return [{k: (None if pd.isna(v) else (int(v) if k in ("version", "delivery_id", "size_bytes") else v)) for k, v in row.items()}
            for row in files.to_dict(orient="records")]


def _job_records(plan: RunPlan, outcomes: list[dict]) -> list[dict]:
    """The manifest's ``jobs``: each planned job with its outcome."""
    return [{
        "job_id": job.job_id,
        "notebook": job.notebook,
        "fund": job.fund,
        "entity": job.entity,
        "scope": job.scope,
        "parameters": job.parameters,
        "input_notebook": {"path": str(job.input_notebook), "sha256": sha256_file(job.input_notebook)},
        "status": outcome["status"],
        "error": outcome["error"],
        "started": outcome.get("started"),
        "ended": outcome.get("ended"),
        "duration_seconds": outcome.get("duration_seconds"),
        "outputs": {"ipynb": outcome["outputs"].get("ipynb"), "html": outcome["outputs"].get("html"),
                    **{k: v for k, v in outcome["outputs"].items() if k.startswith("file:")}},
        "results": outcome.get("results", {}),
    } for job, outcome in zip(plan.jobs, outcomes)]


def _manifest(plan: RunPlan, *, created: dt.datetime, seconds: float, command: list[str] | None, inputs: list[dict],
              books: dict, jobs: list[dict], replay_of: dict | None = None) -> dict:
    """The run's manifest; ``replay_of`` (run id, folder, manifest SHA-256 of the run a replay
    executed again) is recorded only for a replay (``bo replay``)."""
    failed = sum(job["status"] != "ok" for job in jobs)
    return {
        "manifest_version": MANIFEST_VERSION,
        "ledger": "../../ledger.jsonl",  # the archive's ledger this run is entered in when sealed
        "run_id": plan.run_id,
        "business_date": plan.business_date.isoformat(),
        "created": utc_iso(created),
        "finished": utc_iso(dt.datetime.now(dt.timezone.utc)),
        "duration_seconds": round(seconds, 3),
        "code_version": code_version(),
        **environment(),
        "workers": plan.workers,
        "command": command or [],
        "scope": plan.scope,
        "parameters": {
            "dir": str(plan.parameters_dir),
            "files": [file_entry(path, plan.parameters_dir) for path in plan.parameter_files],
        },
        "data_root": str(plan.data_root),
        "store": str(plan.store),
        "inputs": inputs,
        "books": books,
        "jobs": jobs,
        "summary": {"jobs": len(jobs), "ok": len(jobs) - failed, "failed": failed},
        "outputs": {},
        **({"replay_of": replay_of} if replay_of else {}),
    }


def _write_archive(run_dir: Path, manifest: dict) -> Path:
    """The run's shared assets, index page and log are hashed into the manifest, then the manifest
    is written."""
    assets = run_dir / ASSETS
    if assets.is_dir():
        for path in sorted(p for p in assets.rglob("*") if p.is_file()):
            manifest["outputs"][f"asset:{path.relative_to(assets).as_posix()}"] = {
                "path": path.relative_to(run_dir).as_posix(), "sha256": sha256_file(path)}
    index_path = write_run_index(run_dir, manifest, RUN_INDEX)
    manifest["outputs"]["index"] = {"path": RUN_INDEX, "sha256": sha256_file(index_path)}
    log_path = run_dir / RUN_LOG
    if not log_path.exists():
        with writing(log_path):
            log_path.touch()
    manifest["outputs"]["log"] = {"path": RUN_LOG, "sha256": sha256_file(log_path)}
    write_manifest(run_dir, manifest)
    return index_path


def _why(exc: BaseException) -> str:
    """Why a run stopped before its manifest, for its INCOMPLETE.json."""
    if isinstance(exc, RunInterrupted):
        return f"interrupted by {exc.signal_name}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted by SIGINT"
    if isinstance(exc, OSError) and exc.errno is not None:
        return describe_os_error(exc)
    return f"stopped by {one_line(f'{type(exc).__name__}: {exc}')}"


def _abandon(run_dir: Path, report_root: Path, exc: BaseException) -> None:
    """Mark the run incomplete (unless its manifest was written) and list it so; best effort (the
    disk may be what failed)."""
    with contextlib.suppress(Exception):
        if not (run_dir / MANIFEST).exists():
            mark_incomplete(run_dir, _why(exc))
    with contextlib.suppress(Exception):
        write_reports_index(report_root)


def _note_incomplete(report_root: Path, echo: Callable[[str], None]) -> None:
    """Mark runs found without a manifest whose process is gone (killed), and say so."""
    for record in mark_abandoned_runs(report_root):
        echo(f"note: {describe_incomplete(record)} (marked {INCOMPLETE})")


def _execute(plan: RunPlan, run_dir: Path, journal, on_finished, heartbeat_seconds: float = 0, on_heartbeat=None) -> list[dict]:
    """Create the run folder and execute the jobs into it; each job that ends goes to the journal.
    The run log starts with a line naming the run; each job adds its section as it ends."""
    create_run_folder(plan.report_root, plan.business_date, plan.run_id)
    write_assets(run_dir / ASSETS)  # once per run; every page links them (../assets/...)
    specs = [_job_spec(plan, job, run_dir) for job in plan.jobs]
    append_text(run_dir / RUN_LOG, f"bo run {plan.business_date} run {plan.run_id}: {len(specs)} jobs, "
                                   f"{min(plan.workers, len(specs))} workers, started {utc_iso(dt.datetime.now(dt.timezone.utc))}\n\n")

    def finished(done: int, total: int, spec: dict, outcome: dict) -> None:
        journal.job_finished(spec["job_id"], outcome)
        if on_finished is not None:
            on_finished(done, total, spec, outcome)

    return execute_jobs(specs, workers=plan.workers, log_path=run_dir / RUN_LOG, on_finished=finished,
                        heartbeat_seconds=heartbeat_seconds, on_heartbeat=on_heartbeat)


def run_daily(
    plan: RunPlan,
    *,
    command: list[str] | None = None,
    on_finished: Callable[[int, int, dict, dict], None] | None = print_progress,
    echo: Callable[[str], None] | None = None,
    heartbeat_seconds: float = 0,
    on_heartbeat: Callable[[int, int, list[tuple[str, float]]], None] | None = print_heartbeat,
    after_prepare: Callable[[], None] | None = None,
    replay_of: dict | None = None,
) -> RunResult:
    """Execute a validated plan into a new run folder and seal it; never raises for a failed job.

    ``on_finished`` is called as each job ends, ``on_heartbeat`` every ``heartbeat_seconds`` (0:
    never) with the jobs still running (``execute_jobs``); both print to stderr by default.
    ``after_prepare`` runs once the books are rolled, before any job (``bo replay``).
    ``replay_of``: the run this one replays, recorded in the manifest (``pipeline.replay``).

    Rule: a run that stops before its manifest is written (interrupted, out of disk) is marked
    incomplete (``INCOMPLETE.json``) before the exception goes on; one killed outright is marked
    by the next ``bo run`` (or ``bo verify``), which finds its journal unlocked.
    """
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    created = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    _note_incomplete(plan.report_root, echo)
    # the day's deliveries are ingested and the books rolled to the date before any job runs: every
    # job reads the same books, and the manifest states what they were given
    books = prepare_run(plan, echo=echo)
    if after_prepare is not None:  # a replay puts back, on its scratch copy, what the run read (its lock)
        after_prepare()
    books["seconds"] = round(time.perf_counter() - clock, 3)
    inputs = _inputs(plan)
    run_dir = Path(plan.report_root) / plan.business_date.isoformat() / plan.run_id
    journal = open_journal(run_dir, business_date=plan.business_date, started=utc_iso(created), jobs=[job.job_id for job in plan.jobs])
    try:
        outcomes = _execute(plan, run_dir, journal, on_finished, heartbeat_seconds, on_heartbeat)
        manifest = _manifest(plan, created=created, seconds=time.perf_counter() - clock, command=command, inputs=inputs,
                             books=books, jobs=_job_records(plan, outcomes), replay_of=replay_of)
        index_path = _write_archive(run_dir, manifest)
    except BaseException as exc:
        if run_dir.is_dir():
            journal.close(remove=False)
            _abandon(run_dir, plan.report_root, exc)
        raise
    finally:  # the journal goes once the run is sealed, marked or never started
        journal.close(remove=not run_dir.is_dir() or (run_dir / MANIFEST).exists() or (run_dir / INCOMPLETE).exists())
    write_signoff_page(run_dir, manifest, [])  # "awaiting preparer" until bo signoff
    seal_read_only(run_dir)
    record_in_ledger(run_dir, manifest)
    write_reports_index(plan.report_root)
    return RunResult(run_dir=run_dir, index_path=index_path, manifest=manifest)
