"""Index pages of the archive: one per run (every job, worst first, with its exceptions and key
figures) and one for the report root (every run found, regenerated from the manifests on each run;
a run without a manifest shows as running or incomplete).

Rules a reader relies on:

- a job's **severity** is its worst exception: a job that failed (its notebook did not run to the
  end, so its figures are missing) comes first, then jobs with red exceptions (most first), then
  amber, then green. Whether the notebook ran is shown apart from what it found;
- key figures carry the labels, units and decimals declared in the control registry
  (``bo_lib.controls``), the same text as the report's own key-figures table;
- the **official run** of a business date is its latest *approved* run (every job reviewed,
  ``bo signoff``), else its latest complete run covering the whole schedule (a rerun of one fund or
  one notebook does not replace it), else the latest partial run; a replay (``bo replay``) is a
  check of another run and is never official;
- a run's page is sealed before anyone signs it, so its sign-off section frames the run's
  ``signoffs.html``, which every sign-off renders again from the run's sign-off log.

Pages are self-contained (inline CSS, no scripts, no network) so they open from a file share,
and fit a 1280 px screen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

from bo_lib.controls import CONTROLS
from bo_lib.pipeline.files import write_atomic
from bo_lib.pipeline.journal import COMPLETE, RUNNING, read_incomplete, run_folders
from bo_lib.pipeline.ledger import ledger_path, read_ledger, run_entries
from bo_lib.pipeline.signoff import RunSignoff, anchored_log, read_log, run_signoff
from bo_lib.report.figures import shown_figures
from bo_lib.report.record import shorten

#: key figures shown per job on the run index (the report has them all)
MAX_FIGURES = 6
#: red/amber checks named per job on the run index
MAX_CHECKS = 4
_RAG = ("red", "amber", "green")

_CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2937; margin: 20px auto; max-width: 1240px; padding: 0 12px; }
h1 { font-size: 20px; margin: 0 0 4px; }
nav { font-size: 13px; margin: 0 0 8px; } nav a { margin-right: 14px; }
.meta { color: #6b7280; font-size: 12px; margin-bottom: 10px; overflow-wrap: anywhere; }
.summary { margin: 8px 0 6px; font-weight: 600; }
.legend { font-size: 12px; color: #374151; margin: 0 0 12px; }
.legend span.rag { margin-left: 8px; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f9fafb; font-size: 12px; text-transform: uppercase; color: #6b7280; }
tr.sev-failed td { background: #fef2f2; } tr.sev-failed td:first-child, tr.sev-red td:first-child { box-shadow: inset 4px 0 #dc2626; }
tr.sev-amber td:first-child { box-shadow: inset 4px 0 #f59e0b; } tr.sev-green td:first-child { box-shadow: inset 4px 0 #16a34a; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.ran { background: #f3f4f6; color: #374151; }
.failed { background: #fee2e2; color: #991b1b; }
.running { background: #e0e7ff; color: #3730a3; }
.official { background: #dbeafe; color: #1e40af; }
.approved, .reviewed { background: #dcfce7; color: #166534; } .pending, .prepared { background: #fef9c3; color: #854d0e; }
.awaiting { background: #f3f4f6; color: #374151; }
iframe.signoff { width: 100%; height: 560px; border: 1px solid #e5e7eb; }
.rag { display: inline-block; min-width: 18px; text-align: center; border-radius: 3px; padding: 0 5px; margin-right: 3px; font-weight: 600; font-size: 12px; }
.red { background: #fecaca; color: #7f1d1d; } .amber { background: #fde68a; color: #78350f; } .green { background: #bbf7d0; color: #14532d; }
.error { color: #991b1b; font-size: 12px; margin-top: 4px; }
.checks { font-size: 12px; margin: 4px 0 0; padding-left: 16px; } .checks li { margin: 1px 0; }
.figures { font-size: 12px; display: grid; grid-template-columns: auto auto; column-gap: 10px; }
.figures .v { font-weight: 600; text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
.figures .v.text { white-space: normal; text-align: left; }
.muted { color: #6b7280; font-size: 12px; }
code { font-size: 12px; }
"""

LEGEND = ('<div class="legend">Severity (the pills count checks at each level; each red or amber check is named with how many items it found): <span class="rag red">red</span> needs action before the report is signed off'
          '<span class="rag amber">amber</span> to review<span class="rag green">green</span> checked, nothing found. '
          '<span class="badge failed">failed</span>: the notebook did not run to the end, its checks and figures are missing. '
          'Jobs are listed worst first.</div>')


ARCHIVE_LEGEND = ('<div class="legend">Exceptions: red and amber checks summed over the run\'s jobs that ran to the end '
                  '(each run\'s page names them); <span class="badge failed">failed</span> jobs are counted apart.</div>')


#: the run page's sign-off section: the page is sealed before anyone signs, so it frames the
#: run's signoffs.html (rendered from the sign-off log at every bo signoff)
SIGNOFF_SECTION = ('<h2 style="font-size:16px;margin:18px 0 6px">Sign-off</h2>\n'
                   '<div class="muted">Who prepared and who reviewed each job (<code>bo signoff</code>); if the frame is empty, open '
                   '<a href="signoffs.html">signoffs.html</a>.</div>\n'
                   '<iframe class="signoff" src="signoffs.html" title="Sign-off"></iframe>')


def plural(count: int, noun: str) -> str:
    """``1 job``, ``2 jobs``: a count with its noun."""
    if count == 1:
        return f"{count:,} {noun}"
    return f"{count:,} {noun[:-1]}ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else f"{count:,} {noun}s"


def page(title: str, body: str) -> str:
    """A self-contained page of the archive (inline CSS, no scripts)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------------------------
# Severity


def exception_counts(results: dict) -> dict[str, int] | None:
    """The job's recorded red/amber/green counts, or None when it recorded none (a count that is not
    a number reads as 0)."""
    exceptions = results.get("exceptions") if isinstance(results, dict) else None
    if not isinstance(exceptions, dict):
        return None
    return {level: int(value) if isinstance(value := exceptions.get(level) or 0, (int, float)) else 0 for level in _RAG}


def severity(job: dict) -> str:
    """``failed``, ``red``, ``amber``, ``green``, or ``none`` (ran, recorded no exceptions)."""
    if job.get("status") != "ok":
        return "failed"
    counts = exception_counts(job.get("results") or {})
    if counts is None:
        return "none"
    return next((level for level in ("red", "amber") if counts[level]), "green")


_ORDER = {"failed": 0, "red": 1, "amber": 2, "none": 3, "green": 4}


def worst_first(jobs: list[dict]) -> list[dict]:
    """Failed jobs, then by red count, amber count (most first), then schedule order."""
    def key(item):
        position, job = item
        counts = exception_counts(job.get("results") or {}) or {"red": 0, "amber": 0}
        return (_ORDER[severity(job)], -counts["red"], -counts["amber"], position)

    return [job for _position, job in sorted(enumerate(jobs), key=key)]


def rag_pills(counts: dict[str, int], levels: tuple[str, ...] = _RAG) -> str:
    return "".join(f'<span class="rag {level}" title="{counts[level]} {level}">{counts[level]:,}</span>' for level in levels)


def _checks_html(results: dict) -> str:
    checks = [c for c in results.get("exception_checks") or [] if isinstance(c, dict) and c.get("rag") in ("red", "amber")]
    if not checks:
        return ""
    items = [f'<li><span class="rag {escape(c["rag"])}">{escape("" if c.get("count") is None else str(c["count"]))}</span>{escape(str(c.get("check", "")))}'
             + (f' <span class="muted">— {escape(shorten(str(c.get("detail") or ""), 140))}</span>' if c.get("detail") else "") + "</li>"
             for c in checks[:MAX_CHECKS]]
    more = f'<li class="muted">{len(checks) - MAX_CHECKS} more in the report</li>' if len(checks) > MAX_CHECKS else ""
    return f'<ul class="checks">{"".join(items)}{more}</ul>'


def _value_class(value: str) -> str:
    """A figure's value kept on one line when it is a number or a short word; a sentence wraps."""
    return "v text" if len(value) > 24 and " " in value else "v"


def key_figures_html(results: dict, notebook: str = "", limit: int = MAX_FIGURES) -> str:
    """The job's key figures, labelled with units and the registry's decimals, in its order."""
    figures = shown_figures(notebook, results)[:limit]
    if not figures:
        return ""
    cells = "".join(f'<span>{escape(f.label)}</span><span class="{_value_class(f.value)}">{escape(f.value)}{" " + escape(f.unit) if f.unit else ""}</span>'
                    for f in figures)
    return f'<div class="figures">{cells}</div>'


def _control_title(notebook: str) -> str:
    control = CONTROLS.get(notebook)
    return control.title if control is not None else notebook


# --------------------------------------------------------------------------------------------
# The run's page


@dataclass(frozen=True)
class RunTotals:
    jobs: int
    failed: int
    red: int
    amber: int
    jobs_red: int

    @property
    def worst(self) -> str:
        return "failed" if self.failed else "red" if self.red else "amber" if self.amber else "green"


def run_totals(manifest: dict) -> RunTotals:
    """Jobs, failed jobs, and the red / amber exceptions of the jobs that ran to the end (a failed
    job's checks are incomplete: it counts as failed)."""
    jobs = manifest.get("jobs", [])
    counts = [exception_counts(job.get("results") or {}) or {"red": 0, "amber": 0, "green": 0} for job in jobs if job.get("status") == "ok"]
    return RunTotals(len(jobs), sum(job.get("status") != "ok" for job in jobs), sum(c["red"] for c in counts),
                     sum(c["amber"] for c in counts), sum(c["red"] > 0 for c in counts))


def describe_scope(manifest: dict) -> str:
    """``full run`` or what a partial run covered (older manifests: read from the command)."""
    scope = manifest.get("scope")
    if not isinstance(scope, dict):
        command = manifest.get("command") or []
        scope = {"funds": [command[i + 1] for i, a in enumerate(command[:-1]) if a == "--fund"] or "all",
                 "notebooks": [command[i + 1] for i, a in enumerate(command[:-1]) if a == "--notebook"] or "all"}
    if scope.get("funds") == "all" and scope.get("notebooks") == "all":
        return "full run"
    parts = []
    if scope.get("funds") != "all":
        parts.append(", ".join(scope["funds"]))
    if scope.get("notebooks") != "all":
        parts.append(", ".join(_control_title(n) for n in scope["notebooks"]))
    return "partial: " + "; ".join(parts)


def _job_row(job: dict) -> str:
    outputs = job.get("outputs", {})
    links = " · ".join(f'<a href="{escape(outputs[kind]["path"])}">{label}</a>'
                       for kind, label in (("html", "report"), ("ipynb", "notebook")) if outputs.get(kind))
    results = job.get("results") or {}
    level = severity(job)
    counts = exception_counts(results)
    if level == "failed":
        found = f'<span class="badge failed">failed</span><div class="error">{escape(job.get("error") or "")}</div>'
    elif counts is None:
        found = '<span class="muted">no exceptions recorded</span>'
    else:
        found = rag_pills(counts) + _checks_html(results)
    duration = job.get("duration_seconds")
    ran = ('<span class="badge failed">failed</span>' if job.get("status") != "ok" else '<span class="badge ran">ran</span>') + (
        "" if duration is None else f'<div class="muted">{duration:.1f} s</div>')
    return (
        f'<tr class="sev-{level}">'
        f"<td><strong>{escape(job.get('fund') or job.get('entity') or '')}</strong></td>"
        f"<td>{escape(_control_title(job['notebook']))}<div class=\"muted\">{links}</div></td>"
        f"<td>{found}</td>"
        f"<td>{key_figures_html(results, job['notebook'])}</td>"
        f"<td>{ran}</td>"
        "</tr>"
    )


def _replay_note(manifest: dict) -> str:
    """`` · replay of run <id>`` for a replay's page (``bo replay``: the manifest's ``replay_of``), else ``""``."""
    replayed = manifest.get("replay_of") or {}
    return f' · replay of run <code>{escape(str(replayed["run_id"]))}</code>' if replayed.get("run_id") else ""


def render_run_index(manifest: dict, previous_runs: list[tuple[str, str]] | None = None) -> str:
    """The run's index page, from the (not yet sealed) manifest. ``previous_runs``: (label, href)
    of earlier runs to link (the archive of runs links every run)."""
    totals = run_totals(manifest)
    title = f"Daily run {manifest['business_date']} — {manifest['run_id']}"
    rows = [_job_row(job) for job in worst_first(manifest.get("jobs", []))]
    links = ['<a href="../../index.html">Archive of runs</a>'] + [f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in previous_runs or []]
    headline = (f"{plural(totals.jobs, 'job')}: {totals.jobs - totals.failed} ran, {totals.failed} failed · "
                f"{plural(totals.red, 'red exception')} in {plural(totals.jobs_red, 'job')}, {totals.amber} amber")
    body = (
        f"<nav>{' '.join(links)}</nav>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<div class="meta">business date <code>{escape(manifest["business_date"])}</code> · {escape(describe_scope(manifest))} · run id '
        f'<code>{escape(manifest["run_id"])}</code>{_replay_note(manifest)} · code version <code>{escape(str(manifest.get("code_version")))}</code>'
        f' · started {escape(str(manifest.get("created")))} · manifest: <code>manifest.json</code> (check with '
        f"<code>bo verify</code>)</div>\n"
        f'<div class="summary">{escape(headline)}</div>\n{LEGEND}\n'
        '<table>\n<colgroup><col style="width:7%"><col style="width:15%"><col style="width:41%"><col style="width:29%"><col style="width:8%"></colgroup>\n'
        "<thead><tr><th>Fund</th><th>Control</th><th>Exceptions</th><th>Key figures</th><th>Notebook</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows) + "\n</tbody>\n</table>\n" + SIGNOFF_SECTION
    )
    return page(title, body)


def _earlier_runs(run_dir: Path, limit: int = 2) -> list[tuple[str, str]]:
    """Links from a run's page to the ``limit`` newest complete runs before it (the archive of runs
    lists them all, and marks each date's official run)."""
    report_root = Path(run_dir).parent.parent
    links = []
    for folder in run_folders(report_root):
        if folder.state != COMPLETE or (folder.run_dir.parent.name, folder.run_dir.name) >= (run_dir.parent.name, run_dir.name):
            continue
        label = f"previous run: {folder.run_dir.parent.name} {folder.run_dir.name}"
        links.append((label, f"../../{folder.run_dir.parent.name}/{folder.run_dir.name}/index.html"))
        if len(links) >= limit:
            break
    return links


def write_run_index(run_dir: Path, manifest: dict, name: str = "index.html") -> Path:
    """Write the run's index page (atomically)."""
    run_dir = Path(run_dir)
    return write_atomic(run_dir / name, render_run_index(manifest, _earlier_runs(run_dir)))


# --------------------------------------------------------------------------------------------
# The archive of runs


@dataclass
class ArchivedRun:
    run_dir: Path
    state: str
    manifest: dict | None = None
    error: str = ""
    signoff: RunSignoff | None = None

    @property
    def full(self) -> bool:
        return self.manifest is not None and describe_scope(self.manifest) == "full run"

    @property
    def approved(self) -> bool:
        return self.signoff is not None and self.signoff.approved

    adopted: bool = False

    @property
    def replay_of(self) -> str:
        return str((self.manifest or {}).get("replay_of", {}).get("run_id") or "")

    @property
    def business_date(self) -> str:
        return str((self.manifest or {}).get("business_date") or self.run_dir.parent.name)


def read_runs(report_root: Path, manifest_name: str = "manifest.json") -> list[ArchivedRun]:
    """Every run folder of the archive, newest first, with its manifest and sign-off state when
    sealed; the sign-offs counted are those the archive's ledger anchors (a line added to a log by
    hand approves nothing)."""
    ledger = read_ledger(ledger_path(report_root))
    runs = []
    for folder in run_folders(report_root):
        run = ArchivedRun(folder.run_dir, folder.state)
        if folder.state == COMPLETE:
            try:
                run.manifest = json.loads((folder.run_dir / manifest_name).read_text(encoding="utf-8"))
                run_id = str(run.manifest.get("run_id"))
                run.signoff = run_signoff(run.manifest, anchored_log(read_log(folder.run_dir), ledger, run_id))
                run.adopted = any(entry.get("adopted") for entry in run_entries(ledger, run_id, "run")[:1])
            except (OSError, ValueError) as exc:
                run.error = str(exc)
                run.manifest = None
        runs.append(run)
    return runs


def _rank(run: ArchivedRun) -> int:
    """Which run of a date is official: approved, then a complete full run, then any complete run."""
    return 2 if run.approved else 1 if run.full else 0


def official_runs(runs: list[ArchivedRun]) -> set[Path]:
    """Per business date (the manifest's), the latest approved run, else the latest complete full
    run, else the latest complete run (``runs`` newest first); replays are never official."""
    chosen: dict[str, ArchivedRun] = {}
    for run in runs:  # newest first
        if run.manifest is None or run.replay_of:
            continue
        date = run.business_date
        current = chosen.get(date)
        if current is None or _rank(run) > _rank(current):
            chosen[date] = run
    return {run.run_dir for run in chosen.values()}


def _signoff_cell(run: ArchivedRun) -> str:
    state = run.signoff
    if state is None:
        return ""
    css = "approved" if state.approved else "pending" if state.prepared else "awaiting"
    link = f"{run.run_dir.parent.name}/{run.run_dir.name}/signoffs.html"
    adopted = '<div class="muted">adopted into the ledger after sealing</div>' if run.adopted else ""
    return f'<a href="{escape(link)}"><span class="badge {css}">{escape(state.describe())}</span></a>{adopted}'


def _complete_row(run: ArchivedRun, official: bool) -> str:
    link = f"{run.run_dir.parent.name}/{run.run_dir.name}/index.html"
    manifest = run.manifest
    totals = run_totals(manifest)
    marker = ('<span class="badge official">official</span>' if official
              else f'<span class="muted">replay of {escape(run.replay_of)}</span>' if run.replay_of
              else '<span class="muted">superseded</span>' if run.full else "")
    failed = f'<span class="badge failed">{totals.failed} failed</span>' if totals.failed else "0 failed"
    return (
        f'<tr class="sev-{totals.worst}">'
        f"<td>{escape(str(manifest.get('business_date')))}</td>"
        f'<td><a href="{escape(link)}"><code>{escape(str(manifest.get("run_id")))}</code></a><div>{marker}</div></td>'
        f"<td>{escape(describe_scope(manifest))}</td>"
        f"<td>{totals.jobs} jobs, {failed}</td>"
        f"<td>{rag_pills({'red': totals.red, 'amber': totals.amber}, ('red', 'amber'))}"
        f'<div class="muted">red in {totals.jobs_red} of {totals.jobs} jobs</div></td>'
        f"<td>{_signoff_cell(run)}</td>"
        f"<td>{escape(str(manifest.get('created', '')))}<div class=\"muted\"><code>{escape(str(manifest.get('code_version', '')))}</code></div></td>"
        "</tr>"
    )


def _unsealed_row(run: ArchivedRun) -> str:
    """A run without a manifest: running, or incomplete with what its marker knows."""
    record = read_incomplete(run.run_dir) or {}
    if run.state == RUNNING:
        status = '<span class="badge running">running</span>'
    elif run.error:
        status = f'<span class="error">manifest unreadable: {escape(run.error)}</span>'
    else:
        finished, total = len(record.get("jobs_finished") or []), record.get("jobs_total")
        jobs = f" {finished} of {total} jobs finished" if total is not None else ""
        reason = f'<div class="error">{escape(str(record.get("reason") or "no manifest"))}</div>'
        status = f'<span class="badge failed">incomplete</span>{escape(jobs)}{reason}'
    return (
        f'<tr class="sev-failed"><td>{escape(run.run_dir.parent.name)}</td><td><code>{escape(run.run_dir.name)}</code></td>'
        f'<td colspan="3">{status}</td><td></td><td>{escape(str(record.get("started") or ""))}</td></tr>'
    )


def write_reports_index(report_root: Path, manifest_name: str = "manifest.json") -> Path:
    """Regenerate ``<reports>/index.html`` from every run folder present (newest first): a sealed
    run from its manifest, a run without one as running or incomplete; the official run of each
    date marked."""
    report_root = Path(report_root)
    runs = read_runs(report_root, manifest_name)
    official = official_runs(runs)
    rows = [_complete_row(run, run.run_dir in official) if run.manifest is not None else _unsealed_row(run) for run in runs]
    body = (
        "<h1>Report archive</h1>\n"
        f'<div class="meta">{plural(len(rows), "run")} under <code>{escape(str(report_root.resolve()))}</code>, newest first; '
        "each run folder holds its manifest (check with <code>bo verify</code>). The <strong>official</strong> run of a date is its "
        "latest approved run (every job reviewed with <code>bo signoff</code>), else its latest complete run of the whole schedule; "
        "a rerun of one fund or notebook is marked partial and does not replace it, a replay is never official.</div>\n"
        f"{ARCHIVE_LEGEND}\n"
        '<table>\n<colgroup><col style="width:9%"><col style="width:19%"><col style="width:15%"><col style="width:11%">'
        '<col style="width:13%"><col style="width:18%"><col style="width:15%"></colgroup>\n'
        "<thead><tr><th>Business date</th><th>Run</th><th>Scope</th><th>Jobs</th><th>Exceptions</th>"
        "<th>Sign-off</th><th>Started · code</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    )
    return write_atomic(report_root / "index.html", page("Report archive", body))
