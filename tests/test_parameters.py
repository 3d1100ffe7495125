"""Parameters: the committed files load; YAML keeps identifiers as text; every bad fund file, bad
notebook parameter set and unknown notebook gives a ParameterError naming the file and the key."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bo_lib.controls import NOTEBOOK_PARAMETERS, check_notebook_parameters, load_schedule
from bo_lib.parameters import ParameterError, load_company, load_fund, load_funds, load_yaml

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "parameters"


def test_committed_parameters_load():
    funds = load_funds(PARAMS)
    assert sorted(funds) == ["GLBD", "MAHF", "USEQ"]
    useq = funds["USEQ"]
    assert useq.securities_accounts[0].account == "0012345678"
    assert useq.cash_accounts[0].account == "0012345679" and useq.cash_accounts[0].statement_format == "mt940"
    assert useq.inception_date == dt.date(2015, 1, 2)
    assert useq.tolerances.cash_amount == 0.01  # defaulted
    assert funds["GLBD"].nav_thresholds.materiality_pct == 0.5
    assert funds["MAHF"].share_classes[0].performance_fee.rate_pct == 20.0
    assert funds["MAHF"].securities_accounts[1].account == "0000456789"
    company = load_company(PARAMS)
    assert company.cik == "0001999123" and company.address.zip_code == "02116"
    schedule = load_schedule(PARAMS / "schedule.yaml")
    assert [j.notebook for j in schedule.jobs][0] == "intake" and schedule.data_root == "data"
    assert {j.notebook for j in schedule.jobs} == set(NOTEBOOK_PARAMETERS)


def test_yaml_keeps_identifiers_as_strings_and_types_the_rest(tmp_path):
    path = tmp_path / "sample.yaml"
    path.write_text("account: 0012\ncountry: NO\nyes_word: yes\nflag: true\noff: False\ncount: 12\nnegative: -3\n"
                    "rate: 1.5\nzero: 0\ncodes: [0012, NO, 007]\n", encoding="utf-8")
    loaded = load_yaml(path)
    assert loaded == {"account": "0012", "country": "NO", "yes_word": "yes", "flag": True, "off": False, "count": 12,
                      "negative": -3, "rate": 1.5, "zero": 0, "codes": ["0012", "NO", "007"]}
    assert type(loaded["flag"]) is bool and type(loaded["count"]) is int and type(loaded["rate"]) is float


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="broken.yaml: \\(file\\): not valid YAML"):
        load_yaml(path)


@pytest.fixture
def fund_file(tmp_path):
    """A writable copy of USEQ.yaml; returns (path, text)."""
    funds = tmp_path / "funds"
    funds.mkdir()
    path = funds / "USEQ.yaml"
    shutil.copy(PARAMS / "funds" / "USEQ.yaml", path)
    return path, path.read_text(encoding="utf-8")


def _error(path: Path) -> ParameterError:
    with pytest.raises(ParameterError) as info:
        load_fund(path)
    message = str(info.value)
    assert str(path) in message
    return info.value


def test_unknown_key(fund_file):
    path, text = fund_file
    path.write_text(text.replace("nav_decimals: 4", "nav_decimals: 4\nnav_decimal_places: 4"), encoding="utf-8")
    err = _error(path)
    assert err.problems == [("nav_decimal_places", "unknown key")]
    assert f"{path}: nav_decimal_places: unknown key" in str(err)


def test_unknown_nested_key(fund_file):
    path, text = fund_file
    path.write_text(text.replace("  materiality_pct: 1.0", "  materiality_pct: 1.0\n  materiality_bps: 100"), encoding="utf-8")
    assert _error(path).problems == [("nav_thresholds.materiality_bps", "unknown key")]


def test_wrong_type(fund_file):
    path, text = fund_file
    path.write_text(text.replace("nav_decimals: 4", "nav_decimals: four"), encoding="utf-8")
    err = _error(path)
    assert len(err.problems) == 1
    key, rule = err.problems[0]
    assert key == "nav_decimals" and "valid integer" in rule and "'four'" in rule
    assert f"{path}: nav_decimals:" in str(err)


def test_missing_required_value(fund_file):
    path, text = fund_file
    path.write_text(text.replace("base_currency: USD\n", ""), encoding="utf-8")
    err = _error(path)
    assert err.problems == [("base_currency", "missing value (required)")]
    assert f"{path}: base_currency: missing value (required)" in str(err)


def test_several_problems_are_reported_together(fund_file):
    path, text = fund_file
    path.write_text(text.replace("base_currency: USD\n", "").replace("nav_decimals: 4", "nav_decimals: four")
                    .replace("  currency: USD\n  statement_format: mt940", "  currency: usd\n  statement_format: mt942"), encoding="utf-8")
    keys = {k for k, _ in _error(path).problems}
    assert keys == {"base_currency", "nav_decimals", "cash_accounts.0.currency", "cash_accounts.0.statement_format"}


def test_duplicated_share_class_code(fund_file):
    path, text = fund_file
    path.write_text(text.replace("- code: I\n", "- code: A\n"), encoding="utf-8")
    message = str(_error(path))
    assert "share_classes" in message and "duplicated code(s) ['A']" in message


def test_fund_code_must_match_the_file_name(fund_file):
    path, text = fund_file
    other = path.with_name("USEQ2.yaml")
    other.write_text(text, encoding="utf-8")
    err = _error(other)
    assert err.problems == [("fund_code", "'USEQ' does not match the file name 'USEQ2'")]
    # load_funds checks every file and names the bad one
    with pytest.raises(ParameterError, match="USEQ2.yaml: fund_code"):
        load_funds(path.parent.parent)


def test_account_given_as_a_yaml_integer_is_rejected(fund_file):
    path, text = fund_file
    path.write_text(text.replace("- account: 0012345678", "- account: 12345"), encoding="utf-8")
    err = _error(path)
    assert len(err.problems) == 1
    key, rule = err.problems[0]
    assert key == "securities_accounts.0.account" and "valid string" in rule and "12345" in rule


def test_leading_zero_account_stays_a_string(fund_file):
    path, _ = fund_file
    fund = load_fund(path)
    assert fund.securities_accounts[0].account == "0012345678"
    assert fund.withholding_tax_pct == {"US": 0.0, "DE": 15.0, "FR": 15.0, "NL": 15.0, "GB": 0.0}


VALID = {"business_date": "2026-11-06", "data_root": "data", "parameters_dir": "parameters", "fund": "USEQ"}


def test_notebook_parameters_accept_valid_values():
    params = check_notebook_parameters("intake", VALID)
    assert (params.business_date, params.fund, params.run_id) == ("2026-11-06", "USEQ", "interactive")
    assert check_notebook_parameters("intake", {**VALID, "business_date": ""}).business_date == ""


@pytest.mark.parametrize("bad", ["2026-13-01", "06/11/2026", "yesterday"])
def test_notebook_parameters_reject_a_bad_business_date(bad):
    with pytest.raises(ParameterError) as info:
        check_notebook_parameters("intake", {**VALID, "business_date": bad})
    assert "parameters of notebook 'intake'" in str(info.value)
    assert f"business_date {bad!r} is not YYYY-MM-DD" in str(info.value)


def test_notebook_parameters_reject_missing_and_unknown_keys():
    params = {k: v for k, v in VALID.items() if k != "fund"} | {"funds": "USEQ"}
    with pytest.raises(ParameterError) as info:
        check_notebook_parameters("intake", params)
    assert sorted(info.value.problems) == [("fund", "missing value (required)"), ("funds", "unknown key")]


def test_unknown_notebook_is_rejected():
    with pytest.raises(ParameterError) as info:
        check_notebook_parameters("no_such_notebook", VALID)
    assert "'no_such_notebook'" in str(info.value) and f"known: {sorted(NOTEBOOK_PARAMETERS)}" in str(info.value)


def test_schedule_naming_an_undeclared_notebook_is_rejected(tmp_path):
    path = tmp_path / "schedule.yaml"
    path.write_text("jobs:\n  - notebook: nav_control\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="jobs.notebook: no such notebook declared: \\['nav_control'\\]"):
        load_schedule(path)


def test_the_write_off_threshold_is_base_currency_and_not_negative(fund_file):
    path, text = fund_file
    assert load_fund(path).recon.write_off_threshold == 10000.0
    path.write_text(text.replace("  write_off_threshold: 10000.0", "  write_off_threshold: -1"), encoding="utf-8")
    key, rule = _error(path).problems[0]
    assert key == "recon.write_off_threshold" and "greater than or equal to 0" in rule
