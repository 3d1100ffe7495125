"""Money rounding: half-up on the decimal value shown, on small and on large amounts."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from bo_lib.money import round_half_up, round_half_up_array


def test_ties_round_away_from_zero_where_round_would_not():
    assert list(round_half_up_array([2.675, -2.675, 0.125, 1.005, 10.5], 2)) == [2.68, -2.68, 0.13, 1.01, 10.5]
    assert round_half_up_array(np.array([10.5, 11.5, -0.5]), 0).tolist() == [11.0, 12.0, -1.0]
    assert round_half_up(2.675) == Decimal("2.68") and round_half_up(0.5, 0) == Decimal("1")


def test_large_amounts_are_not_moved():
    # a relative guard would turn 150,579,017.40 into 150,579,017.55
    assert round_half_up_array([150_579_017.40, 987_654_321.125, 12_345_678_901.994], 2).tolist() == [150_579_017.40, 987_654_321.13, 12_345_678_901.99]
    assert round_half_up_array([6_164_016.9424], 3).tolist() == [6_164_016.942]


def test_series_keep_their_index_and_nan_stays_nan():
    out = round_half_up_array(pd.Series([1.005, np.nan], index=["a", "b"], name="amount"), 2)
    assert out.index.tolist() == ["a", "b"] and out.name == "amount" and out["a"] == 1.01 and np.isnan(out["b"])


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False, allow_infinity=False))
def test_agrees_with_decimal_half_up_on_the_value_shown(amount):
    value = float(amount)
    assert round_half_up_array([value], 2)[0] == float(round_half_up(value, 2))
