"""Bad input never becomes a number: each class of fault found by feeding the sample world bad
files, with the rule that catches it and what the controls show.

Loader-level cases validate one mutated file; store-level cases ingest a corrected re-delivery of
the final date into a copy of the sample store, roll the books and read the controls, comparing
with the clean figures of the sample store itself.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from bo_lib.books import prepare_books
from bo_lib.books.periods import PeriodError, close_books
from bo_lib.books.state import load_state, state_index
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.ingest import ingest
from bo_lib.data.loaders import account_fund_map, fund_share_classes, read_dataset
from bo_lib.parameters import load_funds
from tests.conftest import PARAMETERS

FINAL = dt.date(2026, 11, 6)
INBOUND = f"inbound/{FINAL.isoformat()}"


@pytest.fixture(scope="module")
def funds():
    return load_funds(PARAMETERS)


@pytest.fixture(scope="module")
def reference(sample_store):
    return Catalogue(sample_store).reference()


def _edit(data, name: str, row_has: str, column: str, value: str) -> int:
    """Set ``column`` of the first row containing ``row_has`` in an inbound CSV; returns its line."""
    path = data / INBOUND / name
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    n = next(i for i, line in enumerate(lines) if i and row_has in line)
    parts = lines[n].split(",")
    parts[header.index(column)] = value
    lines[n] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    return n + 1


def _read(data, dataset, funds, reference, **kw):
    return read_dataset(dataset, data, FINAL, reference=reference, account_funds=account_fund_map(funds),
                        share_classes=fund_share_classes(funds), **kw)


def _only(result, line):
    found = [v for v in result.violations if v.line == line]
    assert found, [str(v) for v in result.violations]
    return found


# -- numbers: finite and plausible ------------------------------------------------------------------

@pytest.mark.parametrize("dataset,row_has,column,value,rule", [
    ("trades", ",USEQ,", "price", "inf", "not a finite number"),
    ("trades", ",USEQ,", "price", "Infinity", "not a finite number"),
    ("custodian_positions", ",0000456789,", "quantity", "inf", "not a finite number"),
    ("custodian_positions", ",0000456789,", "quantity", "1e308", "implausible magnitude (beyond 1e+12)"),
    ("fx_rates", "GBP,USD", "rate", "inf", "not a finite number"),
    ("fx_rates", "GBP,USD", "rate", "1e-9", "must be >= 1e-06"),
    ("trades", ",USEQ,", "fees", ".inf", "not a number"),
    ("trades", ",USEQ,", "trade_date", "2026-02-30", "not a date in YYYY-MM-DD format"),
    ("trades", ",USEQ,", "settlement_date", "2626-11-10", "implausible date (before 1900 or after 2199)"),
])
def test_a_non_finite_or_absurd_number_is_a_violation_of_its_row_and_never_a_value(data_copy, funds, reference, dataset, row_has,
                                                                                   column, value, rule):
    line = _edit(data_copy, f"{dataset}.csv", row_has, column, value)
    result = _read(data_copy, dataset, funds, reference)
    assert [(v.column, v.rule) for v in _only(result, line)] == [(column, rule)]
    row = result.frame[result.frame["source_line"] == line].iloc[0]
    assert row["held_out"]
    if not rule.startswith("must be"):  # a non-finite, absurd or impossible value is never stored, even held out
        assert pd.isna(row[column])
    assert int(result.frame["held_out"].sum()) == 1  # the rest of the file stands


# -- rows that belong nowhere or to the wrong place ------------------------------------------------

def test_a_row_of_an_unknown_fund_is_everybodys_violation(data_copy, funds, reference):
    line = _edit(data_copy, "trades.csv", ",USEQ,", "fund", "NO")
    for code in funds:  # every fund's intake shows it: it belongs to no fund in particular
        violations = _read(data_copy, "trades", funds, reference, fund=code).violations
        assert [(v.line, v.column, v.rule.split(" (")[0]) for v in violations] == [(line, "fund", "unknown fund")], code


def test_a_trade_of_one_fund_on_another_funds_account_is_held_out(data_copy, funds, reference):
    line = _edit(data_copy, "trades.csv", ",USEQ,", "fund", "GLBD")
    result = _read(data_copy, "trades", funds, reference, keep_attribution=True)
    (v,) = _only(result, line)
    assert (v.column, v.rule, v.fund) == ("account", "account belongs to fund USEQ, not to GLBD", None)
    row = result.frame[result.frame["source_line"] == line].iloc[0]
    assert row["held_out"] and row["attributed_fund"] == ""  # it reaches neither fund's books


def test_a_currency_must_be_an_iso_4217_code(data_copy, funds, reference):
    line = _edit(data_copy, "trades.csv", ",USEQ,", "currency", "ZZZ")
    assert [(v.column, v.rule) for v in _only(_read(data_copy, "trades", funds, reference), line)] == [
        ("currency", "not an ISO 4217 currency code")]


def test_a_capital_order_for_a_class_the_fund_does_not_have_is_refused(data_copy, funds, reference):
    line = _edit(data_copy, "capital_activity.csv", ",USEQ,", "share_class", "Z")
    (v,) = _only(_read(data_copy, "capital_activity", funds, reference), line)
    assert (v.column, v.fund) == ("share_class", "USEQ") and v.rule == "not a share class of fund USEQ (one of A, I)"


# -- keys, encoding, truncation --------------------------------------------------------------------

def test_a_duplicate_key_with_a_trailing_space_is_a_duplicate(data_copy, funds, reference):
    path = data_copy / INBOUND / "trades.csv"
    lines = path.read_text().splitlines()
    first = lines[1].split(",")
    copy = [first[0] + " "] + first[1:]
    path.write_text("\n".join(lines + [",".join(copy)]) + "\n")
    result = _read(data_copy, "trades", funds, reference)
    (v,) = _only(result, len(lines) + 1)
    assert v.column == "trade_id" and v.rule == f"duplicate key {first[0]} (also on line 2)"
    (w,) = _only(result, 2)  # which of the two is right cannot be told: both are held out
    assert w.rule == f"duplicate key {first[0]} (also on line {len(lines) + 1})"
    assert result.frame.set_index("source_line").loc[[2, len(lines) + 1], "held_out"].all()


def test_a_latin1_byte_is_a_violation_of_its_real_line_and_the_rest_of_the_file_is_read(data_copy, funds, reference):
    path = data_copy / INBOUND / "custodian_positions.csv"
    lines = path.read_bytes().split(b"\n")
    n = next(i for i, line in enumerate(lines) if i and b",0000456789," in line)
    lines[n] = lines[n].replace(b",", b",\xe9", 1)
    path.write_bytes(b"\n".join(lines))
    result = _read(data_copy, "custodian_positions", funds, reference)
    assert [v.rule.split(" (")[0] for v in _only(result, n + 1)][0] == "not UTF-8 text"
    assert _only(result, n + 1)[0].fund == "MAHF"  # its row's fund's problem: the other funds' recons go on
    assert int((~result.frame["held_out"]).sum()) == len([x for x in lines[1:] if x]) - 1


def test_a_truncated_last_line_is_held_out(data_copy, funds, reference):
    path = data_copy / INBOUND / "prices.csv"
    text = path.read_text()
    path.write_text(text[: len(text) - 4])  # the last record cut inside its last field, no line end
    result = _read(data_copy, "prices", funds, reference)
    last = int(result.frame["source_line"].max())
    assert "last line has no line end: the file may be truncated" in [v.rule for v in _only(result, last)]
    assert result.frame.set_index("source_line").at[last, "held_out"]


# -- in the books and the controls ------------------------------------------------------------------

def _redeliver(data_copy, store_copy, funds, up_to=FINAL):
    ingest(data_copy, store_copy, funds, dates=[FINAL])
    ready = prepare_books(data_copy, store_copy, funds, sorted(funds), up_to)
    return ready


def test_a_nav_struck_on_violated_input_is_provisional_never_closed_never_a_baseline(data_copy, store_copy, sample_store, funds):
    line = _edit(data_copy, "trades.csv", ",USEQ,", "price", "inf")
    ready = _redeliver(data_copy, store_copy, funds)
    assert ready.rolls["USEQ"].restated.empty  # a provisional NAV restates nothing (the trade is held out)
    state = load_state(store_copy, "USEQ", FINAL)
    assert state.is_provisional and state.provisional == (f"{INBOUND}/trades.csv line {line}, price: not a finite number",)
    for code in ("GLBD", "MAHF"):  # the other funds' NAVs are untouched and final
        other, clean = load_state(store_copy, code, FINAL), load_state(sample_store, code, FINAL)
        assert not other.is_provisional and other.classes["nav_per_share"].tolist() == clean.classes["nav_per_share"].tolist()
    with pytest.raises(PeriodError, match="provisional and cannot be closed"):
        close_books(store_copy, "USEQ", FINAL, "tester")
    # the correction: the provisional NAV is replaced, and it is not recorded as a restatement
    _edit(data_copy, "trades.csv", ",USEQ,", "price", "100.5")
    ready = _redeliver(data_copy, store_copy, funds)
    assert FINAL in ready.rolls["USEQ"].struck and ready.rolls["USEQ"].restated.empty
    assert not load_state(store_copy, "USEQ", FINAL).is_provisional


def test_a_nav_provisional_line_is_red_in_the_nav_report(data_copy, store_copy, funds):
    from bo_lib.nav.daily import nav_report
    from bo_lib.nav.inputs import gather_nav

    _edit(data_copy, "capital_activity.csv", ",USEQ,", "share_class", "Z")  # the day's one redemption
    _redeliver(data_copy, store_copy, funds)
    summary = nav_report(gather_nav(store_copy, funds["USEQ"], FINAL)).summary.set_index("check")
    assert summary.at["provisional NAV", "rag"] == "red"
    assert "capital_activity.csv" in summary.at["provisional NAV", "detail"] and "share_class" in summary.at["provisional NAV", "detail"]
    assert nav_report(gather_nav(store_copy, funds["GLBD"], FINAL)).summary.set_index("check").at["provisional NAV", "rag"] == "green"


def test_a_missing_business_day_is_red_and_every_later_nav_is_provisional(tmp_path, funds):
    from bo_lib.intake.control import assess
    from bo_lib.intake.inputs import gather_fund_day
    from tests.conftest import DATA

    data = tmp_path / "data"
    shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("store"))
    shutil.rmtree(data / "inbound" / "2026-11-03")
    store = tmp_path / "store.duckdb"
    prepare_books(data, store, funds, ["USEQ"], FINAL)
    index = state_index(store, "USEQ").set_index("business_date")
    assert dt.date(2026, 11, 3) not in index.index
    for day in (dt.date(2026, 11, 4), FINAL):
        assert load_state(store, "USEQ", day).missing_days == (dt.date(2026, 11, 3),)
    assert load_state(store, "USEQ", dt.date(2026, 11, 2)).missing_days == ()
    summary = assess(gather_fund_day(store, funds["USEQ"], FINAL)).summary.table.set_index("check")
    assert summary.at["Delivery days", "rag"] == "red" and "2026-11-03" in summary.at["Delivery days", "detail"]
    with pytest.raises(PeriodError, match="books incomplete: no deliveries for business day\\(s\\) 2026-11-03"):
        close_books(store, "USEQ", FINAL, "tester")
    # the day arrives: struck, every later day struck again, and the books are complete
    shutil.copytree(DATA / "inbound" / "2026-11-03", data / "inbound" / "2026-11-03")
    ready = prepare_books(data, store, funds, ["USEQ"], FINAL)
    assert ready.rolls["USEQ"].struck[0] == dt.date(2026, 11, 3) and FINAL in ready.rolls["USEQ"].struck
    assert not load_state(store, "USEQ", FINAL).is_provisional


# -- reconciliations: held-out input makes no break -------------------------------------------------

def _recon(store, fund, funds):
    from bo_lib.recon.control import run_recons, summarise
    from bo_lib.recon.breaks import HISTORY_COLUMNS
    from bo_lib.recon.inputs import gather_recon_day

    inputs = gather_recon_day(store, funds[fund], FINAL)
    today = run_recons(inputs)
    history = pd.DataFrame(columns=HISTORY_COLUMNS).astype({"age_business_days": "int64"})
    return inputs, today, summarise(today, history, inputs.violations_table, inputs.held_out).set_index("check")


def test_a_header_only_custodian_file_is_no_positions_delivered_not_breaks(data_copy, store_copy, sample_store, funds):
    path = data_copy / INBOUND / "custodian_positions.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    _redeliver(data_copy, store_copy, funds)
    for code in funds:
        inputs, today, summary = _recon(store_copy, code, funds)
        _, clean, _ = _recon(sample_store, code, funds)
        assert today.positions.breaks.empty, code
        held = inputs.held_out[inputs.held_out["recon"] == "positions"]
        assert set(held["account"]) == {a.account for a in funds[code].securities_accounts} and set(held["isin"]) == {"*"}
        assert summary.at["Not reconciled today", "rag"] == "red"
        assert len(today.cash.breaks) == len(clean.cash.breaks) and len(today.trades.breaks) == len(clean.trades.breaks), code


def test_a_custodian_row_with_a_bad_isin_makes_no_missing_at_custodian_break(data_copy, store_copy, sample_store, funds):
    path = data_copy / INBOUND / "custodian_positions.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    n = frame.index[frame["account"].eq("0000456789")][0]
    isin = frame.at[n, "isin"]
    frame.at[n, "isin"] = isin[:-1] + str((int(isin[-1]) + 1) % 10)  # a wrong check digit
    frame.to_csv(path, index=False)
    _redeliver(data_copy, store_copy, funds)
    inputs, today, summary = _recon(store_copy, "MAHF", funds)
    _, clean, _ = _recon(sample_store, "MAHF", funds)
    assert set(today.positions.breaks["isin"]) == set(clean.positions.breaks["isin"]) - {isin}
    assert inputs.held_out[["account", "isin"]].values.tolist() == [["0000456789", isin]]  # claimed by the security's name
    for code in ("USEQ", "GLBD"):
        _, other, _ = _recon(store_copy, code, funds)
        _, other_clean, _ = _recon(sample_store, code, funds)
        assert other.positions.breaks["isin"].tolist() == other_clean.positions.breaks["isin"].tolist()


def test_a_statement_for_another_account_is_held_out_whole(data_copy, store_copy, sample_store, funds):
    glbd = funds["GLBD"].cash_accounts[0]
    statements = data_copy / INBOUND / "statements"
    mine = next(statements.glob(f"{glbd.account}.*"))
    other = next(p for p in statements.iterdir() if p.suffix == mine.suffix and p != mine and not p.name.startswith(glbd.account))
    mine.write_bytes(other.read_bytes())
    _redeliver(data_copy, store_copy, funds)
    inputs, today, summary = _recon(store_copy, "GLBD", funds)
    _, clean, _ = _recon(sample_store, "GLBD", funds)
    assert len(today.cash.breaks) <= len(clean.cash.breaks)
    assert glbd.account not in set(today.cash.breaks["account"]) if "account" in today.cash.breaks else True
    assert glbd.account in set(inputs.held_out.loc[inputs.held_out["recon"] == "cash", "account"])
    assert summary.at["Not reconciled today", "rag"] == "red"


def test_the_engine_never_matches_an_infinite_custodian_quantity():
    from bo_lib.recon.engine import Tolerance

    assert not Tolerance(abs=0.0001, rel=1e-6).within(np.array([np.inf]), np.array([np.inf]))[0]
