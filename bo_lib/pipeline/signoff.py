"""Sign-off, maker-checker: who prepared and who reviewed each job of a sealed run.

``bo signoff RUN_DIR [--job FUND/NOTEBOOK] --as NAME --role preparer|reviewer`` appends an entry to
the run's sign-off log, ``signoffs.jsonl``, kept beside the sealed files (which are never
modified), and the entry's hash (with the hash of the sign-off page it renders) to the archive's
ledger (``bo_lib.pipeline.ledger``), all under the ledger's lock. The log is hash-chained as the
ledger is (``ledger.chain_breaks``); ``signoffs.html``, the page the run's index frames, is
rendered from it after every sign-off.

Rules (``refusals``):

* a job is signed off only when it ran (``ok``): a failed job is rerun, not approved; a replay
  (``bo replay``) is a check of another run and is not signed off;
* a reviewer signs a job after its preparer, and is not its preparer; a reviewer of a job does not
  prepare it afterwards (four eyes; people compared by ``bo_lib.people.same_person``);
* a job that recorded red exceptions is reviewed only when every red check is explained
  (``--explain "CHECK=why"``) or explicitly accepted (``--accept CHECK``, with ``--comment``); a
  check is named by its text (case and spacing aside), and covers that check in every job signed
  that recorded it, or, as ``FUND/NOTEBOOK:CHECK``, in that job only;
* a sign-off is refused while the log does not verify (a line rewritten, removed, or added outside
  ``bo signoff``), and lists, index pages and approval count only the sign-offs the ledger anchors;
* a run is **approved** when every job is reviewed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import platform
import stat
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from bo_lib.hashing import sha256_bytes, sha256_file
from bo_lib.people import check_name, same_person
from bo_lib.pipeline.archive import SIGNOFF_PAGE
from bo_lib.pipeline.files import append_text, utc_iso, write_atomic, writing
from bo_lib.pipeline.ledger import GENESIS, chain_breaks, entry_hash, locked_ledger, read_chain, run_entries

SIGNOFF_LOG = "signoffs.jsonl"
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
    explained: dict[str, str] = field(default_factory=dict)  # red check (as named, maybe JOB:CHECK) -> why
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


def _check_key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def covered_checks(named: str, jobs: dict[str, JobSignoff], chosen: list[str]) -> list[str]:
    """``JOB:CHECK`` keys a name given to --explain/--accept covers: the check of that text in every
    chosen job that recorded it red, or in the one job it is qualified with."""
    job, sep, check = named.partition(":")
    if sep and job.strip() in jobs:
        scope, wanted = [job.strip()] if job.strip() in chosen else [], _check_key(check)
    else:
        scope, wanted = chosen, _check_key(named)
    return [f"{job_id}:{red}" for job_id in scope for red in jobs[job_id].red if _check_key(red) == wanted]


def selected_jobs(manifest: dict, wanted: tuple[str, ...]) -> list[str]:
    known = [job["job_id"] for job in manifest.get("jobs", [])]
    unknown = [job for job in wanted if job not in known]
    if unknown:
        raise SignoffRefused(f"--job: {', '.join(unknown)} not in run {manifest.get('run_id')} (its jobs: {', '.join(known)})")
    return list(dict.fromkeys(wanted)) or known


def _red_refusals(job: JobSignoff, covered: set[str]) -> list[str]:
    missing = [check for check in job.red if f"{job.job_id}:{check}" not in covered]
    if not missing:
        return []
    listed = "; ".join(f'"{check}"' for check in missing)
    return [f"{job.job_id}: recorded red exceptions that need a comment each (--explain \"CHECK=why\") or an explicit "
            f"acceptance (--accept CHECK with --comment): {listed}"]


def _request_refusals(request: SignoffRequest) -> list[str]:
    problems = []
    try:
        check_name(request.name)
    except ValueError as exc:
        problems.append(str(exc))
    if request.role not in ROLES:
        problems.append(f"--role: {request.role!r} is not one of {', '.join(ROLES)}")
    if request.accepted and not request.comment.strip():
        problems.append("--accept: an acceptance needs --comment saying why the exception is accepted")
    problems += [f'--explain "{named}=": the comment is empty' for named, why in request.explained.items() if not why.strip()]
    return problems


def refusals(manifest: dict, log: list[dict], request: SignoffRequest) -> list[str]:
    """Why ``request`` cannot be signed (empty: it can)."""
    if manifest.get("replay_of"):
        original = manifest["replay_of"].get("run_id")
        return [f"run {manifest.get('run_id')} is a replay of run {original}, a check of it: sign off run {original} itself"]
    problems = _request_refusals(request)
    jobs, chosen = job_signoffs(manifest, log), selected_jobs(manifest, request.jobs)
    named = [*request.explained, *request.accepted]
    covered = {key for name in named for key in covered_checks(name, jobs, chosen)}
    for job_id in chosen:
        job = jobs[job_id]
        if job.status != "ok":
            problems.append(f"{job_id}: did not run to the end ({job.status}); rerun it, a failed job is not signed off")
        elif request.role == "reviewer":
            problems += _reviewer_refusals(job, request, covered)
        elif any(same_person(entry["name"], request.name) for entry in job.reviewers):
            problems.append(f"{job_id}: reviewed by {request.name.strip()}; a reviewer of a job does not prepare it too (four eyes)")
    problems += [f'"{name}" names no red check of the jobs signed' for name in named if not covered_checks(name, jobs, chosen)]
    return problems


def _reviewer_refusals(job: JobSignoff, request: SignoffRequest, covered: set[str]) -> list[str]:
    if not job.preparers:
        return [f"{job.job_id}: no preparer's sign-off yet; the preparer signs first"]
    makers = sorted({entry["name"] for entry in job.preparers if same_person(entry["name"], request.name)})
    if makers:
        return [f"{job.job_id}: prepared by {', '.join(makers)}; the reviewer must be someone else (four eyes)"]
    return _red_refusals(job, covered)


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


def shared_accounts(log: list[dict], entry: dict) -> list[str]:
    """Jobs a reviewer signed from the same operating-system account as the job's preparer (a
    shared login: four eyes on paper only); said, not refused (a service account may sign for all)."""
    if entry.get("role") != "reviewer":
        return []
    return [job_id for job_id in entry["jobs"]
            if any(other.get("role") == "preparer" and job_id in other.get("jobs", []) and other.get("user") == entry.get("user")
                   for other in log)]


# --------------------------------------------------------------------------------------------
# the log


def read_log(run_dir: Path | str) -> list[dict]:
    """The run's sign-off log, in order (``ledger.read_chain``)."""
    return read_chain(Path(run_dir) / SIGNOFF_LOG)


def _entry(manifest: dict, log: list[dict], request: SignoffRequest) -> dict:
    jobs = job_signoffs(manifest, log)
    chosen = selected_jobs(manifest, request.jobs)
    explained = {key: why.strip() for name, why in request.explained.items() for key in covered_checks(name, jobs, chosen)}
    entry = {
        "seq": len(log) + 1,
        "at": utc_iso(dt.datetime.now(dt.timezone.utc)),
        "run_id": manifest["run_id"],
        "jobs": chosen,
        "name": check_name(request.name),
        "role": request.role,
        "comment": request.comment.strip(),
        "explained": explained,
        "accepted": [key for name in request.accepted for key in covered_checks(name, jobs, chosen)],
        "user": getpass.getuser(),
        "host": platform.node(),
        "prev": log[-1].get("hash", GENESIS) if log else GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    return entry


@contextlib.contextmanager
def _writable(path: Path):
    """A read-only companion file made writable for the block, read-only again after."""
    if path.exists():
        with writing(path):
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        yield path
    finally:
        if path.exists():
            with writing(path):
                os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def sign_off(run_dir: Path | str, manifest: dict, request: SignoffRequest) -> dict:
    """Under the ledger's lock: check the log, then ``request`` against the rules; anchor the entry
    (and the page it renders) in the ledger, then append it to the log and write the page. Returns
    the log entry. Raises :class:`SignoffRefused` naming every reason; nothing is written then."""
    run_dir = Path(run_dir)
    with locked_ledger(run_dir.parent.parent) as ledger:
        log = read_log(run_dir)
        broken = log_problems(log, ledger.entries(), str(manifest["run_id"]))
        if broken:
            raise SignoffRefused("sign-off refused: the run's sign-off log does not verify (bo verify):\n" + "\n".join(f"  {p}" for p in broken))
        problems = refusals(manifest, log, request)
        if problems:
            raise SignoffRefused("sign-off refused:\n" + "\n".join(f"  {line}" for line in grouped(problems)))
        entry = _entry(manifest, log, request)
        page = render_signoff_page(manifest, [*log, entry])
        ledger.append({"kind": "signoff", "run_id": manifest["run_id"], "run_path": f"{run_dir.parent.name}/{run_dir.name}",
                       "signoff_seq": entry["seq"], "signoff_hash": entry["hash"], "name": entry["name"], "role": entry["role"],
                       "jobs": entry["jobs"], "page_sha256": sha256_bytes(page)})
        with _writable(run_dir / SIGNOFF_LOG) as path:
            append_text(path, json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        _write_page(run_dir, page)
    return entry


# --------------------------------------------------------------------------------------------
# checking the log (bo verify)


def anchored(ledger: list[dict], run_id: str) -> dict[int, dict]:
    """The ledger's sign-off entries of a run, by the log position they anchor."""
    return {entry.get("signoff_seq"): entry for entry in run_entries(ledger, run_id, "signoff")}


def anchored_log(log: list[dict], ledger: list[dict], run_id: str) -> list[dict]:
    """The log's entries the ledger anchors (same position and hash): what approval counts."""
    recorded = anchored(ledger, run_id)
    return [entry for position, entry in enumerate(log, start=1)
            if position in recorded and recorded[position].get("signoff_hash") == entry.get("hash")]


def log_problems(log: list[dict], ledger: list[dict], run_id: str) -> list[str]:
    """The sign-off log's chain (``chain_breaks``) and each entry against the ledger's record of it."""
    problems = [f"SIGN-OFF LOG ALTERED entry {position}: {why} ({SIGNOFF_LOG})" for position, why in chain_breaks(log)]
    recorded = anchored(ledger, run_id)
    for position, entry in enumerate(log, start=1):
        anchor = recorded.get(position)
        if "unreadable" in entry:
            continue
        if anchor is None:
            problems.append(f"SIGN-OFF NOT IN LEDGER entry {position} ({entry.get('role')} {entry.get('name')}): added outside bo signoff")
        elif anchor.get("signoff_hash") != entry.get("hash"):
            problems.append(f"SIGN-OFF LOG ALTERED entry {position}: differs from the ledger's record ({anchor.get('role')} {anchor.get('name')})")
    for seq, anchor in sorted(recorded.items(), key=lambda item: item[0] or 0):
        if seq is None or seq > len(log):
            problems.append(f"SIGN-OFF MISSING entry {seq}: the ledger records a sign-off by {anchor.get('name')} ({anchor.get('role')}) "
                            f"that {SIGNOFF_LOG} no longer holds")
    return problems


def page_problems(run_dir: Path | str, ledger: list[dict], run_id: str) -> list[str]:
    """``signoffs.html`` must be the page the ledger last recorded for the run (at its sealing or its
    latest sign-off): a hand-edited or re-rendered page is named; a page of a run sealed before
    pages were anchored is not checked."""
    path = Path(run_dir) / SIGNOFF_PAGE
    entries = [entry for entry in ledger if entry.get("run_id") == run_id and (entry.get("page_sha256") or entry.get("signoff_page_sha256"))]
    if not entries:
        return []
    expected = entries[-1].get("page_sha256") or entries[-1].get("signoff_page_sha256")
    if not path.is_file():
        return [f"MISSING {SIGNOFF_PAGE}"]
    if sha256_file(path) != expected:
        return [f"ALTERED {SIGNOFF_PAGE}: not the page the ledger recorded (entry {entries[-1].get('seq')})"]
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


def _notes(entries: list[dict], job_id: str) -> str:
    """The comments of a job's sign-offs, and the explanations and acceptances of its own red checks."""
    mine = f"{job_id}:"
    notes = []
    for entry in entries:
        if entry.get("comment"):
            notes.append(f"{escape(entry['name'])}: {escape(entry['comment'])}")
        notes += [f"{escape(entry['name'])} on <em>{escape(key[len(mine):])}</em>: {escape(why)}"
                  for key, why in entry.get("explained", {}).items() if key.startswith(mine)]
        notes += [f"{escape(entry['name'])} accepts <em>{escape(key[len(mine):])}</em>" for key in entry.get("accepted", []) if key.startswith(mine)]
    return "<br>".join(notes)


def render_signoff_page(manifest: dict, log: list[dict]) -> str:
    """The run's sign-off page: the run's state, and per job its preparers, reviewers and notes."""
    from bo_lib.pipeline.index import page

    state = run_signoff(manifest, log)
    css = "approved" if state.approved else "pending"
    rows = "\n".join(
        f'<tr><td><code>{escape(job.job_id)}</code></td><td><span class="badge {escape(job.state.split()[0])}">{escape(job.state)}</span>'
        + (f'<div class="muted">{len(job.red)} red check(s)</div>' if job.red else "")
        + f"</td><td>{_people(job.preparers)}</td><td>{_people(job.reviewers)}</td><td>{_notes(job.preparers + job.reviewers, job.job_id)}</td></tr>"
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


def _write_page(run_dir: Path, page: str) -> Path:
    with _writable(Path(run_dir) / SIGNOFF_PAGE) as path:
        write_atomic(path, page)
    return path


def write_signoff_page(run_dir: Path | str, manifest: dict, log: list[dict] | None = None) -> Path:
    """Render the run's sign-off page from its log (at sealing: "awaiting preparer")."""
    return _write_page(Path(run_dir), render_signoff_page(manifest, read_log(run_dir) if log is None else log))
