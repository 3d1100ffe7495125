"""The ``bo`` command's surface without kernels: --version, bo run --help, option errors, the
formatting of job lines, heartbeat, run line and exceptions summary, the run log's sections, the
recorded exception checks and ``exit_status``."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.cli import EXIT_EXCEPTIONS, EXIT_FAILED, EXIT_OK, EXIT_USAGE, exit_status, run_epilog
from bo_lib.pipeline.execute import job_log_section, kernel_output
from bo_lib.pipeline.terminal import (counts_text, exception_totals, exceptions_summary, heartbeat_line, job_line,
                                      progress_printer, run_line)
from bo_lib.report.record import DETAIL_LIMIT, exception_record
from tests.commands import bo

REPO = Path(__file__).resolve().parent.parent
DATA, PARAMETERS = REPO / "data", REPO / "parameters"




# --------------------------------------------------------------------------------------------
# The parser


def test_version_names_the_code_and_the_package_version():
    import importlib.metadata

    from bo_lib.version import code_version

    code, out, _ = bo("--version")
    assert code == 0
    assert out.strip() == f"bo {code_version()} (bo-workbench {importlib.metadata.version('bo-workbench')})"
    assert re.fullmatch(r"bo \d+\.\d+\.\d+(\+g[0-9a-f]{12}(\.dirty)?)? \(bo-workbench \d+\.\d+\.\d+\)", out.strip())


def test_run_help_lists_the_notebooks_and_the_funds_of_the_parameters_folder(tmp_path):
    code, out, _ = bo("run", "--help", "--parameters", str(PARAMETERS))
    assert code == 0
    text = " ".join(out.split())
    assert ("notebooks (--notebook): intake (Inbound data control), settlement (Settlement report), regulatory (Regulatory reporting, "
            "company-wide), nav (Shadow NAV), reconciliation (Reconciliation report)") in text
    assert f"funds (--fund), from {PARAMETERS / 'funds'}/*.yaml: GLBD, MAHF, USEQ" in text
    assert "(MERIDIAN)" in text and "--fail-on" in text and "--heartbeat" in text and "5 (with --fail-on" in text

    (tmp_path / "funds").mkdir()
    for code_ in ("ZZZ", "AAA"):
        (tmp_path / "funds" / f"{code_}.yaml").write_text("fund_code: x\n")
    assert "funds (--fund), from " + str(tmp_path / "funds") + "/*.yaml: AAA, ZZZ" in " ".join(run_epilog(tmp_path).split())
    missing = " ".join(run_epilog(tmp_path / "nowhere").split())
    assert f"the file names of {tmp_path / 'nowhere' / 'funds'}/*.yaml (no such folder; --parameters names another folder)" in missing


def test_top_level_help_lists_exit_code_5():
    code, out, _ = bo("--help")
    assert code == 0 and re.search(r"^  5  every job ran, but with --fail-on red", out, re.M)


def _run(*extra: str) -> tuple[int, str, str]:
    return bo("run", "--parameters", str(PARAMETERS), "--data", str(DATA), "--reports", "/nonexistent/reports", *extra)


def test_a_date_that_is_not_a_date_names_the_option():
    code, out, err = _run("--date", "2026-13-01")
    assert (code, out, err) == (EXIT_USAGE, "", "bo: error: --date: '2026-13-01' is not a date YYYY-MM-DD\n")


def test_a_date_without_a_delivery_names_the_option_and_the_dates_delivered():
    code, _, err = _run("--date", "2026-11-08")
    assert code == EXIT_USAGE
    assert err == (f"bo: error: --date: no inbound data for 2026-11-08 under {DATA} "
                   "(deliveries from 2026-10-01 to 2026-11-06)\n")


def test_an_unknown_fund_or_notebook_names_the_option_and_what_is_known():
    code, _, err = _run("--fund", "USEQQ")
    assert code == EXIT_USAGE
    assert err == "bo: error: --fund: unknown fund 'USEQQ' (known: GLBD, MAHF, USEQ; MERIDIAN for the company's notebooks)\n"
    code, _, err = _run("--fund", "USEQ", "--fund", "X", "--fund", "Y")
    assert code == EXIT_USAGE and err.startswith("bo: error: --fund: unknown funds 'X', 'Y' (known: ")
    code, _, err = _run("--notebook", "navv")
    assert code == EXIT_USAGE
    assert err == (f"bo: error: --notebook: unknown notebook 'navv' (scheduled in {PARAMETERS / 'schedule.yaml'}: "
                   "intake, settlement, regulatory, nav, reconciliation, corporate_actions)\n")


def test_bad_heartbeat_and_fail_on_are_usage_errors():
    code, _, err = _run("--heartbeat", "-1")
    assert code == EXIT_USAGE and err == "bo: error: --heartbeat: -1 is negative (seconds between lines; 0: none)\n"
    code, _, err = _run("--fail-on", "green")
    assert code == EXIT_USAGE and "argument --fail-on: invalid choice: 'green'" in err


# --------------------------------------------------------------------------------------------
# Recorded exceptions: the counts and the checks


SUMMARY = pd.DataFrame([
    ("Trades matched", "green", 0, "all trades match"),
    ("Prices stale", "amber", 2, "2 prices older\n than a day"),
    ("Cash breaks", "red", 3, "CASH-USEQ differs by 1,200.00 USD; " + "x" * 400),
    ("Missing statement", "red", None, None),
], columns=["check", "rag", "count", "detail"])


def test_the_exceptions_table_records_the_counts_and_the_red_and_amber_checks_worst_first():
    counts, checks = exception_record(SUMMARY)
    assert counts == {"red": 2, "amber": 1, "green": 1}  # checks per status, as the controls' counts give them
    assert [(c["rag"], c["check"], c["count"]) for c in checks] == [
        ("red", "Cash breaks", 3), ("red", "Missing statement", None), ("amber", "Prices stale", 2)]
    assert checks[2]["detail"] == "2 prices older than a day" and checks[1]["detail"] == ""
    assert len(checks[0]["detail"]) == DETAIL_LIMIT and checks[0]["detail"].endswith("…")
    assert all(set(c) == {"rag", "check", "count", "detail"} and type(c["count"]) in (int, type(None)) for c in checks)


def test_a_counts_dict_is_recorded_as_before():
    assert exception_record({"red": 1, "amber": 0, "green": 4}) == ({"red": 1, "amber": 0, "green": 4}, None)


# --------------------------------------------------------------------------------------------
# What bo run prints


def job(job_id: str, status: str = "ok", seconds: float | None = 24.1, exceptions: dict | None = None,
        checks: list[dict] | None = None, error: str | None = None) -> dict:
    results = {"trade_count": 3}
    if exceptions is not None:
        results["exceptions"] = exceptions
    if checks is not None:
        results["exception_checks"] = checks
    return {"job_id": job_id, "status": status, "error": error, "duration_seconds": seconds, "results": results}


def manifest(*jobs: dict) -> dict:
    failed = sum(j["status"] != "ok" for j in jobs)
    return {"run_id": "20261106T081500Z-3f9a", "business_date": "2026-11-06", "duration_seconds": 151.24,
            "jobs": list(jobs), "summary": {"jobs": len(jobs), "ok": len(jobs) - failed, "failed": failed}}


def test_job_lines_say_the_counts_of_an_ok_job_and_the_reason_of_a_failed_one():
    ok = job("USEQ/nav", exceptions={"red": 2, "amber": 1, "green": 9})
    assert job_line(3, 13, ok, 16) == "[ 3/13] ok      USEQ/nav           24.1s  2 red, 1 amber"
    failed = job("GLBD/settlement", "failed", 3.2, {"red": 1}, error="ValueError: bad input")
    assert job_line(4, 13, failed, 16) == "[ 4/13] FAILED  GLBD/settlement     3.2s  ValueError: bad input"
    assert job_line(1, 3, job("BAD/intake", seconds=None)) == "[1/3] ok      BAD/intake       -"  # nothing recorded: nothing said
    assert job_line(2, 3, job("GLBD/intake", exceptions={"red": 0, "amber": 0, "green": 5})).endswith("24.1s  no red or amber")
    assert counts_text({"red": 0, "amber": 4}) == "4 amber" and counts_text(None) == ""


def test_the_progress_printer_aligns_the_job_ids_of_the_plan():
    out = io.StringIO()
    printer = progress_printer(["USEQ/nav", "MERIDIAN/regulatory"], stream=out)
    printer(1, 2, {"job_id": "USEQ/nav"}, {"status": "ok", "error": None, "duration_seconds": 5.0, "results": {}})
    assert out.getvalue() == "[1/2] ok      USEQ/nav               5.0s\n"


def test_the_heartbeat_names_the_jobs_running_longest_first():
    assert heartbeat_line(5, 13, [("GLBD/reconciliation", 31.4), ("USEQ/nav", 62.9)]) == \
        "... 5/13 done; running: USEQ/nav 62s, GLBD/reconciliation 31s"
    assert heartbeat_line(0, 3, []) == "... 0/3 done; running: waiting for a worker"
    assert heartbeat_line(12, 13, [("USEQ/nav", 185)]) == "... 12/13 done; running: USEQ/nav 3m05s"


RED_CHECKS = [{"rag": "red", "check": "Cash breaks", "count": 3, "detail": "CASH-USEQ differs by 1,200.00 USD " + "y" * 300},
              {"rag": "red", "check": "Missing statement", "count": None, "detail": ""},
              {"rag": "amber", "check": "Prices stale", "count": 2, "detail": "two prices"}]


def test_the_run_line_and_the_red_exceptions_summary():
    run = manifest(job("USEQ/nav", exceptions={"red": 2, "amber": 1, "green": 3}, checks=RED_CHECKS),
                   job("GLBD/intake", exceptions={"red": 1, "amber": 0, "green": 7}),  # counts only (a dict was recorded)
                   job("MAHF/settlement", exceptions={"red": 0, "amber": 4, "green": 1}),
                   job("MERIDIAN/regulatory"),  # recorded no exceptions
                   job("GLBD/settlement", "failed", error="boom"))
    assert run_line(run) == "run 20261106T081500Z-3f9a (2026-11-06): 4 ok, 1 failed in 151.2s; 3 red, 5 amber exceptions"
    lines = exceptions_summary(run, width=80)
    assert lines[:4] == [
        "red exceptions: 3 in 2 jobs",
        "  USEQ/nav     Cash breaks (3): CASH-USEQ differs by 1,200.00 USD " + "y" * 13 + "…",  # cut to the width
        "  USEQ/nav     Missing statement",
        "  GLBD/intake  1 red check(s), not itemised (the report lists them)",
    ]
    assert all(len(line) <= 80 for line in lines)
    assert " ".join(lines[4:]) == "amber exceptions: 5 in 2 jobs: USEQ/nav 1, MAHF/settlement 4"
    assert exception_totals(run) == {"red": 3, "amber": 5}


def test_a_run_without_recorded_exceptions_prints_no_summary():
    run = manifest(job("USEQ/intake"), job("GLBD/intake", exceptions={"red": 0, "amber": 0, "green": 2}))
    assert run_line(run) == "run 20261106T081500Z-3f9a (2026-11-06): 2 ok, 0 failed in 151.2s; 0 red, 0 amber exceptions"
    assert exceptions_summary(run) == []
    assert run_line(manifest(job("USEQ/intake"))).endswith("in 151.2s")


# --------------------------------------------------------------------------------------------
# The exit code


@pytest.mark.parametrize("jobs, expected", [
    ([job("A/x", exceptions={"red": 0, "amber": 0})], {"failed": EXIT_OK, "red": EXIT_OK, "amber": EXIT_OK}),
    ([job("A/x", exceptions={"red": 0, "amber": 2})], {"failed": EXIT_OK, "red": EXIT_OK, "amber": EXIT_EXCEPTIONS}),
    ([job("A/x", exceptions={"red": 1, "amber": 0}), job("B/x")], {"failed": EXIT_OK, "red": EXIT_EXCEPTIONS, "amber": EXIT_EXCEPTIONS}),
    ([job("A/x", exceptions={"red": 1}), job("B/x", "failed", error="e")], {"failed": EXIT_FAILED, "red": EXIT_FAILED, "amber": EXIT_FAILED}),
    ([job("A/x")], {"failed": EXIT_OK, "red": EXIT_OK, "amber": EXIT_OK}),  # nothing recorded
])
def test_exit_status(jobs, expected):
    assert {fail_on: exit_status(manifest(*jobs), fail_on) for fail_on in expected} == expected
    assert EXIT_EXCEPTIONS == 5


def test_exit_status_fires_on_a_manifest_of_real_shape():
    """The manifest's jobs as run_daily writes them, their results as record_key_figures records a
    control's exceptions table."""
    counts, checks = exception_record(SUMMARY)
    real = {"manifest_version": 2, "run_id": "r", "business_date": "2026-11-06", "duration_seconds": 1.0,
            "summary": {"jobs": 1, "ok": 1, "failed": 0}, "outputs": {},
            "jobs": [{"job_id": "USEQ/settlement", "notebook": "settlement", "fund": "USEQ", "entity": "USEQ", "scope": "fund",
                      "parameters": {}, "input_notebook": {}, "status": "ok", "error": None, "started": "s", "ended": "e",
                      "duration_seconds": 1.0, "outputs": {},
                      "results": {"business_date": "2026-11-06", "exceptions": counts, "exception_checks": checks, "fails": 2}}]}
    assert exit_status(real, "failed") == EXIT_OK
    assert exit_status(real, "red") == EXIT_EXCEPTIONS
    assert exceptions_summary(real)[1].startswith("  USEQ/settlement  Cash breaks (3): CASH-USEQ differs by 1,200.00 USD")
    with pytest.raises(ValueError, match="--fail-on"):
        exit_status(real, "green")


# --------------------------------------------------------------------------------------------
# The run log


def test_kernel_noise_is_dropped_from_a_job_output():
    captured = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication ...\n"
                "2026-11-06 08:15:00,001 papermill INFO: Executing notebook with kernel: python3\n"
                "0.00s - Debugger warning: It seems that frozen modules are being used, which may\n"
                "0.00s - make the debugger miss breakpoints. Please pass -Xfrozen_modules=off\n"
                "0.00s - to python to disable frozen modules.\n"
                "0.00s - Note: Debugging will proceed. Set PYDEVD_DISABLE_FILE_VALIDATION=1 to disable this validation.\n"
                "/x/y.py:3: FutureWarning: something the job did\n"
                "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\n\n")
    assert kernel_output(captured) == ("2026-11-06 08:15:00,001 papermill INFO: Executing notebook with kernel: python3\n"
                                       "/x/y.py:3: FutureWarning: something the job did")


def test_a_job_section_of_the_run_log():
    outcome = {"status": "failed", "error": "ValueError: bad input", "started": "2026-11-06T08:15:00.000Z",
               "ended": "2026-11-06T08:15:03.200Z", "duration_seconds": 3.2}
    assert job_log_section("BAD/intake", outcome, "line one\n") == (
        "==== BAD/intake: failed in 3.2s ====\n"
        "started 2026-11-06T08:15:00.000Z, ended 2026-11-06T08:15:03.200Z\n"
        "error: ValueError: bad input\n"
        "line one\n\n")
    assert job_log_section("USEQ/nav", {"status": "ok", "duration_seconds": None}, "") == (
        "==== USEQ/nav: ok ====\nstarted -, ended -\n(no output)\n\n")


def test_bo_break_lists_its_actions_and_needs_one():
    code, out, _ = bo("break", "--help")
    assert code == 0
    for action in ("list", "show", "assign", "investigate", "comment", "resolve", "write-off", "approve", "reject", "match", "unmatch", "reopen"):
        assert action in out
    code, _, err = bo("break")
    assert code == 2 and "the following arguments are required: ACTION" in err
    code, _, err = bo("break", "resolve", "POS-1", "--as", "j.doe")
    assert code == 2 and "the following arguments are required: --comment" in err
