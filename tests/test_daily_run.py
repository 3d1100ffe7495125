"""The daily run on the sample world with the real notebooks: `bo run` → archive → `bo verify`.

A copy of the world has one bad USEQ trade row: the run must finish with every job archived, the
USEQ intake report naming the bad value, and the other funds' reports clean.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import nbformat
import pytest

from bo_lib.hashing import sha256_file
from tests.conftest import NOTEBOOKS, PARAMETERS
from tests.browser import artifacts_dir, chromium, offline  # noqa: F401  (chromium: the fixture)
from tests.commands import bo

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def corrupted_run(tmp_path_factory):
    from tests.conftest import DATA

    root = tmp_path_factory.mktemp("daily")
    data = root / "data"
    shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("store"))
    trades = data / "inbound/2026-11-06/trades.csv"
    lines = trades.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if ",USEQ," in line)
    parts = lines[n].split(",")
    parts[6] = "12O0"
    lines[n] = ",".join(parts)
    trades.write_text("\n".join(lines) + "\n")
    code, out, err = bo("run", "--data", str(data), "--reports", str(root / "reports"), "--parameters", str(PARAMETERS),
                        "--notebooks", str(NOTEBOOKS), "--workers", "2")
    index = Path(out.strip().splitlines()[-1])
    return {"code": code, "out": out, "err": err, "run_dir": index.parent, "data": data, "bad_line": n + 1}


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_every_job_runs_and_bad_input_is_a_reported_exception_not_a_crash(corrupted_run):
    assert corrupted_run["code"] == 0, corrupted_run["out"] + corrupted_run["err"]
    all_jobs = manifest(corrupted_run["run_dir"])["jobs"]
    assert {j["status"] for j in all_jobs} == {"ok"}, [(j["job_id"], j["error"]) for j in all_jobs if j["status"] != "ok"]
    jobs = {j["fund"]: j for j in all_jobs if j["notebook"] == "intake"}
    assert set(jobs) == {"USEQ", "GLBD", "MAHF"}
    assert jobs["USEQ"]["results"]["validation_errors"] == 1
    assert jobs["USEQ"]["results"]["exceptions"] == {"red": 2, "amber": 0, "green": 5}
    for other in ("GLBD", "MAHF"):
        assert jobs[other]["results"]["validation_errors"] == 0
        assert jobs[other]["results"]["exceptions"]["red"] == 0
    assert jobs["USEQ"]["results"]["business_date"] == "2026-11-06"


def test_the_useq_report_names_file_line_column_and_rule(corrupted_run):
    nb = nbformat.read(corrupted_run["run_dir"] / "USEQ/intake.ipynb", as_version=4)
    texts = "\n".join(str(o.get("data", {}).get("text/plain", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "inbound/2026-11-06/trades.csv" in texts and f"{corrupted_run['bad_line']} quantity not a number  12O0 USEQ" in texts
    html = (corrupted_run["run_dir"] / "USEQ/intake.html").read_text()
    assert "Intake exceptions for USEQ on 2026-11-06: 2 red, 0 amber, 5 green" in html
    assert "12O0" in html and "not a number" in html


def test_manifest_hashes_the_inputs_as_delivered(corrupted_run):
    m = manifest(corrupted_run["run_dir"])
    inputs = {i["path"]: i for i in m["inputs"]}
    trades = inputs["inbound/2026-11-06/trades.csv"]
    assert trades["sha256"] == sha256_file(corrupted_run["data"] / "inbound/2026-11-06/trades.csv")
    assert "reference/securities.csv" in inputs and "inbound/2026-11-06/statements/0012345679.mt940" in inputs
    assert m["business_date"] == "2026-11-06" and m["summary"]["failed"] == 0 and m["summary"]["ok"] == len(m["jobs"])
    job = next(j for j in m["jobs"] if j["job_id"] == "USEQ/intake")
    assert job["parameters"]["fund"] == "USEQ" and job["parameters"]["business_date"] == "2026-11-06"
    assert job["outputs"]["html"]["sha256"] == sha256_file(corrupted_run["run_dir"] / job["outputs"]["html"]["path"])


def test_index_lists_every_job_with_its_exceptions(corrupted_run):
    index = (corrupted_run["run_dir"] / "index.html").read_text()
    for fund in ("USEQ", "GLBD", "MAHF"):
        assert f"{fund}/intake.html" in index
    # the intake's key figure under its label from the control registry, USEQ's bad row counted
    assert "Rows breaking their contract" in index and "validation_errors" not in index


def test_verify_passes_then_names_the_one_altered_byte(corrupted_run, tmp_path):
    run_copy = tmp_path / corrupted_run["run_dir"].name  # out of its archive: the ledger is named
    shutil.copytree(corrupted_run["run_dir"], run_copy)
    code, out, _ = bo("verify", str(run_copy), "--ledger", str(corrupted_run["run_dir"].parent.parent / "ledger.jsonl"))
    assert code == 0 and out.startswith("verified:")
    target = run_copy / "GLBD/intake.html"
    os.chmod(target, stat.S_IWUSR | stat.S_IRUSR)
    content = bytearray(target.read_bytes())
    content[len(content) // 2] ^= 0x01
    target.write_bytes(bytes(content))
    code, out, _ = bo("verify", str(run_copy), "--ledger", str(corrupted_run["run_dir"].parent.parent / "ledger.jsonl"))
    assert code == 1 and out.strip().splitlines() == ["ALTERED GLBD/intake.html"]


def test_missing_opening_books_are_an_intake_exception_not_a_crash(tmp_path):
    from tests.conftest import DATA

    data = tmp_path / "data"
    shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("store"))
    shutil.rmtree(data / "opening")  # the quarter-end books were not delivered
    code, out, err = bo("run", "--data", str(data), "--reports", str(tmp_path / "reports"), "--parameters", str(PARAMETERS),
                        "--notebooks", str(NOTEBOOKS), "--fund", "GLBD", "--workers", "1")
    assert code == 0, out + err
    run_dir = Path(out.strip().splitlines()[-1]).parent
    job = manifest(run_dir)["jobs"][0]
    assert job["status"] == "ok" and job["results"]["validation_errors"] == 5  # positions, cash, share classes, prices, FX
    html = (run_dir / "GLBD/intake.html").read_text()
    assert "no opening/&lt;YYYY-MM-DD&gt; folder" in html


def test_a_date_without_data_is_refused_before_any_kernel(tmp_path):
    code, out, err = bo("run", "--date", "2026-12-01", "--reports", str(tmp_path / "reports"), "--parameters", str(PARAMETERS),
                        "--notebooks", str(NOTEBOOKS), "--data", str(Path(__file__).resolve().parent.parent / "data"))
    assert code == 2 and "no inbound data for 2026-12-01" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("manifest.json"))


def test_the_archive_reads_severity_first_in_a_real_browser(corrupted_run, chromium):
    """The sealed run in headless Chromium with the network off: the index lists the worst jobs
    first with a legend; every control's report renders (charts drawn, long tables sortable and
    searchable) and says no all-clear under a table that has rows. Screenshots of the index and of
    one report per control are kept as test artefacts."""
    run_dir, shots = corrupted_run["run_dir"], artifacts_dir()
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    blocked = offline(context)
    page = context.new_page()
    page.goto((run_dir / "index.html").as_uri())
    rows = page.locator("tbody tr")
    severities = [rows.nth(i).get_attribute("class") for i in range(rows.count())]
    assert len(severities) == 16 and severities[0] == "sev-red"  # 5 notebooks x 3 funds + the company's regulatory
    order = {"sev-failed": 0, "sev-red": 1, "sev-amber": 2, "sev-none": 3, "sev-green": 4}
    assert [order[s] for s in severities] == sorted(order[s] for s in severities)
    assert "Severity" in page.inner_text(".legend")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # fits the screen
    page.screenshot(path=str(shots / "daily-run-index.png"), full_page=True)
    for job in ("USEQ/intake", "USEQ/settlement", "USEQ/reconciliation", "USEQ/nav", "MERIDIAN/regulatory", "MAHF/corporate_actions"):
        page.goto((run_dir / f"{job}.html").as_uri())
        page.wait_for_selector(".main-svg", state="attached", timeout=30_000)  # plotly drew from the run's assets
        text = page.inner_text("body")
        assert "exceptions for" in text
        if job == "USEQ/nav":
            assert page.locator('input[type="search"]').count() >= 1  # long tables are DataTables
        if job == "MAHF/corporate_actions":  # the diary's timeline drawn, the short payment named with its difference
            assert "corporate-action diary" in text and "-16,590.43" in text
        if job == "USEQ/reconciliation":  # breaks in every recon: no all-clear may show
            for all_clear in ("every position agrees", "no open breaks", "no breaks recorded", "every trade confirmed as booked"):
                assert all_clear not in text, all_clear
        page.screenshot(path=str(shots / f"daily-run-{job.replace('/', '-')}.png"), full_page=False)
    context.close()
    assert blocked == []


@pytest.fixture(scope="module")
def signed_run(corrupted_run):
    """The run signed: the preparer signs the whole run, the preparer's own review is refused, the
    reviewer accepts each red check with a comment. What each command answered."""
    run_dir = corrupted_run["run_dir"]
    reds = sorted({c["check"] for j in manifest(run_dir)["jobs"] for c in j["results"].get("exception_checks", []) if c["rag"] == "red"})
    prepared = bo("signoff", str(run_dir), "--as", "Alice Preparer", "--role", "preparer", "--comment", "read every report")
    own_review = bo("signoff", str(run_dir), "--as", "Alice Preparer", "--role", "reviewer")
    accept = [arg for check in reds for arg in ("--accept", check)]
    reviewed = bo("signoff", str(run_dir), "--as", "Bob Reviewer", "--role", "reviewer", *accept, "--comment", "breaks owned, see the recon")
    return {"run_dir": run_dir, "reds": reds, "prepared": prepared, "own_review": own_review, "reviewed": reviewed}


def test_a_signed_run_is_approved_official_and_still_verifies(signed_run):
    """The run is approved, official, and bo verify checks the sign-offs."""
    run_dir = signed_run["run_dir"]
    assert "Prices" in signed_run["reds"]  # USEQ's intake: the bad trade row's day
    assert signed_run["prepared"][0] == 0
    code, out, err = signed_run["own_review"]
    assert code == 2 and "the reviewer must be someone else (four eyes)" in err
    code, out, err = signed_run["reviewed"]
    assert code == 0, err
    assert "approved: every job reviewed" in out
    code, out, _ = bo("verify", str(run_dir))
    assert code == 0 and "ledger chain intact (3 entries" in out, out  # the run and its two sign-offs
    code, out, _ = bo("runs", "--reports", str(run_dir.parent.parent))
    assert f"{run_dir.name}  full run; complete;" in out and "approved: reviewed by Bob Reviewer" in out and "[OFFICIAL]" in out


def test_a_signed_run_shows_its_signoffs_in_the_browser(signed_run, chromium):
    """The run's page frames who signed what; the archive page shows the run approved and official."""
    run_dir = signed_run["run_dir"]
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    blocked = offline(context)
    page = context.new_page()
    page.goto((run_dir / "index.html").as_uri())
    signoffs = page.frame_locator("iframe.signoff").locator("body")
    text = signoffs.inner_text()
    assert "approved: reviewed by Bob Reviewer" in text and "Alice Preparer" in text
    assert "Bob Reviewer accepts Prices" in text.replace("\n", " ") or "accepts Prices" in text
    page.locator("iframe.signoff").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir() / "daily-run-signed-index.png"), full_page=True)
    page.goto((run_dir.parent.parent / "index.html").as_uri())
    row = page.locator("tbody tr", has_text=run_dir.name)
    assert "official" in row.inner_text() and "approved: reviewed by Bob Reviewer" in row.inner_text()
    context.close()
    assert blocked == []


def test_the_replay_of_the_whole_sample_run_is_identical(corrupted_run):
    """Every job of the day executed again from the recorded inputs, on a scratch copy of the store:
    every recorded figure and every archived table the same; the replay sealed, in the ledger, and
    never the official run."""
    run_dir = corrupted_run["run_dir"]
    store = corrupted_run["data"] / "store/workbench.duckdb"
    before = sha256_file(store)
    code, out, err = bo("replay", str(run_dir), "--heartbeat", "0")
    assert code == 0, out + err
    assert out.strip().splitlines()[-1].startswith("identical: ")
    replay_dir = Path(out.strip().splitlines()[-2].split(": ", 1)[1]).parent
    assert manifest(replay_dir)["replay_of"]["run_id"] == run_dir.name
    assert sha256_file(store) == before  # the book of record was not written
    assert bo("verify", str(replay_dir))[0] == 0
    code, out, _ = bo("runs", "--reports", str(run_dir.parent.parent))
    assert f"{replay_dir.name}  full run; complete;" in out and f"[replay of {run_dir.name}]" in out
    assert f"{run_dir.name}  full run; complete;" in out
