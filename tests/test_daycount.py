"""Day counts on QuantLib, checked against the ISDA examples QuantLib's own test suite uses, and
accrued interest with coupon periods and ex-coupon (negative) accrual."""

from __future__ import annotations

import datetime as dt

import pytest

from bo_lib.daycount import (CONVENTIONS, accrued_interest, coupon_per_100, coupon_period, day_count, ex_coupon_date, record_date,
                             year_fraction)

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
    from bo_lib.calendars import calendar_for

    uk = calendar_for("XOFF", "GBP")
    maturity = D(2032, 11, 7)  # the sample world's gilt: 4.25% semi-annual, ACT/ACT ICMA, 7 ex-coupon business days
    assert coupon_period(D(2026, 11, 6), maturity, 2) == (D(2026, 5, 7), D(2026, 11, 7))
    assert accrued_interest(D(2026, 11, 7), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA") == 0.0  # paid on the coupon date
    # coupon Sat 7 Nov: seven UK business days before are Fri 6, Thu 5, Wed 4, Tue 3, Mon 2 Nov, Fri 30, Thu 29 Oct
    assert ex_coupon_date(D(2026, 11, 7), 7, uk) == D(2026, 10, 29)
    assert record_date(D(2026, 11, 7), 7, uk) == D(2026, 10, 28)
    cum = accrued_interest(D(2026, 10, 28), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA", 7, uk)
    assert cum == pytest.approx(4.25 * 0.5 * 174 / 184)  # 7 May -> 28 Oct: 174 of the period's 184 days
    ex = accrued_interest(D(2026, 10, 29), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA", 7, uk)
    assert ex == pytest.approx(-4.25 * 0.5 * 9 / 184)  # 29 Oct -> 7 Nov: 9 days to the coupon, owed back
    assert accrued_interest(D(2026, 11, 6), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA", 7, uk) == pytest.approx(-4.25 * 0.5 * 1 / 184)
    # a Monday coupon after a bank holiday weekend: 7 Dec 2026 -> ex Thu 26 Nov (no holiday in between)
    assert ex_coupon_date(D(2026, 12, 7), 7, uk) == D(2026, 11, 26)
    # the Easter bank holidays (Fri 3 and Mon 6 Apr 2026) are skipped: coupon Wed 8 Apr -> Tue 7 (1), Thu 2 (2),
    # Wed 1 (3), Tue 31 Mar (4), Mon 30 (5), Fri 27 (6), Thu 26 Mar (7)
    assert ex_coupon_date(D(2026, 4, 8), 7, uk) == D(2026, 3, 26)
    with pytest.raises(ValueError, match="payment calendar"):
        accrued_interest(D(2026, 10, 30), 100.0, 4.25, maturity, 2, "ACT/ACT ICMA", 7)


def test_coupon_amount_follows_the_day_count():
    # ACT/360 quarterly 4.10% (BD00007): 20 Jul -> 20 Oct 2026 is 92 days: 4.10 x 92 / 360 per 100, not 4.10 / 4
    assert coupon_per_100(D(2026, 7, 20), D(2026, 10, 20), 4.10, "ACT/360") == pytest.approx(1.0477777778)
    # ACT/365F semi-annual 5.25% (BD00008): 15 Apr -> 15 Oct 2026 is 183 days: 5.25 x 183 / 365
    assert coupon_per_100(D(2026, 4, 15), D(2026, 10, 15), 5.25, "ACT/365F") == pytest.approx(2.6321917808)
    # ACT/ACT ICMA and 30/360 pay rate / frequency on regular periods
    assert coupon_per_100(D(2026, 5, 7), D(2026, 11, 7), 4.25, "ACT/ACT ICMA") == pytest.approx(2.125)
    assert coupon_per_100(D(2026, 3, 15), D(2026, 9, 15), 5.10, "30/360 US") == pytest.approx(2.55)
    # the accrual of the whole period equals the coupon: the NAV does not drop on the coupon date
    end_accrual = accrued_interest(D(2026, 10, 19), 100.0, 4.10, D(2029, 1, 20), 4, "ACT/360")
    assert end_accrual == pytest.approx(4.10 * 91 / 360)
    assert end_accrual < coupon_per_100(D(2026, 7, 20), D(2026, 10, 20), 4.10, "ACT/360")
