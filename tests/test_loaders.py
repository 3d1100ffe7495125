"""Loaders against bad input: every problem is reported with the file, the line, the column and the
rule broken, all problems of a file together, and attributed to the fund whose row it is.

Each test copies the committed sample world to a temporary folder and corrupts one file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.data.errors import DataValidationError, Violation
from bo_lib.data.loaders import account_fund_map, load_dataset, load_reference, read_dataset
from bo_lib.parameters import load_funds

REPO = Path(__file__).resolve().parents[1]
FINAL = dt.date(2026, 11, 6)
TRADES = "inbound/2026-11-06/trades.csv"
CONFIRMS = "inbound/2026-11-06/broker_confirms.csv"


@pytest.fixture(scope="module")
def reference() -> dict[str, pd.DataFrame]:
    return load_reference(REPO / "data")


@pytest.fixture(scope="module")
def account_funds() -> dict[str, str]:
    return account_fund_map(load_funds(REPO / "parameters"))


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(REPO / "data", root, ignore=shutil.ignore_patterns("store"))
    return root


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set(path: Path, line: int, column: str, value: str) -> str:
    """Set one cell (line 1 is the header); returns the old value."""
    rows = _rows(path)
    i = rows[0].index(column)
    old, rows[line - 1][i] = rows[line - 1][i], value
    _write(path, rows)
    return old


def _trades(data: Path, reference=None, **kw):
    return read_dataset("trades", data, FINAL, reference=reference, **kw)


def test_the_untouched_copy_is_clean(data, reference, account_funds):
    result = _trades(data, reference, account_funds=account_funds)
    assert result.violations == [] and len(result.frame) == result.rows_in_file == 15


def test_missing_column_is_reported_on_the_header_line(data, reference):
    path = data / TRADES
    rows = [r[:6] + r[7:] for r in _rows(path)]  # drop `quantity`
    _write(path, rows)
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, 1, "quantity", "required column missing")]
    assert str(result.violations[0]) == f"{TRADES}: line 1, column quantity: required column missing"
    # a file-level problem belongs to every fund
    assert _trades(data, reference, fund="GLBD").violations == result.violations


def test_unexpected_column_is_reported_too(data, reference):
    path = data / TRADES
    _write(path, [r + (["trader"] if i == 0 else ["JD"]) for i, r in enumerate(_rows(path))])
    assert _trades(data, reference).violations == [Violation(TRADES, 1, "trader", "unexpected column (not in the contract)")]


def test_non_numeric_values_are_all_reported_with_their_line_and_value(data, reference):
    path = data / TRADES
    _set(path, 3, "quantity", "12x")
    _set(path, 11, "price", "n/a")
    result = _trades(data, reference)
    assert result.violations == [
        Violation(TRADES, 3, "quantity", "not a number", "12x", "GLBD"),
        Violation(TRADES, 11, "price", "not a number", "n/a", "USEQ"),
    ]
    with pytest.raises(DataValidationError) as info:
        load_dataset("trades", data, FINAL, reference=reference)
    message = str(info.value)
    assert message.startswith(f"2 data problem(s) in {TRADES}:")
    assert f"{TRADES}: line 3, column quantity: not a number (got '12x')" in message
    assert f"{TRADES}: line 11, column price: not a number (got 'n/a')" in message
    frame = info.value.to_frame()
    assert frame["line"].tolist() == [3, 11] and frame["column"].tolist() == ["quantity", "price"]


def test_duplicate_trade_id_names_both_lines_and_holds_both_out(data, reference):
    path = data / TRADES
    first = _rows(path)[1][0]
    _set(path, 4, "trade_id", first)
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, 2, "trade_id", f"duplicate key {first} (also on line 4)", None, "GLBD"),
                                 Violation(TRADES, 4, "trade_id", f"duplicate key {first} (also on line 2)", None, "GLBD")]
    assert result.frame.set_index("source_line").loc[[2, 4], "held_out"].all()


def test_unknown_security_is_reported(data, reference):
    _set(data / TRADES, 13, "security_id", "EQ99999")
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, 13, "security_id", "unknown security_id (not in securities)", "EQ99999", "USEQ")]
    # without the securities master there is nothing to check against
    assert _trades(data).violations == []


def test_wrong_date_format(data, reference):
    _set(data / TRADES, 6, "trade_date", "06/11/2026")
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, 6, "trade_date", "not a date in YYYY-MM-DD format", "06/11/2026", "MAHF")]


def test_date_other_than_the_business_date(data, reference):
    _set(data / TRADES, 6, "trade_date", "2026-11-05")
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, 6, "trade_date", "date is not the file's business date 2026-11-06", "2026-11-05", "MAHF")]


def test_a_confirmation_may_confirm_an_earlier_trade_but_not_a_later_one(data, reference, account_funds):
    """A late or corrected broker confirmation keeps its trade's date (the trade recon keeps the
    trade's break open until it arrives); a trade date after the file's business date is refused."""
    path = data / CONFIRMS
    rows = _rows(path)
    line = next(i for i, r in enumerate(rows, start=1) if r[rows[0].index("account")] == "0012345678")
    _set(path, line, "trade_date", "2026-11-03")
    kw = dict(reference=reference, account_funds=account_funds)
    late = read_dataset("broker_confirms", data, FINAL, fund="USEQ", **kw)
    assert late.violations == [] and pd.Timestamp("2026-11-03") in set(late.frame["trade_date"])
    _set(path, line, "trade_date", "2026-11-09")
    _set(path, line, "settlement_date", "2026-11-10")
    ahead = read_dataset("broker_confirms", data, FINAL, fund="USEQ", **kw)
    assert ahead.violations == [Violation(CONFIRMS, line, "trade_date", "date is after the file's business date 2026-11-06", "2026-11-09", "USEQ")]


def test_settlement_before_trade_date(data, reference):
    _set(data / TRADES, 12, "settlement_date", "2026-11-05")
    result = _trades(data, reference)
    assert len(result.violations) == 1
    v = result.violations[0]
    assert (v.file, v.line, v.column, v.rule, v.fund) == (TRADES, 12, "settlement_date", "settlement date is before the trade date", "USEQ")
    assert v.value.startswith("2026-11-05")


def test_row_with_too_many_fields_is_malformed_csv(data, reference):
    path = data / TRADES
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] += ",EXTRA"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, 5, None, "malformed CSV: expected 17 fields, saw 18")]
    assert result.frame.empty and list(result.frame.columns)[:3] == ["trade_id", "fund", "account"]


def test_row_with_too_few_fields_is_not_silent_in_trades(data, reference):
    path = data / TRADES
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = ",".join(lines[4].split(",")[:-3])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _trades(data, reference)
    assert result.violations and {v.line for v in result.violations} == {5}


def test_row_with_too_few_fields_is_malformed_csv_even_when_trailing_columns_are_optional(data):
    """A short row is malformed CSV (RFC 4180: every record has the header's field count). In the
    securities master an equity's trailing columns are optional, so a truncated row must not load
    as if the bond and option terms had been left empty on purpose."""
    path = data / "reference" / "securities.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[3].startswith("EQ00003,") and lines[3].endswith(",,,,,,,,,")
    lines[3] = lines[3].rstrip(",")  # 15 of 24 fields
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_dataset("securities", data)
    assert [(v.line, v.rule) for v in result.violations] == [(4, "malformed CSV: expected 24 fields, saw 15")]


def test_empty_file(data, reference):
    (data / TRADES).write_bytes(b"")
    result = _trades(data, reference)
    assert result.violations == [Violation(TRADES, None, None, "file is empty (no header line)")]
    assert str(result.violations[0]) == f"{TRADES}: file: file is empty (no header line)"
    assert result.frame.empty and result.rows_in_file == 0


def test_header_only_file_is_a_valid_day_without_trades(data, reference):
    path = data / TRADES
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    result = _trades(data, reference)
    assert result.violations == [] and result.frame.empty


def test_undelivered_file(data, reference):
    (data / TRADES).unlink()
    result = _trades(data, reference, fund="USEQ")
    assert result.violations == [Violation(TRADES, None, None, "expected file was not delivered")]
    assert result.frame.empty and "trade_id" in result.frame.columns
    with pytest.raises(DataValidationError, match="expected file was not delivered"):
        load_dataset("trades", data, FINAL)


def test_bad_row_is_attributed_to_its_fund(data, reference):
    _set(data / TRADES, 14, "quantity", "-5")  # a USEQ row
    useq = _trades(data, reference, fund="USEQ")
    assert useq.violations == [Violation(TRADES, 14, "quantity", "must be > 0", "-5", "USEQ")]
    assert set(useq.frame["fund"]) == {"USEQ"} and len(useq.frame) == 6
    glbd = _trades(data, reference, fund="GLBD")
    assert glbd.violations == []
    assert set(glbd.frame["fund"]) == {"GLBD"} and len(glbd.frame) == 4
    assert glbd.frame["source_line"].tolist() == [2, 3, 4, 5]


def test_bad_confirm_row_is_attributed_via_the_account(data, reference, account_funds):
    path = data / CONFIRMS
    rows = _rows(path)
    line = next(i for i, r in enumerate(rows, start=1) if r[rows[0].index("account")] == "0012345678")
    _set(path, line, "price", "0")
    kw = dict(reference=reference, account_funds=account_funds)
    useq = read_dataset("broker_confirms", data, FINAL, fund="USEQ", **kw)
    assert useq.violations == [Violation(CONFIRMS, line, "price", "must be > 0", "0", "USEQ")]
    assert set(useq.frame["account"]) == {"0012345678"}
    assert read_dataset("broker_confirms", data, FINAL, fund="GLBD", **kw).violations == []
    # without the account map the row cannot be told apart: the problem is everyone's
    unattributed = read_dataset("broker_confirms", data, FINAL, reference=reference)
    assert [(v.line, v.fund) for v in unattributed.violations] == [(line, None)]


def test_identifiers_stay_strings(reference):
    trades = load_dataset("trades", REPO / "data", FINAL, reference=reference)
    assert "0012345678" in set(trades["account"]) and "0047110815" in set(trades["account"])
    investors = reference["investors"].set_index("investor_id")
    assert investors.at["INV-MAHF-006", "domicile"] == "NO"
    positions = load_dataset("opening_positions", REPO / "data")
    assert "0000456789" in set(positions["account"])
    cash = load_dataset("opening_cash", REPO / "data")
    assert "0012345679" in set(cash["account"])


def test_dtypes_are_typed(reference):
    trades = load_dataset("trades", REPO / "data", FINAL, reference=reference)
    for col in ("trade_date", "settlement_date"):
        assert trades[col].dtype == "datetime64[ns]", col
    for col in ("quantity", "price", "net_amount", "accrued_interest"):
        assert trades[col].dtype == "float64", col
    for col in ("trade_id", "account", "security_id", "isin"):
        assert pd.api.types.is_string_dtype(trades[col]), col
        assert all(isinstance(x, str) for x in trades[col]), col
    assert trades.loc[0, "trade_date"] == pd.Timestamp("2026-11-06")
    secs = reference["securities"].set_index("security_id")
    assert secs["is_13f"].dtype == bool and secs.at["EQ00001", "is_13f"]
    assert str(secs["coupon_frequency"].dtype) == "Int64"
    assert secs.at["BD00007", "day_count"] == "ACT/360"
