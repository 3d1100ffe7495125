"""The auditor's workflow on a sealed run: maker-checker sign-off, the archive's ledger, and
``bo verify`` naming every kind of tampering.

The runs here are small sealed runs built in the test (two jobs, a data input, parameter files, an
input notebook), sealed and entered in the ledger by the archive's own functions, so each tamper
variant is a few lines; tests/test_daily_run.py signs and verifies a real run of the sample world.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from bo_lib.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bo_lib.pipeline.archive import file_entry, record_in_ledger, seal_read_only, write_manifest
from bo_lib.pipeline.index import write_reports_index
from bo_lib.pipeline.ledger import LEDGER, entry_hash, generate_key_pair
from bo_lib.pipeline.signoff import SIGNOFF_LOG, SIGNOFF_PAGE, write_signoff_page
from tests.commands import bo

DATE = "2026-11-06"
NAV_PAGE = "<html><body><h1>USEQ · Shadow NAV · 2026-11-06</h1><p>NAV per share, class A: 24.6048 USD</p></body></html>\n"




def _job(fund: str, notebook: str, *, red: tuple[str, ...] = (), status: str = "ok", notebook_path: Path, html: dict | None = None) -> dict:
    checks = [{"rag": "red", "check": check, "count": 1, "detail": f"{check}: 1 item"} for check in red]
    return {"job_id": f"{fund}/{notebook}", "notebook": notebook, "fund": fund, "entity": fund, "scope": "fund", "parameters": {},
            "input_notebook": {"path": str(notebook_path), "sha256": hashlib.sha256(notebook_path.read_bytes()).hexdigest()},
            "status": status, "error": None if status == "ok" else "boom", "outputs": {"html": html, "ipynb": None},
            "results": {"exceptions": {"red": len(red), "amber": 0, "green": 2}, "exception_checks": checks}}


def seal_run(root: Path, run_id: str = "20261106T213000Z-a1b2", *, scope=None, failed: bool = False) -> Path:
    """A sealed run of two jobs (USEQ/nav with two red checks, USEQ/intake clean; or the intake failed)."""
    data, parameters, notebooks = root / "data", root / "parameters", root / "notebooks"
    for folder in (data / "inbound" / DATE, parameters / "funds", notebooks):
        folder.mkdir(parents=True, exist_ok=True)
    (data / "inbound" / DATE / "trades.csv").write_text("trade_id,fund,quantity\nT1,USEQ,100\n")
    (parameters / "schedule.yaml").write_text("data_root: data\n")
    (parameters / "funds" / "USEQ.yaml").write_text("fund_code: USEQ\nnav_decimals: 4\n")
    for name in ("nav", "intake"):
        (notebooks / f"{name}.ipynb").write_text(json.dumps({"cells": [], "name": name}))
    run_dir = root / "reports" / DATE / run_id
    (run_dir / "USEQ").mkdir(parents=True)
    (run_dir / "USEQ" / "nav.html").write_text(NAV_PAGE)
    (run_dir / "USEQ" / "intake.html").write_text("<html><body>intake: every file arrived</body></html>\n")
    (run_dir / "index.html").write_text("<html><body>run index</body></html>\n")
    manifest = {
        "manifest_version": 2, "run_id": run_id, "business_date": DATE, "code_version": "test", "created": f"{DATE}T21:30:00Z",
        "scope": scope or {"funds": "all", "notebooks": "all"},
        "parameters": {"dir": str(parameters), "files": [file_entry(p, parameters) for p in (parameters / "schedule.yaml", parameters / "funds/USEQ.yaml")]},
        "data_root": str(data), "store": str(root / "store.duckdb"),
        "inputs": [file_entry(data / "inbound" / DATE / "trades.csv", data)],
        "jobs": [_job("USEQ", "nav", red=("pricing exceptions", "NAV at a flagged price"), notebook_path=notebooks / "nav.ipynb",
                      html=file_entry(run_dir / "USEQ/nav.html", run_dir)),
                 _job("USEQ", "intake", status="failed" if failed else "ok", notebook_path=notebooks / "intake.ipynb",
                      html=file_entry(run_dir / "USEQ/intake.html", run_dir))],
        "outputs": {"index": file_entry(run_dir / "index.html", run_dir)},
    }
    write_manifest(run_dir, manifest)
    write_signoff_page(run_dir, manifest, [])
    seal_read_only(run_dir)
    record_in_ledger(run_dir, manifest)
    return run_dir


def writable(path: Path) -> Path:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def forge_manifest(run_dir: Path, change) -> None:
    """Rewrite manifest.json with ``change(manifest)`` and recompute manifest.sha256, as a forger would."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    change(manifest)
    writable(run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    digest = hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()
    writable(run_dir / "manifest.sha256").write_text(f"{digest}  manifest.json\n")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return seal_run(tmp_path)


def verify(run_dir: Path, *extra) -> tuple[int, list[str]]:
    code, out, err = bo("verify", run_dir, *extra)
    return code, out.strip().splitlines()


# --------------------------------------------------------------------------------------------
# bo verify: the ledger and every tamper variant


def test_an_untouched_run_verifies_against_the_ledger(run_dir):
    code, lines = verify(run_dir)
    assert code == EXIT_OK, lines
    # 2 manifest files + 3 outputs + 1 data input + 2 parameter files + 2 input notebooks
    assert lines[-1].startswith("verified: 10 files") and "against ledger entry 1; ledger chain intact (1 entry," in lines[-1]


def test_the_forged_nav_with_a_rewritten_manifest_and_checksum_is_caught(run_dir):
    page = writable(run_dir / "USEQ/nav.html")
    page.write_text(page.read_text().replace("24.6048", "24.6049"))

    def point_at_forgery(manifest):
        manifest["jobs"][0]["outputs"]["html"]["sha256"] = sha(page)
    forge_manifest(run_dir, point_at_forgery)
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED
    assert lines[0].startswith("ALTERED manifest.json: not the manifest the ledger recorded when the run was sealed (ledger entry 1")
    assert "ALTERED USEQ/nav.html" in lines and len(lines) == 2


def test_an_edited_output_is_named(run_dir):
    page = writable(run_dir / "USEQ/nav.html")
    page.write_text(page.read_text().replace("24.6048", "24.6049"))
    assert verify(run_dir) == (EXIT_FAILED, ["ALTERED USEQ/nav.html"])


def test_a_swapped_output_is_named(run_dir):
    nav, intake = run_dir / "USEQ/nav.html", run_dir / "USEQ/intake.html"
    nav_text, intake_text = nav.read_text(), intake.read_text()
    writable(nav).write_text(intake_text)
    writable(intake).write_text(nav_text)
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED and sorted(lines) == ["ALTERED USEQ/intake.html", "ALTERED USEQ/nav.html"]


def test_a_deleted_output_and_an_added_file_are_named(run_dir):
    writable(run_dir / "USEQ")
    (run_dir / "USEQ/intake.html").unlink()
    (run_dir / "USEQ/extra.html").write_text("not sealed")
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED and sorted(lines) == ["EXTRA USEQ/extra.html", "MISSING USEQ/intake.html"]


def test_a_deleted_input_fails_verify_naming_it(run_dir, tmp_path):
    (tmp_path / "data/inbound" / DATE / "trades.csv").unlink()
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED
    assert lines == [f"INPUT MISSING inbound/{DATE}/trades.csv (looked for {tmp_path / 'data/inbound' / DATE / 'trades.csv'})"]


def test_a_changed_input_parameter_file_and_notebook_are_named(run_dir, tmp_path):
    trades = tmp_path / "data/inbound" / DATE / "trades.csv"
    trades.write_text(trades.read_text().replace("100", "1000"))
    (tmp_path / "parameters/funds/USEQ.yaml").write_text("fund_code: USEQ\nnav_decimals: 2\n")
    (tmp_path / "notebooks/nav.ipynb").write_text(json.dumps({"cells": [{"source": "edited"}]}))
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED
    assert sorted(line.split(" (")[0] for line in lines) == [
        f"INPUT ALTERED inbound/{DATE}/trades.csv", f"INPUT NOTEBOOK ALTERED {tmp_path / 'notebooks/nav.ipynb'}",
        "PARAMETER FILE ALTERED funds/USEQ.yaml"]


def test_a_changed_input_hidden_by_a_forged_manifest_is_still_named(run_dir, tmp_path):
    trades = tmp_path / "data/inbound" / DATE / "trades.csv"
    trades.write_text(trades.read_text().replace("100", "1000"))

    def hide(manifest):
        manifest["inputs"][0]["sha256"] = sha(trades)
    forge_manifest(run_dir, hide)
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED and lines[0].startswith("ALTERED manifest.json: not the manifest the ledger recorded")
    assert lines[1].startswith(f"INPUT ALTERED inbound/{DATE}/trades.csv")


def test_inputs_moved_to_another_machine_are_checked_where_they_are(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "data", copy / "data")
    shutil.rmtree(tmp_path / "data")
    assert verify(run_dir)[0] == EXIT_FAILED
    code, lines = verify(run_dir, "--data", copy / "data")
    assert code == EXIT_OK, lines


def test_a_run_missing_from_the_ledger_fails(run_dir):
    ledger = run_dir.parent.parent / LEDGER
    ledger.unlink()
    code, lines = verify(run_dir)
    assert code == EXIT_FAILED and lines == [f"LEDGER MISSING {ledger}: the run cannot be checked against the archive's ledger"]


def _ledger_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir.parent.parent / LEDGER).read_text().splitlines()]


def _write_ledger(run_dir: Path, entries: list[dict]) -> None:
    (run_dir.parent.parent / LEDGER).write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_a_rewritten_ledger_entry_breaks_the_chain(tmp_path):
    first = seal_run(tmp_path, "20261106T213000Z-a1b2")
    seal_run(tmp_path, "20261106T223000Z-c3d4")
    page = writable(first / "USEQ/nav.html")
    page.write_text(page.read_text().replace("24.6048", "24.6049"))

    def point_at_forgery(manifest):
        manifest["jobs"][0]["outputs"]["html"]["sha256"] = sha(page)
    forge_manifest(first, point_at_forgery)
    entries = _ledger_lines(first)  # the forger also rewrites the run's ledger entry and its hash
    entries[0]["manifest_sha256"] = sha(first / "manifest.json")
    entries[0]["sealed"]["USEQ/nav.html"] = sha(page)
    entries[0]["hash"] = entry_hash(entries[0])
    _write_ledger(first, entries)
    code, lines = verify(first)
    assert code == EXIT_FAILED and lines == ["LEDGER BROKEN entry 2: does not chain to the entry before it"]


def test_a_removed_ledger_entry_is_named(tmp_path):
    seal_run(tmp_path, "20261106T213000Z-a1b2")
    second = seal_run(tmp_path, "20261106T223000Z-c3d4")
    third = seal_run(tmp_path, "20261106T233000Z-e5f6")
    entries = _ledger_lines(second)
    _write_ledger(second, [entries[0], entries[2]])
    code, lines = verify(third)
    assert code == EXIT_FAILED
    assert lines == ["LEDGER BROKEN entry 3: sequence 3 where 2 was due (an entry removed or inserted)",
                     "LEDGER BROKEN entry 3: does not chain to the entry before it"]


def test_signed_ledger_rewritten_at_its_head_is_caught_by_the_signature(tmp_path, monkeypatch):
    key, public = tmp_path / "keys/ledger.pem", tmp_path / "keys/ledger.pub.pem"
    key.parent.mkdir()
    generate_key_pair(key, public)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    monkeypatch.setenv("BO_LEDGER_KEY", str(key))
    run_dir = seal_run(tmp_path)
    code, lines = verify(run_dir, "--public-key", public)
    assert code == EXIT_OK and "signatures checked" in lines[-1], lines
    page = writable(run_dir / "USEQ/nav.html")
    page.write_text(page.read_text().replace("24.6048", "24.6049"))

    def point_at_forgery(manifest):
        manifest["jobs"][0]["outputs"]["html"]["sha256"] = sha(page)
    forge_manifest(run_dir, point_at_forgery)
    entries = _ledger_lines(run_dir)  # the last entry rewritten with a recomputed hash: the chain alone cannot tell
    entries[0]["manifest_sha256"] = sha(run_dir / "manifest.json")
    entries[0]["sealed"]["USEQ/nav.html"] = sha(page)
    entries[0]["hash"] = entry_hash(entries[0])
    _write_ledger(run_dir, entries)
    assert verify(run_dir)[0] == EXIT_OK  # without the public key the rewrite of the head is invisible...
    code, lines = verify(run_dir, "--public-key", public)
    assert code == EXIT_FAILED and lines == ["SIGNATURE entry 1: bad signature"]  # ...with it, it is not


def test_an_unsigned_ledger_or_another_key_fails_the_signature_check(tmp_path):
    run_dir = seal_run(tmp_path)
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    code, lines = verify(run_dir, "--public-key", tmp_path / "other.pub.pem")
    assert code == EXIT_FAILED and lines == ["SIGNATURE entry 1: unsigned"]


def test_keygen_writes_a_key_pair_and_never_overwrites(tmp_path):
    code, out, _ = bo("keygen", "--out", tmp_path / "ledger.pem")
    assert code == EXIT_OK and (tmp_path / "ledger.pub.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    code, _, err = bo("keygen", "--out", tmp_path / "ledger.pem")
    assert code == EXIT_USAGE and "exists: a key is never overwritten" in err


# --------------------------------------------------------------------------------------------
# sign-off: maker-checker


def signoff(run_dir: Path, *argv) -> tuple[int, str, str]:
    return bo("signoff", run_dir, *argv)


def test_the_preparer_cannot_review_their_own_job(run_dir):
    assert signoff(run_dir, "--job", "USEQ/intake", "--as", "Alice Ng", "--role", "preparer")[0] == EXIT_OK
    code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", "alice ng", "--role", "reviewer")
    assert code == EXIT_USAGE
    assert "USEQ/intake: prepared by Alice Ng; the reviewer must be someone else (four eyes)" in err


def test_a_review_before_the_preparer_is_refused(run_dir):
    code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", "Bob", "--role", "reviewer")
    assert code == EXIT_USAGE and "USEQ/intake: no preparer's sign-off yet; the preparer signs first" in err


def test_red_exceptions_need_a_comment_each_or_an_explicit_acceptance(run_dir):
    signoff(run_dir, "--job", "USEQ/nav", "--as", "Alice", "--role", "preparer")
    code, _, err = signoff(run_dir, "--job", "USEQ/nav", "--as", "Bob", "--role", "reviewer")
    assert code == EXIT_USAGE
    assert 'USEQ/nav: recorded red exceptions that need a comment each' in err
    assert '"pricing exceptions"; "NAV at a flagged price"' in err
    code, _, err = signoff(run_dir, "--job", "USEQ/nav", "--as", "Bob", "--role", "reviewer",
                           "--explain", "Pricing  Exceptions=vendor price confirmed by phone")  # case and spacing aside
    assert code == EXIT_USAGE and '"NAV at a flagged price"' in err and '"pricing exceptions"' not in err
    code, _, err = signoff(run_dir, "--job", "USEQ/nav", "--as", "Bob", "--role", "reviewer",
                           "--explain", "pricing exceptions=vendor price confirmed by phone", "--accept", "NAV at a flagged price")
    assert code == EXIT_USAGE and "--accept: an acceptance needs --comment" in err
    code, _, err = signoff(run_dir, "--job", "USEQ/nav", "--as", "Bob", "--role", "reviewer", "--explain", "pricing=x",
                           "--explain", "NAV at a flagged price=y")
    assert code == EXIT_USAGE and '"pricing" names no red check of the jobs signed' in err  # a prefix names nothing
    code, _, err = signoff(run_dir, "--job", "USEQ/nav", "--as", "Bob", "--role", "reviewer",
                           "--explain", "USEQ/intake:pricing exceptions=x", "--explain", "NAV at a flagged price=y")
    assert code == EXIT_USAGE and '"USEQ/intake:pricing exceptions" names no red check of the jobs signed' in err
    code, out, err = signoff(run_dir, "--job", "USEQ/nav", "--as", "Bob", "--role", "reviewer",
                             "--explain", "USEQ/nav:pricing exceptions=vendor price confirmed by phone",
                             "--accept", "NAV at a flagged price", "--comment", "struck again tomorrow on the override")
    assert code == EXIT_OK, err
    entry = json.loads((run_dir / SIGNOFF_LOG).read_text().splitlines()[-1])
    assert entry["explained"] == {"USEQ/nav:pricing exceptions": "vendor price confirmed by phone"}
    assert entry["accepted"] == ["USEQ/nav:NAV at a flagged price"] and entry["name"] == "Bob" and entry["role"] == "reviewer"


def test_a_failed_job_is_not_signed_off(tmp_path):
    run_dir = seal_run(tmp_path, failed=True)
    code, _, err = signoff(run_dir, "--as", "Alice", "--role", "preparer")
    assert code == EXIT_USAGE and "USEQ/intake: did not run to the end (failed); rerun it, a failed job is not signed off" in err


def test_an_unknown_job_is_named_with_the_run_s_jobs(run_dir):
    code, _, err = signoff(run_dir, "--job", "GLBD/nav", "--as", "Alice", "--role", "preparer")
    assert code == EXIT_USAGE and "GLBD/nav not in run 20261106T213000Z-a1b2 (its jobs: USEQ/nav, USEQ/intake)" in err


def _approve(run_dir: Path) -> None:
    assert signoff(run_dir, "--as", "Alice", "--role", "preparer", "--comment", "ran and read")[0] == EXIT_OK
    code, out, err = signoff(run_dir, "--as", "Bob", "--role", "reviewer", "--explain", "pricing exceptions=confirmed",
                             "--explain", "NAV at a flagged price=re-struck")
    assert code == EXIT_OK, err
    assert "run 20261106T213000Z-a1b2 (2026-11-06) approved: every job reviewed" in out


def test_a_run_is_approved_when_every_job_is_reviewed_and_the_page_says_who(run_dir):
    assert signoff(run_dir, "--job", "USEQ/intake", "--as", "Alice", "--role", "preparer")[0] == EXIT_OK
    assert signoff(run_dir, "--job", "USEQ/intake", "--as", "Bob", "--role", "reviewer")[0] == EXIT_OK
    page = (run_dir / SIGNOFF_PAGE).read_text()
    assert "1 of 2 jobs prepared, 1 reviewed" in page
    _approve(run_dir)
    page = (run_dir / SIGNOFF_PAGE).read_text()
    assert "approved: reviewed by Bob" in page and "Alice: ran and read" in page and "on <em>pricing exceptions</em>: confirmed" in page
    archive = (run_dir.parent.parent / "index.html").read_text()
    assert "approved: reviewed by Bob" in archive
    assert stat.S_IMODE((run_dir / SIGNOFF_LOG).stat().st_mode) == 0o444  # read-only between sign-offs
    code, lines = verify(run_dir)
    assert code == EXIT_OK and "ledger chain intact (5 entries" in lines[-1], lines  # the run + 4 sign-offs


def test_an_edited_signoff_log_is_named(run_dir):
    _approve(run_dir)
    log = writable(run_dir / SIGNOFF_LOG)
    lines = log.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["name"] = "Carol"  # who reviewed, rewritten
    log.write_text("\n".join([lines[0], json.dumps(entry)]) + "\n")
    code, problems = verify(run_dir)
    assert code == EXIT_FAILED
    assert "SIGN-OFF LOG ALTERED entry 2: its content does not match its hash (rewritten) (signoffs.jsonl)" in problems
    code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", "Dan", "--role", "reviewer")
    assert code == EXIT_USAGE and "the run's sign-off log does not verify" in err  # nothing is signed on a broken log
    page = writable(run_dir / SIGNOFF_PAGE)
    page.write_text(page.read_text().replace("Bob", "Carol"))
    assert any(p.startswith("ALTERED signoffs.html: not the page the ledger recorded") for p in verify(run_dir)[1])


def test_a_deleted_or_forged_signoff_is_named(run_dir):
    _approve(run_dir)
    log = writable(run_dir / SIGNOFF_LOG)
    first, second = log.read_text().splitlines()
    log.write_text(first + "\n")
    code, problems = verify(run_dir)
    assert code == EXIT_FAILED and any(p.startswith("SIGN-OFF MISSING entry 2: the ledger records a sign-off by Bob (reviewer)") for p in problems)
    forged = json.loads(second)
    forged["name"] = "Carol"
    forged["hash"] = entry_hash(forged)  # a well-formed entry, chained, but never through bo signoff
    log.write_text(first + "\n" + json.dumps(forged) + "\n")
    code, problems = verify(run_dir)
    assert "SIGN-OFF LOG ALTERED entry 2: differs from the ledger's record (reviewer Bob)" in problems


def test_the_official_run_is_the_latest_approved_one(tmp_path):
    approved = seal_run(tmp_path, "20261106T213000Z-a1b2")
    later = seal_run(tmp_path, "20261106T233000Z-e5f6")
    code, out, _ = bo("runs", "--reports", tmp_path / "reports")
    assert [line.split()[1] for line in out.splitlines() if "[OFFICIAL]" in line] == [later.name]  # none approved: the latest full run
    _approve(approved)
    code, out, _ = bo("runs", "--reports", tmp_path / "reports", "--date", DATE)
    lines = out.splitlines()
    assert code == EXIT_OK and len(lines) == 2
    assert lines[1] == (f"{DATE}  {approved.name}  full run; complete; 2 red, 0 amber; approved: reviewed by Bob, last "
                        f"{json.loads((approved / SIGNOFF_LOG).read_text().splitlines()[-1])['at']}  [OFFICIAL]")
    assert lines[0] == f"{DATE}  {later.name}  full run; complete; 2 red, 0 amber; not signed off"
    page = write_reports_index(tmp_path / "reports").read_text()
    row = page[page.index(approved.name):]
    assert row.index("official") < row.index("</tr>")


def test_runs_lists_a_replay_apart_and_never_official(tmp_path):
    original = seal_run(tmp_path, "20261106T213000Z-a1b2")
    replay = tmp_path / "reports" / DATE / "20261106T233000Z-e5f6"
    seal_run(tmp_path, replay.name)
    manifest_path = writable(replay / "manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["replay_of"] = {"run_id": original.name}
    manifest_path.write_text(json.dumps(manifest))
    code, out, _ = bo("runs", "--reports", tmp_path / "reports")
    assert f"{replay.name}  full run; complete; 2 red, 0 amber; not signed off  [replay of {original.name}]" in out
    assert f"{original.name}  full run; complete; 2 red, 0 amber; not signed off  [OFFICIAL]" in out


def test_approving_with_close_locks_the_nav_date(tmp_path, store_copy):
    from bo_lib.books.periods import audit_trail, locked_through
    from tests.conftest import DATA, PARAMETERS

    run_dir = seal_run(tmp_path)
    manifest_path = writable(run_dir / "manifest.json")
    manifest = json.loads(manifest_path.read_text())  # point the run at the sample world's books (GLBD: no flagged price that day)
    manifest.update(parameters={**manifest["parameters"], "dir": str(PARAMETERS)}, data_root=str(DATA), store=str(store_copy))
    manifest["jobs"] = [{**job, "job_id": job["job_id"].replace("USEQ", "GLBD"), "fund": "GLBD",
                         "results": {"exceptions": {"red": 0, "amber": 0, "green": 3}, "exception_checks": []}} for job in manifest["jobs"]]
    manifest_path.write_text(json.dumps(manifest))
    signoff(run_dir, "--as", "Alice", "--role", "preparer")
    code, out, err = signoff(run_dir, "--as", "Bob", "--role", "reviewer", "--close")
    assert code == EXIT_OK, out + err
    assert "closed GLBD through 2026-11-06" in out
    assert str(locked_through(store_copy, "GLBD")) == "2026-11-06"
    trail = audit_trail(store_copy, "GLBD")
    assert list(trail["by_name"])[-1] == "Bob" and "approved run 20261106T213000Z-a1b2" in list(trail["reason"])[-1]


def test_runs_sealed_before_the_ledger_are_adopted_only_when_they_verify(tmp_path):
    good = seal_run(tmp_path, "20261106T213000Z-a1b2")
    bad = seal_run(tmp_path, "20261106T223000Z-c3d4")
    reports = tmp_path / "reports"
    (reports / LEDGER).unlink()  # an archive of the first release: no ledger, no sign-off pages
    for run in (good, bad):
        writable(run)
        (run / SIGNOFF_PAGE).unlink()
    page = writable(bad / "USEQ/nav.html")
    page.write_text(page.read_text().replace("24.6048", "24.6049"))
    code, out, _ = bo("ledger", "--reports", reports, "--adopt")
    assert code == EXIT_FAILED
    assert f"adopted {DATE}/{good.name}: entered in the ledger" in out
    assert f"NOT ADOPTED {DATE}/{bad.name}: ALTERED USEQ/nav.html" in out
    assert "1 entry (1 run, 0 sign-offs), 0 signed; chain intact" in out
    code, out, err = bo("verify", good)
    assert code == EXIT_OK and "(adopted into the ledger on " in out and "sealed before it: the ledger vouches for the run from then on only" in out
    assert verify(bad)[1][0].startswith("NOT IN LEDGER run 20261106T223000Z-c3d4")


def test_verify_of_the_report_root_checks_every_run(tmp_path):
    first = seal_run(tmp_path, "20261106T213000Z-a1b2")
    second = seal_run(tmp_path, "20261106T223000Z-c3d4")
    page = writable(second / "USEQ/nav.html")
    page.write_text(page.read_text().replace("24.6048", "24.6049"))
    code, out, _ = bo("verify", tmp_path / "reports")
    lines = out.strip().splitlines()
    assert code == EXIT_FAILED
    assert lines[0].startswith(f"{DATE}/{first.name}: verified: 10 files")
    assert lines[1] == f"{DATE}/{second.name}: ALTERED USEQ/nav.html"
    assert lines[2] == "1 of 2 runs verified"


def test_a_replay_is_not_signed_off(tmp_path):
    run_dir = seal_run(tmp_path)
    manifest_path = writable(run_dir / "manifest.json")
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), "replay_of": {"run_id": "20261106T200000Z-0000"}}))
    code, _, err = signoff(run_dir, "--as", "Alice", "--role", "preparer")
    assert code == EXIT_USAGE and "is a replay of run 20261106T200000Z-0000, a check of it: sign off run 20261106T200000Z-0000 itself" in err


def _append_many(root: str, writer: str, count: int) -> None:
    from bo_lib.pipeline.ledger import append_entry

    for n in range(count):
        append_entry(root, {"kind": "test", "writer": writer, "n": n})


def test_two_processes_appending_at_once_keep_one_unbroken_chain(tmp_path):
    import multiprocessing

    from bo_lib.pipeline.ledger import check_chain, ledger_path, read_ledger

    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(str(tmp_path), name, 25)) for name in ("a", "b")]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
    entries = read_ledger(ledger_path(tmp_path))
    assert len(entries) == 50 and [e["seq"] for e in entries] == list(range(1, 51))
    assert check_chain(entries).problems == []
    assert sorted((e["writer"], e["n"]) for e in entries) == sorted((w, n) for w in "ab" for n in range(25))


def test_a_ledger_whose_last_line_is_broken_takes_no_new_entry(tmp_path):
    from bo_lib.pipeline.ledger import append_entry

    seal_run(tmp_path)
    ledger = tmp_path / "reports" / LEDGER
    ledger.write_text(ledger.read_text() + '{"seq": 2, "trunc\n')
    with pytest.raises(ValueError, match="its last line is not a ledger entry; nothing appended"):
        append_entry(tmp_path / "reports", {"kind": "test"})


def test_the_same_person_under_another_spelling_is_refused(run_dir):
    assert signoff(run_dir, "--job", "USEQ/intake", "--as", "Alice Smith", "--role", "preparer")[0] == EXIT_OK
    for spelling in ("alice  smith", "ALICE SMITH ", "Alice\u200b Smith"):
        code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", spelling, "--role", "reviewer")
        assert code == EXIT_USAGE and "the reviewer must be someone else (four eyes)" in err, spelling
    code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", "\u200b ", "--role", "preparer")
    assert code == EXIT_USAGE and "--as: a name is required" in err


def test_a_reviewer_does_not_prepare_the_job_afterwards(run_dir):
    signoff(run_dir, "--job", "USEQ/intake", "--as", "Alice", "--role", "preparer")
    code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", "Bob", "--role", "reviewer")
    assert code == EXIT_OK and "prepared them (a shared login" in err  # the tests sign from one OS account: said, not refused
    code, _, err = signoff(run_dir, "--job", "USEQ/intake", "--as", "bob", "--role", "preparer")
    assert code == EXIT_USAGE and "USEQ/intake: reviewed by bob; a reviewer of a job does not prepare it too (four eyes)" in err


def test_a_signoff_line_added_by_hand_approves_nothing(run_dir):
    signoff(run_dir, "--as", "Alice", "--role", "preparer")
    log = writable(run_dir / SIGNOFF_LOG)
    first = json.loads(log.read_text().splitlines()[0])
    forged = {**first, "seq": 2, "name": "Mallory", "role": "reviewer", "prev": first["hash"],
              "explained": {"USEQ/nav:pricing exceptions": "ok", "USEQ/nav:NAV at a flagged price": "ok"}}
    forged["hash"] = entry_hash(forged)  # chained correctly, but not through bo signoff
    log.write_text(log.read_text() + json.dumps(forged) + "\n")
    code, out, _ = bo("runs", "--reports", run_dir.parent.parent)
    assert "2 of 2 jobs prepared, 0 reviewed" in out and "approved" not in out
    assert "SIGN-OFF NOT IN LEDGER entry 2 (reviewer Mallory): added outside bo signoff" in verify(run_dir)[1]


def test_a_run_entered_twice_moved_or_misfiled_is_named(tmp_path):
    run_dir = seal_run(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    with pytest.raises(ValueError, match="is in the ledger already \\(entry 1\\): a run is entered once"):
        record_in_ledger(run_dir, manifest)
    from bo_lib.pipeline.ledger import append_entry

    append_entry(tmp_path / "reports", {"kind": "run", "run_id": run_dir.name, "manifest_sha256": "0" * 64, "sealed": {}})
    assert f"LEDGER DUPLICATE run {run_dir.name}: entered again at entry 2 (a run is sealed once; checked against entry 1)" in verify(run_dir)[1]
    other = tmp_path / "reports" / "2026-11-09" / run_dir.name
    other.parent.mkdir()
    writable(run_dir.parent)
    run_dir.rename(other)
    problems = verify(other)[1]
    assert f"MOVED run {run_dir.name}: sealed as {DATE}/{run_dir.name}, found at 2026-11-09/{run_dir.name}" in problems
    assert f"MISFILED run {run_dir.name}: business date {DATE}, in the folder of 2026-11-09" in problems
    code, out, _ = bo("runs", "--reports", tmp_path / "reports")
    assert "2026-11-09" in out  # listed where it is, official for its own business date only
    from bo_lib.pipeline.index import official_runs, read_runs

    runs = read_runs(tmp_path / "reports")
    assert [run.business_date for run in runs if run.run_dir in official_runs(runs)] == [DATE]


def test_a_cut_ledger_is_caught_by_the_head_noted_earlier(run_dir):
    _approve(run_dir)
    code, lines = verify(run_dir)
    head = lines[-1].rsplit("ledger head ", 1)[1]
    ledger = run_dir.parent.parent / LEDGER
    ledger.write_text("".join(ledger.read_text().splitlines(keepends=True)[:-1]))  # the last review cut from the ledger...
    log = writable(run_dir / SIGNOFF_LOG)
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))  # ...and from the log
    assert verify(run_dir, "--expect-head", head)[1][-1].startswith(f"LEDGER CUT OR REWRITTEN: no entry has the head hash {head} noted earlier")
    code, out, _ = bo("ledger", "--reports", run_dir.parent.parent, "--expect-head", head)
    assert code == EXIT_FAILED and "LEDGER CUT OR REWRITTEN" in out


def test_a_run_sealed_with_the_ledger_or_signed_is_never_adopted(tmp_path):
    sealed_with = seal_run(tmp_path, "20261106T213000Z-a1b2")
    signed = seal_run(tmp_path, "20261106T223000Z-c3d4")
    signoff(signed, "--as", "Alice", "--role", "preparer")
    manifest_path = writable(sealed_with / "manifest.json")
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), "manifest_version": 3}))
    checksum = writable(sealed_with / "manifest.sha256")
    checksum.write_text(f"{sha(manifest_path)}  manifest.json\n")
    (tmp_path / "reports" / LEDGER).unlink()  # the ledger deleted: adopting would launder whatever happened
    code, out, _ = bo("ledger", "--reports", tmp_path / "reports", "--adopt")
    assert code == EXIT_FAILED
    assert f"NOT ADOPTED {DATE}/{sealed_with.name}: sealed with the ledger (manifest version 3)" in out
    assert f"NOT ADOPTED {DATE}/{signed.name}: it has a sign-off log (signoffs.jsonl)" in out


def test_a_run_copied_out_of_its_archive_verifies_with_the_ledger_named(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "audit" / run_dir.name
    shutil.copytree(run_dir, copy)
    ledger = run_dir.parent.parent / LEDGER
    code, lines = verify(copy, "--ledger", ledger)
    assert code == EXIT_OK, lines
    renamed = tmp_path / "audit" / "some-run"
    copy.rename(renamed)
    assert f"MOVED run {run_dir.name}: sealed as {DATE}/{run_dir.name}, found at some-run" in verify(renamed, "--ledger", ledger)[1]
