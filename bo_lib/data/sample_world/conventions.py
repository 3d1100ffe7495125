"""The sample world's own market conventions: business days, settlement dates, day counts, coupons.

The simulated fund administrator and custodians work out their dates and interest on their own,
so that a convention the workbench gets wrong shows up as a break instead of being repeated by
the "other side". Nothing here comes from the workbench (no ``bo_lib`` import at all): holidays
come straight from the ``holidays`` package, exchange sessions from ``exchange_calendars``, and
the day counts are the published formulas written out (no QuantLib).

Calendars
---------
A :class:`Calendar` is Monday-Friday less a sorted ``datetime64[D]`` holiday array, valid inside
``[valid_from, valid_to]`` (inside :data:`CALENDAR_START`..:data:`CALENDAR_END`); a date outside
raises ``ValueError`` instead of silently counting weekends only.

Payment systems (:func:`payment_calendar`, by currency):

=====  ========================================================================================
USD    Federal Reserve Banks: the US federal holidays (``holidays.country_holidays("US",
       observed=False)``: incl. Juneteenth from 2021, Columbus Day and Veterans Day). A holiday on
       a Sunday is observed the Monday; a holiday on a Saturday is NOT moved: the Reserve Banks
       are open the Friday before (Federal Reserve, "Holidays observed by the Federal Reserve
       System", federalreserve.gov/aboutthefed/k8.htm). So Fri 2021-12-31 is a USD business day.
EUR    TARGET2 closing days: ``holidays.financial_holidays("XECB")`` (1 Jan, Good Friday, Easter
       Monday, 1 May, 25 and 26 Dec); valid from 1999 (the euro's start).
GBP    England & Wales bank holidays (``holidays.country_holidays("GB", subdiv="ENG")``, with
       substitute days and one-off royal holidays).
JPY    Japanese national holidays plus the bank closures of 31 Dec, 2 Jan and 3 Jan (Banking Act
       Enforcement Order, art. 5: banks close on 31 Dec - 3 Jan; 1 Jan is a national holiday).
CHF    Zurich public holidays (``holidays.country_holidays("CH", subdiv="ZH")``) plus 2 Jan
       (Berchtold's Day, on which Zurich banks and SIX close though it is not a cantonal holiday).
=====  ========================================================================================

Exchanges (:func:`exchange_sessions`): the ``exchange_calendars`` sessions of the market's
exchange (XCBO options trade on NYSE days). :func:`settlement_calendar` = exchange sessions AND
payment days, less one-off closures from reference data (a frame with ``market`` and
``closure_date``; a row applies to its market and to markets trading on that exchange's days).
OTC (``XOFF``) has no exchange: its settlement calendar is the currency's payment calendar.

Settlement
----------
:func:`settlement_date` = trade date + the cycle in settlement business days. The cycle comes from
:data:`SETTLEMENT_CYCLES` (public rules, stated here with their sources). Trade dates that are not
settlement days:

* a weekend or exchange holiday counts from the next exchange session (a Saturday trade settles
  like the Monday's);
* US: a day the exchange is open but the Federal Reserve is closed (Columbus Day, Veterans Day)
  is no settlement day and trades of that day are "combined with transactions made on the previous
  business day" (FINRA / NASD Uniform Practice Code holiday schedules, e.g. Notices to Members
  85-63, 88-82 (Veterans Day 1988), 95-77 (Columbus Day 1995), 99-83 (Columbus Day 1999) at
  finra.org/rules-guidance/notices). A trade of Mon 2026-10-12 therefore settles Tue 2026-10-13
  at T+1, as does the Friday's; elsewhere (no such rule) the count starts at the next settlement
  day.

Day counts, coupons and ex-dates
--------------------------------
:func:`year_fraction` implements ACT/ACT ICMA (ICMA Rule 251: days / (frequency x days of the
reference coupon period)), ACT/ACT ISDA (split by calendar year), 30/360 BOND BASIS, 30E/360 and
30E/360 ISDA (2006 ISDA Definitions 4.16(f)-(h)), 30/360 US (SIA Standard Securities Calculation
Methods, the end-of-month rules applied in their published order), ACT/360 and ACT/365F.
Coupon dates are unadjusted, rolled back from maturity by whole months; a coupon is the nominal x
rate x the year fraction of its whole period (an ACT/360 bond pays rate x days / 360). UK gilts
go ex-dividend seven UK business days before the coupon date; see :func:`ex_and_record_dates`.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "CALENDAR_START", "CALENDAR_END", "MARKETS", "CURRENCY_REGION", "SETTLEMENT_CYCLES", "DAY_COUNTS",
    "Calendar", "payment_calendar", "exchange_sessions", "settlement_calendar",
    "settlement_region", "settlement_cycle", "settlement_date", "settlement_dates",
    "year_fraction", "day_count_30_360", "coupon_schedule", "coupon_period", "coupon_amount",
    "accrued_interest", "ex_and_record_dates", "pay_date",
]

CALENDAR_START = dt.date(1995, 1, 1)
CALENDAR_END = dt.date(2040, 12, 31)
_WEEKMASK = "1111100"
_ONE = np.timedelta64(1, "D")


# --------------------------------------------------------------------------------------------- #
# Markets and cycles (constants, with their public sources)
# --------------------------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Market:
    region: str | None  # selects the settlement cycle; None for OTC (chosen by currency)
    exchange: str | None  # exchange_calendars code of the days it trades; None for OTC
    currency: str | None  # the home currency whose payment system settles its trades


MARKETS: dict[str, Market] = {
    "XNYS": Market("US", "XNYS", "USD"),
    "XNAS": Market("US", "XNAS", "USD"),
    "XCBO": Market("US", "XNYS", "USD"),  # Cboe options trade on NYSE days
    "XETR": Market("EU", "XETR", "EUR"),
    "XPAR": Market("EU", "XPAR", "EUR"),
    "XAMS": Market("EU", "XAMS", "EUR"),
    "XLON": Market("UK", "XLON", "GBP"),
    "XTKS": Market("JP", "XTKS", "JPY"),
    "XOFF": Market(None, None, None),  # off-exchange / OTC: region and payment system by currency
}
OTC = "XOFF"
#: settlement region of an OTC trade by its currency (CHF has no cycle rules here: OTC CHF raises)
CURRENCY_REGION = {"USD": "US", "EUR": "EU", "GBP": "UK", "JPY": "JP", "CHF": "CH"}

#: (region, asset class) -> ((first trade date, last trade date or None, business days), ...)
SETTLEMENT_CYCLES: dict[tuple[str, str], tuple[tuple[dt.date, dt.date | None, int], ...]] = {
    # SEC Rule 15c6-1: T+3 from 1995-06-07; T+2 from 2017-09-05 (Release 34-80295);
    # T+1 from 2024-05-28 (Release 34-96930). Exchange-traded funds follow equities.
    ("US", "equity"): ((dt.date(1995, 6, 7), dt.date(2017, 9, 4), 3), (dt.date(2017, 9, 5), dt.date(2024, 5, 27), 2),
                       (dt.date(2024, 5, 28), None, 1)),
    ("US", "corporate_bond"): ((dt.date(1995, 6, 7), dt.date(2017, 9, 4), 3), (dt.date(2017, 9, 5), dt.date(2024, 5, 27), 2),
                               (dt.date(2024, 5, 28), None, 1)),
    ("US", "fund"): ((dt.date(1995, 6, 7), dt.date(2017, 9, 4), 3), (dt.date(2017, 9, 5), dt.date(2024, 5, 27), 2),
                     (dt.date(2024, 5, 28), None, 1)),
    ("US", "government_bond"): ((dt.date(1995, 1, 1), None, 1),),  # Treasuries: regular way is next day
    ("US", "option"): ((dt.date(1995, 1, 1), None, 1),),  # OCC: listed options settle T+1
    # EU: CSDR (Reg. (EU) 909/2014) art. 5(2) T+2, adopted by the markets from 2014-10-06; T+1 for
    # trades from 2027-10-11 (the CSDR amendment proposed by the Commission on 2025-02-12, agreed 2025).
    **{("EU", ac): ((dt.date(2014, 10, 6), dt.date(2027, 10, 8), 2), (dt.date(2027, 10, 11), None, 1))
       for ac in ("equity", "corporate_bond", "government_bond", "fund")},
    # UK: T+2 from 2014-10-06 (LSE Market Notice N14/13); T+1 from 2027-10-11 (UK Accelerated Settlement
    # Taskforce, confirmed by HM Treasury); gilts settle T+1 by market convention throughout.
    **{("UK", ac): ((dt.date(2014, 10, 6), dt.date(2027, 10, 8), 2), (dt.date(2027, 10, 11), None, 1))
       for ac in ("equity", "corporate_bond", "fund")},
    ("UK", "government_bond"): ((dt.date(1995, 1, 1), None, 1),),
    # JP: JPX moved equities T+3 -> T+2 for trades from 2019-07-16; JGB outright trades T+1 from 2018-05-01.
    ("JP", "equity"): ((dt.date(2019, 7, 16), None, 2),),
    ("JP", "fund"): ((dt.date(2019, 7, 16), None, 2),),
    ("JP", "government_bond"): ((dt.date(2018, 5, 1), None, 1),),
}


# --------------------------------------------------------------------------------------------- #
# Date coercion
# --------------------------------------------------------------------------------------------- #
def _day(d) -> np.datetime64:
    if isinstance(d, np.datetime64):
        out = d.astype("datetime64[D]")
    elif isinstance(d, dt.datetime):  # includes pd.Timestamp
        if pd.isna(d):
            raise ValueError("date is missing (NaT)")
        out = np.datetime64(d.date(), "D")
    elif isinstance(d, dt.date):
        out = np.datetime64(d, "D")
    elif isinstance(d, str):
        out = np.datetime64(dt.date.fromisoformat(d.strip()[:10]), "D")
    else:
        raise TypeError(f"expected a date, got {type(d).__name__}: {d!r}")
    if np.isnat(out):
        raise ValueError("date is missing (NaT)")
    return out


def _date(d) -> dt.date:
    return _day(d).astype(object)


def _day_array(values) -> np.ndarray:
    s = pd.to_datetime(pd.Series(list(values) if not isinstance(values, (pd.Series, np.ndarray)) else values))
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    return s.to_numpy().astype("datetime64[D]")


# --------------------------------------------------------------------------------------------- #
# Calendar
# --------------------------------------------------------------------------------------------- #
class Calendar:
    """Business days: Monday to Friday less ``holidays`` (any iterable of dates), valid inside
    ``[valid_from, valid_to]``. Instances are immutable; the factories below cache them.

    Rules: a non-business ``d`` is rolled forward before any shift, for every ``n`` (Saturday + 0 =
    Monday, Saturday - 1 = Friday, Saturday + 1 = Tuesday); counts are over ``(start, end]``.
    """

    __slots__ = ("name", "holidays", "valid_from", "valid_to", "_bdc")

    def __init__(self, name: str, holidays: Iterable = (), valid_from: dt.date = CALENDAR_START,
                 valid_to: dt.date = CALENDAR_END) -> None:
        hol = np.unique(np.asarray([_day(h) for h in holidays] if not isinstance(holidays, np.ndarray) else holidays,
                                   dtype="datetime64[D]"))
        hol = hol[np.is_busday(hol, weekmask=_WEEKMASK)]  # weekends are implicit
        hol.setflags(write=False)
        self.name = name
        self.holidays = hol
        self.valid_from = _date(valid_from)
        self.valid_to = _date(valid_to)
        self._bdc = np.busdaycalendar(weekmask=_WEEKMASK, holidays=hol)

    def __repr__(self) -> str:
        return f"Calendar({self.name!r}, {len(self.holidays)} holidays, {self.valid_from}..{self.valid_to})"

    # -- combination ------------------------------------------------------------------------- #
    def __and__(self, other: "Calendar") -> "Calendar":
        """Days on which both calendars are open."""
        return Calendar(f"{self.name}&{other.name}", np.concatenate([self.holidays, other.holidays]),
                        max(self.valid_from, other.valid_from), min(self.valid_to, other.valid_to))

    def minus(self, closures: Iterable, label: str = "closures") -> "Calendar":
        """This calendar less one-off ``closures`` (dates); ``self`` when there are none."""
        extra = np.array(sorted({_day(c) for c in closures}), dtype="datetime64[D]")
        if not len(extra):
            return self
        return Calendar(f"{self.name}-{len(extra)} {label}", np.concatenate([self.holidays, extra]),
                        self.valid_from, self.valid_to)

    # -- checks ------------------------------------------------------------------------------ #
    def _check(self, days: np.ndarray) -> None:
        days = np.asarray(days, dtype="datetime64[D]")
        days = days[~np.isnat(days)] if days.ndim else (days[None] if not np.isnat(days) else days[None][:0])
        if days.size:
            lo, hi = days.min(), days.max()
            if lo < np.datetime64(self.valid_from) or hi > np.datetime64(self.valid_to):
                bad = lo if lo < np.datetime64(self.valid_from) else hi
                raise ValueError(f"{self.name}: {bad} is outside the calendar's range {self.valid_from}..{self.valid_to}")

    def _d(self, d) -> np.datetime64:
        day = _day(d)
        self._check(day)
        return day

    # -- scalar API -------------------------------------------------------------------------- #
    def is_business_day(self, d) -> bool:
        return bool(np.is_busday(self._d(d), busdaycal=self._bdc))

    def roll_forward(self, d) -> dt.date:
        """``d`` if it is a business day, else the next business day."""
        return np.busday_offset(self._d(d), 0, roll="forward", busdaycal=self._bdc).astype(object)

    def add_business_days(self, d, n: int) -> dt.date:
        """``d`` rolled forward to a business day, then moved ``n`` business days (``n`` may be 0 or negative)."""
        return np.busday_offset(self._d(d), int(n), roll="forward", busdaycal=self._bdc).astype(object)

    def previous_business_day(self, d) -> dt.date:
        """The latest business day strictly before ``d``."""
        return np.busday_offset(self._d(d), -1, roll="forward", busdaycal=self._bdc).astype(object)

    def next_business_day(self, d) -> dt.date:
        """The earliest business day strictly after ``d``."""
        return np.busday_offset(self._d(d) + _ONE, 0, roll="forward", busdaycal=self._bdc).astype(object)

    def business_days_between(self, start, end) -> int:
        """Business days in ``(start, end]``; minus those in ``(end, start]`` when ``end < start``."""
        a, b = self._d(start), self._d(end)
        lo, hi = min(a, b), max(a, b)
        n = int(np.busday_count(lo + _ONE, hi + _ONE, busdaycal=self._bdc))
        return -n if b < a else n

    def business_days(self, start, end) -> list[dt.date]:
        """The business days in ``[start, end]`` (empty when ``end < start``)."""
        a, b = self._d(start), self._d(end)
        if b < a:
            return []
        days = np.arange(a, b + _ONE, dtype="datetime64[D]")
        return days[np.is_busday(days, busdaycal=self._bdc)].astype(object).tolist()

    # -- vectorised API ---------------------------------------------------------------------- #
    def is_business_day_array(self, days) -> np.ndarray:
        days = np.asarray(days, dtype="datetime64[D]")
        self._check(days)
        out = np.zeros(days.shape, dtype=bool)
        ok = ~np.isnat(days)
        out[ok] = np.is_busday(days[ok], busdaycal=self._bdc)
        return out

    def offset_array(self, days, n) -> np.ndarray:
        """Vectorised :meth:`add_business_days` over ``datetime64[D]`` arrays (NaT stays NaT)."""
        days = np.asarray(days, dtype="datetime64[D]")
        n = np.broadcast_to(np.asarray(n, dtype=np.int64), days.shape)
        self._check(days)
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~np.isnat(days)
        out[ok] = np.busday_offset(days[ok], n[ok], roll="forward", busdaycal=self._bdc)
        return out


# --------------------------------------------------------------------------------------------- #
# Holiday sources (built once per process)
# --------------------------------------------------------------------------------------------- #
_YEARS = range(CALENDAR_START.year, CALENDAR_END.year + 1)


def _fed_holidays() -> list[dt.date]:
    import holidays

    out = []
    for d in holidays.country_holidays("US", years=_YEARS, observed=False):
        if d.weekday() == 6:  # Sunday: the Reserve Banks close the Monday
            out.append(d + dt.timedelta(days=1))
        elif d.weekday() < 5:
            out.append(d)
        # Saturday: the Reserve Banks are open the Friday before
    return out


@lru_cache(maxsize=None)
def payment_calendar(currency: str) -> Calendar:
    """Business days of ``currency``'s payment system (USD, EUR, GBP, JPY, CHF; rules in the module doc)."""
    import holidays

    ccy = str(currency).strip().upper()
    if ccy == "USD":
        return Calendar("USD Fed", _fed_holidays())
    if ccy == "EUR":
        return Calendar("EUR TARGET2", holidays.financial_holidays("XECB", years=_YEARS), valid_from=dt.date(1999, 1, 1))
    if ccy == "GBP":
        return Calendar("GBP England & Wales", holidays.country_holidays("GB", subdiv="ENG", years=_YEARS))
    if ccy == "JPY":
        days = list(holidays.country_holidays("JP", years=_YEARS))
        days += [dt.date(y, m, d) for y in _YEARS for m, d in ((12, 31), (1, 2), (1, 3))]
        return Calendar("JPY Japan banks", days)
    if ccy == "CHF":
        days = list(holidays.country_holidays("CH", subdiv="ZH", years=_YEARS)) + [dt.date(y, 1, 2) for y in _YEARS]
        return Calendar("CHF Zurich", days)
    raise ValueError(f"no payment calendar for currency {currency!r} (known: USD, EUR, GBP, JPY, CHF)")


@lru_cache(maxsize=None)
def _exchange_base(code: str) -> Calendar:
    """Weekdays that are not sessions of the ``exchange_calendars`` calendar ``code``."""
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exchange_calendars' own deprecation noise under newer pandas
        start, end = pd.Timestamp(CALENDAR_START), pd.Timestamp(CALENDAR_END)
        try:
            exchange = xcals.get_calendar(code, start=start, end=end)
        except xcals.errors.InvalidCalendarName as exc:
            raise ValueError(f"unknown exchange calendar {code!r}") from exc
        except ValueError:  # the exchange's data start later (XTKS: 1997): from there on
            start = pd.Timestamp(xcals.get_calendar(code).bound_min())
            exchange = xcals.get_calendar(code, start=start, end=end)
        sessions = exchange.sessions
    sessions = sessions.tz_localize(None) if sessions.tz is not None else sessions
    open_days = sessions.to_numpy().astype("datetime64[D]")
    days = np.arange(np.datetime64(start.date(), "D"), np.datetime64(CALENDAR_END, "D") + _ONE)
    weekdays = days[np.is_busday(days, weekmask=_WEEKMASK)]
    return Calendar(f"{code} sessions", np.setdiff1d(weekdays, open_days), valid_from=start.date())


def _closure_days(closures: pd.DataFrame | None, markets: Iterable[str]) -> frozenset:
    """The closure dates of ``closures`` (``market``, ``closure_date``) for any of ``markets``."""
    if closures is None or len(closures) == 0:
        return frozenset()
    missing = {"market", "closure_date"} - set(closures.columns)
    if missing:
        raise ValueError(f"closures frame lacks columns {sorted(missing)}")
    # the frame's content is the cache key (a few rows; read on every call, parsed once)
    days = closures["closure_date"].to_numpy()
    days = days.astype("datetime64[D]").astype(str) if days.dtype.kind == "M" else days
    key = (tuple(closures["market"].to_numpy().tolist()), tuple(map(str, days.tolist())))
    table = _parse_closures(key)
    return frozenset().union(*(table.get(m, frozenset()) for m in markets if m))


@lru_cache(maxsize=32)
def _parse_closures(key: tuple[tuple, tuple]) -> dict[str, frozenset]:
    out: dict[str, set] = {}
    for market, day in zip(*key):
        if not isinstance(market, str) or day in ("", "nan", "NaT", "None"):
            continue
        out.setdefault(market.strip().upper(), set()).add(dt.date.fromisoformat(day.strip()[:10]))
    return {m: frozenset(v) for m, v in out.items()}


def _market(mic: str) -> tuple[str, Market]:
    code = str(mic).strip().upper() if isinstance(mic, str) else ""
    if code not in MARKETS:
        raise ValueError(f"unknown market {mic!r} (known: {', '.join(MARKETS)})")
    return code, MARKETS[code]


def _exchange_code(mic: str) -> tuple[str, str]:
    """(market, exchange_calendars code) for a market of :data:`MARKETS` or a bare exchange code."""
    code = str(mic).strip().upper()
    if code in MARKETS:
        if MARKETS[code].exchange is None:
            raise ValueError(f"market {code} (OTC) has no exchange sessions; use payment_calendar(currency)")
        return code, MARKETS[code].exchange
    return code, code


def exchange_sessions(mic: str, closures: pd.DataFrame | None = None) -> Calendar:
    """Trading days of ``mic``'s exchange (``exchange_calendars`` sessions), less ``closures`` of
    the market or of its exchange. ``mic`` may also be any ``exchange_calendars`` code (e.g. XSWX)."""
    code, exchange = _exchange_code(mic)
    return _exchange_with_closures(exchange, _closure_days(closures, (code, exchange)))


@lru_cache(maxsize=256)
def _exchange_with_closures(exchange: str, closed: frozenset) -> Calendar:
    return _exchange_base(exchange).minus(closed)


def settlement_calendar(mic: str, currency: str | None = None, closures: pd.DataFrame | None = None) -> Calendar:
    """Settlement days of ``mic``: its exchange's sessions AND ``currency``'s payment days, less
    one-off ``closures`` (rows of the market or of the exchange it trades on). ``currency``
    defaults to the market's home currency; OTC (``XOFF``) needs it and has no exchange side."""
    code, market = _market(mic)
    ccy = _currency(code, market, currency)
    return _settlement_calendar(code, ccy, _closure_days(closures, (code, market.exchange)))


def _currency(code: str, market: Market, currency) -> str:
    if currency is None or (isinstance(currency, float) and np.isnan(currency)) or not str(currency).strip():
        if market.currency is None:
            raise ValueError(f"market {code} (OTC) needs a currency to choose its settlement calendar")
        return market.currency
    return str(currency).strip().upper()


@lru_cache(maxsize=256)
def _settlement_calendar(code: str, currency: str, closed: frozenset) -> Calendar:
    cal = payment_calendar(currency)
    exchange = MARKETS[code].exchange
    if exchange:
        cal = _exchange_base(exchange) & cal
    return cal.minus(closed)


# --------------------------------------------------------------------------------------------- #
# Settlement cycles and dates
# --------------------------------------------------------------------------------------------- #
def settlement_region(mic: str, currency: str | None = None) -> str:
    """The region whose cycle rules apply: the market's, or for OTC the currency's."""
    code, market = _market(mic)
    if market.region:
        return market.region
    ccy = _currency(code, market, currency)
    if ccy not in CURRENCY_REGION:
        raise ValueError(f"market {code}: no settlement region for currency {ccy!r}")
    return CURRENCY_REGION[ccy]


def _cycles_for(days: np.ndarray, region: str, asset_class: str) -> np.ndarray:
    rules = SETTLEMENT_CYCLES.get((region, asset_class))
    out = np.full(days.shape, -1, dtype=np.int64)
    for first, last, n in rules or ():
        hi = np.datetime64(last or dt.date(9999, 12, 31), "D")
        out[(days >= np.datetime64(first, "D")) & (days <= hi)] = n
    return out


def settlement_cycle(trade_date, mic: str, asset_class: str = "equity", currency: str | None = None) -> int:
    """Business days from trade to settlement for a trade booked on ``trade_date`` (:data:`SETTLEMENT_CYCLES`)."""
    region = settlement_region(mic, currency)
    ac = str(asset_class).strip().lower()
    n = int(_cycles_for(np.array([_day(trade_date)]), region, ac)[0])
    if n < 0:
        raise ValueError(f"no settlement cycle for {mic} (region {region}), asset class {ac!r}, trade date {_date(trade_date)}")
    return n


def _settle_array(days: np.ndarray, cycles: np.ndarray, trading: Calendar, settle: Calendar, combine_back: bool) -> np.ndarray:
    """The settlement rule on arrays (one implementation for the scalar and the frame variant)."""
    effective = trading.offset_array(days, 0)  # weekend / exchange holiday -> next session
    ok = settle.is_business_day_array(effective)
    if combine_back:  # FINRA UPC: a session without settlement is combined with the previous business day
        base = np.where(ok, effective, settle.offset_array(effective, -1))
    else:
        base = settle.offset_array(effective, 0)
    return settle.offset_array(base, cycles)


def _calendars_for(code: str, ccy: str, closed: frozenset) -> tuple[Calendar, Calendar, bool]:
    """(trading days, settlement days, whether the FINRA combine-back rule applies) of a market."""
    market = MARKETS[code]
    settle = _settlement_calendar(code, ccy, closed)
    trading = _exchange_with_closures(market.exchange, closed) if market.exchange else settle
    return trading, settle, market.exchange is not None and market.region == "US"


def settlement_date(trade_date, mic: str, asset_class: str = "equity", currency: str | None = None,
                    closures: pd.DataFrame | None = None) -> dt.date:
    """Trade date + the cycle in business days of :func:`settlement_calendar` (``mic``, ``currency``).

    A weekend or exchange holiday counts from the next session; a US session on which the Federal
    Reserve is closed (Columbus Day, Veterans Day) settles as if traded the previous business day
    (FINRA Uniform Practice Code schedules, see the module doc): Mon 2026-10-12 -> Tue 2026-10-13 at
    T+1, Wed 2026-11-11 -> Thu 2026-11-12. The cycle is the one in force on the booked trade date.
    Memoised on (date, market, asset class, currency, closure dates).
    """
    code, market = _market(mic)
    ccy = _currency(code, market, currency)
    closed = _closure_days(closures, (code, market.exchange))
    return _settlement_date(_date(trade_date), code, str(asset_class).strip().lower(), ccy, closed)


@lru_cache(maxsize=262_144)
def _settlement_date(day: dt.date, code: str, asset_class: str, ccy: str, closed: frozenset) -> dt.date:
    cycle = settlement_cycle(day, code, asset_class, ccy)
    trading, settle, back = _calendars_for(code, ccy, closed)
    return _settle_array(np.array([_day(day)]), np.array([cycle]), trading, settle, back)[0].astype(object)


def settlement_dates(trades: pd.DataFrame, closures: pd.DataFrame | None = None) -> pd.Series:
    """:func:`settlement_date` for every row of ``trades`` (``trade_date``, ``market``, ``asset_class``,
    optional ``currency``), vectorised per (market, asset class, currency) over the distinct dates.
    Returns a ``datetime64[ns]`` Series ``settlement_date`` on ``trades.index`` (NaT for a missing date)."""
    missing = {"trade_date", "market", "asset_class"} - set(trades.columns)
    if missing:
        raise ValueError(f"trades frame lacks columns {sorted(missing)}")
    n = len(trades)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if n:
        days = _day_array(trades["trade_date"])
        keys = pd.DataFrame({
            "market": trades["market"].astype(str).str.strip().str.upper().to_numpy(),
            "asset_class": trades["asset_class"].astype(str).str.strip().str.lower().to_numpy(),
            "currency": (trades["currency"].fillna("").astype(str).str.strip().str.upper().to_numpy()
                         if "currency" in trades.columns else np.full(n, "", dtype=object)),
        })
        for (mkt, ac, ccy), pos in keys.groupby(["market", "asset_class", "currency"], sort=False).indices.items():
            code, market = _market(mkt)
            ccy = _currency(code, market, ccy or None)
            mine = days[pos]
            valid = ~np.isnat(mine)
            if not valid.any():
                continue
            uniq, inverse = np.unique(mine[valid], return_inverse=True)  # memoised: each date once
            cycles = _cycles_for(uniq, settlement_region(code, ccy), ac)
            if (cycles < 0).any():
                raise ValueError(f"no settlement cycle for {code}, asset class {ac!r}, trade date {uniq[cycles < 0][0]}")
            trading, settle, back = _calendars_for(code, ccy, _closure_days(closures, (code, market.exchange)))
            res = np.full(len(pos), np.datetime64("NaT"), dtype="datetime64[D]")
            res[valid] = _settle_array(uniq, cycles, trading, settle, back)[inverse]
            out[pos] = res
    return pd.Series(out.astype("datetime64[ns]"), index=trades.index, name="settlement_date")


# --------------------------------------------------------------------------------------------- #
# Day counts
# --------------------------------------------------------------------------------------------- #
DAY_COUNTS = ("ACT/ACT ICMA", "ACT/ACT ISDA", "30/360 BOND BASIS", "30/360 US", "30E/360", "30E/360 ISDA", "ACT/360", "ACT/365F")
_THIRTY = {"30/360 BOND BASIS", "30/360 US", "30E/360", "30E/360 ISDA"}


def _month_end(d: dt.date) -> bool:
    return d.day == _calendar.monthrange(d.year, d.month)[1]


def _feb_end(d: dt.date) -> bool:
    return d.month == 2 and _month_end(d)


def day_count_30_360(start: dt.date, end: dt.date, convention: str, termination_date: dt.date | None = None,
                     eom: bool = True) -> int:
    """Days from ``start`` to ``end`` (``start <= end``) under a 30/360 convention:
    360 x (Y2 - Y1) + 30 x (M2 - M1) + (D2 - D1) after these day adjustments:

    * 30/360 BOND BASIS (ISDA 2006 4.16(f)): D1 = 31 -> 30; D2 = 31 -> 30 if D1 (adjusted) is 30.
    * 30E/360 (4.16(g), Eurobond basis): D1 = 31 -> 30; D2 = 31 -> 30.
    * 30E/360 ISDA (4.16(h)): D1 -> 30 if the last day of February or 31; D2 -> 30 if 31, or if the
      last day of February unless ``end`` is the ``termination_date`` (maturity).
    * 30/360 US (SIA Standard Securities Calculation Methods, in this order): if the bond is ``eom``
      and D1 and D2 are both the last day of February, D2 -> 30; if ``eom`` and D1 is the last day of
      February, D1 -> 30; if D2 = 31 and D1 is 30 or 31, D2 -> 30; if D1 = 31, D1 -> 30.
    """
    y1, m1, d1 = start.year, start.month, start.day
    y2, m2, d2 = end.year, end.month, end.day
    if convention == "30/360 BOND BASIS":
        d1 = min(d1, 30)
        if d2 == 31 and d1 == 30:
            d2 = 30
    elif convention == "30E/360":
        d1, d2 = min(d1, 30), min(d2, 30)
    elif convention == "30E/360 ISDA":
        if d1 == 31 or _feb_end(start):
            d1 = 30
        if d2 == 31 or (_feb_end(end) and end != termination_date):
            d2 = 30
    elif convention == "30/360 US":
        if eom and _feb_end(start) and _feb_end(end):
            d2 = 30
        if eom and _feb_end(start):
            d1 = 30
        if d2 == 31 and d1 >= 30:
            d2 = 30
        if d1 == 31:
            d1 = 30
    else:
        raise ValueError(f"{convention!r} is not a 30/360 convention")
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)


def year_fraction(start, end, convention: str, period_start=None, period_end=None, frequency: int | None = None, *,
                  termination_date=None, eom: bool | None = None) -> float:
    """Fraction of a year from ``start`` to ``end`` under ``convention`` (negative when ``end < start``).

    * ACT/360, ACT/365F: actual days / 360, / 365.
    * ACT/ACT ISDA: the days in each calendar year / that year's length (365 or 366), summed.
    * ACT/ACT ICMA: actual days / (``frequency`` x actual days of the reference coupon period
      ``[period_start, period_end]``, which must contain the interval): a whole regular period is
      exactly 1 / frequency.
    * 30/360 family: :func:`day_count_30_360` / 360 (``termination_date`` for 30E/360 ISDA; ``eom``
      for 30/360 US, by default whether ``period_end`` -- else ``end`` -- is a month end).
    """
    a, b = _date(start), _date(end)
    if b < a:
        return -year_fraction(b, a, convention, period_start, period_end, frequency, termination_date=termination_date, eom=eom)
    conv = str(convention).strip().upper()
    if conv == "ACT/360":
        return (b - a).days / 360.0
    if conv == "ACT/365F":
        return (b - a).days / 365.0
    if conv == "ACT/ACT ISDA":
        total, cur = 0.0, a
        while cur < b:
            nxt = min(b, dt.date(cur.year + 1, 1, 1))
            total += (nxt - cur).days / (366.0 if _calendar.isleap(cur.year) else 365.0)
            cur = nxt
        return total
    if conv == "ACT/ACT ICMA":
        if period_start is None or period_end is None or not frequency:
            raise ValueError("ACT/ACT ICMA needs the reference coupon period (period_start, period_end) and the frequency")
        ps, pe = _date(period_start), _date(period_end)
        if not (ps <= a <= b <= pe) or pe <= ps:
            raise ValueError(f"ACT/ACT ICMA: {a}..{b} is not inside the reference period {ps}..{pe}")
        return (b - a).days / (int(frequency) * (pe - ps).days)
    if conv in _THIRTY:
        if eom is None:
            eom = _month_end(_date(period_end)) if period_end is not None else _month_end(b)
        term = _date(termination_date) if termination_date is not None else None
        return day_count_30_360(a, b, conv, term, eom) / 360.0
    raise ValueError(f"unknown day-count convention {convention!r}; known: {', '.join(DAY_COUNTS)}")


# --------------------------------------------------------------------------------------------- #
# Coupons
# --------------------------------------------------------------------------------------------- #
def _check_frequency(frequency) -> int:
    f = int(frequency)
    if f not in (1, 2, 4, 12) or f != frequency:
        raise ValueError(f"coupon frequency must be 1, 2, 4 or 12 a year, got {frequency!r}")
    return f


def _months_before(maturity: dt.date, months: int) -> dt.date:
    """``maturity`` moved back ``months`` whole months: same day, capped at the month's length;
    the month's last day when ``maturity`` is a month end."""
    idx = maturity.year * 12 + (maturity.month - 1) - months
    y, m = divmod(idx, 12)
    last = _calendar.monthrange(y, m + 1)[1]
    return dt.date(y, m + 1, last if _month_end(maturity) else min(maturity.day, last))


def coupon_schedule(maturity, frequency: int, from_date, to_date=None) -> list[dt.date]:
    """Unadjusted coupon dates in ``[from_date, min(to_date, maturity)]``, ascending: maturity rolled
    back by 12 / ``frequency`` months at a time (each date from maturity directly, so a 31st stays a
    month end and a 15th stays a 15th)."""
    mat, lo = _date(maturity), _date(from_date)
    hi = min(_date(to_date), mat) if to_date is not None else mat
    step = 12 // _check_frequency(frequency)
    out, k = [], 0
    while True:
        d = _months_before(mat, k * step)
        if d < lo:
            break
        if d <= hi:
            out.append(d)
        k += 1
    return out[::-1]


def coupon_period(on, maturity, frequency: int) -> tuple[dt.date, dt.date]:
    """The coupon period ``(start, end]`` holding ``on``: a coupon date belongs to the period it ends."""
    d, mat = _date(on), _date(maturity)
    if d > mat:
        raise ValueError(f"{d} is after the bond's maturity {mat}")
    step = 12 // _check_frequency(frequency)
    k = 0
    while True:
        start = _months_before(mat, (k + 1) * step)
        if start < d:
            return start, _months_before(mat, k * step)
        k += 1


def coupon_amount(nominal: float, rate_pct: float, period_start, period_end, convention: str, frequency: int, *,
                  termination_date=None, eom: bool | None = None) -> float:
    """The coupon of a whole period: ``nominal`` x ``rate_pct`` / 100 x the year fraction of
    ``[period_start, period_end]`` (ICMA and regular 30/360 periods: rate / frequency; ACT/360:
    rate x actual days / 360). Unrounded."""
    yf = year_fraction(period_start, period_end, convention, period_start, period_end, frequency,
                       termination_date=termination_date, eom=eom)
    return float(nominal) * float(rate_pct) / 100.0 * yf


def ex_and_record_dates(coupon_date, currency: str, ex_coupon_business_days: int = 0) -> tuple[dt.date, dt.date]:
    """(ex-dividend date, record date) of a coupon.

    With ``ex_coupon_business_days`` = n > 0 (UK gilts: 7) the ex-dividend date is n business days
    of ``currency``'s payment calendar (England & Wales for GBP) before the coupon date, counted back
    from the coupon date rolled forward to a business day (Sat 2026-11-07 -> Thu 2026-10-29); the
    record date is the business day before the ex-dividend date. The seven-business-day ex-dividend
    period is the DMO's gilt convention (DMO, "Formulae for Calculating Gilt Prices from Yields" and
    the formulae page dmo.gov.uk/publications/gilt-market/formulae-and-examples/); e.g. 4% Treasury
    Gilt 2063 went ex-dividend on Thu 2023-10-12 for its coupon of Sun 2023-10-22.
    Without ex days: ex-date = record date = coupon date.
    """
    coupon = _date(coupon_date)
    n = int(ex_coupon_business_days or 0)
    if n <= 0:
        return coupon, coupon
    cal = payment_calendar(currency)
    ex = cal.add_business_days(coupon, -n)
    return ex, cal.previous_business_day(ex)


def pay_date(coupon_date, currency: str) -> dt.date:
    """The day a coupon is paid: its (unadjusted) date rolled forward to a payment business day."""
    return payment_calendar(currency).roll_forward(coupon_date)


def _field(sec: Mapping, name: str, default=None):
    try:
        value = sec[name]
    except (KeyError, IndexError):
        return default
    if value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip()):
        return default
    return value


def accrued_interest(on, nominal: float, sec: Mapping, ex_date=None) -> float:
    """Accrued interest on ``nominal`` of bond ``sec`` at ``on`` (a row of the securities master:
    ``coupon_rate`` (% a year), ``coupon_frequency``, ``day_count``, ``maturity_date``, optional
    ``ex_coupon_days``, ``currency``, ``issue_date``). Unrounded.

    Interest accrues from the start of the coupon period holding ``on`` (or the issue date, if later)
    to ``on``; 0 on a coupon date. Inside the ex-coupon period -- from ``ex_date`` (default: from
    :func:`ex_and_record_dates` with the security's ex-coupon business days; none without them) up
    to the coupon date -- the holder will not receive the coupon, so accrual is negative: minus the
    interest from ``on`` to the coupon date.
    """
    d = _date(on)
    maturity = _date(_field(sec, "maturity_date"))
    freq = _check_frequency(int(float(_field(sec, "coupon_frequency"))))
    conv = str(_field(sec, "day_count")).strip().upper()
    rate = float(_field(sec, "coupon_rate"))
    start, end = coupon_period(d, maturity, freq)
    if d == end:
        return 0.0
    issue = _field(sec, "issue_date")
    accrual_start = max(start, _date(issue)) if issue is not None else start
    if d <= accrual_start:
        return 0.0
    if ex_date is None:
        exdays = int(float(_field(sec, "ex_coupon_days", 0)))
        ex = ex_and_record_dates(end, _field(sec, "currency", "GBP"), exdays)[0] if exdays > 0 else end
    else:
        ex = _date(ex_date)
    kw = {"termination_date": maturity, "eom": _month_end(maturity)}
    if ex <= d < end:
        return -float(nominal) * rate / 100.0 * year_fraction(d, end, conv, start, end, freq, **kw)
    return float(nominal) * rate / 100.0 * year_fraction(accrual_start, d, conv, start, end, freq, **kw)


# ---------------------------------------------------------------------------------------------
# rounding: the administrator's and the custodians' own half-up rounding of amounts


def _half_up_one(value: float, exponent: Decimal) -> float:
    if value != value:  # NaN stays NaN
        return value
    # first to five more places than asked, which clears the binary noise of a product such as
    # 56,050 x 266.9693 = 14,963,629.265 (stored as ...264999998), then half-up on the decimal
    places = -exponent.as_tuple().exponent + 5
    return float(Decimal(f"{float(value):.{places}f}").quantize(exponent, rounding=ROUND_HALF_UP))


def round_half_up_array(values, decimals: int = 2):
    """Amounts rounded half-up (a tie away from zero) at ``decimals``, each taken at the decimal value
    it stands for (2.675 -> 2.68). A scalar gives a 0-d array, a Series a Series, anything else an array."""
    exponent = Decimal(1).scaleb(-decimals)
    if isinstance(values, pd.Series):
        return values.astype("float64").map(lambda v: _half_up_one(v, exponent))
    arr = np.asarray(values, dtype="float64")
    return np.vectorize(lambda v: _half_up_one(v, exponent), otypes=["float64"])(arr) if arr.size else arr
