"""Fee arithmetic: management fee on previous net assets, fixed fees, the performance fee with
high-water mark and hurdle, and crystallisation."""

from __future__ import annotations

import datetime as dt

import pytest

from bo_lib.books import fees
from bo_lib.money import half_up


def test_performance_fee_crystallisation_example():
    # 20% fee, high-water mark 100, gross NAV per share 120 → fee 4 per share, new high-water mark 116
    result = fees.crystallise(120.0, 100.0, units=1_000.0, rate_pct=20.0)
    assert result.fee_per_share == pytest.approx(4.0)
    assert result.fee_amount == pytest.approx(4_000.0)
    assert result.nav_per_share == pytest.approx(116.0)
    assert result.high_water_mark == pytest.approx(116.0)


def test_no_fee_below_the_high_water_mark_and_the_mark_stays():
    result = fees.crystallise(98.0, 100.0, units=10.0, rate_pct=20.0)
    assert result.fee_per_share == 0.0 and result.high_water_mark == 100.0


def test_hurdle_raises_the_level_to_beat():
    # 5% hurdle, half the year elapsed: the class must beat 102.5 before any fee
    assert fees.performance_fee_per_share(110.0, 100.0, 20.0, hurdle_pct=5.0, period_fraction=0.5) == pytest.approx(0.2 * 7.5)
    assert fees.performance_fee_per_share(102.0, 100.0, 20.0, hurdle_pct=5.0, period_fraction=0.5) == 0.0


def test_management_and_fixed_fee_accruals_use_calendar_days_on_the_day_basis():
    # 1% a year on 10m over a weekend (3 calendar days), 365 basis
    assert float(fees.management_fee_accrual(10_000_000.0, 1.0, 3, 365)) == pytest.approx(10_000_000 * 0.01 * 3 / 365)
    assert fees.fixed_fee_accrual(36_000.0, 1, 360) == pytest.approx(100.0)


def test_period_ends():
    assert fees.is_period_end(dt.date(2026, 12, 31), dt.date(2027, 1, 4), "annual")
    assert not fees.is_period_end(dt.date(2026, 11, 6), None, "annual")
    assert fees.is_period_end(dt.date(2026, 10, 30), dt.date(2026, 11, 2), "monthly")
    assert fees.is_period_end(dt.date(2026, 9, 30), dt.date(2026, 10, 1), "quarterly")
    assert not fees.is_period_end(dt.date(2026, 10, 30), dt.date(2026, 11, 2), "quarterly")


def test_half_up_rounding_is_exact_on_large_amounts():
    assert half_up(2.675, 2) == 2.68 and half_up(-2.675, 2) == -2.68
    assert half_up(150_579_017.40, 2) == 150_579_017.40  # bo_lib.money.round_half_up_array gives .55 here
    assert half_up(1_502_274.436, 3) == 1_502_274.436
    assert half_up(24.61235, 4) == 24.6124
