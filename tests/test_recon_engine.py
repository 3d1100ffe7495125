"""The reconciliation engine: properties that must hold for any two sides (hypothesis), the
tolerance boundary, duplicate keys, text and date columns, and grouped (many-to-many) cash matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bo_lib.recon import DuplicateKeyError, MissingKeyError, Tolerance, match_groups, reconcile

ACCOUNTS = ["0012345678", "0047110815", "0009876543"]
ISINS = ["US5443731030", "DE9034502831", "US2095851083", "FR3004862153"]
amounts = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False).map(lambda x: float(np.round(x, 4)))


@st.composite
def sides(draw):
    """Two sides drawn from a small key universe (so keys overlap), unique keys per side."""
    keys = [(a, i) for a in ACCOUNTS for i in ISINS]
    left_keys = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    right_keys = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))

    def frame(ks):
        values = draw(st.lists(amounts, min_size=len(ks), max_size=len(ks)))
        return pd.DataFrame({"account": pd.Series([k[0] for k in ks], dtype="str"), "isin": pd.Series([k[1] for k in ks], dtype="str"),
                             "quantity": pd.Series(values, dtype="float64")})

    return frame(left_keys), frame(right_keys)


tolerances = st.builds(Tolerance, abs=st.sampled_from([0.0, 0.0001, 0.01, 1.0]), rel=st.sampled_from([0.0, 1e-6, 1e-3]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sides(), tolerances)
def test_every_key_of_either_side_is_in_exactly_one_row(pair, tolerance):
    left, right = pair
    result = reconcile(left, right, ["account", "isin"], {"quantity": tolerance})
    table = result.table
    keys = set(zip(left["account"], left["isin"])) | set(zip(right["account"], right["isin"]))
    rows = list(zip(table["account"], table["isin"]))
    assert len(rows) == len(set(rows)) == len(keys) and set(rows) == keys
    assert sum(result.counts.values()) == len(keys)
    left_keys, right_keys = set(zip(left["account"], left["isin"])), set(zip(right["account"], right["isin"]))
    status = dict(zip(rows, table["status"].astype(str)))
    assert {k for k, s in status.items() if s == "missing_left"} == right_keys - left_keys
    assert {k for k, s in status.items() if s == "missing_right"} == left_keys - right_keys
    assert {k for k, s in status.items() if s in ("matched", "break")} == left_keys & right_keys


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sides())
def test_swapping_sides_swaps_missing_left_and_missing_right(pair):
    left, right = pair
    forward = reconcile(left, right, ["account", "isin"], {"quantity": Tolerance(abs=0.01)}).table
    backward = reconcile(right, left, ["account", "isin"], {"quantity": Tolerance(abs=0.01)}).table
    swap = {"missing_left": "missing_right", "missing_right": "missing_left", "matched": "matched", "break": "break"}
    f = dict(zip(zip(forward["account"], forward["isin"]), forward["status"].astype(str)))
    b = dict(zip(zip(backward["account"], backward["isin"]), backward["status"].astype(str)))
    # an absolute tolerance is symmetric, so matched/break stay; only the missing sides swap
    assert {k: swap[v] for k, v in f.items()} == b


@settings(max_examples=300, deadline=None)
@given(left=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda x: float(np.round(x, 2))),
       tol_abs=st.sampled_from([0.0001, 0.01, 0.5, 100.0]), tol_rel=st.sampled_from([0.0, 1e-6, 1e-4]), sign=st.sampled_from([1, -1]))
def test_difference_exactly_at_the_tolerance_matches_and_just_beyond_breaks(left, tol_abs, tol_rel, sign):
    tolerance = Tolerance(abs=tol_abs, rel=tol_rel)
    allowed = tol_abs + tol_rel * abs(left)
    beyond = allowed + max(1e-6, 1e-9 * abs(left))  # more than floating point can blur at this magnitude
    frame = lambda v: pd.DataFrame({"ref": ["T1"], "amount": [v]})  # noqa: E731
    at = reconcile(frame(left), frame(left + sign * allowed), ["ref"], {"amount": tolerance})
    out = reconcile(frame(left), frame(left + sign * beyond), ["ref"], {"amount": tolerance})
    assert at.counts["matched"] == 1, (left, allowed)
    assert out.counts["break"] == 1, (left, beyond)


def test_tolerance_boundary_on_money_values():
    # 100.01 - 100.00 is 0.010000000000005116 in binary floating point: still exactly the tolerance
    books = pd.DataFrame({"ref": ["A", "B", "C"], "amount": [100.00, 100.00, 1_000_000.00]})
    bank = pd.DataFrame({"ref": ["A", "B", "C"], "amount": [100.01, 100.02, 1_000_001.00]})
    result = reconcile(books, bank, ["ref"], {"amount": Tolerance(abs=0.01, rel=0.0)}, sort=True)
    assert result.table["status"].astype(str).tolist() == ["matched", "break", "break"]
    rel = reconcile(books, bank, ["ref"], {"amount": Tolerance(abs=0.0, rel=1e-6)}, sort=True)
    assert rel.table["status"].astype(str).tolist() == ["break", "break", "matched"]  # 1e-6 of 1,000,000.00 is 1.00


def test_both_missing_is_equal_and_one_missing_breaks():
    books = pd.DataFrame({"ref": ["A", "B"], "price": [np.nan, np.nan]})
    broker = pd.DataFrame({"ref": ["A", "B"], "price": [np.nan, 10.0]})
    result = reconcile(books, broker, ["ref"], {"price": Tolerance(abs=1.0)}, sort=True)
    assert result.table["status"].astype(str).tolist() == ["matched", "break"]


def test_an_infinite_value_never_matches_not_even_itself():
    # a relative tolerance grows with the value: with an infinite value it would allow anything
    books = pd.DataFrame({"ref": ["A", "B", "C", "D"], "qty": [np.inf, 100.0, np.inf, 1e308]})
    custodian = pd.DataFrame({"ref": ["A", "B", "C", "D"], "qty": [np.inf, np.inf, 5.0, 1e308]})
    result = reconcile(books, custodian, ["ref"], {"qty": Tolerance(abs=0.01, rel=0.5)}, sort=True)
    assert result.table["status"].astype(str).tolist() == ["break", "break", "break", "matched"]
    assert Tolerance(rel=1.0).within([-np.inf], [np.inf]).tolist() == [False]


def test_columns_counts_and_diff_direction():
    books = pd.DataFrame({"account": ["A", "A", "B"], "isin": ["X", "Y", "X"], "quantity": [100.0, 50.0, 10.0]})
    custodian = pd.DataFrame({"account": ["B", "A", "C"], "isin": ["X", "Y", "Z"], "quantity": [10.0, 49.0, 7.0]})
    result = reconcile(books, custodian, ["account", "isin"], {"quantity": Tolerance(abs=0.0001)}, sort=True)
    t = result.table
    assert list(t.columns) == ["account", "isin", "quantity_left", "quantity_right", "quantity_diff", "status"]
    assert result.counts == {"matched": 1, "break": 1, "missing_left": 1, "missing_right": 1}
    ay = t[(t["account"] == "A") & (t["isin"] == "Y")].iloc[0]
    assert ay["quantity_diff"] == -1.0 and ay["status"] == "break"  # right - left
    assert t["account"].dtype == books["account"].dtype  # keys keep their dtype


def test_duplicate_keys_raise_listing_them_and_aggregate_on_request():
    books = pd.DataFrame({"account": ["A", "A", "A", "B"], "isin": ["X", "X", "Y", "X"], "quantity": [60.0, 40.0, 5.0, 1.0]})
    custodian = pd.DataFrame({"account": ["A", "A", "B"], "isin": ["X", "Y", "X"], "quantity": [100.0, 5.0, 2.0]})
    with pytest.raises(DuplicateKeyError, match=r"books side has 1 duplicated key\(s\) on account, isin: A/X \(2 rows\)") as info:
        reconcile(books, custodian, ["account", "isin"], {"quantity": None}, left_name="books")
    assert info.value.duplicated[["account", "isin", "rows"]].values.tolist() == [["A", "X", 2]]
    result = reconcile(books, custodian, ["account", "isin"], {"quantity": None}, duplicates="aggregate", sort=True)
    ax = result.table.iloc[0]
    assert (ax["quantity_left"], ax["rows_left"], ax["rows_right"], ax["status"]) == (100.0, 2, 1, "matched")
    assert result.counts == {"matched": 2, "break": 1, "missing_left": 0, "missing_right": 0}


def test_empty_keys_are_refused():
    books = pd.DataFrame({"ref": ["A", None], "amount": [1.0, 2.0]})
    with pytest.raises(MissingKeyError, match="left side: key column 'ref' is empty on 1 row"):
        reconcile(books, books.dropna(), ["ref"], {"amount": None})


def test_text_and_date_columns_compare_exactly():
    books = pd.DataFrame({"ref": ["T1", "T2", "T3"], "side": ["BUY", "SELL", "BUY"],
                          "settlement_date": pd.to_datetime(["2026-11-09", "2026-11-09", "2026-11-10"])})
    broker = pd.DataFrame({"ref": ["T1", "T2", "T3"], "side": ["BUY", "BUY", "BUY"],
                           "settlement_date": pd.to_datetime(["2026-11-09", "2026-11-09", "2026-11-12"])})
    t = reconcile(books, broker, ["ref"], {"side": None, "settlement_date": None}, sort=True).table
    assert t["status"].astype(str).tolist() == ["matched", "break", "break"]
    assert t["side_diff"].tolist() == ["", "SELL → BUY", ""]
    assert t["settlement_date_diff"].tolist() == [0.0, 0.0, 2.0]


def test_engine_scales_with_unordered_sides():
    rng = np.random.default_rng(7)
    n = 200_000
    keys = rng.permutation(n)
    left = pd.DataFrame({"account": pd.Series((keys // 100).astype(str), dtype="str"), "isin": pd.Series((keys % 100).astype(str), dtype="str"),
                         "quantity": rng.integers(1, 1000, n).astype(float)})
    right = left.sample(frac=1.0, random_state=1).reset_index(drop=True)
    right.loc[:9, "quantity"] += 1
    right = right.iloc[:-5]
    result = reconcile(left, right, ["account", "isin"], {"quantity": Tolerance(abs=0.0001)})
    assert result.counts["missing_right"] == 5 and result.counts["missing_left"] == 0
    assert result.counts["break"] + result.counts["missing_right"] >= 10 and result.counts["matched"] >= n - 15


# ----------------------------------------------------------------------------------- grouped matching


def _cash(rows):
    return pd.DataFrame(rows, columns=["account", "currency", "reference", "value_date", "amount"]).assign(
        value_date=lambda f: pd.to_datetime(f["value_date"]))


def test_one_bank_entry_matches_several_book_entries_and_says_which():
    books = _cash([("C1", "USD", "O1", "2026-11-06", 100.0), ("C1", "USD", "O1", "2026-11-06", 150.0),
                   ("C1", "USD", "O2", "2026-11-06", 10.0)])
    bank = _cash([("C1", "USD", "O1", "2026-11-06", 250.0), ("C1", "USD", "O2", "2026-11-06", 10.5)])
    match = match_groups(books, bank, ["account", "currency", "reference"], "amount", "value_date", tolerance=Tolerance(abs=0.01))
    assert match.left["group_id"].iloc[0] == match.left["group_id"].iloc[1] == match.right["group_id"].iloc[0]
    groups = match.groups.set_index("reference")
    assert groups.loc["O1", ["entries_left", "entries_right", "status"]].tolist() == [2, 1, "matched"]
    assert groups.loc["O2", "status"] == "break" and groups.loc["O2", "amount_diff"] == pytest.approx(0.5)


def test_identical_entries_on_one_day_are_two_entries():
    books = _cash([("C1", "USD", "O5", "2026-11-06", 250000.0), ("C1", "USD", "O6", "2026-11-06", 250000.0)])
    bank = _cash([("C1", "USD", "O5", "2026-11-06", 250000.0), ("C1", "USD", "O6", "2026-11-06", 250000.0)])
    match = match_groups(books, bank, ["account", "currency", "reference"], "amount", "value_date")
    assert match.counts["matched"] == 2 and len(match.right) == 2
    # the same reference twice on the bank against one book line: the second is a break, never swallowed
    bank_twice = _cash([("C1", "USD", "O5", "2026-11-06", 250000.0), ("C1", "USD", "O5", "2026-11-06", 250000.0)])
    twice = match_groups(books.iloc[:1], bank_twice, ["account", "currency", "reference"], "amount", "value_date")
    assert twice.groups["status"].tolist() == ["break"] and twice.groups["amount_diff"].iloc[0] == 250000.0


def test_value_date_window_in_business_days():
    books = _cash([("C1", "USD", "T1", "2026-11-06", -100.0)])  # a Friday
    bank = _cash([("C1", "USD", "T1", "2026-11-10", -100.0)])  # the next Tuesday: 2 business days later
    same_day = match_groups(books, bank, ["account", "currency", "reference"], "amount", "value_date")
    assert sorted(same_day.groups["status"]) == ["missing_left", "missing_right"]
    from bo_lib import calendars
    from bo_lib.recon.engine import business_day_numbers

    numbers = business_day_numbers({"USD": calendars.calendar_for("XOFF", "USD")}, "currency", "value_date", pd.Timestamp("2026-09-30").date())
    windowed = match_groups(books, bank, ["account", "currency", "reference"], "amount", "value_date", window_days=2, business_day_number=numbers)
    assert windowed.groups["status"].tolist() == ["matched"]
    narrow = match_groups(books, bank, ["account", "currency", "reference"], "amount", "value_date", window_days=1, business_day_number=numbers)
    assert sorted(narrow.groups["status"]) == ["missing_left", "missing_right"]
