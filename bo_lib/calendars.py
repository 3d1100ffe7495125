"""Business-day calendars and settlement dates.

This module owns:

* **Business days** per market: a settlement business day is a weekday on which
  BOTH the exchange (``exchange_calendars`` sessions) and the market's payment
  system (``holidays`` package) are open, minus one-off closures supplied from
  reference data (e.g. a national day of mourning the libraries do not know yet).
* **Settlement dates** by market and asset class: trade date + N business days on
  that settlement calendar, where N comes from the effective-dated cycle table
  ``bo_lib/reference/settlement_cycles.csv`` (no cycle rules live in code).
* **Business-day arithmetic for ageing** (e.g. how many business days a failed
  settlement is old), scalar and vectorised via ``numpy.busday_offset`` /
  ``numpy.busday_count`` on a cached ``numpy.busdaycalendar``.

Reference data
--------------
``reference/markets.csv`` maps a market code (MIC) to its region (which selects the
cycle rows), its ``exchange_calendars`` name and its payment calendar code:

=========  ==========================================================================
FED        US Federal Reserve: ``holidays.country_holidays("US", observed=False)`` (the
           11 federal holidays incl. Columbus Day and Veterans Day, which NYSE does
           not observe).  Observance follows the Fed, not the federal-government
           rule: a holiday on a Sunday is observed on the Monday, but a holiday on a
           Saturday is NOT moved to the Friday (Fed banks are open that Friday),
           so e.g. Fri 2021-12-31 is a Fed business day.
TARGET2    ``holidays.financial_holidays("XECB")`` (TARGET closing days; the data
           starts in 1999, so earlier years only see weekends on the payment side).
UK_BANK    ``holidays.country_holidays("GB", subdiv="ENG")`` (England & Wales bank
           holidays incl. substitute days and one-off royal holidays).
JP_BANK    ``holidays.country_holidays("JP")`` plus the bank closures of 31 Dec,
           2 Jan and 3 Jan every year (1 Jan is already a national holiday).
=========  ==========================================================================

``XOFF`` (off-exchange / OTC: bonds, treasuries) has no exchange calendar; its
region and payment calendar are chosen by the trade currency via
:data:`OTC_CURRENCY_MAP` (USD -> US/FED, EUR -> EU/TARGET2, GBP -> UK/UK_BANK,
JPY -> JP/JP_BANK).  For listed markets the ``currency`` argument is ignored:
the market's own payment system applies.

Conventions
-----------
* Calendars cover :data:`CALENDAR_START`..:data:`CALENDAR_END` (1990-2040); dates
  outside raise ``ValueError`` rather than silently counting weekends only.  Before
  an exchange's earliest supported date (XTKS: 1997) only payment holidays apply.
* If a trade date is not a business day the count starts from the next business
  day (``roll="forward"``), which is the market convention: a trade booked on a
  Saturday settles like a Monday trade.  The *cycle* is still looked up with the
  trade date as booked.
* Except in the US, on a day the exchange is open and the Federal Reserve is closed
  (Columbus Day, Veterans Day): FINRA's Uniform Practice (its published holiday
  settlement schedule) settles that day's trades as if made on the previous business
  day, so a Monday 2026-10-12 trade settles with the Friday's, on Tue 2026-10-13 at
  T+1 (not 10-14).  :data:`PREVIOUS_DAY_REGIONS` lists the regions with this rule.
* ``add_business_days(d, n)`` rolls a non-business ``d`` forward first, for every
  ``n`` (so Saturday + 0 = Monday, Saturday - 1 = Friday).
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CALENDAR_START",
    "CALENDAR_END",
    "OTC_CURRENCY_MAP",
    "OTC_MARKET",
    "BusinessCalendar",
    "calendar_for",
    "settlement_cycle",
    "settlement_date",
    "settlement_dates",
    "business_days_between",
    "business_days_elapsed",
    "settlement_regions",
    "markets",
    "settlement_cycles",
]

CALENDAR_START = _dt.date(1990, 1, 1)
CALENDAR_END = _dt.date(2040, 12, 31)

OTC_MARKET = "XOFF"
#: OTC settlement: currency -> (region for the cycle table, payment calendar code).
OTC_CURRENCY_MAP: dict[str, tuple[str, str]] = {
    "USD": ("US", "FED"),
    "EUR": ("EU", "TARGET2"),
    "GBP": ("UK", "UK_BANK"),
    "JPY": ("JP", "JP_BANK"),
}

#: regions where a trade on an exchange session that is not a settlement day counts from the
#: previous settlement day (FINRA Uniform Practice: a bank holiday the exchange trades through)
PREVIOUS_DAY_REGIONS = frozenset({"US"})

_WEEKMASK = "1111100"
_YEARS = range(CALENDAR_START.year, CALENDAR_END.year + 1)


# --------------------------------------------------------------------------- #
# Reference data
# --------------------------------------------------------------------------- #
def _read_reference_csv(name: str) -> pd.DataFrame:
    res = resources.files("bo_lib").joinpath("reference", name)
    with res.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def _markets() -> pd.DataFrame:
    df = _read_reference_csv("markets.csv")
    df["market"] = df["market"].str.strip().str.upper()
    if df["market"].duplicated().any():
        raise ValueError(f"markets.csv: duplicate market codes {sorted(df.loc[df['market'].duplicated(), 'market'])}")
    return df.set_index("market")


@lru_cache(maxsize=1)
def _cycles() -> pd.DataFrame:
    df = _read_reference_csv("settlement_cycles.csv")
    out = pd.DataFrame(
        {
            "region": df["region"].str.strip().str.upper(),
            "asset_class": df["asset_class"].str.strip().str.lower(),
            # open-ended bounds become 0001-01-01 / 9999-12-31 so comparisons are plain.
            "effective_from": _parse_bound(df["effective_from"], np.datetime64("0001-01-01", "D")),
            "effective_to": _parse_bound(df["effective_to"], np.datetime64("9999-12-31", "D")),
            "days": df["days"].astype(int),
            "note": df["note"],
        }
    )
    if (out["effective_to"] < out["effective_from"]).any():
        raise ValueError("settlement_cycles.csv: effective_to before effective_from")
    # No overlapping rules for the same (region, asset_class).
    for key, grp in out.sort_values("effective_from").groupby(["region", "asset_class"]):
        starts = grp["effective_from"].to_numpy()
        ends = grp["effective_to"].to_numpy()
        if (starts[1:] <= ends[:-1]).any():
            raise ValueError(f"settlement_cycles.csv: overlapping rules for {key}")
    return out.reset_index(drop=True)


def _parse_bound(col: pd.Series, default: np.datetime64) -> np.ndarray:
    vals = col.str.strip()
    out = np.full(len(vals), default, dtype="datetime64[D]")
    filled = (vals != "").to_numpy()
    if filled.any():
        out[filled] = np.array(vals[filled].tolist(), dtype="datetime64[D]")
    return out


def markets() -> pd.DataFrame:
    """A copy of the market reference table (index: market code)."""
    return _markets().copy()


def settlement_cycles() -> pd.DataFrame:
    """A copy of the effective-dated settlement-cycle table."""
    return _cycles().copy()


def _resolve(market: str, currency: str | None) -> tuple[str, str, str, str | None]:
    """(market, region, payment_calendar, exchange_calendar or None); currency only for OTC."""
    if not isinstance(market, str) or not market.strip():
        raise ValueError(f"unknown market {market!r}")
    mkt = market.strip().upper()
    table = _markets()
    if mkt not in table.index:
        raise ValueError(f"unknown market {market!r} (known: {', '.join(table.index)})")
    row = table.loc[mkt]
    if mkt == OTC_MARKET:
        if currency is None or (isinstance(currency, float) and np.isnan(currency)) or not str(currency).strip():
            raise ValueError(f"market {mkt} (OTC) needs a currency to choose its settlement calendar")
        ccy = str(currency).strip().upper()
        if ccy not in OTC_CURRENCY_MAP:
            raise ValueError(
                f"market {mkt}: no settlement calendar for currency {ccy!r} (known: {', '.join(OTC_CURRENCY_MAP)})"
            )
        region, payment = OTC_CURRENCY_MAP[ccy]
        return mkt, region, payment, None
    return mkt, row["region"], row["payment_calendar"], (row["exchange_calendar"] or None)


# --------------------------------------------------------------------------- #
# Holiday sources (each built once)
# --------------------------------------------------------------------------- #
def _as_day_array(dates) -> np.ndarray:
    arr = np.array(sorted({np.datetime64(d, "D") for d in dates}), dtype="datetime64[D]")
    return arr


def _cache_dir() -> Path:
    """Where computed holiday lists are kept between processes (every notebook job is a fresh kernel):
    ``$BO_CACHE_DIR`` or ``~/.cache/bo-workbench``."""
    return Path(os.environ.get("BO_CACHE_DIR") or Path.home() / ".cache" / "bo-workbench")


def _disk_cached(kind: str, name: str, compute) -> np.ndarray:
    """``compute()`` once per library version and calendar range; later processes read the file.
    A cache that cannot be written (read-only home) only costs the computation."""
    from importlib.metadata import version

    stamp = f"{version('exchange_calendars')}-{version('holidays')}-{CALENDAR_START}-{CALENDAR_END}"
    path = _cache_dir() / "calendars" / f"{kind}-{name}-{stamp}.npy"
    try:
        return np.load(path).astype("datetime64[D]")
    except (OSError, ValueError):
        pass
    days = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(scratch, days.astype("datetime64[D]"))
        os.replace(scratch, path)
    except OSError:
        pass
    return days


@lru_cache(maxsize=None)
def _exchange_holidays(name: str) -> np.ndarray:
    """Weekdays in the calendar range that are not sessions of exchange ``name``."""
    return _disk_cached("exchange", name, lambda: _compute_exchange_holidays(name))


def _compute_exchange_holidays(name: str) -> np.ndarray:
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas>=3.1 deprecation (Series.values on a
        # tz-aware series) while building a calendar; it is theirs, not ours.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        try:
            default = xcals.get_calendar(name)
        except xcals.errors.InvalidCalendarName as exc:
            raise ValueError(f"unknown exchange calendar {name!r}") from exc
        start = pd.Timestamp(CALENDAR_START)
        bound_min = default.bound_min()  # e.g. XTKS cannot be evaluated before 1997
        if bound_min is not None and bound_min > start:
            start = pd.Timestamp(bound_min)
        cal = xcals.get_calendar(name, start=start, end=pd.Timestamp(CALENDAR_END))
    sessions = cal.sessions.to_numpy().astype("datetime64[D]")
    days = np.arange(np.datetime64(start.date(), "D"), np.datetime64(CALENDAR_END, "D") + 1)
    weekdays = days[np.is_busday(days, weekmask=_WEEKMASK)]
    return np.setdiff1d(weekdays, sessions)


def _fed_holidays() -> np.ndarray:
    import holidays

    base = holidays.country_holidays("US", years=_YEARS, observed=False)
    out = []
    for d in base:
        wd = d.weekday()
        if wd == 6:  # Sunday -> Monday (Fed rule)
            out.append(d + _dt.timedelta(days=1))
        elif wd < 5:
            out.append(d)
        # Saturday: the Fed does not close on the preceding Friday.
    return _as_day_array(out)


def _jp_bank_holidays() -> np.ndarray:
    import holidays

    out = list(holidays.country_holidays("JP", years=_YEARS))
    for y in _YEARS:  # bank closures: 31 Dec, 2 Jan, 3 Jan (1 Jan is a national holiday)
        out += [_dt.date(y, 12, 31), _dt.date(y, 1, 2), _dt.date(y, 1, 3)]
    return _as_day_array(out)


@lru_cache(maxsize=None)
def _payment_holidays(code: str) -> np.ndarray:
    return _disk_cached("payment", code, lambda: _compute_payment_holidays(code))


def _compute_payment_holidays(code: str) -> np.ndarray:
    import holidays

    if code == "FED":
        return _fed_holidays()
    if code == "TARGET2":
        return _as_day_array(holidays.financial_holidays("XECB", years=_YEARS))
    if code == "UK_BANK":
        return _as_day_array(holidays.country_holidays("GB", subdiv="ENG", years=_YEARS))
    if code == "JP_BANK":
        return _jp_bank_holidays()
    raise ValueError(f"unknown payment calendar {code!r}")


# --------------------------------------------------------------------------- #
# Date coercion
# --------------------------------------------------------------------------- #
def _to_day(d) -> np.datetime64:
    if isinstance(d, np.datetime64):
        out = d.astype("datetime64[D]")
    elif isinstance(d, _dt.datetime):  # includes pd.Timestamp
        if pd.isna(d):
            raise ValueError("date is missing (NaT)")
        out = np.datetime64(d.date(), "D")
    elif isinstance(d, _dt.date):
        out = np.datetime64(d, "D")
    elif isinstance(d, str):
        out = np.datetime64(pd.Timestamp(d).date(), "D")
    else:
        raise TypeError(f"expected a date, got {type(d).__name__}: {d!r}")
    if np.isnat(out):
        raise ValueError("date is missing (NaT)")
    return out


def _to_date(d: np.datetime64) -> _dt.date:
    return d.astype("datetime64[D]").astype(object)


def _to_day_array(values) -> np.ndarray:
    s = pd.to_datetime(pd.Series(values))
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # keep the local calendar date
    return s.to_numpy().astype("datetime64[D]")


# --------------------------------------------------------------------------- #
# BusinessCalendar
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """A Monday-Friday calendar with a sorted ``datetime64[D]`` holiday array.

    Valid for dates in ``[valid_from, valid_to]``; methods raise ``ValueError``
    for inputs outside it.  Instances are immutable and compared by identity
    (``calendar_for`` returns cached instances).
    """

    name: str
    holidays: np.ndarray
    valid_from: _dt.date = CALENDAR_START
    valid_to: _dt.date = CALENDAR_END
    _busdaycal: np.busdaycalendar = field(init=False, repr=False)

    def __post_init__(self) -> None:
        hol = np.unique(np.asarray(self.holidays, dtype="datetime64[D]"))
        hol = hol[np.is_busday(hol, weekmask=_WEEKMASK)]  # weekends are implicit
        hol.setflags(write=False)
        object.__setattr__(self, "holidays", hol)
        object.__setattr__(self, "_busdaycal", np.busdaycalendar(weekmask=_WEEKMASK, holidays=hol))

    def __repr__(self) -> str:
        return f"BusinessCalendar(name={self.name!r}, holidays={len(self.holidays)} days, {self.valid_from}..{self.valid_to})"

    # -- helpers ----------------------------------------------------------- #
    def _check(self, day) -> None:
        lo, hi = np.datetime64(self.valid_from, "D"), np.datetime64(self.valid_to, "D")
        arr = np.asarray(day, dtype="datetime64[D]")
        arr = arr[~np.isnat(arr)] if arr.ndim else (arr if not np.isnat(arr) else np.array([], "datetime64[D]"))
        if arr.size and (arr.min() < lo or arr.max() > hi):
            bad = arr.min() if arr.min() < lo else arr.max()
            raise ValueError(f"{self.name}: date {bad} outside calendar range {self.valid_from}..{self.valid_to}")

    def _day(self, d) -> np.datetime64:
        day = _to_day(d)
        self._check(day)
        return day

    # -- scalar API -------------------------------------------------------- #
    def is_business_day(self, d) -> bool:
        return bool(np.is_busday(self._day(d), busdaycal=self._busdaycal))

    def add_business_days(self, d, n: int) -> _dt.date:
        """``d`` rolled forward to a business day, then moved ``n`` business days (n may be 0 or negative)."""
        return _to_date(np.busday_offset(self._day(d), int(n), roll="forward", busdaycal=self._busdaycal))

    def business_days_between(self, start, end) -> int:
        """Business days in ``(start, end]``; negative (``-`` days in ``(end, start]``) if ``end < start``."""
        return int(self.count_array(self._day(start), self._day(end)))

    def business_days(self, start, end) -> list[_dt.date]:
        """Business days in ``[start, end]`` (empty if ``end < start``)."""
        a, b = self._day(start), self._day(end)
        if b < a:
            return []
        days = np.arange(a, b + np.timedelta64(1, "D"), dtype="datetime64[D]")
        return days[np.is_busday(days, busdaycal=self._busdaycal)].astype(object).tolist()

    def previous_business_day(self, d) -> _dt.date:
        """Latest business day strictly before ``d``."""
        return _to_date(np.busday_offset(self._day(d), -1, roll="forward", busdaycal=self._busdaycal))

    # -- vectorised API ---------------------------------------------------- #
    def offset_array(self, days: np.ndarray, n) -> np.ndarray:
        """Vectorised ``add_business_days`` over ``datetime64[D]`` arrays (NaT stays NaT)."""
        days = np.asarray(days, dtype="datetime64[D]")
        n = np.broadcast_to(np.asarray(n, dtype=np.int64), days.shape)
        self._check(days)
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~np.isnat(days)
        out[ok] = np.busday_offset(days[ok], n[ok], roll="forward", busdaycal=self._busdaycal)
        return out

    def count_array(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Vectorised ``business_days_between`` (float array; NaN where either side is NaT)."""
        a = np.asarray(start, dtype="datetime64[D]")
        b = np.asarray(end, dtype="datetime64[D]")
        a, b = np.broadcast_arrays(a, b)
        self._check(a)
        self._check(b)
        out = np.full(a.shape, np.nan)
        ok = ~(np.isnat(a) | np.isnat(b))
        # numpy counts [begin, end) and, when reversed, not the mirror image, so count
        # (lo, hi] on the ordered pair and apply the sign ourselves.
        a, b = a[ok], b[ok]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        one = np.timedelta64(1, "D")
        n = np.busday_count(lo + one, hi + one, busdaycal=self._busdaycal)
        out[ok] = np.where(b < a, -n, n)
        return out


# --------------------------------------------------------------------------- #
# Calendar factory
# --------------------------------------------------------------------------- #
def _closure_days(market: str, closures: pd.DataFrame | None) -> frozenset:
    if closures is None or len(closures) == 0:
        return frozenset()
    missing = {"market", "closure_date"} - set(closures.columns)
    if missing:
        raise ValueError(f"closures frame lacks columns {sorted(missing)}")
    mask = closures["market"].astype(str).str.strip().str.upper() == market
    if not mask.any():
        return frozenset()
    days = _to_day_array(closures.loc[mask, "closure_date"])
    return frozenset(days[~np.isnat(days)].tolist())


@lru_cache(maxsize=256)
def _build_calendar(market: str, payment: str, exchange: str | None, closure_days: frozenset) -> BusinessCalendar:
    parts = [_payment_holidays(payment)]
    name = f"{market}/{payment}"
    if exchange:
        parts.append(_exchange_holidays(exchange))
        name = f"{exchange}+{payment}"
    if closure_days:
        parts.append(np.array(sorted(closure_days), dtype="datetime64[D]"))
        name += f"+{len(closure_days)} closures"
    return BusinessCalendar(name=name, holidays=np.unique(np.concatenate(parts)))


def calendar_for(market: str, currency: str | None = None, closures: pd.DataFrame | None = None) -> BusinessCalendar:
    """Settlement calendar for ``market``: exchange ∪ payment-system holidays ∪ closures.

    ``currency`` only matters for ``XOFF`` (OTC), where it picks the payment system.
    ``closures``: frame with ``market`` and ``closure_date``; rows for other markets are
    ignored.  Calendars are cached on (market, payment calendar, closure dates).
    """
    mkt, _region, payment, exchange = _resolve(market, currency)
    return _build_calendar(mkt, payment, exchange, _closure_days(mkt, closures))


def trading_calendar(market: str, closures: pd.DataFrame | None = None) -> BusinessCalendar:
    """Trading (valuation) days of an exchange: its sessions less one-off closures, without the
    payment system. Funds strike NAVs and feeds arrive on these days (a US fund values on
    Columbus Day, when the NYSE is open, though nothing settles that day)."""
    mkt, _region, _payment, exchange = _resolve(market, None if market != OTC_MARKET else "USD")
    if not exchange:
        raise ValueError(f"market {market!r} has no exchange calendar; use calendar_for() with a currency")
    return _build_exchange_calendar(mkt, exchange, _closure_days(mkt, closures))


@lru_cache(maxsize=64)
def _build_exchange_calendar(market: str, exchange: str, closure_days: frozenset) -> BusinessCalendar:
    parts = [_exchange_holidays(exchange)]
    if closure_days:
        parts.append(np.array(sorted(closure_days), dtype="datetime64[D]"))
    name = f"{exchange} sessions" + (f"+{len(closure_days)} closures" if closure_days else "")
    return BusinessCalendar(name=name, holidays=np.unique(np.concatenate(parts)))


# --------------------------------------------------------------------------- #
# Settlement cycles and dates
# --------------------------------------------------------------------------- #
def _rules(region: str, asset_class: str) -> pd.DataFrame:
    cyc = _cycles()
    return cyc[(cyc["region"] == region) & (cyc["asset_class"] == asset_class)]


def _norm_asset_class(asset_class: str) -> str:
    return str(asset_class).strip().lower()


def settlement_cycle(trade_date, market: str, asset_class: str = "equity", currency: str | None = None) -> int:
    """Settlement cycle in business days for a trade of ``trade_date`` (from settlement_cycles.csv).

    ``currency`` is needed only for ``XOFF`` (OTC), where it selects the region.
    """
    mkt, region, _payment, _exchange = _resolve(market, currency)
    ac = _norm_asset_class(asset_class)
    day = _to_day(trade_date)
    rules = _rules(region, ac)
    hit = rules[(rules["effective_from"] <= day) & (rules["effective_to"] >= day)]
    if hit.empty:
        raise ValueError(
            f"no settlement cycle for market {mkt} (region {region}), asset_class {ac!r}, trade date {_to_date(day)}"
        )
    return int(hit["days"].iloc[0])


def settlement_date(
    trade_date,
    mic: str,
    asset_class: str = "equity",
    currency: str | None = None,
    closures: pd.DataFrame | None = None,
) -> _dt.date:
    """Trade date + cycle business days on the market's settlement calendar.

    A trade date that is not a business day is rolled forward to the next business
    day before counting (market convention); the cycle is looked up on the booked date.
    """
    cycle = settlement_cycle(trade_date, mic, asset_class, currency)
    start = _count_from(np.array([_to_day(trade_date)], dtype="datetime64[D]"), mic, currency, closures)[0]
    return calendar_for(mic, currency, closures).add_business_days(_to_date(start), cycle)


def _count_from(days: np.ndarray, market: str, currency: str | None, closures: pd.DataFrame | None) -> np.ndarray:
    """The day a settlement cycle counts from, per trade date: the trade date itself, or in a
    :data:`PREVIOUS_DAY_REGIONS` market the previous settlement day when the exchange traded on
    a day that is not a settlement day (FINRA: Columbus Day and Veterans Day trades settle with
    the previous business day's). Weekends and exchange holidays are left to roll forward."""
    mkt, region, _payment, exchange = _resolve(market, currency)
    if region not in PREVIOUS_DAY_REGIONS or not exchange or not len(days):
        return days
    settle = calendar_for(mkt, currency, closures)
    sessions = _build_exchange_calendar(mkt, exchange, _closure_days(mkt, closures))
    valid = ~np.isnat(days)
    shift = np.zeros(days.shape, dtype=bool)
    shift[valid] = (np.is_busday(days[valid], busdaycal=sessions._busdaycal)
                    & ~np.is_busday(days[valid], busdaycal=settle._busdaycal))
    if not shift.any():
        return days
    out = days.copy()
    out[shift] = np.busday_offset(days[shift], -1, roll="forward", busdaycal=settle._busdaycal)
    return out


def settlement_dates(trades: pd.DataFrame, closures: pd.DataFrame | None = None) -> pd.Series:
    """Vectorised :func:`settlement_date` for a frame of trades.

    Columns: ``trade_date``, ``market`` (MIC), ``asset_class``, optional ``currency``
    (required for ``XOFF`` rows).  Returns a ``datetime64[ns]`` Series named
    ``settlement_date`` aligned with ``trades.index``; missing trade dates give NaT.
    Raises ``ValueError`` naming the first market/asset_class/date without a rule.
    """
    missing = {"trade_date", "market", "asset_class"} - set(trades.columns)
    if missing:
        raise ValueError(f"trades frame lacks columns {sorted(missing)}")
    n = len(trades)
    td = _to_day_array(trades["trade_date"].to_numpy()) if n else np.array([], dtype="datetime64[D]")
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if n:
        keys = pd.DataFrame(
            {
                "market": trades["market"].astype(str).str.strip().str.upper().to_numpy(),
                "asset_class": trades["asset_class"].astype(str).str.strip().str.lower().to_numpy(),
                "currency": (
                    trades["currency"].fillna("").astype(str).str.strip().str.upper().to_numpy()
                    if "currency" in trades.columns
                    else np.full(n, "", dtype=object)
                ),
            }
        )
        for (mkt, ac, ccy), pos in keys.groupby(["market", "asset_class", "currency"], sort=False).indices.items():
            days = td[pos]
            valid = ~np.isnat(days)
            if not valid.any():
                continue
            _m, region, _p, _e = _resolve(mkt, ccy or None)
            cal = calendar_for(mkt, ccy or None, closures)
            cycles = np.full(len(pos), -1, dtype=np.int64)
            rules = _rules(region, ac)
            froms = rules["effective_from"].to_numpy().astype("datetime64[D]")
            tos = rules["effective_to"].to_numpy().astype("datetime64[D]")
            for lo, hi, d in zip(froms, tos, rules["days"].to_numpy()):  # a handful of rules, not rows
                cycles[(days >= lo) & (days <= hi)] = d
            bad = valid & (cycles < 0)
            if bad.any():
                first = days[bad].min()
                raise ValueError(
                    f"no settlement cycle for market {mkt} (region {region}), asset_class {ac!r}, "
                    f"trade date {_to_date(first)} ({int(bad.sum())} trade(s))"
                )
            res = np.full(len(pos), np.datetime64("NaT"), dtype="datetime64[D]")
            res[valid] = cal.offset_array(_count_from(days[valid], mkt, ccy or None, closures), cycles[valid])
            out[pos] = res
    return pd.Series(out.astype("datetime64[ns]"), index=trades.index, name="settlement_date")


def business_days_between(start, end, market: str, currency: str | None = None, closures=None) -> int:
    """Business days in ``(start, end]`` on ``market``'s settlement calendar (negative if reversed)."""
    return calendar_for(market, currency, closures).business_days_between(start, end)


def _market_currency_groups(frame: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    missing = {"market"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}")
    n = len(frame)
    keys = pd.DataFrame({
        "market": frame["market"].astype(str).str.strip().str.upper().to_numpy(),
        "currency": (frame["currency"].fillna("").astype(str).str.strip().str.upper().to_numpy()
                     if "currency" in frame.columns else np.full(n, "", dtype=object)),
    })
    return keys.groupby(["market", "currency"], sort=False).indices


def business_days_elapsed(frame: pd.DataFrame, start: str, end, closures: pd.DataFrame | None = None) -> pd.Series:
    """Vectorised :meth:`BusinessCalendar.business_days_between` over a frame: business days in
    ``(frame[start], end]`` on each row's settlement calendar (columns ``market`` and, for ``XOFF``,
    ``currency``). ``end`` is a date for every row or the name of a column. Float Series aligned
    with ``frame.index`` (NaN where a date is missing): e.g. the age of a failed settlement."""
    out = np.full(len(frame), np.nan)
    if len(frame):
        starts = _to_day_array(frame[start].to_numpy())
        ends = (_to_day_array(frame[end].to_numpy()) if isinstance(end, str)
                else np.full(len(frame), _to_day(end), dtype="datetime64[D]"))
        for (mkt, ccy), pos in _market_currency_groups(frame).items():
            out[pos] = calendar_for(mkt, ccy or None, closures).count_array(starts[pos], ends[pos])
    return pd.Series(out, index=frame.index, name="business_days")


def settlement_regions(frame: pd.DataFrame) -> pd.Series:
    """Settlement region (US, EU, UK, JP) of each row's ``market`` (``XOFF``: by ``currency``), as
    used for cycles, and e.g. to tell which instructions settle in an EU CSD."""
    out = np.full(len(frame), "", dtype=object)
    for (mkt, ccy), pos in _market_currency_groups(frame).items():
        out[pos] = _resolve(mkt, ccy or None)[1]
    return pd.Series(out, index=frame.index, name="region")
