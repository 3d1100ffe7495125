"""Faults of the daily run and its configuration, each a class of failure with its rule:

* identifiers that end up in paths follow a strict pattern (no ``..``, no ``/``);
* a YAML mapping with the same key twice is refused, naming the file, the line and the key;
* the archive's own files (manifest, checksum, index pages) are written all or nothing;
* a file the system cannot write is one line and exit code 3, never a traceback (1 is "a job failed");
* ``job_timeout_seconds`` limits the whole job, not each cell;
* a run that stopped before its manifest is marked incomplete, listed so, and refused by verify;
* workers and kernels die with ``bo run``: killed (SIGKILL), or stopped by it on SIGTERM/SIGINT.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from bo_lib.controls import check_notebook_parameters, load_schedule
from bo_lib.parameters import ParameterError, load_company, load_fund, load_yaml
from bo_lib.pipeline.jobs import plan_run
from tests.test_pipeline import COMPANY_YAML, FUND_YAML, SCHEDULE_YAML, bo, write_data, write_intake_notebook, write_parameters

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "parameters"


def _problems(exc: ParameterError) -> dict[str, str]:
    return dict(exc.problems)


# --------------------------------------------------------------------------------------------
# Identifiers used in paths


def test_a_fund_code_of_dot_dot_is_refused_before_any_output(tmp_path):
    """``funds/...yaml`` has the stem ``..``: with ``fund_code: ..`` it passed the file-name check
    and its outputs went to ``<reports>/<date>/<run id>/../intake.ipynb``, outside the run folder."""
    parameters = write_parameters(tmp_path / "parameters")
    bad = parameters / "funds" / "...yaml"
    bad.write_text(FUND_YAML.format(code="..", extra=""))
    with pytest.raises(ParameterError) as info:
        plan_run(parameters, run_id="20261106T000000Z-abcd", data_root=write_data(tmp_path / "data"),
                 report_root=tmp_path / "reports", notebooks_dir=write_intake_notebook(tmp_path / "notebooks").parent)
    message = str(info.value)
    assert str(bad) in message and "fund_code: a fund code must be" in message and "^[A-Z0-9][A-Z0-9_-]{0,15}$" in message
    assert "(got '..')" in message
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(("old", "new", "key", "kind"), [
    ("fund_code: USEQ", "fund_code: US/EQ", "fund_code", "a fund code"),
    ("fund_code: USEQ", "fund_code: useq", "fund_code", "a fund code"),
    ("- account: 0012345678", "- account: ../../etc", "securities_accounts.0.account", "an account id"),
    ("- account: 0012345679", "- account: 0012/345679", "cash_accounts.0.account", "an account id"),
    ("- code: A\n", "- code: A/../B\n", "share_classes.0.code", "a share class code"),
    ("management_company: MERIDIAN", "management_company: ..", "management_company", "a company code"),
    ("custodian: CUST-US", "custodian: ../CUST", "securities_accounts.0.custodian", "a code"),
])
def test_identifiers_in_a_fund_file_follow_their_pattern(tmp_path, old, new, key, kind):
    path = tmp_path / "USEQ.yaml"
    text = (PARAMS / "funds" / "USEQ.yaml").read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_fund(path)
    problems = _problems(info.value)
    assert key in problems, problems
    assert problems[key].startswith(f"{kind} must be ") and re.search(r"\(\^.*\$\)", problems[key])
    assert f"{path}: {key}: {kind} must be" in str(info.value)


def test_the_company_code_follows_the_pattern(tmp_path):
    (tmp_path / "company.yaml").write_text(COMPANY_YAML.replace("code: ACME", "code: ../ACME"))
    with pytest.raises(ParameterError, match=r"company.yaml: code: a company code must be"):
        load_company(tmp_path)


def test_scheduled_notebook_names_and_fund_lists_follow_the_pattern(tmp_path):
    path = tmp_path / "schedule.yaml"
    path.write_text(SCHEDULE_YAML.replace("notebook: intake", "notebook: ../intake"))
    with pytest.raises(ParameterError, match=r"schedule.yaml: jobs.0.notebook: a notebook name must be"):
        load_schedule(path)
    path.write_text(SCHEDULE_YAML.replace("funds: all", "funds: [USEQ, ../X]"))
    with pytest.raises(ParameterError, match=r"schedule.yaml: jobs.0.funds.1: a fund code must be .*\(got '../X'\)"):
        load_schedule(path)


@pytest.mark.parametrize(("key", "value", "kind"), [("fund", "..", "a fund code"), ("run_id", "../x", "a run id")])
def test_notebook_parameters_used_in_paths_follow_the_pattern(key, value, kind):
    valid = {"business_date": "2026-11-06", "data_root": "data", "parameters_dir": "parameters", "fund": "USEQ"}
    with pytest.raises(ParameterError) as info:
        check_notebook_parameters("intake", {**valid, key: value})
    assert _problems(info.value)[key].startswith(f"{kind} must be ")


def test_the_committed_and_test_identifiers_pass(tmp_path):
    """The sample world's codes (MERIDIAN, USEQ, IBANs, classes A/I/R/F) and the test worlds' pass."""
    for path in sorted((PARAMS / "funds").glob("*.yaml")):
        load_fund(path)
    load_company(PARAMS)
    load_schedule(PARAMS / "schedule.yaml")
    parameters = write_parameters(tmp_path / "parameters")
    for path in sorted((parameters / "funds").glob("*.yaml")):
        load_fund(path)


# --------------------------------------------------------------------------------------------
# Duplicate YAML keys


def test_a_key_given_twice_is_refused_with_file_line_and_key(tmp_path):
    """YAML keeps the last of two equal keys: ``nav_decimals: 4`` then ``nav_decimals: 2`` silently
    gave 2 decimals. The loader refuses it, naming the file, the key and both lines."""
    path = tmp_path / "USEQ.yaml"
    text = (PARAMS / "funds" / "USEQ.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    line = next(n for n, row in enumerate(lines, start=1) if row.startswith("nav_decimals:"))
    path.write_text(text.replace("nav_decimals: 4\n", "nav_decimals: 4\nnav_decimals: 2\n", 1), encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_fund(path)
    assert info.value.problems == [("nav_decimals", f"duplicate key on line {line + 1} (first given on line {line})")]
    assert f"{path}: nav_decimals: duplicate key on line {line + 1}" in str(info.value)


def test_duplicate_keys_are_found_in_nested_and_flow_mappings(tmp_path):
    path = tmp_path / "sample.yaml"
    path.write_text("pricing:\n  stale_days: 3\n  jump_pct: {equity: 5.0, equity: 6.0}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"sample.yaml: equity: duplicate key on line 3 \(first given on line 3\)"):
        load_yaml(path)
    path.write_text("jobs:\n  - notebook: intake\n    scope: fund\n    scope: company\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"sample.yaml: scope: duplicate key on line 4 \(first given on line 3\)"):
        load_schedule(path)


def test_keys_equal_as_text_but_not_as_values_and_merge_keys_are_fine(tmp_path):
    path = tmp_path / "sample.yaml"
    path.write_text("0012: a\n12: b\nbase: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  x: 3\n", encoding="utf-8")
    assert load_yaml(path) == {"0012": "a", 12: "b", "base": {"x": 1, "y": 2}, "derived": {"x": 3, "y": 2}}


# --------------------------------------------------------------------------------------------
# Atomic writes: a write that fails (disk full) leaves the previous file, never a truncated one

# The writer runs in a child whose file-size limit (RLIMIT_FSIZE) is below the new content's size:
# every write past it fails with EFBIG, as a full disk fails with ENOSPC, half-way through the file.
FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
from bo_lib.pipeline.archive import write_manifest
from bo_lib.pipeline.index import write_reports_index, write_run_index
folder, what = Path(sys.argv[2]), sys.argv[3]
manifest = json.loads((folder / "new.json").read_text()) if what != "reports" else None
try:
    {"manifest": lambda: write_manifest(folder, manifest), "run_index": lambda: write_run_index(folder, manifest),
     "reports": lambda: write_reports_index(folder)}[what]()
except OSError as exc:
    print("OSError", exc.errno)
else:
    print("written")
"""


def _big_manifest(run_id: str = "20261106T080000Z-abcd", jobs: int = 40) -> dict:
    return {"run_id": run_id, "business_date": "2026-11-06", "created": "2026-11-06T08:00:00Z", "code_version": "x",
            "summary": {"jobs": jobs, "ok": jobs, "failed": 0},
            "jobs": [{"job_id": f"F{n:03d}/intake", "fund": f"F{n:03d}", "notebook": "intake", "status": "ok", "error": None,
                      "duration_seconds": 1.0, "results": {"note": "x" * 80}, "outputs": {}} for n in range(jobs)]}


def _write_on_a_full_disk(folder: Path, what: str, limit: int = 4000) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run([sys.executable, "-c", FULL_DISK, str(limit), str(folder), what],
                               capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("what", ["manifest", "run_index"])
def test_a_full_disk_leaves_the_previous_manifest_and_run_index(tmp_path, what):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text('{"run_id": "old"}\n')
    (run_dir / "manifest.sha256").write_text("0" * 64 + "  manifest.json\n")
    (run_dir / "index.html").write_text("<html>old</html>\n")
    (run_dir / "new.json").write_text(json.dumps(_big_manifest()))
    assert len(json.dumps(_big_manifest(), indent=2)) > 4000
    before = _snapshot(run_dir)
    assert _write_on_a_full_disk(run_dir, what) == "OSError 27"  # EFBIG
    assert _snapshot(run_dir) == before  # nothing truncated, no temporary file left


def test_a_full_disk_leaves_the_previous_reports_index(tmp_path):
    reports = tmp_path / "reports"
    for n in range(40):
        run_dir = reports / "2026-11-06" / f"20261106T08{n:02d}00Z-abcd"
        run_dir.mkdir(parents=True)
        (run_dir / "manifest.json").write_text(json.dumps(_big_manifest(run_dir.name, jobs=1)))
    (reports / "index.html").write_text("<html>old</html>\n")
    before = _snapshot(reports)
    assert _write_on_a_full_disk(reports, "reports") == "OSError 27"
    assert _snapshot(reports) == before


def test_a_write_that_fits_replaces_the_file(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text('{"run_id": "old"}\n')
    (run_dir / "new.json").write_text(json.dumps(_big_manifest(jobs=1)))
    assert _write_on_a_full_disk(run_dir, "manifest", limit=100_000) == "written"
    assert json.loads((run_dir / "manifest.json").read_text())["run_id"] == "20261106T080000Z-abcd"
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "manifest.sha256", "new.json"]
    assert oct((run_dir / "manifest.json").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_the_archive_writes_its_files_only_through_the_atomic_helper():
    """One helper for every file the parent writes into the archive: no direct write in the pipeline
    (but in the helper, the run's journal: an append-only lock file beside the run folder, and the
    archive's ledger: an append-only file written under an exclusive lock)."""
    direct = re.compile(r"\.write_text\(|\.write_bytes\(|json\.dump\(|open\([^)]*[\"'][wa]b?[\"']")
    exempt = {"files.py", "journal.py", "ledger.py"}
    offenders = [f"{path.name}:{number}: {line.strip()}"
                 for path in sorted((REPO / "bo_lib" / "pipeline").glob("*.py")) if path.name not in exempt
                 for number, line in enumerate(path.read_text().splitlines(), start=1) if direct.search(line)]
    assert offenders == []


# --------------------------------------------------------------------------------------------
# File-system errors at the command's boundary: one line, exit code 3


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """The test world of test_pipeline: three funds (BAD fails on purpose), one intake notebook."""
    base = tmp_path_factory.mktemp("faults-world")
    return {"base": base, "parameters": write_parameters(base / "parameters"), "data": write_data(base / "data"),
            "notebooks": write_intake_notebook(base / "notebooks").parent, "reports": base / "reports"}


def run_args(world: dict[str, Path], reports: Path, *extra: str) -> list[str]:
    return ["run", "--parameters", str(world["parameters"]), "--data", str(world["data"]), "--reports", str(reports),
            "--notebooks", str(world["notebooks"]), *extra]


def _one_error_line(err: str) -> str:
    """The command's own error: the last line, the only ``bo:`` line, no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("bo:")]
    assert len(lines) == 1 and err.rstrip().splitlines()[-1] == lines[0], err
    return lines[0]


@pytest.mark.slow
def test_a_reports_root_that_cannot_hold_folders_is_exit_3(world, tmp_path):
    """Root ignores permissions, so the unwritable reports root is a regular file: no folder under it."""
    reports = tmp_path / "reports"
    reports.write_text("not a folder\n")
    code, _, err = bo(*run_args(world, reports, "--fund", "USEQ"))
    line = _one_error_line(err)
    assert code == 3, err
    assert re.fullmatch(rf"bo: cannot write {re.escape(str(reports.resolve()))}/2026-11-06\S*: Not a directory", line), line


@pytest.mark.slow
def test_a_read_only_reports_root_is_exit_3(world, tmp_path, monkeypatch):
    """A read-only folder; as root (who ignores permissions, as in CI containers) the kernel's
    answer is given by the folder-making call itself: EACCES for anything under the folder."""
    reports = tmp_path / "reports"
    reports.mkdir()
    reports.chmod(0o555)
    if os.geteuid() == 0:
        real_mkdir = os.mkdir

        def refused(path, *args, **kwargs):
            if str(os.path.abspath(path)).startswith(str(reports.resolve())):
                raise PermissionError(13, "Permission denied", str(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", refused)
    try:
        code, _, err = bo(*run_args(world, reports, "--fund", "USEQ"))
    finally:
        reports.chmod(0o755)
    assert code == 3 and re.fullmatch(rf"bo: cannot write {re.escape(str(reports.resolve()))}\S*: Permission denied", _one_error_line(err))


@pytest.mark.slow
def test_a_full_disk_while_sealing_the_run_is_exit_3_not_a_traceback(world, tmp_path, monkeypatch):
    """The jobs ran (BAD failed: that alone would be exit 1); then the disk is full for the run's
    index page. The command names the file and the system's reason, and exits 3."""
    import bo_lib.pipeline

    def full(run_dir, manifest, name="index.html"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(run_dir) / name))

    monkeypatch.setattr(bo_lib.pipeline, "write_run_index", full)
    code, out, err = bo(*run_args(world, tmp_path / "reports"))
    line = _one_error_line(err)
    assert code == 3, err
    assert re.fullmatch(rf"bo: cannot write {re.escape(str((tmp_path / 'reports').resolve()))}/2026-11-06/\S+/index.html: "
                        r"No space left on device", line), line
    assert out == ""
    (run_dir,) = [path for path in (tmp_path / "reports" / "2026-11-06").iterdir() if path.is_dir()]  # marked incomplete:
    marker = json.loads((run_dir / "INCOMPLETE.json").read_text())
    assert marker["reason"] == f"cannot write {run_dir}/index.html: No space left on device" and len(marker["jobs_finished"]) == 3
    assert not (run_dir / "manifest.json").exists() and bo("verify", str(run_dir))[0] == 4


def test_other_commands_report_file_system_errors_the_same_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = bo("sample-data", "--out", str(blocker / "data"), "--parameters", str(tmp_path / "parameters"))
    assert code == 3 and re.fullmatch(rf"bo: cannot (write|access) {re.escape(str(blocker))}\S*: Not a directory", _one_error_line(err))


def test_an_error_the_workbench_raises_itself_stays_a_usage_error(tmp_path):
    code, _, err = bo("verify", str(tmp_path / "no-such-run"))
    assert code == 2 and _one_error_line(err) == f"bo: error: run folder not found: {tmp_path / 'no-such-run'}"


def test_the_exit_codes_are_documented_in_the_help():
    import contextlib
    import io

    from bo_lib.cli import build_parser

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = out.getvalue()
    for code, words in ((0, "every job ok"), (1, "a job failed"), (2, "usage"), (3, "file-system error"), (4, "incomplete")):
        assert re.search(rf"^  {code}  .*{words}", text, re.M), text
    readme, operations = (REPO / "README.md").read_text(), (REPO / "docs" / "operations.md").read_text()
    for text in (readme, operations):
        assert "bo: cannot write <path>" in text and re.search(r"\b3\b.*file-system", text)
        assert re.search(r"\b4\b.*incomplete", text) and "INCOMPLETE.json" in text


# --------------------------------------------------------------------------------------------
# The job's time limit is the whole job's


def _sleepy_notebook(path: Path, cells: int, seconds: float) -> Path:
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = new_code_cell('fund = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters] + [new_code_cell(f"import time\ntime.sleep({seconds})\nprint('cell {n} done')") for n in range(cells)]
    nbformat.write(notebook, str(path))
    return path


def _spec(tmp_path: Path, notebook: Path, limit: float) -> dict:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    return {"job_id": "USEQ/slow", "run_id": "20261106T080000Z-abcd", "run_dir": str(run_dir), "input_notebook": str(notebook),
            "output_notebook": "USEQ/slow.ipynb", "output_html": "USEQ/slow.html", "output_files": "USEQ/slow_files",
            "parameters": {"fund": "USEQ"}, "cwd": str(tmp_path), "timeout_seconds": limit}


def _tree(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc (independent of the code under test)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, queue = set(), [pid]
    while queue:
        parent = queue.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found.add(child)
                queue.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended (it only waits to be reaped)


@pytest.mark.slow
def test_a_job_whose_cells_each_fit_but_together_exceed_the_limit_fails(tmp_path):
    """Four cells of 1.5 s under a 3 s limit: each cell is under it (a per-cell timeout let such a
    job run 35 s past a 10 s limit), the job is not. It is stopped at the limit and fails."""
    from bo_lib.pipeline.execute import execute_job

    before = _tree(os.getpid())
    clock = time.perf_counter()
    outcome = execute_job(_spec(tmp_path, _sleepy_notebook(tmp_path / "slow.ipynb", cells=4, seconds=1.5), limit=3))
    took = time.perf_counter() - clock
    assert outcome["status"] == "failed" and outcome["error"] == "job exceeded its time limit of 3 s"
    assert 3 <= outcome["duration_seconds"] < 5.5, outcome["duration_seconds"]  # stopped at the limit, not after 6 s of cells
    archived = nbformat.read(str(tmp_path / "run" / "USEQ" / "slow.ipynb"), as_version=4)
    assert "job exceeded its time limit of 3 s" in archived.cells[0].source  # the error banner
    assert "cell 3 done" not in json.dumps(archived.cells[-1].get("outputs", []))
    assert (tmp_path / "run" / "USEQ" / "slow.html").is_file() and took < 30
    left = [pid for pid in _tree(os.getpid()) - before if _alive(pid)]
    assert left == []  # the kernel is gone


@pytest.mark.slow
def test_a_limit_reached_while_the_kernel_starts_still_stops_the_job(tmp_path):
    from bo_lib.pipeline.execute import execute_job

    before = _tree(os.getpid())
    outcome = execute_job(_spec(tmp_path, _sleepy_notebook(tmp_path / "slow.ipynb", cells=1, seconds=20), limit=0.2))
    assert outcome["status"] == "failed" and outcome["error"] == "job exceeded its time limit of 0.2 s"
    assert outcome["duration_seconds"] < 15
    assert [pid for pid in _tree(os.getpid()) - before if _alive(pid)] == []


@pytest.mark.slow
def test_a_job_within_its_limit_is_ok(tmp_path):
    from bo_lib.pipeline.execute import execute_job

    outcome = execute_job(_spec(tmp_path, _sleepy_notebook(tmp_path / "quick.ipynb", cells=3, seconds=0.5), limit=30))
    assert outcome["status"] == "ok" and outcome["error"] is None, outcome["error"]


# --------------------------------------------------------------------------------------------
# Runs without a manifest: running (journal locked) or incomplete (marked, listed, refused)

KILLED_RUN = """
import datetime as dt, os, signal, sys
from pathlib import Path
from bo_lib.pipeline.journal import open_journal
run_dir = Path(sys.argv[1])
journal = open_journal(run_dir, business_date=dt.date(2026, 11, 6), started="2026-11-06T08:00:00Z",
                       jobs=["BAD/intake", "GLBD/intake", "USEQ/intake"])
(run_dir / "USEQ").mkdir(parents=True)
(run_dir / "USEQ" / "intake.ipynb").write_text("{}")
(run_dir / "USEQ" / "intake.html").write_text("<html></html>")
journal.job_finished("USEQ/intake", {"status": "ok", "error": None, "ended": "2026-11-06T08:00:09Z"})
print("ready", flush=True)
if sys.argv[2] == "hold":
    sys.stdin.read()  # until the test closes our stdin or kills us
os.kill(os.getpid(), signal.SIGKILL)
"""


def _start_run_process(run_dir: Path, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(run_dir), mode], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout.readline().strip() == "ready"
    return process


def _killed_run(reports: Path, run_id: str) -> Path:
    """A run whose ``bo run`` was killed (SIGKILL) after one of its three jobs finished."""
    run_dir = reports / "2026-11-06" / run_id
    process = _start_run_process(run_dir, "die")
    assert process.wait(timeout=60) == -9
    return run_dir


@pytest.mark.slow
def test_a_killed_run_is_refused_by_verify_marked_and_listed_as_incomplete(world, tmp_path):
    reports = tmp_path / "reports"
    killed = _killed_run(reports, "20261106T080000Z-dead")
    legacy = reports / "2026-11-06" / "20261106T070000Z-0ld0"  # killed before runs kept a journal
    (legacy / "GLBD").mkdir(parents=True)
    (legacy / "GLBD" / "intake.html").write_text("<html></html>")

    code, out, err = bo("verify", str(killed))
    assert code == 4, out + err
    assert out.splitlines() == ["INCOMPLETE run 20261106T080000Z-dead (2026-11-06): the run's process ended before it wrote "
                                "the manifest (killed, crashed or out of disk); 1 of 3 jobs finished, no manifest"]
    marker = json.loads((killed / "INCOMPLETE.json").read_text())
    assert {k: marker[k] for k in ("status", "run_id", "business_date", "started", "jobs_total", "jobs_not_finished")} == {
        "status": "incomplete", "run_id": "20261106T080000Z-dead", "business_date": "2026-11-06",
        "started": "2026-11-06T08:00:00Z", "jobs_total": 3, "jobs_not_finished": ["BAD/intake", "GLBD/intake"]}
    assert [(j["job_id"], j["status"]) for j in marker["jobs_finished"]] == [("USEQ/intake", "ok")]
    assert not (killed.parent / f".{killed.name}.journal").exists()
    assert {oct(path.stat().st_mode & 0o777) for path in killed.rglob("*") if path.is_file()} == {oct(0o444)}  # sealed
    assert bo("verify", str(killed))[0] == 4  # and again, from the marker

    code, out, err = bo(*run_args(world, reports, "--fund", "USEQ"))
    assert code == 0, err
    assert "note: INCOMPLETE run 20261106T070000Z-0ld0 (2026-11-06)" in err and "20261106T080000Z-dead" not in err
    legacy_marker = json.loads((legacy / "INCOMPLETE.json").read_text())
    assert legacy_marker["started"] == "2026-11-06T07:00:00Z" and [j["job_id"] for j in legacy_marker["jobs_finished"]] == ["GLBD/intake"]
    page = (reports / "index.html").read_text()
    rows = re.findall(r"<tr class=[^>]*>(.*?)</tr>", page, re.S)  # the runs (the header row has no class)
    assert len(rows) == 3
    new_run = Path(out.strip().splitlines()[-1]).parent.name
    assert new_run in rows[0] and "incomplete" not in rows[0]
    assert "20261106T080000Z-dead" in rows[1] and '<span class="badge failed">incomplete</span> 1 of 3 jobs finished' in rows[1]
    assert "20261106T070000Z-0ld0" in rows[2] and "incomplete" in rows[2]
    assert bo("verify", str(reports / "2026-11-06" / new_run))[0] == 0


def test_a_running_run_is_neither_marked_nor_verified(tmp_path):
    from bo_lib.pipeline.index import write_reports_index
    from bo_lib.pipeline.journal import mark_abandoned_runs

    run_dir = tmp_path / "reports" / "2026-11-06" / "20261106T080000Z-a11e"
    process = _start_run_process(run_dir, "hold")
    try:
        assert mark_abandoned_runs(tmp_path / "reports") == []
        assert not (run_dir / "INCOMPLETE.json").exists()
        code, out, _ = bo("verify", str(run_dir))
        assert code == 4 and out.splitlines() == ["RUNNING run 20261106T080000Z-a11e (2026-11-06): still running, no manifest yet"]
        assert '<span class="badge running">running</span>' in write_reports_index(tmp_path / "reports").read_text()
    finally:
        process.kill()
        process.wait(timeout=60)
    assert [r["run_id"] for r in mark_abandoned_runs(tmp_path / "reports")] == ["20261106T080000Z-a11e"]


def test_a_folder_that_is_not_a_run_is_still_a_usage_error(tmp_path):
    code, _, err = bo("verify", str(tmp_path))
    assert code == 2 and "no manifest.json" in err


# --------------------------------------------------------------------------------------------
# Workers and kernels die with bo run

SLOW_CELL = """\
import time
from pathlib import Path
time.sleep(8)
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "late.txt").write_text("written after the sleep")
"""


@pytest.fixture
def slow_world(tmp_path) -> dict[str, Path]:
    """Three jobs on two workers; each sleeps 8 s, then writes a file into the run folder."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = new_code_cell('fund = ""\noutput_dir = ""\nbusiness_date = ""\ndata_root = ""\nparameters_dir = ""\nrun_id = ""\nstore = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, new_code_cell(SLOW_CELL)]
    nbformat.write(notebook, str(notebooks / "intake.ipynb"))
    return {"base": tmp_path, "parameters": write_parameters(tmp_path / "parameters"), "data": write_data(tmp_path / "data"),
            "notebooks": notebooks, "reports": tmp_path / "reports"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _start_bo_run(world: dict[str, Path]) -> tuple[subprocess.Popen, set[int]]:
    """``bo run`` in its own process; returns once a kernel runs, with every process below it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "bo_lib.cli", *run_args(world, world["reports"], "--workers", "2")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=world["base"])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        tree = _tree(process.pid)
        if any("ipykernel" in _cmdline(pid) for pid in tree):
            time.sleep(1)  # the first job is under way
            return process, _tree(process.pid) | tree
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"no kernel started: {process.communicate()}")


def _survivors(pids: set[int], within: float) -> list[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return [f"{pid}: {_cmdline(pid)}" for pid in pids if _alive(pid)]


def _files(run_dir: Path) -> list[str]:
    return sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())


@pytest.mark.slow
def test_workers_and_kernels_die_when_bo_run_is_killed(slow_world):
    """SIGKILL gives bo run no chance to clean up: its workers (PR_SET_PDEATHSIG) and their
    kernels (likewise, from their worker) must die by themselves, and write nothing more."""
    process, tree = _start_bo_run(slow_world)
    workers_and_kernels = tree - {process.pid}
    assert any("ipykernel" in _cmdline(pid) for pid in workers_and_kernels) and len(workers_and_kernels) >= 2
    killed_at = time.monotonic()
    process.kill()
    process.communicate(timeout=60)
    assert _survivors(workers_and_kernels, within=5) == []
    (run_dir,) = [path for path in (slow_world["reports"] / "2026-11-06").iterdir() if path.is_dir()]
    files = _files(run_dir)
    time.sleep(max(0.0, killed_at + 12 - time.monotonic()))  # past the 8 s the jobs would have slept
    assert _files(run_dir) == files and not any(name.endswith("late.txt") for name in files)
    code, out, _ = bo("verify", str(run_dir))
    assert code == 4 and out.startswith(f"INCOMPLETE run {run_dir.name} (2026-11-06): the run's process ended")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_stops_workers_and_kernels_and_marks_the_run(slow_world, signum):
    process, tree = _start_bo_run(slow_world)
    workers_and_kernels = tree - {process.pid}
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, err
    assert err.rstrip().splitlines()[-1] == f"bo: interrupted by {signal.Signals(signum).name}" and "Traceback" not in err, err
    assert out == ""
    assert _survivors(workers_and_kernels, within=5) == []
    (run_dir,) = [path for path in (slow_world["reports"] / "2026-11-06").iterdir() if path.is_dir()]
    marker = json.loads((run_dir / "INCOMPLETE.json").read_text())
    assert marker["reason"] == f"interrupted by {signal.Signals(signum).name}" and marker["jobs_total"] == 3
    assert marker["jobs_finished"] == [] and sorted(marker["jobs_not_finished"]) == ["BAD/intake", "GLBD/intake", "USEQ/intake"]
    files = _files(run_dir)
    time.sleep(10)
    assert _files(run_dir) == files and not any(name.endswith("late.txt") for name in files)
    assert "incomplete" in (slow_world["reports"] / "index.html").read_text()
    assert bo("verify", str(run_dir))[0] == 4
