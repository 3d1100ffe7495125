"""Fund expenses per share class: the management fee (% per annum of the previous day's class net
assets), fixed fees (audit, administration: an annual amount accrued daily), and the performance
fee with a per-share high-water mark and optional hurdle, accrued daily and crystallised at the
end of its period. Accruals run over calendar days on the fund's day basis (365 or 360): each NAV
accrues from the day after the previous NAV's accrual to its own date, and the last NAV of a month
accrues through the month's last calendar day (a month's fee holds every day of it, also the
weekend or holiday after its last NAV, and the month's payment equals it). Pure arithmetic on floats and arrays; rounding happens where the NAV is struck.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np


def accrued_through(nav_date: dt.date, next_nav_date: dt.date | None) -> dt.date:
    """The last calendar day a NAV's fee accrual covers: its own date, or the month's last day when
    the next NAV falls in a later month (Fri 30 Oct 2026 with the next NAV on Mon 2 Nov: 31 Oct)."""
    following = next_nav_date or (nav_date + dt.timedelta(days=1))
    if (following.year, following.month) == (nav_date.year, nav_date.month):
        return nav_date
    return dt.date(nav_date.year, nav_date.month, calendar.monthrange(nav_date.year, nav_date.month)[1])


def accrual_days(previous_nav_date: dt.date, nav_date: dt.date, next_nav_date: dt.date | None) -> int:
    """Calendar days of fee accrual at ``nav_date``: from the day after the previous NAV's accrual
    (``accrued_through(previous_nav_date, nav_date)``) through its own (``accrued_through``).
    Thu 29 -> Fri 30 Oct (next NAV Mon 2 Nov): 2 days (30 and 31 Oct); Fri 30 Oct -> Mon 2 Nov: 2 (1 and 2 Nov)."""
    return (accrued_through(nav_date, next_nav_date) - accrued_through(previous_nav_date, nav_date)).days


def management_fee_accrual(previous_net_assets, fee_pct_per_annum, days: int, day_basis: int):
    """Management fee accrued for ``days`` calendar days on the previous day's class net assets."""
    return np.asarray(previous_net_assets, dtype="float64") * np.asarray(fee_pct_per_annum, dtype="float64") / 100.0 * days / day_basis


def fixed_fee_accrual(annual_amount: float, days: int, day_basis: int) -> float:
    """A fixed annual fee accrued for ``days`` calendar days."""
    return float(annual_amount) * days / day_basis


def hurdle_nav_per_share(high_water_mark, hurdle_pct: float, period_fraction: float):
    """The per-share level the class must beat: the high-water mark grown by the hurdle rate for
    the elapsed fraction of the performance period (simple interest)."""
    return np.asarray(high_water_mark, dtype="float64") * (1.0 + hurdle_pct / 100.0 * period_fraction)


def performance_fee_per_share(gross_nav_per_share, high_water_mark, rate_pct: float, hurdle_pct: float = 0.0, period_fraction: float = 0.0):
    """Performance fee per share: ``rate`` of the gross NAV per share (after management fee, before
    performance fee) above the (hurdle-adjusted) high-water mark, never negative."""
    level = hurdle_nav_per_share(high_water_mark, hurdle_pct, period_fraction)
    gross = np.asarray(gross_nav_per_share, dtype="float64")
    return rate_pct / 100.0 * np.maximum(0.0, gross - level)


@dataclass(frozen=True)
class Crystallisation:
    fee_per_share: float
    fee_amount: float
    nav_per_share: float  # net of the crystallised fee
    high_water_mark: float  # the class's new high-water mark


def crystallise(gross_nav_per_share: float, high_water_mark: float, units: float, rate_pct: float, hurdle_pct: float = 0.0,
                period_fraction: float = 1.0) -> Crystallisation:
    """Crystallise the performance fee at the period end: the accrued fee becomes payable and, if
    a fee was earned, the high-water mark resets to the NAV per share net of it.

    Example: 20% fee, high-water mark 100, gross NAV per share 120 → fee 4 per share, NAV 116,
    new high-water mark 116.
    """
    fee = float(performance_fee_per_share(gross_nav_per_share, high_water_mark, rate_pct, hurdle_pct, period_fraction))
    net = gross_nav_per_share - fee
    new_hwm = max(high_water_mark, net) if fee > 0 else high_water_mark
    return Crystallisation(fee, fee * units, net, new_hwm)


def is_period_end(nav_date: dt.date, next_nav_date: dt.date | None, crystallisation: str) -> bool:
    """Whether ``nav_date`` is the last NAV of a performance period (annual: calendar year,
    quarterly, monthly): the next NAV falls in another period (or there is none scheduled and the
    calendar period ends today)."""
    following = next_nav_date or (nav_date + dt.timedelta(days=1))
    if crystallisation == "monthly":
        return following.month != nav_date.month or following.year != nav_date.year
    if crystallisation == "quarterly":
        return (following.month - 1) // 3 != (nav_date.month - 1) // 3 or following.year != nav_date.year
    return following.year != nav_date.year


def period_fraction(nav_date: dt.date, crystallisation: str) -> float:
    """Elapsed fraction of the performance period at ``nav_date`` (for the hurdle), ACT/365."""
    if crystallisation == "monthly":
        start = nav_date.replace(day=1)
    elif crystallisation == "quarterly":
        start = nav_date.replace(month=3 * ((nav_date.month - 1) // 3) + 1, day=1)
    else:
        start = nav_date.replace(month=1, day=1)
    return (nav_date - start).days / 365.0
