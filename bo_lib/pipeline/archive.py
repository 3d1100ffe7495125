"""The run archive: run ids and folders, the manifest, read-only sealing and ``bo verify``.

A run lives in ``<reports>/<business date>/<run id>/`` and is never overwritten: a rerun gets a new
run id. ``manifest.json`` records what an auditor needs to trust every figure (parameters and
their hashes, input files and their hashes, package and code versions, timings, each job's status,
outputs with hashes, and recorded results); ``manifest.sha256`` covers the manifest itself.

The run's ``index.html`` is written *before* the manifest and hashed in its top-level ``outputs``
(as are ``run.log``, the kernels' stderr, and each shared asset under ``assets/``), so every file of a sealed run is covered: verify knows
``manifest.json``, ``manifest.sha256`` and every path listed in ``outputs`` and in the jobs'
``outputs``; anything else is EXTRA. Once sealed, the run is recorded in the archive's ledger
(``record_in_ledger``); ``bo verify`` (``bo_lib.pipeline.verify``) checks it against both.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import secrets
import stat
import sys
from pathlib import Path

from bo_lib.hashing import sha256_file
from bo_lib.pipeline.files import write_atomic, writing

MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest.sha256"
SIGNOFF_PAGE = "signoffs.html"  # beside the sealed files; its hash is anchored in the ledger
RUN_INDEX = "index.html"
RUN_LOG = "run.log"
MANIFEST_VERSION = 3  # 2: inputs carry their delivery version; the books section (states the run started from)
                      # 3: sealed with the archive's ledger (``ledger``): never adopted into one later

PACKAGES = ("pandas", "numpy", "papermill", "nbconvert", "nbclient", "plotly", "itables", "pydantic", "duckdb", "pyarrow", "bo-workbench")


def new_run_id(now: dt.datetime | None = None) -> str:
    """UTC timestamp plus a short random suffix, e.g. ``20261121T081500Z-3f9a``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def create_run_folder(report_root: Path, business_date: dt.date, run_id: str) -> Path:
    """Make ``<reports>/<date>/<run id>/``; an existing folder is never reused."""
    run_dir = Path(report_root) / business_date.isoformat() / run_id
    with writing(run_dir):
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        run_dir.mkdir(exist_ok=False)
    return run_dir


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


#: environment variables a control reads (the 13F's schema folder): recorded, and set again by a replay
SETTINGS = ("BO_FORM13F_XSD_DIR", "BO_REFERENCE_DIR")


def environment() -> dict:
    """Interpreter, packages and host behind a run, and the settings its controls read (``SETTINGS``)."""
    return {
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(), "executable": sys.executable},
        "packages": package_versions(),
        "host": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "hostname": platform.node()},
        "settings": {name: os.environ.get(name) for name in SETTINGS},
    }


def file_entry(path: Path, relative_to: Path) -> dict:
    return {"path": path.relative_to(relative_to).as_posix(), "size_bytes": path.stat().st_size, "sha256": sha256_file(path)}


def write_manifest(run_dir: Path, manifest: dict) -> Path:
    """Write ``manifest.json``, then ``manifest.sha256`` (``sha256sum`` format), each atomically: a
    failed write leaves no truncated manifest (and no checksum for a manifest not written)."""
    path = write_atomic(Path(run_dir) / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    write_atomic(Path(run_dir) / MANIFEST_CHECKSUM, f"{sha256_file(path)}  {MANIFEST}\n")
    return path


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no {MANIFEST} in {Path(run_dir).resolve()} (is this a run folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def seal_read_only(run_dir: Path) -> int:
    """chmod every file of the run 0o444; folders stay writable (tmp cleanup, no new runs here)."""
    count = 0
    for folder, _dirs, files in os.walk(run_dir):
        for name in files:
            with writing(os.path.join(folder, name)):
                os.chmod(os.path.join(folder, name), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            count += 1
    return count


def listed_outputs(manifest: dict) -> list[dict]:
    """Every output file the manifest lists: the run's own (index, log) and each job's."""
    entries = [entry for entry in manifest.get("outputs", {}).values() if entry]
    for job in manifest.get("jobs", []):
        entries += [entry for entry in job.get("outputs", {}).values() if entry]
    return entries


def sealed_files(manifest: dict) -> dict[str, str]:
    """Every file a run sealed or read, key -> SHA-256: outputs by their path in the run folder,
    data inputs as ``input:<path under the data root>``, parameter files as
    ``parameters:<path under the parameters folder>``, input notebooks as ``notebook:<path>``. What
    the ledger records when the run is sealed, and what ``bo verify`` checks."""
    files = {entry["path"]: entry["sha256"] for entry in listed_outputs(manifest)}
    files.update({f"input:{entry['path']}": entry["sha256"] for entry in manifest.get("inputs", [])})
    files.update({f"parameters:{entry['path']}": entry["sha256"] for entry in manifest.get("parameters", {}).get("files", [])})
    for job in manifest.get("jobs", []):
        notebook = job.get("input_notebook") or {}
        if notebook.get("path"):
            files[f"notebook:{notebook['path']}"] = notebook["sha256"]
    return files


def record_in_ledger(run_dir: Path, manifest: dict, *, adopted: bool = False) -> dict:
    """Append the sealed run to the archive's ledger (``<reports>/ledger.jsonl``): its manifest's
    hash, every sealed file's (``sealed_files``) and its sign-off page's; ``adopted``: a run sealed
    before the ledger existed, entered later (``bo ledger --adopt``).

    Rule: a run is entered once. A second entry for a run id is refused (it would re-anchor an
    altered run), and ``bo verify`` names one if it is there."""
    from bo_lib.pipeline.ledger import locked_ledger, run_entries

    run_dir = Path(run_dir)
    entry = {"kind": "run", "run_id": manifest["run_id"], "business_date": manifest["business_date"],
             "run_path": f"{run_dir.parent.name}/{run_dir.name}", "manifest_sha256": sha256_file(run_dir / MANIFEST),
             "sealed": sealed_files(manifest)}
    page = run_dir / SIGNOFF_PAGE
    if page.is_file():
        entry["signoff_page_sha256"] = sha256_file(page)
    if manifest.get("replay_of"):
        entry["replay_of"] = manifest["replay_of"]
    if adopted:
        entry["adopted"] = True
    with locked_ledger(run_dir.parent.parent) as ledger:
        earlier = run_entries(ledger.entries(), manifest["run_id"], "run")
        if earlier:
            raise ValueError(f"run {manifest['run_id']} is in the ledger already (entry {earlier[0].get('seq')}): a run is entered once")
        return ledger.append(entry)
