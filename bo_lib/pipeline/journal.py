"""Runs in progress, and runs that never finished.

A run folder is written before its manifest, so a run folder without ``manifest.json`` is either
still running or was interrupted (killed, crashed, disk full). While ``bo run`` works on a run it
holds a lock (``flock``) on the run's journal, ``<reports>/<date>/.<run id>.journal``, beside the run
folder (so ``bo verify`` never counts it as a file of the run). The journal's first line says what
the run is (run id, business date, started, pid, host, its jobs); each job that ends adds a line.
The operating system releases the lock of a process however it ends, even by SIGKILL.

The rule: a run folder without a manifest whose journal is not locked is **incomplete**. It is
marked with ``INCOMPLETE.json`` (what the journal knows: run id, started, the jobs finished and
not), its files are made read-only, it is listed as incomplete in the reports index, and
``bo verify`` refuses it. ``bo run`` marks every such run it finds, and so does ``bo verify``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from bo_lib.pipeline.files import write_atomic, writing

try:
    import fcntl
except ImportError:  # not POSIX: no lock, a run without a manifest counts as incomplete
    fcntl = None  # type: ignore[assignment]

INCOMPLETE = "INCOMPLETE.json"
MANIFEST = "manifest.json"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")
DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")

COMPLETE, RUNNING, INCOMPLETE_STATE = "complete", "running", "incomplete"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def journal_path(run_dir: Path) -> Path:
    """``<reports>/<date>/.<run id>.journal``."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.journal"


class RunJournal:
    """The lock and the log of a run in progress (see the module docstring)."""

    def __init__(self, path: Path, header: dict):
        self.path = Path(path)
        with writing(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held for the run
            if fcntl is not None:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._append(header)

    def _append(self, record: dict) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()

    def job_finished(self, job_id: str, outcome: dict) -> None:
        """One line per job that ended (best effort: a full disk must not stop the run here)."""
        with contextlib.suppress(OSError, ValueError):
            self._append({"job_id": job_id, "status": outcome.get("status"), "error": outcome.get("error"), "ended": outcome.get("ended")})

    def close(self, *, remove: bool) -> None:
        """Release the lock; ``remove`` deletes the journal (the run is sealed or marked)."""
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError, ValueError):
            self._handle.close()


def open_journal(run_dir: Path, *, business_date: dt.date, started: str, jobs: list[str]) -> RunJournal:
    """Create and lock the journal of the run about to be written to ``run_dir``."""
    header = {"run_id": Path(run_dir).name, "business_date": business_date.isoformat(), "started": started,
              "pid": os.getpid(), "host": platform.node(), "jobs": jobs}
    return RunJournal(journal_path(run_dir), header)


def _locked(path: Path) -> bool:
    """Another open file holds the journal's lock (its run is alive)."""
    if fcntl is None:
        return False
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def run_state(run_dir: Path) -> str:
    """``complete`` (a manifest), ``running`` (its journal is locked) or ``incomplete``."""
    run_dir = Path(run_dir)
    if (run_dir / MANIFEST).is_file():
        return COMPLETE
    journal = journal_path(run_dir)
    if not (run_dir / INCOMPLETE).is_file() and journal.is_file() and _locked(journal):
        return RUNNING
    return INCOMPLETE_STATE


def looks_like_a_run(run_dir: Path) -> bool:
    """A run folder: it has a manifest, a marker or a journal, or a run id's name under a date."""
    run_dir = Path(run_dir)
    return (run_dir / MANIFEST).is_file() or (run_dir / INCOMPLETE).is_file() or journal_path(run_dir).is_file() or (
        bool(RUN_ID.match(run_dir.name)) and bool(DATE_DIR.match(run_dir.parent.name)))


def read_journal(path: Path) -> tuple[dict, list[dict]]:
    """The journal's header and the jobs that ended; a line cut short by a kill is skipped."""
    records = []
    with contextlib.suppress(OSError):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    header = records[0] if records and "run_id" in records[0] else {}
    return header, [r for r in records if "job_id" in r]


def _started_from_run_id(run_id: str) -> str | None:
    with contextlib.suppress(ValueError):
        return dt.datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _finished_from_outputs(run_dir: Path) -> list[dict]:
    """Without a journal: a job whose HTML exists has ended (the HTML is a job's last output)."""
    return [{"job_id": f"{html.parent.name}/{html.stem}", "status": None, "error": None, "ended": None}
            for html in sorted(Path(run_dir).glob("*/*.html"))]


def incomplete_record(run_dir: Path, reason: str) -> dict:
    """What is known of an incomplete run, from its journal (or, without one, its folder)."""
    run_dir = Path(run_dir)
    header, finished = read_journal(journal_path(run_dir))
    if not header:
        finished = _finished_from_outputs(run_dir)
    jobs = header.get("jobs")
    done = {job["job_id"] for job in finished}
    return {
        "status": "incomplete",
        "run_id": run_dir.name,
        "business_date": header.get("business_date", run_dir.parent.name),
        "started": header.get("started") or _started_from_run_id(run_dir.name),
        "marked": _now(),
        "reason": reason,
        "pid": header.get("pid"),
        "host": header.get("host"),
        "jobs_total": len(jobs) if jobs is not None else None,
        "jobs_finished": finished,
        "jobs_not_finished": [job for job in jobs if job not in done] if jobs is not None else None,
    }


def read_incomplete(run_dir: Path) -> dict | None:
    """The marker of an incomplete run, or None."""
    path = Path(run_dir) / INCOMPLETE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "incomplete", "run_id": Path(run_dir).name, "reason": f"{INCOMPLETE} unreadable"}


def mark_incomplete(run_dir: Path, reason: str) -> dict:
    """Write ``INCOMPLETE.json`` (unless there is one), make the run's files read-only and drop the
    journal. Rule: only for a run that is not running (no process writes to it any more)."""
    from bo_lib.pipeline.archive import seal_read_only

    run_dir = Path(run_dir)
    record = read_incomplete(run_dir)
    if record is None:
        record = incomplete_record(run_dir, reason)
        write_atomic(run_dir / INCOMPLETE, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    seal_read_only(run_dir)
    with contextlib.suppress(OSError):
        journal_path(run_dir).unlink()
    return record


@dataclass
class RunFolder:
    run_dir: Path
    state: str


def run_folders(report_root: Path) -> list[RunFolder]:
    """Every run folder under ``<reports>/<date>/``, newest first, with its state."""
    report_root = Path(report_root)
    if not report_root.is_dir():
        return []
    folders = [path for day in report_root.iterdir() if day.is_dir() and DATE_DIR.match(day.name)
               for path in day.iterdir() if path.is_dir()]
    return [RunFolder(path, run_state(path)) for path in sorted(folders, key=lambda p: (p.parent.name, p.name), reverse=True)]


ABANDONED = "the run's process ended before it wrote the manifest (killed, crashed or out of disk)"


def mark_abandoned_runs(report_root: Path) -> list[dict]:
    """Mark every incomplete run under ``report_root`` not marked yet; returns their records."""
    marked = []
    for folder in run_folders(report_root):
        if folder.state == INCOMPLETE_STATE and read_incomplete(folder.run_dir) is None:
            marked.append(mark_incomplete(folder.run_dir, ABANDONED))
    return marked


def describe_incomplete(record: dict) -> str:
    """One line: ``INCOMPLETE run <id> (<date>): <reason>; 2 of 3 jobs finished``."""
    finished = len(record.get("jobs_finished") or [])
    total = record.get("jobs_total")
    jobs = f"{finished} of {total} jobs finished" if total is not None else f"{finished} jobs finished"
    return f"INCOMPLETE run {record.get('run_id')} ({record.get('business_date')}): {record.get('reason')}; {jobs}, no manifest"
