"""Index pages of the archive: one per run (every job with status and key figures) and one for the
report root (every run found, regenerated from the manifests on each run; a run without a
manifest shows as running or incomplete).

Pages are self-contained (inline CSS, no scripts, no network) so they open from a file share.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from bo_lib.pipeline.files import write_atomic
from bo_lib.pipeline.journal import COMPLETE, RUNNING, read_incomplete, run_folders

MAX_FIGURES = 6
_RAG = ("red", "amber", "green")

_CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2937; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #6b7280; font-size: 12px; margin-bottom: 12px; }
.summary { margin: 8px 0 16px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f9fafb; font-size: 12px; text-transform: uppercase; color: #6b7280; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.ok { background: #dcfce7; color: #166534; }
.failed { background: #fee2e2; color: #991b1b; }
.running { background: #e0e7ff; color: #3730a3; }
.rag { display: inline-block; min-width: 18px; text-align: center; border-radius: 3px; padding: 0 4px; margin-right: 2px; font-weight: 600; }
.red { background: #fecaca; color: #7f1d1d; } .amber { background: #fde68a; color: #78350f; } .green { background: #bbf7d0; color: #14532d; }
.error { color: #991b1b; font-size: 12px; margin-top: 4px; }
.figures { font-size: 12px; } .figures span { margin-right: 10px; white-space: nowrap; }
code { font-size: 12px; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _format_value(value) -> str:
    if isinstance(value, float):
        # as many decimals as the figure carries (a NAV per share has 4), at least 2, at most 6
        decimals = len(repr(value).split(".")[1]) if "." in repr(value) and "e" not in repr(value) else 2
        return f"{value:,.{min(max(decimals, 2), 6)}f}" if abs(value) >= 1e-6 or value == 0 else f"{value:.2g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def key_figures_html(results: dict) -> str:
    """The ``exceptions`` dict as red/amber/green counts, then up to six scalar results."""
    parts: list[str] = []
    exceptions = results.get("exceptions")
    if isinstance(exceptions, dict):
        rag = "".join(
            f'<span class="rag {level}" title="{level}">{escape(_format_value(exceptions.get(level, 0)))}</span>'
            for level in _RAG
        )
        parts.append(f"<span>exceptions {rag}</span>")
    scalars = [
        (name, value)
        for name, value in results.items()
        if name != "exceptions" and (value is None or isinstance(value, (str, int, float, bool)))
    ]
    for name, value in scalars[:MAX_FIGURES]:
        parts.append(f"<span>{escape(str(name))}: <strong>{escape(_format_value(value))}</strong></span>")
    return f'<div class="figures">{"".join(parts)}</div>' if parts else ""


def _badge(status: str) -> str:
    css = "ok" if status == "ok" else "failed"
    return f'<span class="badge {css}">{escape(status)}</span>'


def render_run_index(manifest: dict) -> str:
    """The run's index page, from the (not yet sealed) manifest."""
    summary = manifest.get("summary", {})
    title = f"Daily run {manifest['business_date']} — {manifest['run_id']}"
    rows = []
    for job in manifest.get("jobs", []):
        outputs = job.get("outputs", {})
        links = " · ".join(
            f'<a href="{escape(outputs[kind]["path"])}">{label}</a>'
            for kind, label in (("html", "report"), ("ipynb", "notebook"))
            if outputs.get(kind)
        )
        error = f'<div class="error">{escape(job["error"])}</div>' if job.get("error") else ""
        duration = job.get("duration_seconds")
        rows.append(
            "<tr>"
            f"<td>{escape(job.get('fund') or job.get('entity') or '')}</td>"
            f"<td>{escape(job['notebook'])}</td>"
            f"<td>{_badge(job['status'])}{error}</td>"
            f"<td>{'' if duration is None else f'{duration:.1f}s'}</td>"
            f"<td>{key_figures_html(job.get('results') or {})}</td>"
            f"<td>{links}</td>"
            "</tr>"
        )
    body = (
        f"<h1>{escape(title)}</h1>\n"
        f'<div class="meta">business date <code>{escape(manifest["business_date"])}</code> · run id '
        f'<code>{escape(manifest["run_id"])}</code> · code version <code>{escape(str(manifest.get("code_version")))}</code>'
        f' · started {escape(str(manifest.get("created")))} · manifest: <code>manifest.json</code> (check with '
        f"<code>bo verify</code>)</div>\n"
        f'<div class="summary">{summary.get("jobs", len(rows))} jobs: {summary.get("ok", 0)} ok, '
        f'{summary.get("failed", 0)} failed</div>\n'
        "<table>\n<thead><tr><th>Fund</th><th>Notebook</th><th>Status</th><th>Duration</th>"
        "<th>Key figures</th><th>Links</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    )
    return _page(title, body)


def write_run_index(run_dir: Path, manifest: dict, name: str = "index.html") -> Path:
    """Write the run's index page (atomically)."""
    return write_atomic(Path(run_dir) / name, render_run_index(manifest))


def _complete_row(run_dir: Path, manifest_name: str) -> str:
    link = f"{run_dir.parent.name}/{run_dir.name}/index.html"
    try:
        manifest = json.loads((run_dir / manifest_name).read_text(encoding="utf-8"))
        summary = manifest.get("summary", {})
        return (
            f"<td>{escape(str(manifest.get('business_date')))}</td>"
            f'<td><a href="{escape(link)}"><code>{escape(str(manifest.get("run_id")))}</code></a></td>'
            f"<td>{summary.get('ok', 0)}</td>"
            f"<td>{_badge('failed') + ' ' + str(summary['failed']) if summary.get('failed') else '0'}</td>"
            f"<td>{escape(str(manifest.get('created', '')))}</td>"
            f"<td><code>{escape(str(manifest.get('code_version', '')))}</code></td>"
        )
    except (OSError, ValueError) as exc:
        return (
            f"<td>{escape(run_dir.parent.name)}</td><td><code>{escape(run_dir.name)}</code></td>"
            f'<td colspan="4" class="error">manifest unreadable: {escape(str(exc))}</td>'
        )


def _unsealed_row(run_dir: Path, state: str) -> str:
    """A run without a manifest: running, or incomplete with what its marker knows."""
    record = read_incomplete(run_dir) or {}
    if state == RUNNING:
        status = '<span class="badge running">running</span>'
    else:
        finished, total = len(record.get("jobs_finished") or []), record.get("jobs_total")
        jobs = f" {finished} of {total} jobs finished" if total is not None else ""
        reason = f'<div class="error">{escape(str(record.get("reason") or "no manifest"))}</div>'
        status = f"{_badge('incomplete')}{escape(jobs)}{reason}"
    return (
        f"<td>{escape(run_dir.parent.name)}</td><td><code>{escape(run_dir.name)}</code></td>"
        f'<td colspan="2">{status}</td><td>{escape(str(record.get("started") or ""))}</td><td></td>'
    )


def write_reports_index(report_root: Path, manifest_name: str = "manifest.json") -> Path:
    """Regenerate ``<reports>/index.html`` from every run folder present (newest first): a sealed
    run from its manifest, a run without one as running or incomplete."""
    report_root = Path(report_root)
    rows = []
    for folder in run_folders(report_root):
        cells = _complete_row(folder.run_dir, manifest_name) if folder.state == COMPLETE else _unsealed_row(folder.run_dir, folder.state)
        rows.append(f"<tr>{cells}</tr>")
    body = (
        "<h1>Report archive</h1>\n"
        f'<div class="meta">{len(rows)} runs under <code>{escape(str(report_root.resolve()))}</code>; '
        "each run folder holds its manifest (check with <code>bo verify</code>).</div>\n"
        "<table>\n<thead><tr><th>Business date</th><th>Run id</th><th>Jobs ok</th><th>Jobs failed</th>"
        "<th>Started</th><th>Code version</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    )
    return write_atomic(report_root / "index.html", _page("Report archive", body))
