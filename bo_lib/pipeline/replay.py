"""``bo replay``: execute a sealed run again from the inputs it recorded, into a new run marked as
its replay, on a scratch copy of the run's store (the book of record is never written).

Rules:

- **Nothing runs on inputs that are not the ones recorded.** Before any kernel starts, every file
  the run recorded is hashed again: its data files (manifest ``inputs``, under ``data_root``), its
  parameter files (``parameters.files``, under ``parameters.dir``) and the notebooks its jobs ran
  (``input_notebook``), by ``bo verify``'s rule and against the archive's ledger; a file missing or
  no longer the one hashed refuses the replay, naming it (``check_recorded_inputs``), and so does a
  manifest that is not the one sealed or a data file of the date delivered since (not recorded).
  Where the book of record knows the recorded hash as an earlier version of that delivery, the
  refusal says which version and ingest it was. A code version other than the run's is a warning.
- **The same scope.** The replay plans the run's business date, funds and notebooks (``scope``),
  workers, parameters, notebooks and data root, with a new run id, into the run's report root, and
  records ``replay_of`` (run id, folder, the manifest's SHA-256) in its manifest.
- **A scratch store.** The run's store is copied (under a read-only connection) into a temporary
  folder the replay alone uses and deletes afterwards: the books roll and the recons record on the
  copy, never on the book of record.
- **Computed again, not read back.** Before the replay's plan runs, the copy forgets what was
  computed from the run's business date on (``forget_from_date``): the closing states of every fund
  the run rolls, and a lock covering them (``books.roll.forget_books_from``: the copy alone is
  unlocked), and what the recons of every fund the run reconciles recorded and left open
  (``recon.daily.forget_recon_from``). So the replay strikes the date again from the previous
  day's state (its manifest's ``books`` lists the date among the days struck) and reconciles it
  again carrying from the day before. Kept: everything before the date, the deliveries as ingested,
  the restatements recorded and the analysts' actions (notes, owners, manual matches), which are
  no computation of a date. "Identical" then says: today's code, on the recorded inputs and the
  books as they closed the day before, computes every figure, table and state digest the run
  recorded.
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

from bo_lib.books.roll import forget_books_from
from bo_lib.books.periods import relock_as_of
from bo_lib.data.layout import input_files
from bo_lib.hashing import sha256_file
from bo_lib.pipeline.archive import MANIFEST, SETTINGS
from bo_lib.pipeline.jobs import RunPlan, plan_run
from bo_lib.pipeline.prepare import recording_jobs, rolled_funds
from bo_lib.pipeline.verify import ANCHOR_PROBLEMS, verify_run
from bo_lib.recon.daily import forget_recon_from
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


def _delivered_since(manifest: dict) -> list[str]:
    """Data files of the run's date delivered after it (present now, not recorded)."""
    data_root = Path(manifest["data_root"])
    recorded = {entry["path"] for entry in manifest.get("inputs", [])}
    if not data_root.is_dir():
        return []
    delivered = input_files(data_root, dt.date.fromisoformat(manifest["business_date"]))
    return [f"data file {path}: delivered since the run (not recorded)" for path in delivered["path"] if path not in recorded]


def check_recorded_inputs(manifest: dict, run_dir: Path) -> InputCheck:
    """Every file the run recorded, hashed again by ``bo verify``'s rule (``verify_run``: against
    the ledger's record, the delivery version named where the book of record keeps it); the run's
    manifest must be the one sealed, and its store must exist (the books the run started from)."""
    check = InputCheck()
    verification = verify_run(run_dir)
    anchor = [problem for problem in verification.problems if problem.startswith(ANCHOR_PROBLEMS)]
    if anchor:
        check.problems += [f"{problem} (run bo verify)" for problem in anchor]
        return check
    if not manifest.get("store") or not Path(manifest["store"]).is_file():
        check.problems.append(f"the run's store {manifest.get('store') or '(not recorded)'} is gone (the books the run started from)")
    check.problems += [problem.line for problem in verification.files if problem.kind] + _delivered_since(manifest)
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


#: how the folder of a replay's scratch copy is named (``scratch_store``); ``forget_from_date`` writes nowhere else
SCRATCH_PREFIX = "bo-replay-"


@contextlib.contextmanager
def scratch_store(production: Path | str) -> Iterator[Path]:
    """A copy of the run's store for the replay alone (under ``$BO_SCRATCH_DIR`` or the temporary
    folder), taken under a read-only connection and deleted afterwards, whatever happens."""
    base = Path(os.environ.get(SCRATCH_DIR_VARIABLE) or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=base))
    try:
        copy = folder / Path(production).name
        copy_store(production, copy)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: the controls that record their day whose records ``forget_from_date`` knows how to forget
FORGETTABLE_RECORDS = {"reconciliation": forget_recon_from}


def forget_from_date(plan: RunPlan) -> dict[str, int]:
    """On the replay's scratch copy (``plan.store``, from ``scratch_store``; never the book of
    record): forget what was computed from the plan's business date on, so the replay computes it
    again (the module's rule): the books of ``rolled_funds`` and the records of each recording job's
    control (``FORGETTABLE_RECORDS``; a control recording what the replay cannot forget refuses
    it); a store not in a folder ``scratch_store`` made is refused. Returns the closing states
    forgotten per fund."""
    if not Path(plan.store).parent.name.startswith(SCRATCH_PREFIX):
        raise ValueError(f"{plan.store} is no replay's scratch copy: a replay forgets nothing anywhere else")
    unknown = sorted({job.notebook for job in recording_jobs(plan)} - FORGETTABLE_RECORDS.keys())
    if unknown:
        raise ValueError(f"{', '.join(unknown)} record(s) its day in a way a replay cannot forget: not replayed")
    forgotten = forget_books_from(plan.store, rolled_funds(plan), plan.business_date)
    for job in recording_jobs(plan):
        FORGETTABLE_RECORDS[job.notebook](plan.store, job.fund, plan.business_date)
    return forgotten


def relock_as_run(plan: RunPlan, manifest: dict) -> None:
    """After the replay's roll struck the date again on its scratch copy: each rolled fund locked as
    it was when the replayed run ran (its manifest's ``created``), so a run made before a close
    replays unlocked and one made after it replays locked."""
    created = dt.datetime.fromisoformat(str(manifest["created"]).replace("Z", "+00:00")).astimezone(dt.timezone.utc).replace(tzinfo=None)
    relock_as_of(plan.store, rolled_funds(plan), created)


@contextlib.contextmanager
def recorded_settings(manifest: dict, echo=None) -> Iterator[list[str]]:
    """The settings the run's controls read (``archive.SETTINGS``: the 13F's schema folder) as the
    run had them, for the replay's duration; yields a line per setting that differs from now (a run
    recorded before settings were: nothing changed)."""
    recorded = manifest.get("settings")
    if not isinstance(recorded, dict):
        yield []
        return
    before = {name: os.environ.get(name) for name in SETTINGS}
    changed = [f"{name} set as the run had it ({recorded.get(name) or 'unset'}; now {before[name] or 'unset'})"
               for name in SETTINGS if recorded.get(name) != before[name]]
    try:
        for name in SETTINGS:
            if recorded.get(name) is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = recorded[name]
        yield changed
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
