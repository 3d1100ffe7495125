"""``bo replay``: execute a sealed run again from the inputs it recorded, into a new run marked as
its replay, on a scratch copy of the run's store (the book of record is never written).

Rules:

- **Nothing runs on inputs that are not the ones recorded.** Before any kernel starts, every file
  the run recorded is hashed again: its data files (manifest ``inputs``, under ``data_root``), its
  parameter files (``parameters.files``, under ``parameters.dir``) and the notebooks its jobs ran
  (``input_notebook``); a file missing or no longer the one hashed refuses the replay, naming it
  (``check_recorded_inputs``). So does a data file of the date delivered since (not recorded). Where
  the store's catalogue knows the recorded hash as an earlier version of that delivery, the
  refusal says which version and ingest it was. A code version other than the run's is a warning.
- **The same scope.** The replay plans the run's business date, funds and notebooks (``scope``),
  workers, parameters, notebooks and data root, with a new run id, into the run's report root, and
  records ``replay_of`` (run id, folder, the manifest's SHA-256) in its manifest.
- **A scratch store.** The run's store is copied (under a read-only connection) into a temporary
  folder the replay alone uses and deletes afterwards: the books roll and the recons record on the
  copy, which already holds the date, so a replay finds the books struck (its ``books`` section
  records no days struck) and the recon re-records the date as a rerun does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bo_lib.data.catalogue import Catalogue
from bo_lib.data.layout import input_files
from bo_lib.hashing import sha256_file
from bo_lib.pipeline.archive import MANIFEST, MANIFEST_CHECKSUM
from bo_lib.pipeline.jobs import RunPlan, plan_run
from bo_lib.store import SCRATCH_DIR_VARIABLE, copy_store
from bo_lib.version import code_version


@dataclass
class InputCheck:
    """What stops a replay (``problems``: one line per file) and what it only notes (``warnings``)."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _changed(path: Path, recorded: str) -> str | None:
    """Why ``path`` is not the file hashed as ``recorded``: missing, or its SHA-256 now; None when it is."""
    if not path.is_file():
        return "missing"
    now = sha256_file(path)
    return None if now == recorded else f"SHA-256 {now[:12]}… now, {recorded[:12]}… recorded"


def earlier_version(store: Path, path: str, sha256: str) -> str:
    """Where the store's catalogue knows a delivery's recorded hash (``delivery_history``): ``; the
    recorded file is version 1 (delivery 12, ingested 2026-11-06 18:00:01, superseded)``, else ``""``."""
    if not Path(store).is_file():
        return ""
    catalogue = Catalogue(store)
    with catalogue.session():
        history = catalogue.delivery_history(path)
    for row in history.itertuples():
        if row.sha256 == sha256:
            return (f"; the recorded file is version {row.version} (delivery {row.delivery_id}, ingested "
                    f"{row.ingested_at:%Y-%m-%d %H:%M:%S}, {row.status}) in the store's catalogue")
    return ""


def _data_problems(manifest: dict) -> list[str]:
    data_root, store = Path(manifest["data_root"]), Path(manifest.get("store") or "")
    problems = []
    for entry in manifest.get("inputs", []):
        why = _changed(data_root / entry["path"], entry["sha256"])
        if why:
            version = f" (version {entry['version']})" if entry.get("version") is not None else ""
            problems.append(f"data file {entry['path']}{version}: {why}{earlier_version(store, entry['path'], entry['sha256'])}")
    recorded = {entry["path"] for entry in manifest.get("inputs", [])}
    if data_root.is_dir():
        delivered = input_files(data_root, dt.date.fromisoformat(manifest["business_date"]))
        problems += [f"data file {path}: delivered since the run (not recorded)" for path in delivered["path"] if path not in recorded]
    return problems


def _parameter_problems(manifest: dict) -> list[str]:
    folder = Path(manifest["parameters"]["dir"])
    return [f"parameter file {folder / entry['path']}: {why}" for entry in manifest["parameters"]["files"]
            if (why := _changed(folder / entry["path"], entry["sha256"]))]


def _notebook_problems(manifest: dict) -> list[str]:
    recorded = {job["input_notebook"]["path"]: job["input_notebook"]["sha256"] for job in manifest.get("jobs", [])}
    return [f"notebook {path}: {why}" for path, sha256 in sorted(recorded.items()) if (why := _changed(Path(path), sha256))]


def check_recorded_inputs(manifest: dict, run_dir: Path) -> InputCheck:
    """Every file the run recorded, hashed again (see the module's rules); the run's own manifest
    must match its checksum, and its store must exist (the books the run started from)."""
    check = InputCheck()
    recorded = (Path(run_dir) / MANIFEST_CHECKSUM).read_text(encoding="utf-8").split() if (Path(run_dir) / MANIFEST_CHECKSUM).is_file() else []
    if not recorded or recorded[0] != sha256_file(Path(run_dir) / MANIFEST):
        check.problems.append(f"{MANIFEST} of {run_dir} does not match {MANIFEST_CHECKSUM} (run bo verify)")
        return check
    if not manifest.get("store") or not Path(manifest["store"]).is_file():
        check.problems.append(f"the run's store {manifest.get('store') or '(not recorded)'} is gone (the books the run started from)")
    check.problems += _data_problems(manifest) + _parameter_problems(manifest) + _notebook_problems(manifest)
    if manifest.get("code_version") != (now := code_version()):
        check.warnings.append(f"code version {now} now, {manifest.get('code_version')} recorded: the replay runs today's code")
    return check


def replay_of(manifest: dict, run_dir: Path) -> dict:
    """What the replay's manifest records of the run it replays."""
    return {"run_id": manifest["run_id"], "run_dir": str(Path(run_dir).resolve()), "manifest_sha256": sha256_file(Path(run_dir) / MANIFEST)}


def plan_replay(manifest: dict, run_dir: Path, *, run_id: str, store: Path) -> RunPlan:
    """The run's plan again (its scope, workers, parameters, notebooks and data root) with a new run
    id, into the report root holding ``run_dir``, on ``store``; its jobs must be the run's."""
    scope = manifest.get("scope") or {}
    notebooks_dirs = {str(Path(job["input_notebook"]["path"]).parent) for job in manifest["jobs"]}
    if len(notebooks_dirs) != 1:
        raise ValueError(f"{run_dir}: its jobs ran notebooks from {len(notebooks_dirs)} folders; a replay plans from one")
    plan = plan_run(manifest["parameters"]["dir"], run_id=run_id, business_date=manifest["business_date"],
                    funds=None if scope.get("funds", "all") == "all" else scope["funds"],
                    notebooks=None if scope.get("notebooks", "all") == "all" else scope["notebooks"],
                    data_root=manifest["data_root"], report_root=Path(run_dir).resolve().parent.parent,
                    notebooks_dir=notebooks_dirs.pop(), workers=manifest.get("workers"), store=store)
    planned, recorded = [job.job_id for job in plan.jobs], [job["job_id"] for job in manifest["jobs"]]
    if planned != recorded:
        raise ValueError(f"the schedule now plans {', '.join(planned)}; the run ran {', '.join(recorded)}")
    return plan


@contextlib.contextmanager
def scratch_store(production: Path | str) -> Iterator[Path]:
    """A copy of the run's store for the replay alone (under ``$BO_SCRATCH_DIR`` or the temporary
    folder), taken under a read-only connection and deleted afterwards, whatever happens."""
    base = Path(os.environ.get(SCRATCH_DIR_VARIABLE) or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bo-replay-", dir=base))
    try:
        copy = folder / Path(production).name
        copy_store(production, copy)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)
