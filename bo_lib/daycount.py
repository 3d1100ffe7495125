"""Day-count conventions and coupon periods, on QuantLib's implementations of the ISDA rules.

``year_fraction(start, end, convention, ref_start, ref_end)`` accepts the convention names used in
the securities master. Coupon periods are rolled back from maturity by the coupon frequency
(unadjusted dates, as accrual periods are for bonds).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Protocol

import QuantLib as ql

#: convention name (as in the securities master) -> QuantLib day counter factory
_CONVENTIONS = {
    "ACT/ACT ISDA": lambda: ql.ActualActual(ql.ActualActual.ISDA),
    "ACT/ACT ICMA": lambda: ql.ActualActual(ql.ActualActual.ISMA),
    "30/360 BOND BASIS": lambda: ql.Thirty360(ql.Thirty360.BondBasis),
    "30/360 US": lambda: ql.Thirty360(ql.Thirty360.USA),
    "30E/360": lambda: ql.Thirty360(ql.Thirty360.European),
    "30E/360 ISDA": lambda: ql.Thirty360(ql.Thirty360.ISDA),
    "ACT/360": lambda: ql.Actual360(),
    "ACT/365F": lambda: ql.Actual365Fixed(),
}

CONVENTIONS = tuple(_CONVENTIONS)


@functools.cache
def _day_counter(convention: str) -> ql.DayCounter:
    try:
        return _CONVENTIONS[convention]()
    except KeyError:
        raise ValueError(f"unknown day-count convention {convention!r}; known: {', '.join(CONVENTIONS)}") from None


def _ql_date(d: dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def year_fraction(start: dt.date, end: dt.date, convention: str, ref_start: dt.date | None = None, ref_end: dt.date | None = None) -> float:
    """Fraction of a year between two dates under ``convention``.

    ACT/ACT ICMA needs the coupon period as reference (``ref_start``/``ref_end``); without it
    QuantLib treats the period as the reference, which is only right for a regular full period.
    """
    counter = _day_counter(convention)
    if ref_start is not None and ref_end is not None:
        return counter.yearFraction(_ql_date(start), _ql_date(end), _ql_date(ref_start), _ql_date(ref_end))
    return counter.yearFraction(_ql_date(start), _ql_date(end))


def day_count(start: dt.date, end: dt.date, convention: str) -> int:
    """Days counted between two dates under ``convention`` (e.g. 30/360 counts Feb 28 → Mar 3 as 3 or 5)."""
    return _day_counter(convention).dayCount(_ql_date(start), _ql_date(end))


def _add_months(d: dt.date, months: int) -> dt.date:
    q = _ql_date(d) + ql.Period(months, ql.Months)
    return dt.date(q.year(), q.month(), q.dayOfMonth())


def coupon_period(on: dt.date, maturity: dt.date, frequency: int) -> tuple[dt.date, dt.date]:
    """The coupon period (start, end] containing ``on``, rolled back from maturity.

    ``frequency`` is coupons per year (1, 2, 4, 12). A date equal to a coupon date belongs to the
    period that ends on it (the coupon is paid that day, accrual restarts after).
    """
    if frequency not in (1, 2, 4, 12):
        raise ValueError(f"coupon frequency must be 1, 2, 4 or 12 per year, got {frequency!r}")
    step = 12 // frequency
    end = maturity
    n = 0
    while True:
        start = _add_months(maturity, -step * (n + 1))
        if start < on <= end:
            return start, end
        if on > end:
            raise ValueError(f"{on} is after the bond's maturity {maturity}")
        n += 1
        end = start


class BusinessDays(Protocol):
    """What the ex-coupon rule needs of a calendar (``bo_lib.calendars.BusinessCalendar``)."""

    def add_business_days(self, d: dt.date, n: int) -> dt.date: ...


def ex_coupon_date(coupon_date: dt.date, ex_coupon_days: int, calendar: BusinessDays | None) -> dt.date:
    """First day of the ex-coupon period before ``coupon_date``: ``ex_coupon_days`` business days
    before it on the bond's payment calendar (UK gilts: seven business days, on the England and
    Wales calendar; a coupon date on a weekend counts back from the following business day's eve,
    so Sat 2026-11-07 goes ex on Thu 10-29). Without ex-coupon days the coupon date itself."""
    if not ex_coupon_days:
        return coupon_date
    if calendar is None:
        raise ValueError(f"an ex-coupon period of {ex_coupon_days} business days needs the bond's payment calendar")
    return calendar.add_business_days(coupon_date, -int(ex_coupon_days))


def record_date(coupon_date: dt.date, ex_coupon_days: int, calendar: BusinessDays | None) -> dt.date:
    """The record date of a coupon: the business day before the ex-coupon date for a bond with an
    ex-coupon period (the holder of record at its close is paid), else the coupon date."""
    if not ex_coupon_days:
        return coupon_date
    return calendar.add_business_days(ex_coupon_date(coupon_date, ex_coupon_days, calendar), -1)


def coupon_fraction(start: dt.date, end: dt.date, convention: str) -> float:
    """The coupon of the period (start, end] as a fraction of the annual rate, by the bond's day
    count: 1/frequency for ACT/ACT ICMA and 30/360 on regular dates; actual days / 360 or / 365
    for ACT/360 and ACT/365F (a 92-day quarter of an ACT/360 bond pays rate x 92/360)."""
    return year_fraction(start, end, convention, start, end)


def coupon_per_100(start: dt.date, end: dt.date, coupon_rate_pct: float, convention: str) -> float:
    """Coupon paid per 100 of nominal for the period (start, end]."""
    return coupon_rate_pct * coupon_fraction(start, end, convention)


def accrued_interest(on: dt.date, nominal: float, coupon_rate_pct: float, maturity: dt.date, frequency: int, convention: str,
                     ex_coupon_days: int = 0, ex_calendar: BusinessDays | None = None) -> float:
    """Accrued interest on ``nominal`` at ``on`` (settlement-date convention not applied here).

    Inside an ex-coupon period (from the ex-coupon date, ``ex_coupon_days`` business days of
    ``ex_calendar`` before the coupon date, to the coupon date) the buyer does not receive the
    coupon, so accrual is negative: minus the interest from ``on`` to the coupon date.
    """
    start, end = coupon_period(on, maturity, frequency)
    coupon = nominal * coupon_rate_pct / 100.0
    if on == end:
        return 0.0
    if ex_coupon_days and on >= ex_coupon_date(end, ex_coupon_days, ex_calendar):
        return -coupon * year_fraction(on, end, convention, start, end)
    fraction = year_fraction(start, on, convention, start, end)
    return coupon * fraction
