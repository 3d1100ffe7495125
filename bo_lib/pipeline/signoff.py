"""Sign-off, maker-checker: who prepared and who reviewed each job of a sealed run.

``bo signoff RUN_DIR [--job FUND/NOTEBOOK] --as NAME --role preparer|reviewer`` appends an entry to
the run's sign-off log, ``signoffs.jsonl``, kept beside the sealed files (which are never
modified), and the entry's hash to the archive's ledger (``bo_lib.pipeline.ledger``). The log is
hash-chained as the ledger is (``prev``, ``hash``); ``signoffs.html``, the page the run's index
shows, is rendered from it after every sign-off.

Rules (``refusals``):

* a job is signed off only when it ran (``ok``): a failed job is rerun, not approved; a replay
  (``bo replay``) is a check of another run and is not signed off;
* a reviewer signs a job after its preparer, and is not its preparer (four eyes);
* a job that recorded red exceptions is reviewed only when every red check is explained
  (``--explain "CHECK=why"``) or explicitly accepted (``--accept CHECK``, with ``--comment``);
  a check is named by its text, or by a prefix only it starts with (case ignored);
* a run is **approved** when every job is reviewed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import platform
import stat
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from bo_lib.pipeline.files import append_text, write_atomic, writing
from bo_lib.pipeline.ledger import GENESIS, append_entry, entry_hash, run_entries

SIGNOFF_LOG = "signoffs.jsonl"
SIGNOFF_PAGE = "signoffs.html"
COMPANIONS = (SIGNOFF_LOG, SIGNOFF_PAGE)  # beside the sealed files, not in the manifest
ROLES = ("preparer", "reviewer")


class SignoffRefused(ValueError):
    """A sign-off the rules refuse; the message lists every reason."""


@dataclass(frozen=True)
class SignoffRequest:
    name: str
    role: str
    jobs: tuple[str, ...] = ()  # empty: every job of the run
    comment: str = ""
    explained: dict[str, str] = field(default_factory=dict)  # red check (as named) -> why
    accepted: tuple[str, ...] = ()


@dataclass
class JobSignoff:
    job_id: str
    status: str
    red: list[str]
    preparers: list[dict] = field(default_factory=list)
    reviewers: list[dict] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "reviewed" if self.reviewers else "prepared" if self.preparers else "awaiting preparer"


# --------------------------------------------------------------------------------------------
# the rules (pure)


def red_checks(job: dict) -> list[str]:
    """The red checks a job recorded (``exception_checks``), by their text."""
    return [str(item["check"]) for item in (job.get("results") or {}).get("exception_checks") or [] if item.get("rag") == "red"]


def job_signoffs(manifest: dict, log: list[dict]) -> dict[str, JobSignoff]:
    """Per job of the run, its preparers and reviewers from the log, in order."""
    jobs = {job["job_id"]: JobSignoff(job["job_id"], job["status"], red_checks(job)) for job in manifest.get("jobs", [])}
    for entry in log:
        for job_id in entry.get("jobs", []):
            if job_id in jobs:
                (jobs[job_id].preparers if entry.get("role") == "preparer" else jobs[job_id].reviewers).append(entry)
    return jobs


def run_approved(manifest: dict, log: list[dict]) -> bool:
    jobs = job_signoffs(manifest, log)
    return bool(jobs) and all(job.reviewers for job in jobs.values())


def resolve_check(name: str, checks: list[str]) -> str | None:
    """The check ``name`` stands for: equal (case ignored), else the only one it prefixes."""
    wanted = name.strip().casefold()
    exact = [check for check in checks if check.casefold() == wanted]
    if exact:
        return exact[0]
    starting = [check for check in checks if check.casefold().startswith(wanted)]
    return starting[0] if len(starting) == 1 and wanted else None


def selected_jobs(manifest: dict, wanted: tuple[str, ...]) -> list[str]:
    known = [job["job_id"] for job in manifest.get("jobs", [])]
    unknown = [job for job in wanted if job not in known]
    if unknown:
        raise SignoffRefused(f"--job: {', '.join(unknown)} not in run {manifest.get('run_id')} (its jobs: {', '.join(known)})")
    return list(wanted) or known


def _red_refusals(job: JobSignoff, request: SignoffRequest) -> list[str]:
    covered = set()
    for named in (*request.explained, *request.accepted):
        check = resolve_check(named, job.red)
        if check is not None:
            covered.add(check)
    missing = [check for check in job.red if check not in covered]
    if not missing:
        return []
    listed = "; ".join(f'"{check}"' for check in missing)
    return [f"{job.job_id}: recorded red exceptions that need a comment each (--explain \"CHECK=why\") or an explicit "
            f"acceptance (--accept CHECK with --comment): {listed}"]


def refusals(manifest: dict, log: list[dict], request: SignoffRequest) -> list[str]:
    """Why ``request`` cannot be signed (empty: it can)."""
    problems = []
    if manifest.get("replay_of"):
        original = manifest["replay_of"].get("run_id")
        return [f"run {manifest.get('run_id')} is a replay of run {original}, a check of it: sign off run {original} itself"]
    if not request.name.strip():
        problems.append("--as: a name is required")
    if request.role not in ROLES:
        problems.append(f"--role: {request.role!r} is not one of {', '.join(ROLES)}")
    if request.accepted and not request.comment.strip():
        problems.append("--accept: an acceptance needs --comment saying why the exception is accepted")
    for named, why in request.explained.items():
        if not why.strip():
            problems.append(f'--explain "{named}=": the comment is empty')
    jobs = job_signoffs(manifest, log)
    for job_id in selected_jobs(manifest, request.jobs):
        job = jobs[job_id]
        if job.status != "ok":
            problems.append(f"{job_id}: did not run to the end ({job.status}); rerun it, a failed job is not signed off")
        elif request.role == "reviewer":
            problems += _reviewer_refusals(job, request)
    named = [*request.explained, *request.accepted]
    reds = [check for job_id in selected_jobs(manifest, request.jobs) for check in jobs[job_id].red]
    problems += [f'"{name}" names no red check of the jobs signed (or more than one)' for name in named if resolve_check(name, reds) is None]
    return problems


def _reviewer_refusals(job: JobSignoff, request: SignoffRequest) -> list[str]:
    if not job.preparers:
        return [f"{job.job_id}: no preparer's sign-off yet; the preparer signs first"]
    makers = sorted({entry["name"] for entry in job.preparers})
    if request.name.strip().casefold() in {maker.casefold() for maker in makers}:
        return [f"{job.job_id}: prepared by {', '.join(makers)}; the reviewer must be someone else (four eyes)"]
    return _red_refusals(job, request)


def grouped(problems: list[str]) -> list[str]:
    """``JOB: reason`` lines with one reason shared by several jobs told once, naming the jobs."""
    jobs_of: dict[str, list[str]] = {}
    for problem in problems:
        job, sep, reason = problem.partition(": ")
        key = reason if sep and "/" in job and " " not in job else problem
        jobs_of.setdefault(key, []).append(job if key == reason else "")
    lines = []
    for reason, jobs in jobs_of.items():
        named = [job for job in jobs if job]
        lines.append(f"{', '.join(named)}{f' ({len(named)} jobs)' if len(named) > 1 else ''}: {reason}" if named else reason)
    return lines


# --------------------------------------------------------------------------------------------
# the log


def read_log(run_dir: Path | str) -> list[dict]:
    path = Path(run_dir) / SIGNOFF_LOG
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"unreadable": line[:80], "line": number})
    return entries


def _entry(manifest: dict, log: list[dict], request: SignoffRequest) -> dict:
    jobs = job_signoffs(manifest, log)
    chosen = selected_jobs(manifest, request.jobs)
    reds = {check for job_id in chosen for check in jobs[job_id].red}
    explained = {resolve_check(name, sorted(reds)): why.strip() for name, why in request.explained.items()}
    entry = {
        "seq": len(log) + 1,
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "run_id": manifest["run_id"],
        "jobs": chosen,
        "name": request.name.strip(),
        "role": request.role,
        "comment": request.comment.strip(),
        "explained": explained,
        "accepted": [resolve_check(name, sorted(reds)) for name in request.accepted],
        "user": getpass.getuser(),
        "host": platform.node(),
        "prev": log[-1].get("hash", GENESIS) if log else GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def _append_sealed(path: Path, text: str) -> None:
    """Append to a read-only companion file and make it read-only again."""
    if path.exists():
        with writing(path):
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    append_text(path, text)
    with writing(path):
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def sign_off(run_dir: Path | str, manifest: dict, request: SignoffRequest) -> dict:
    """Check ``request`` against the rules, append it to the run's log and to the ledger, render
    the sign-off page; returns the log entry. Raises :class:`SignoffRefused` naming every reason."""
    run_dir = Path(run_dir)
    log = read_log(run_dir)
    problems = refusals(manifest, log, request)
    if problems:
        raise SignoffRefused("sign-off refused:\n" + "\n".join(f"  {line}" for line in grouped(problems)))
    entry = _entry(manifest, log, request)
    _append_sealed(run_dir / SIGNOFF_LOG, json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
    append_entry(run_dir.parent.parent, {"kind": "signoff", "run_id": manifest["run_id"],
                                         "run_path": f"{run_dir.parent.name}/{run_dir.name}", "signoff_seq": entry["seq"],
                                         "signoff_hash": entry["hash"], "name": entry["name"], "role": entry["role"], "jobs": entry["jobs"]})
    write_signoff_page(run_dir, manifest, [*log, entry])
    return entry


# --------------------------------------------------------------------------------------------
# checking the log (bo verify)


def log_problems(run_dir: Path | str, ledger: list[dict], run_id: str) -> list[str]:
    """The log's chain, each entry against the ledger's record of it, and the page against the log."""
    log = read_log(run_dir)
    problems = []
    previous = GENESIS
    for position, entry in enumerate(log, start=1):
        if "unreadable" in entry:
            problems.append(f"SIGN-OFF LOG BROKEN line {entry['line']}: not a sign-off entry")
            continue
        if entry.get("hash") != entry_hash(entry) or entry.get("prev") != previous or entry.get("seq") != position:
            problems.append(f"SIGN-OFF LOG ALTERED entry {position}: {SIGNOFF_LOG} was rewritten ({entry.get('role')} {entry.get('name')})")
        previous = entry.get("hash", "")
    recorded = {entry.get("signoff_seq"): entry for entry in run_entries(ledger, run_id, "signoff")}
    for position, entry in enumerate(log, start=1):
        anchor = recorded.get(position)
        if anchor is None:
            problems.append(f"SIGN-OFF NOT IN LEDGER entry {position} ({entry.get('role')} {entry.get('name')}): added outside bo signoff")
        elif anchor.get("signoff_hash") != entry.get("hash"):
            problems.append(f"SIGN-OFF LOG ALTERED entry {position}: differs from the ledger's record ({anchor.get('role')} {anchor.get('name')})")
    for seq, anchor in sorted(recorded.items()):
        if seq is None or seq > len(log):
            problems.append(f"SIGN-OFF MISSING entry {seq}: the ledger records a sign-off by {anchor.get('name')} ({anchor.get('role')}) "
                            f"that {SIGNOFF_LOG} no longer holds")
    return problems


def page_problems(run_dir: Path | str, manifest: dict) -> list[str]:
    """``signoffs.html`` must be the page the log renders (a hand-edited page is named)."""
    path = Path(run_dir) / SIGNOFF_PAGE
    if not path.is_file():
        return [f"MISSING {SIGNOFF_PAGE}"]
    if path.read_text(encoding="utf-8") != render_signoff_page(manifest, read_log(run_dir)):
        return [f"ALTERED {SIGNOFF_PAGE}: not the page its sign-off log gives"]
    return []


# --------------------------------------------------------------------------------------------
# the page


@dataclass(frozen=True)
class RunSignoff:
    """A run's sign-off state for lists: ``approved``, ``n of m reviewed``, ``not signed off``."""

    jobs: int
    prepared: int
    reviewed: int
    approved_by: tuple[str, ...] = ()
    approved_at: str = ""

    @property
    def approved(self) -> bool:
        return self.jobs > 0 and self.reviewed == self.jobs

    def describe(self) -> str:
        if self.approved:
            return f"approved: reviewed by {', '.join(self.approved_by)}, last {self.approved_at}"
        if not self.prepared:
            return "not signed off"
        return f"{self.prepared} of {self.jobs} jobs prepared, {self.reviewed} reviewed"


def run_signoff(manifest: dict, log: list[dict]) -> RunSignoff:
    jobs = job_signoffs(manifest, log)
    reviewers = [entry for job in jobs.values() for entry in job.reviewers]
    return RunSignoff(jobs=len(jobs), prepared=sum(bool(job.preparers) for job in jobs.values()),
                      reviewed=sum(bool(job.reviewers) for job in jobs.values()),
                      approved_by=tuple(dict.fromkeys(entry["name"] for entry in reviewers)),
                      approved_at=max((entry["at"] for entry in reviewers), default=""))


def _people(entries: list[dict]) -> str:
    return "<br>".join(f"{escape(entry['name'])} <span class=\"muted\">{escape(entry['at'])}</span>" for entry in entries) or "—"


def _notes(entries: list[dict], red: list[str]) -> str:
    """The comments of a job's sign-offs, and the explanations and acceptances of its own red checks."""
    notes = []
    for entry in entries:
        if entry.get("comment"):
            notes.append(f"{escape(entry['name'])}: {escape(entry['comment'])}")
        notes += [f"{escape(entry['name'])} on <em>{escape(check)}</em>: {escape(why)}"
                  for check, why in entry.get("explained", {}).items() if check in red]
        notes += [f"{escape(entry['name'])} accepts <em>{escape(check)}</em>" for check in entry.get("accepted", []) if check in red]
    return "<br>".join(notes)


def render_signoff_page(manifest: dict, log: list[dict]) -> str:
    """The run's sign-off page: the run's state, and per job its preparers, reviewers and notes."""
    from bo_lib.pipeline.index import page

    state = run_signoff(manifest, log)
    css = "approved" if state.approved else "pending"
    rows = "\n".join(
        f'<tr><td><code>{escape(job.job_id)}</code></td><td><span class="badge {escape(job.state.split()[0])}">{escape(job.state)}</span>'
        + (f'<div class="muted">{len(job.red)} red check(s)</div>' if job.red else "")
        + f"</td><td>{_people(job.preparers)}</td><td>{_people(job.reviewers)}</td><td>{_notes(job.preparers + job.reviewers, job.red)}</td></tr>"
        for job in job_signoffs(manifest, log).values())
    body = (
        '<nav><a href="index.html" target="_top">Run</a> <a href="../../index.html" target="_top">Archive of runs</a></nav>\n'
        f'<h1>Sign-off · run {escape(str(manifest.get("run_id")))}</h1>\n'
        f'<div class="meta">Business date {escape(str(manifest.get("business_date")))}. '
        f'<span class="badge {css}">{escape(state.describe())}</span> — {len(log)} sign-off(s) in <code>{SIGNOFF_LOG}</code>, '
        "each anchored in the archive's ledger (<code>bo verify</code> checks both).</div>\n"
        "<table>\n<thead><tr><th>Job</th><th>State</th><th>Prepared by</th><th>Reviewed by</th><th>Comments</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>"
    )
    return page(f"Sign-off · {manifest.get('business_date')} · {manifest.get('run_id')}", body)


def write_signoff_page(run_dir: Path | str, manifest: dict, log: list[dict] | None = None) -> Path:
    path = Path(run_dir) / SIGNOFF_PAGE
    if path.exists():
        with writing(path):
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    write_atomic(path, render_signoff_page(manifest, read_log(run_dir) if log is None else log))
    with writing(path):
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return path
