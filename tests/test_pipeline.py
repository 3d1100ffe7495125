"""End-to-end tests of the daily run: real papermill, real kernels, no mocks.

One module-scoped run (three funds, one of which fails on purpose) is shared by most assertions;
a second run (through the installed ``bo`` script) checks that reruns never touch earlier runs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.commands import bo
from bo_lib.pipeline.html import asset_files, network_references
from bo_lib.pipeline.index import key_figures_html

pytestmark = pytest.mark.slow
plotly_js = next(name for name in asset_files() if name.startswith("plotly-"))

BO_SCRIPT = Path(sys.executable).parent / "bo"
FUNDS = ("BAD", "GLBD", "USEQ")

SCHEDULE_YAML = """\
data_root: data
report_root: reports
calendar: XNYS
workers: 2
job_timeout_seconds: 120
jobs:
  - notebook: intake
    scope: fund
    funds: all
"""

COMPANY_YAML = """\
code: ACME
name: Acme Asset Management
cik: "0001234567"
lei: 5493001KJTIIGC8Y1R12
address:
  street: 1 Main Street
  city: Boston
  state_or_country: MA
  zip_code: "02110"
"""

FUND_YAML = """\
fund_code: {code}
name: {code} test fund
fund_type: equity
base_currency: USD
management_company: ACME
administrator: ADMIN1
calendar: XNYS
inception_date: 2020-01-02
securities_accounts:
  - account: SEC-{code}
    custodian: CUST1
    markets: [XNYS]
cash_accounts:
  - account: CASH-{code}
    bank: BANK1
    currency: USD
    statement_format: mt940
share_classes:
  - code: A
    name: Class A
    currency: USD
    management_fee_pct: 1.0
nav_thresholds:
  materiality_pct: 0.5
  day_move_pct: 5.0
pricing:
  hierarchy:
    equity: [EXCH]
{extra}"""

PARAMETERS_SOURCE = 'fund = "USEQ"\nbusiness_date = ""\ndata_root = ""\nparameters_dir = ""\nrun_id = "interactive"\nstore = ""\noutput_dir = ""'
RECORD_SOURCE = """\
from pathlib import Path
from bo_lib.report.record import record
inbound = Path(data_root) / "inbound" / business_date
record("exceptions", {"red": 1, "amber": 2, "green": 5})
record("trade_count", sum(1 for _ in open(inbound / "trades.csv")) - 1)
record("fund", fund)
print("intake", fund, business_date, run_id)
"""
PLOTLY_SOURCE = """\
import plotly.graph_objects as go
from IPython.display import display
figure = go.Figure(go.Bar(x=["settled", "pending"], y=[7, 2]))
display({"application/vnd.plotly.v1+json": figure.to_plotly_json(),
         "text/html": figure.to_html(full_html=False, include_plotlyjs=False)}, raw=True)
"""
FAIL_SOURCE = 'if fund == "BAD":\n    raise ValueError("bad input in trades.csv")\nrecord("status_line", "inputs complete")'


def write_parameters(directory: Path, fund_extra: dict[str, str] | None = None) -> Path:
    (directory / "funds").mkdir(parents=True)
    (directory / "schedule.yaml").write_text(SCHEDULE_YAML)
    (directory / "company.yaml").write_text(COMPANY_YAML)
    for code in FUNDS:
        (directory / "funds" / f"{code}.yaml").write_text(FUND_YAML.format(code=code, extra=(fund_extra or {}).get(code, "")))
    return directory


def write_intake_notebook(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = new_code_cell(PARAMETERS_SOURCE)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        new_markdown_cell("# Intake control\nChecks that the day's inbound files arrived."),
        parameters,
        new_code_cell(RECORD_SOURCE),
        new_code_cell(PLOTLY_SOURCE),
        new_code_cell(FAIL_SOURCE),
    ]
    path = directory / "intake.ipynb"
    nbformat.write(notebook, str(path))
    return path


def write_data(root: Path) -> Path:
    for day, rows in (("2026-11-05", 2), ("2026-11-06", 3)):
        folder = root / "inbound" / day
        folder.mkdir(parents=True)
        lines = ["trade_id,fund,quantity"] + [f"T{day[-2:]}{i},USEQ,{100 * (i + 1)}" for i in range(rows)]
        (folder / "trades.csv").write_text("\n".join(lines) + "\n")
    return root




def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("world")
    return {
        "base": base,
        "parameters": write_parameters(base / "parameters"),
        "data": write_data(base / "data"),
        "notebooks": write_intake_notebook(base / "notebooks").parent,
        "reports": base / "reports",
    }


def run_args(world: dict[str, Path], *extra: str) -> list[str]:
    return ["run", "--parameters", str(world["parameters"]), "--data", str(world["data"]),
            "--reports", str(world["reports"]), "--notebooks", str(world["notebooks"]), *extra]


@pytest.fixture(scope="module")
def first_run(world):
    code, out, err = bo(*run_args(world, "--workers", "2", "--heartbeat", "1"))  # no --date: the latest one
    index = Path(out.strip().splitlines()[-1])
    return {"code": code, "out": out, "err": err, "index": index, "run_dir": index.parent,
            "manifest": json.loads((index.parent / "manifest.json").read_text())}


def copy_run(run_dir: Path, destination: Path) -> Path:
    """A copy of the run in an archive of its own (<reports>/<date>/<run id>), with the archive's ledger."""
    target = destination / "reports" / run_dir.parent.name / run_dir.name
    shutil.copytree(run_dir, target)
    shutil.copy2(run_dir.parent.parent / "ledger.jsonl", destination / "reports" / "ledger.jsonl")
    return target


def make_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)


# --------------------------------------------------------------------------------------------


def test_run_statuses_exit_code_and_output(first_run):
    assert first_run["code"] == 1  # one job failed
    manifest = first_run["manifest"]
    statuses = {job["job_id"]: (job["status"], job["error"]) for job in manifest["jobs"]}
    assert statuses == {
        "BAD/intake": ("failed", "ValueError: bad input in trades.csv"),
        "GLBD/intake": ("ok", None),
        "USEQ/intake": ("ok", None),
    }
    assert manifest["summary"] == {"jobs": 3, "ok": 2, "failed": 1}
    lines = first_run["out"].strip().splitlines()
    assert "FAILED BAD/intake: ValueError: bad input in trades.csv" in lines
    assert first_run["index"].is_absolute() and first_run["index"].name == "index.html"
    progress = [line for line in first_run["err"].splitlines() if line.startswith("[")]
    assert len(progress) == 3
    # an ok job says its recorded red/amber counts; a failed one its reason
    assert any(re.match(r"^\[\d/3\] ok\s+USEQ/intake\s+\d+\.\ds  1 red, 2 amber$", line) for line in progress)
    assert any(re.match(r"^\[\d/3\] FAILED\s+BAD/intake\s+\d+\.\ds  ValueError: bad input in trades.csv$", line) for line in progress)
    assert "Traceback" not in first_run["err"]
    # --heartbeat 1: the jobs still running, with their seconds so far
    assert re.search(r"^\.\.\. \d/3 done; running: (BAD|GLBD|USEQ)/intake \d+s", first_run["err"], re.M), first_run["err"]
    # stdout: the run line with the exceptions, the failed job, the red checks, the amber counts, the index
    assert re.fullmatch(rf"run {manifest['run_id']} \(2026-11-06\): 2 ok, 1 failed in \d+\.\ds; 2 red, 4 amber exceptions", lines[0])
    # the failed job's partial checks are not counted (it is listed as FAILED), as on the index page
    assert "red exceptions: 2 in 2 jobs" in lines and "  USEQ/intake  1 red check(s), not itemised (the report lists them)" in lines
    assert "amber exceptions: 4 in 2 jobs: GLBD/intake 2, USEQ/intake 2" in lines


def test_run_log_has_one_section_per_job_in_completion_order(first_run):
    """Each job's own output under a header naming it (status, duration, start, end, reason), in the
    order the jobs ended; the kernels' noise is gone."""
    log = (first_run["run_dir"] / "run.log").read_text()
    manifest = first_run["manifest"]
    assert log.startswith(f"bo run 2026-11-06 run {manifest['run_id']}: 3 jobs, 2 workers, started ")
    headers = re.findall(r"^==== (\S+): (ok|failed) in \d+\.\ds ====$", log, re.M)
    finished = [re.search(r"\] (?:ok|FAILED)\s+(\S+)", line).group(1) for line in first_run["err"].splitlines() if line.startswith("[")]
    assert [job_id for job_id, _ in headers] == finished and sorted(finished) == ["BAD/intake", "GLBD/intake", "USEQ/intake"]
    jobs = {job["job_id"]: job for job in manifest["jobs"]}
    for section in log.split("\n==== ")[1:]:
        job_id = section.split(":", 1)[0]
        assert f"\nstarted {jobs[job_id]['started']}, ended {jobs[job_id]['ended']}\n" in section
        assert f"papermill INFO: Output Notebook: {first_run['run_dir'] / job_id}.ipynb" in section  # its own, no other job's
        assert sum(f"{other}.ipynb" in section for other in jobs) == 1
    assert "\nerror: ValueError: bad input in trades.csv\n" in log.split("==== BAD/intake")[1].split("\n==== ")[0]
    assert "without encryption" not in log and "KeyboardInterrupt" not in log and "frozen modules" not in log


def test_default_date_is_latest_and_run_folder_layout(first_run, world):
    manifest = first_run["manifest"]
    assert manifest["business_date"] == "2026-11-06"
    run_dir = first_run["run_dir"]
    assert run_dir.parent == world["reports"].resolve() / "2026-11-06"
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", manifest["run_id"]) and run_dir.name == manifest["run_id"]
    for fund in FUNDS:
        assert (run_dir / fund / "intake.ipynb").is_file()
        assert (run_dir / fund / "intake.html").is_file()


def test_failed_notebook_is_archived_with_error_banner(first_run):
    run_dir = first_run["run_dir"]
    notebook = nbformat.read(str(run_dir / "BAD" / "intake.ipynb"), as_version=4)
    first_sources = [cell.source for cell in notebook.cells[:2]]
    assert "bad input in trades.csv" in first_sources[0]
    assert any("An Exception was encountered" in source for source in first_sources)
    html = (run_dir / "BAD" / "intake.html").read_text()
    assert "bad input in trades.csv" in html
    ok_notebook = nbformat.read(str(run_dir / "USEQ" / "intake.ipynb"), as_version=4)
    assert not any("failed" in cell.source.lower() for cell in ok_notebook.cells if cell.cell_type == "markdown")


def test_manifest_contents(first_run, world):
    manifest = first_run["manifest"]
    run_dir = first_run["run_dir"]
    data_root = world["data"].resolve()
    assert manifest["data_root"] == str(data_root)
    # the business date's deliveries are hashed with the version ingested; earlier days reach the run
    # through the books' closing state (here none: this world has no opening book)
    day = data_root / "inbound" / "2026-11-06" / "trades.csv"
    (entry,) = manifest["inputs"]
    assert {k: entry[k] for k in ("dataset", "path", "size_bytes", "sha256", "version")} == {
        "dataset": "trades", "path": day.relative_to(data_root).as_posix(), "size_bytes": day.stat().st_size, "sha256": sha256(day), "version": 1}
    assert manifest["store"] == str(data_root / "store" / "workbench.duckdb") and manifest["manifest_version"] == 3
    assert manifest["ledger"] == "../../ledger.jsonl"  # sealed with the ledger: never adopted into one
    assert set(manifest["books"]["funds"]) == set(FUNDS) and manifest["books"]["ingest"]["new"] == 2
    parameter_files = {entry["path"]: entry["sha256"] for entry in manifest["parameters"]["files"]}
    assert parameter_files == {
        "schedule.yaml": sha256(world["parameters"] / "schedule.yaml"),
        "company.yaml": sha256(world["parameters"] / "company.yaml"),
        **{f"funds/{code}.yaml": sha256(world["parameters"] / "funds" / f"{code}.yaml") for code in FUNDS},
    }
    jobs = {job["job_id"]: job for job in manifest["jobs"]}
    useq = jobs["USEQ/intake"]
    assert useq["parameters"] == {
        "business_date": "2026-11-06", "data_root": str(data_root),
        "parameters_dir": str(world["parameters"].resolve()), "run_id": manifest["run_id"], "fund": "USEQ",
        "store": str(data_root / "store" / "workbench.duckdb"),  # the schedule's default store, under the data root
        "output_dir": str(run_dir / "USEQ" / "intake_files"),
    }
    assert useq["fund"] == "USEQ" and useq["scope"] == "fund" and useq["notebook"] == "intake"
    assert useq["results"] == {"exceptions": {"red": 1, "amber": 2, "green": 5}, "trade_count": 3,
                               "fund": "USEQ", "status_line": "inputs complete"}
    assert "status_line" not in jobs["BAD/intake"]["results"]  # recorded before the failure only
    assert jobs["BAD/intake"]["results"]["trade_count"] == 3
    for job in manifest["jobs"]:
        assert job["duration_seconds"] > 0 and job["started"] < job["ended"]
        for kind in ("ipynb", "html"):
            entry = job["outputs"][kind]
            assert entry["path"] == f"{job['fund']}/intake.{kind}"
            assert entry["sha256"] == sha256(run_dir / entry["path"])
    assert manifest["outputs"]["index"] == {"path": "index.html", "sha256": sha256(run_dir / "index.html")}
    for package in ("pandas", "numpy", "papermill", "nbconvert", "nbclient", "plotly", "pydantic", "bo-workbench"):
        assert manifest["packages"][package] == importlib.metadata.version(package)
    assert set(manifest["packages"]) >= {"duckdb", "pyarrow"}
    assert manifest["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert manifest["host"]["cpu_count"] == os.cpu_count() and manifest["workers"] == 2
    assert manifest["command"][:2] == ["bo", "run"]
    assert manifest["code_version"] and manifest["duration_seconds"] > 0
    assert manifest["created"] <= manifest["finished"]
    checksum = (run_dir / "manifest.sha256").read_text()
    assert checksum == f"{sha256(run_dir / 'manifest.json')}  manifest.json\n"


def test_run_files_are_read_only(first_run):
    files = [path for path in first_run["run_dir"].rglob("*") if path.is_file()]
    assert len(files) >= 9
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path


def test_html_is_offline_with_plotly_once_and_code_hidden(first_run):
    run_dir = first_run["run_dir"]
    manifest = first_run["manifest"]
    for job in manifest["jobs"]:
        page = (run_dir / job["outputs"]["html"]["path"]).read_text()
        assert network_references(page) == []
        assert not re.search(r"<script[^>]*\bsrc=[\"']?https?:", page, re.I)
        assert not re.search(r"<link[^>]*\bhref=[\"']?https?:", page, re.I)
        # plotly.js is not inlined: the page loads the run's one copy by a relative path
        assert "* plotly.js v" not in page and len(page) < 400_000
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page)
        assert scripts == [f"../assets/{plotly_js}"]
        assert (run_dir / job["outputs"]["html"]["path"]).parent.joinpath(scripts[0]).resolve() == (run_dir / "assets" / plotly_js).resolve()
        assert "Plotly.newPlot" in page
        assert 'class="jp-Notebook bo-hide-code"' in page and "Show code" in page
        assert manifest["run_id"] in page and job["outputs"]["ipynb"]["sha256"] in page
        title = f"{job['fund']} · Inbound data control · 2026-11-06"
        assert f"<title>{title}</title>" in page and f'<span class="bo-page-title">{title}</span>' in page
    assert "intake USEQ 2026-11-06" in (run_dir / "USEQ" / "intake.html").read_text()
    assert (run_dir / "assets" / plotly_js).read_text().count("* plotly.js v") == 1


def test_shared_assets_are_written_once_per_run_and_hashed(first_run):
    run_dir, manifest = first_run["run_dir"], first_run["manifest"]
    names = sorted(asset_files())
    assert sorted(p.name for p in (run_dir / "assets").iterdir()) == names
    assert [p for p in run_dir.rglob("assets") if p != run_dir / "assets"] == []  # none beside the pages
    for name in names:
        entry = manifest["outputs"][f"asset:{name}"]
        assert entry == {"path": f"assets/{name}", "sha256": sha256(run_dir / "assets" / name)}
    total = sum(p.stat().st_size for p in run_dir.rglob("*.html"))
    assert total < (run_dir / "assets" / plotly_js).stat().st_size  # three reports weigh less than one plotly.js


@pytest.mark.parametrize("change", ["alter", "delete"])
def test_verify_names_a_changed_or_deleted_asset(first_run, tmp_path, change):
    run_copy = copy_run(first_run["run_dir"], tmp_path)
    target = run_copy / "assets" / plotly_js
    if change == "delete":
        target.unlink()
    else:
        make_writable(target)
        target.write_bytes(target.read_bytes() + b"\n/* patched */")
    code, out, _ = bo("verify", str(run_copy))
    assert code == 1
    assert out.strip().splitlines() == [f"{'MISSING' if change == 'delete' else 'ALTERED'} assets/{plotly_js}"]


def test_run_index_page(first_run):
    page = first_run["index"].read_text()
    manifest = first_run["manifest"]
    assert manifest["run_id"] in page and "2026-11-06" in page and manifest["code_version"] in page
    assert "3 jobs: 2 ran, 1 failed · 2 red exceptions in 2 jobs, 4 amber" in page
    assert "ValueError: bad input in trades.csv" in page
    assert 'href="USEQ/intake.html"' in page and 'href="BAD/intake.ipynb"' in page
    assert '<span class="rag red" title="1 red">1</span>' in page
    # an undeclared figure keeps its name, readable; the failed job is listed first, with a legend
    assert '<span>trade count</span><span class="v">3</span>' in page
    assert page.index("<strong>BAD</strong>") < page.index("<strong>GLBD</strong>") and "Severity (" in page
    assert '<a href="../../index.html">Archive of runs</a>' in page
    assert network_references(page) == []


def test_verify_passes_on_a_sealed_run(first_run):
    code, out, _ = bo("verify", str(first_run["run_dir"]))
    assert code == 0
    # manifest.json + manifest.sha256 + 3 jobs x 2 outputs + index + log + the shared assets + 1 input, and what the run
    # read besides: the parameter files and the input notebook
    manifest = first_run["manifest"]
    read = len(manifest["parameters"]["files"]) + len({job["input_notebook"]["path"] for job in manifest["jobs"]})
    assert out.strip().startswith(f"verified: {11 + len(asset_files()) + read} files")
    assert "against ledger entry 1; ledger chain intact" in out


def test_verify_names_an_altered_output(first_run, tmp_path):
    run_copy = copy_run(first_run["run_dir"], tmp_path)
    target = run_copy / "GLBD" / "intake.html"
    make_writable(target)
    content = bytearray(target.read_bytes())
    content[100] ^= 0x01
    target.write_bytes(bytes(content))
    code, out, _ = bo("verify", str(run_copy))
    assert code == 1
    assert out.strip().splitlines() == ["ALTERED GLBD/intake.html"]


def test_verify_reports_missing_and_extra_files(first_run, tmp_path):
    run_copy = copy_run(first_run["run_dir"], tmp_path)
    (run_copy / "USEQ" / "intake.ipynb").unlink()
    (run_copy / "USEQ" / "notes.txt").write_text("added after the run")
    code, out, _ = bo("verify", str(run_copy))
    assert code == 1
    assert sorted(out.strip().splitlines()) == ["EXTRA USEQ/notes.txt", "MISSING USEQ/intake.ipynb"]


def test_verify_detects_altered_manifest_and_inputs(first_run, world, tmp_path):
    run_copy = copy_run(first_run["run_dir"], tmp_path)
    data_copy = tmp_path / "data"
    shutil.copytree(world["data"], data_copy)
    manifest_path = run_copy / "manifest.json"
    make_writable(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    manifest["data_root"] = str(data_copy)
    manifest_path.write_text(json.dumps(manifest, indent=2))
    code, out, _ = bo("verify", str(run_copy))
    lines = out.strip().splitlines()
    assert code == 1 and lines[0] == "ALTERED manifest.json: manifest.sha256 does not match it"
    assert lines[1].startswith("ALTERED manifest.json: not the manifest the ledger recorded") and len(lines) == 2

    checksum = run_copy / "manifest.sha256"
    make_writable(checksum)
    checksum.write_text(f"{sha256(manifest_path)}  manifest.json\n")  # a recomputed checksum: the ledger still knows
    code, out, _ = bo("verify", str(run_copy))
    assert code == 1 and out.strip().splitlines()[0].startswith("ALTERED manifest.json: not the manifest the ledger recorded")

    original = first_run["run_dir"]  # the inputs checked where a copy of them is now, and one of them changed
    assert bo("verify", str(original), "--data", str(data_copy))[0] == 0
    (data_copy / "inbound" / "2026-11-06" / "trades.csv").write_text("trade_id,fund,quantity\nX,USEQ,1\n")
    code, out, _ = bo("verify", str(original), "--data", str(data_copy))
    (line,) = out.strip().splitlines()
    assert code == 1 and line.startswith(f"INPUT ALTERED inbound/2026-11-06/trades.csv ({data_copy / 'inbound/2026-11-06/trades.csv'}); ")
    # the book of record still holds the file the run read: the one on disk changed after it was ingested
    assert "the book of record still holds the version 1 (delivery " in line and line.endswith("the file changed on disk after it was ingested")


def test_rerun_makes_a_new_run_and_leaves_the_first_untouched(first_run, world):
    before = {path: path.read_bytes() for path in first_run["run_dir"].rglob("*") if path.is_file()}
    completed = subprocess.run(
        [str(BO_SCRIPT), *run_args(world, "--date", "2026-11-06", "--fund", "USEQ", "--workers", "1")],
        capture_output=True, text=True, timeout=300, cwd=world["base"],
    )
    assert completed.returncode == 0, completed.stderr
    second_index = Path(completed.stdout.strip().splitlines()[-1])
    second_run = second_index.parent
    assert second_index.is_file() and second_run != first_run["run_dir"]
    assert second_run.parent == first_run["run_dir"].parent
    second = json.loads((second_run / "manifest.json").read_text())
    assert [job["job_id"] for job in second["jobs"]] == ["USEQ/intake"]
    assert second["summary"] == {"jobs": 1, "ok": 1, "failed": 0}
    after = {path: path.read_bytes() for path in first_run["run_dir"].rglob("*") if path.is_file()}
    assert after == before
    assert bo("verify", str(second_run))[0] == 0
    archive_index = (world["reports"] / "index.html").read_text()
    assert first_run["manifest"]["run_id"] in archive_index and second["run_id"] in archive_index
    assert os.access(world["reports"] / "index.html", os.W_OK)


def test_parameters_error_exits_2_before_any_kernel(tmp_path, world):
    parameters = write_parameters(tmp_path / "parameters", fund_extra={"GLBD": "colour: blue\n"})
    reports = tmp_path / "reports"
    args = ["run", "--parameters", str(parameters), "--data", str(world["data"]), "--reports", str(reports),
            "--notebooks", str(world["notebooks"])]
    code, out, err = bo(*args)
    assert code == 2
    assert "GLBD.yaml" in err and "colour" in err and "unknown key" in err
    assert "Traceback" not in err and err.startswith("bo: error:")
    assert not reports.exists()  # nothing started, nothing archived


def test_unknown_fund_date_and_notebook_exit_2(world, tmp_path):
    reports = tmp_path / "reports"
    base = ["run", "--parameters", str(world["parameters"]), "--data", str(world["data"]),
            "--reports", str(reports), "--notebooks", str(world["notebooks"])]
    for extra, expected in ((["--fund", "NOPE"], "NOPE"), (["--date", "2026-11-09"], "2026-11-09"),
                            (["--notebook", "nav"], "nav"), (["--date", "06/11/2026"], "06/11/2026")):
        code, _, err = bo(*base, *extra)
        assert code == 2 and expected in err and "Traceback" not in err, err
    assert not reports.exists()


TABLE_SOURCE = """\
import pandas as pd
from bo_lib.report.record import record_key_figures
summary = pd.DataFrame([("Cash breaks", "red", 2, "CASH-USEQ differs by 1,200.00 USD"), ("Stale prices", "amber", 1, "one price"),
                        ("Trades", "green", 0, "all matched")], columns=["check", "rag", "count", "detail"])
record_key_figures(business_date, summary, {"breaks": 2})
"""


def test_an_exceptions_table_is_recorded_printed_and_fails_the_run_with_fail_on_red(world, tmp_path):
    """A notebook passes its exceptions table to record_key_figures: the manifest has the counts and
    the red and amber checks, bo run prints the red check, and --fail-on red exits 5 (amber: 5 too)."""
    notebooks = _one_cell_intake(tmp_path, TABLE_SOURCE)
    code, out, err = bo(*run_args(world, "--fund", "USEQ", "--notebooks", str(notebooks), "--reports", str(tmp_path / "reports"),
                                  "--fail-on", "red", "--heartbeat", "0"))
    assert code == 5, out + err
    lines = out.strip().splitlines()
    assert lines[-4:-1] == ["red exceptions: 1 in 1 job", "  USEQ/intake  Cash breaks (2): CASH-USEQ differs by 1,200.00 USD",
                            "amber exceptions: 1 in 1 job: USEQ/intake 1"]
    assert err.rstrip().splitlines()[-1] == "bo: --fail-on red: 1 red exception(s) recorded, exit 5"
    assert re.search(r"^\[1/1\] ok\s+USEQ/intake\s+\d+\.\ds  1 red, 1 amber$", err, re.M) and "... " not in err
    manifest = json.loads((Path(lines[-1]).parent / "manifest.json").read_text())
    results = manifest["jobs"][0]["results"]
    assert results["exceptions"] == {"red": 1, "amber": 1, "green": 1} and results["breaks"] == 2
    assert results["exception_checks"] == [
        {"rag": "red", "check": "Cash breaks", "count": 2, "detail": "CASH-USEQ differs by 1,200.00 USD"},
        {"rag": "amber", "check": "Stale prices", "count": 1, "detail": "one price"}]


def test_key_figures_rendering():
    html = key_figures_html({"exceptions": {"red": 0, "amber": 3, "green": 9}, "base_currency": "EUR", "net_assets": 1234567.891,
                             "nav_per_share_R": 100.9, "nav_decimals": 4, "breaks": 4, "detail": {"a": 1}}, "nav")
    # labels, units and decimals from the control registry: the fund's NAV decimals, money to 2
    assert '<span>NAV per share, class R</span><span class="v">100.9000 per share</span>' in html
    assert '<span>Net assets</span><span class="v">1,234,567.89 EUR</span>' in html
    assert '<span>breaks</span><span class="v">4</span>' in html
    assert "detail" not in html and "nav_decimals" not in html and "base_currency" not in html


def _one_cell_intake(tmp_path, source: str) -> Path:
    """A notebooks folder whose intake notebook is the parameters cell and ``source``."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell(PARAMETERS_SOURCE)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(source)]
    nbformat.write(nb, str(notebooks / "intake.ipynb"))
    return notebooks


def test_files_a_notebook_writes_to_output_dir_are_archived_and_verified(world, tmp_path):
    """A notebook's own files (e.g. XML filings) land in <entity>/<notebook>_files, are hashed into
    the manifest, and bo verify treats them as outputs (altering one is detected)."""
    notebooks = _one_cell_intake(tmp_path, "from pathlib import Path\nout = Path(output_dir)\nout.mkdir(parents=True, exist_ok=True)\n"
                                           "(out / 'filing.xml').write_text('<?xml version=\"1.0\"?><x>' + fund + '</x>')")
    code, out, _ = bo(*run_args(world, "--fund", "USEQ", "--notebooks", str(notebooks), "--reports", str(tmp_path / "reports")))
    assert code == 0, out
    run_dir = Path(out.strip().splitlines()[-1]).parent
    manifest = json.loads((run_dir / "manifest.json").read_text())
    entry = manifest["jobs"][0]["outputs"]["file:filing.xml"]
    assert entry["path"] == "USEQ/intake_files/filing.xml" and entry["sha256"] == sha256(run_dir / entry["path"])
    assert bo("verify", str(run_dir))[0] == 0
    make_writable(run_dir / entry["path"])
    (run_dir / entry["path"]).write_text("<x>altered</x>")
    code, out, _ = bo("verify", str(run_dir))
    assert code == 1 and "ALTERED USEQ/intake_files/filing.xml" in out


def test_full_tables_are_archived_as_csv_linked_from_the_report(world, tmp_path):
    """With ``archive_tables_to(output_dir)`` a cut table's full frame lands in
    <entity>/<notebook>_files/tables/, is hashed like any file of the job, and the page links it."""
    import csv

    notebooks = _one_cell_intake(tmp_path, (
        "import pandas as pd\nfrom bo_lib.report.display import archive_tables_to, show_table\n"
        "archive_tables_to(output_dir or None)\n"
        "show_table(pd.DataFrame({'trade_id': [f'T{i}' for i in range(250)], 'amount': [1000.5 * i for i in range(250)],"
        " 'trade_date': pd.to_datetime(['2026-11-06'] * 250)}), 'Open trades (' + fund + ')', max_rows=200)"))
    code, out, _ = bo(*run_args(world, "--fund", "USEQ", "--notebooks", str(notebooks), "--reports", str(tmp_path / "reports")))
    assert code == 0, out
    run_dir = Path(out.strip().splitlines()[-1]).parent
    manifest = json.loads((run_dir / "manifest.json").read_text())
    entry = manifest["jobs"][0]["outputs"]["file:tables/open-trades-useq.csv"]
    assert entry["path"] == "USEQ/intake_files/tables/open-trades-useq.csv" and entry["sha256"] == sha256(run_dir / entry["path"])
    with open(run_dir / entry["path"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 250 and rows[-1] == {"trade_id": "T249", "amount": "249124.5", "trade_date": "2026-11-06"}
    page = (run_dir / "USEQ" / "intake.html").read_text()
    # all 250 rows in the page (sortable and searchable past max_rows), the CSV linked under it
    assert '<div class="bo-note"><a href="intake_files/tables/open-trades-useq.csv">all 250 rows as CSV</a></div>' in page
    assert (run_dir / "USEQ" / "intake_files/tables/open-trades-useq.csv").is_file()
    assert 'class="bo-table bo-interactive"' in page and "../assets/datatables-itables-" in page
    assert bo("verify", str(run_dir))[0] == 0
