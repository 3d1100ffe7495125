"""Day counts on QuantLib, checked against the ISDA examples QuantLib's own test suite uses, and
accrued interest with coupon periods and ex-coupon (negative) accrual."""

from __future__ import annotations

import datetime as dt

import pytest

from bo_lib.daycount import CONVENTIONS, accrued_interest, coupon_period, day_count, year_fraction

D = dt.date


@pytest.mark.parametrize("start, end, ref_start, ref_end, expected", [
    # ISDA "actual/actual" paper examples (QuantLib test-suite/daycounters.cpp)
    (D(2003, 11, 1), D(2004, 5, 1), None, None, 0.497724380567),
    (D(1999, 2, 1), D(1999, 7, 1), None, None, 0.410958904110),
    (D(2000, 1, 30), D(2000, 6, 30), None, None, 0.415300546448),
])
def test_act_act_isda(start, end, ref_start, ref_end, expected):
    assert year_fraction(start, end, "ACT/ACT ISDA") == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("start, end, ref_start, ref_end, expected", [
    (D(2003, 11, 1), D(2004, 5, 1), D(2003, 11, 1), D(2004, 5, 1), 0.5),
    (D(1999, 2, 1), D(1999, 7, 1), D(1998, 7, 1), D(1999, 7, 1), 0.410958904110),
    (D(2000, 1, 30), D(2000, 6, 30), D(2000, 1, 30), D(2000, 7, 30), 0.417582417582),
])
def test_act_act_icma_uses_the_coupon_period(start, end, ref_start, ref_end, expected):
    assert year_fraction(start, end, "ACT/ACT ICMA", ref_start, ref_end) == pytest.approx(expected, abs=1e-12)


def test_thirty_360_variants_at_the_end_of_february():
    # 2006-02-28 → 2006-03-03: bond basis counts 5 days, 30E/360 ISDA treats Feb 28 as the 30th: 3
    assert day_count(D(2006, 2, 28), D(2006, 3, 3), "30/360 BOND BASIS") == 5
    assert day_count(D(2006, 2, 28), D(2006, 3, 3), "30E/360 ISDA") == 3
    assert day_count(D(2006, 2, 28), D(2006, 3, 3), "30E/360") == 5
    assert year_fraction(D(2006, 2, 28), D(2006, 3, 3), "30E/360 ISDA") == pytest.approx(3 / 360)
    # 30/360 US: from the 31st, the end date's 31st becomes the 30th
    assert day_count(D(2006, 8, 31), D(2006, 10, 31), "30/360 US") == 60


def test_actual_conventions_and_unknown_name():
    assert year_fraction(D(2003, 11, 1), D(2004, 5, 1), "ACT/360") == pytest.approx(182 / 360)
    assert year_fraction(D(2003, 11, 1), D(2004, 5, 1), "ACT/365F") == pytest.approx(182 / 365)
    assert len(CONVENTIONS) == 8
    with pytest.raises(ValueError, match="unknown day-count convention"):
        year_fraction(D(2020, 1, 1), D(2020, 2, 1), "ACT/999")


def test_coupon_resets_accrual_and_ex_coupon_accrual_is_negative():
    maturity = D(2032, 11, 7)  # the sample world's gilt: 4.25% semi-annual, ACT/ACT ICMA, 7 ex-coupon days
    assert coupon_period(D(2026, 11, 6), maturity, 2) == (D(2026, 5, 7), D(2026, 11, 7))
    assert accrued_interest(D(2026, 11, 7), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA") == 0.0  # paid on the coupon date
    inside = accrued_interest(D(2026, 10, 30), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA", ex_coupon_days=7)
    assert inside == pytest.approx(4.25 * 0.5 * 176 / 184)
    ex = accrued_interest(D(2026, 11, 6), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA", ex_coupon_days=7)
    assert ex == pytest.approx(-4.25 * 0.5 * 1 / 184)
