"""Planning the daily run: which (notebook, fund) jobs to execute, with which parameters.

Everything here happens before any kernel starts: the schedule, the management company and the fund
files are loaded and validated, the business date is resolved against the data root, every job's
parameters are checked against its notebook's declaration, and every notebook file must exist.
Any problem raises :class:`~bo_lib.parameters.ParameterError` (``FileNotFoundError`` for a
missing notebook, :class:`OptionError` for a date, fund or notebook selection that does not fit the
data or the parameters), so a bad configuration never produces a half-run archive.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from bo_lib.controls import check_notebook_parameters, load_schedule
from bo_lib.data.layout import business_dates, inbound_dir, latest_business_date
from bo_lib.parameters import FundParameters, ManagementCompany, ParameterError, Schedule, load_company, load_funds


class OptionError(ValueError):
    """A selection of ``bo run`` that does not fit the data or the parameters; the message starts
    with the option the user typed (``--date: ...``), as ``bo: error:`` prints it."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")


def _business_date(data_root: Path, business_date: str | dt.date | None) -> dt.date:
    """The run's date: the latest delivery when none is given; a given one must parse and have its
    inbound folder (else :class:`OptionError` naming ``--date``, with the first and last delivery)."""
    if business_date in (None, ""):
        return latest_business_date(data_root)
    if isinstance(business_date, str):
        try:
            business_date = dt.date.fromisoformat(business_date)
        except ValueError:
            raise OptionError("--date", f"{business_date!r} is not a date YYYY-MM-DD") from None
    if not inbound_dir(data_root, business_date).is_dir():
        present = business_dates(data_root)
        have = f"deliveries from {present[0]} to {present[-1]}" if present else "no deliveries at all"
        raise OptionError("--date", f"no inbound data for {business_date} under {data_root} ({have})")
    return business_date


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


@dataclass(frozen=True)
class Job:
    """One notebook executed for one fund (or once for the management company)."""

    notebook: str
    scope: str  # "fund" | "company"
    entity: str  # fund code, or the company code for company-scoped notebooks; the archive folder
    parameters: dict
    input_notebook: Path

    @property
    def fund(self) -> str | None:
        return self.entity if self.scope == "fund" else None

    @property
    def job_id(self) -> str:
        return f"{self.entity}/{self.notebook}"

    @property
    def output_notebook(self) -> str:
        """Path of the executed notebook, relative to the run folder."""
        return f"{self.entity}/{self.notebook}.ipynb"

    @property
    def output_html(self) -> str:
        return f"{self.entity}/{self.notebook}.html"

    @property
    def output_files(self) -> str:
        """Folder (relative to the run folder) for files the notebook writes into the archive."""
        return f"{self.entity}/{self.notebook}_files"


@dataclass
class RunPlan:
    """A validated daily run, ready to execute."""

    run_id: str
    business_date: dt.date
    parameters_dir: Path
    data_root: Path
    report_root: Path
    notebooks_dir: Path
    workers: int
    job_timeout_seconds: int
    schedule: Schedule
    company: ManagementCompany
    funds: dict[str, FundParameters]
    store: Path = Path("store/workbench.duckdb")  # the workbench database every job of the run reads
    jobs: list[Job] = field(default_factory=list)
    #: what the run covers: ``{"funds": "all" | [codes], "notebooks": "all" | [names]}`` (a rerun of one job is not a full run)
    scope: dict = field(default_factory=lambda: {"funds": "all", "notebooks": "all"})

    @property
    def parameter_files(self) -> list[Path]:
        """The parameter files this run depends on (hashed into the manifest)."""
        files = [self.parameters_dir / "schedule.yaml", self.parameters_dir / "company.yaml"]
        files += [self.parameters_dir / "funds" / f"{code}.yaml" for code in sorted(self.funds)]
        return files


def _resolve(path: str | os.PathLike, base: Path) -> Path:
    path = Path(path)
    return (path if path.is_absolute() else base / path).resolve()


def plan_run(
    parameters_dir: str | os.PathLike = "parameters",
    *,
    run_id: str,
    business_date: str | dt.date | None = None,
    funds: list[str] | None = None,
    notebooks: list[str] | None = None,
    data_root: str | os.PathLike | None = None,
    report_root: str | os.PathLike | None = None,
    notebooks_dir: str | os.PathLike = "notebooks",
    workers: int | None = None,
    base_dir: Path | None = None,
    store: str | os.PathLike | None = None,
) -> RunPlan:
    """Load and validate everything, and list the jobs of the run.

    Relative paths (parameters dir, notebooks dir, and the schedule's data/report roots) are
    resolved against ``base_dir`` (default: the current directory). ``funds`` restricts the run to
    those fund codes (company-scoped notebooks then run only if the company code is named too);
    ``notebooks`` restricts it to those scheduled notebooks.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    parameters_dir = _resolve(parameters_dir, base)
    if not parameters_dir.is_dir():
        raise ParameterError(parameters_dir, [("(directory)", "parameters directory not found")])
    schedule_path = parameters_dir / "schedule.yaml"
    schedule = load_schedule(schedule_path)
    company = load_company(parameters_dir)
    all_funds = load_funds(parameters_dir)
    if not all_funds:
        raise ParameterError(parameters_dir / "funds", [("(directory)", "no fund files (funds/<FUND>.yaml)")])

    data_root_path = _resolve(data_root if data_root is not None else schedule.data_root, base)
    report_root_path = _resolve(report_root if report_root is not None else schedule.report_root, base)
    notebooks_path = _resolve(notebooks_dir, base)
    resolved_date = _business_date(data_root_path, business_date)
    # the embedded database: --store, else the schedule's store relative to the data root
    store_path = _resolve(store, base) if store is not None else (
        Path(schedule.store) if Path(schedule.store).is_absolute() else data_root_path / schedule.store)

    scheduled_notebooks = [j.notebook for j in schedule.jobs]
    unknown = [n for n in (notebooks or []) if n not in scheduled_notebooks]
    if unknown:
        raise OptionError("--notebook", f"unknown notebook{'s' if len(unknown) > 1 else ''} {_quoted(unknown)} "
                                        f"(scheduled in {schedule_path}: {', '.join(scheduled_notebooks)})")
    known_entities = set(all_funds) | {company.code}
    unknown = [f for f in (funds or []) if f not in known_entities]
    if unknown:
        raise OptionError("--fund", f"unknown fund{'s' if len(unknown) > 1 else ''} {_quoted(unknown)} "
                                    f"(known: {', '.join(sorted(all_funds))}; {company.code} for the company's notebooks)")

    common = {
        "business_date": resolved_date.isoformat(),
        "data_root": str(data_root_path),
        "parameters_dir": str(parameters_dir),
        "run_id": run_id,
        "store": str(store_path),
    }
    jobs: list[Job] = []
    for position, scheduled in enumerate(schedule.jobs):
        if notebooks and scheduled.notebook not in notebooks:
            continue
        input_notebook = notebooks_path / f"{scheduled.notebook}.ipynb"
        if not input_notebook.is_file():
            raise FileNotFoundError(f"notebook {scheduled.notebook!r} scheduled in {schedule_path} not found: {input_notebook}")
        if scheduled.scope == "company":
            entities = [company.code]
        elif scheduled.funds == "all":
            entities = sorted(all_funds)
        else:
            missing = [f for f in scheduled.funds if f not in all_funds]
            if missing:
                raise ParameterError(schedule_path, [(f"jobs.{position}.funds", f"no fund file for {missing}")])
            entities = list(scheduled.funds)
        if funds:
            entities = [e for e in entities if e in funds]
        for entity in entities:
            parameters = dict(common)
            if scheduled.scope == "fund":
                parameters["fund"] = entity
            parameters["output_dir"] = str(report_root_path / resolved_date.isoformat() / run_id / f"{entity}/{scheduled.notebook}_files")
            check_notebook_parameters(scheduled.notebook, parameters)
            jobs.append(Job(scheduled.notebook, scheduled.scope, entity, parameters, input_notebook))
    if not jobs:
        raise ParameterError(schedule_path, [("jobs", "the selection (--fund/--notebook) leaves no job to run")])

    return RunPlan(
        run_id=run_id,
        business_date=resolved_date,
        parameters_dir=parameters_dir,
        data_root=data_root_path,
        report_root=report_root_path,
        notebooks_dir=notebooks_path,
        workers=max(1, workers or schedule.workers or os.cpu_count() or 1),
        job_timeout_seconds=schedule.job_timeout_seconds,
        schedule=schedule,
        company=company,
        funds=all_funds,
        store=store_path,
        jobs=jobs,
        scope={"funds": sorted(funds) if funds else "all", "notebooks": list(notebooks) if notebooks else "all"},
    )
