"""The filing calendar of the management company: for each regime it is subject to, the next
periodic filings with their period end and due date, computed from the rules in
``bo_lib/reference/filing_rules.csv`` (data, not code: period, offset, unit, business-day roll,
calendar, size conditions, effective dates, and the rule cited) on the same business-day calendars
as settlement (``bo_lib.calendars``). Event-driven filings (13D/13G, EU short positions) get their
due dates from ``bo_lib.regulatory.thresholds`` and are merged in by the caller.

Rolls: ``following`` (next business day, where a rule grants it, e.g. Exchange Act Rule 0-3),
``preceding`` (the last business day on or before the deadline: the conservative choice where no
relief is certain), ``none``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from bo_lib import calendars

_PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
CALENDAR_COLUMNS = ["filing", "regime", "description", "period_end", "due_date", "business_days_to_due", "calendar", "roll", "notes"]


@lru_cache(maxsize=1)
def _rules() -> pd.DataFrame:
    with resources.files("bo_lib").joinpath("reference", "filing_rules.csv").open("r", encoding="utf-8") as fh:
        rules = pd.read_csv(fh, dtype=str, keep_default_na=False)
    rules["due_offset"] = rules["due_offset"].astype(int)
    for col in ("size_min", "size_max"):
        rules[col] = pd.to_numeric(rules[col].replace("", np.nan))
    for col in ("effective_from", "effective_to"):
        rules[col] = pd.to_datetime(rules[col].replace("", np.nan))
    bad = set(rules["period"]) - set(_PERIOD_MONTHS) - {"event"}
    if bad or not set(rules["roll"]) <= {"following", "preceding", "none"}:
        raise ValueError(f"filing_rules.csv: unknown period {sorted(bad)} or roll {sorted(set(rules['roll']))}")
    return rules


def filing_rules() -> pd.DataFrame:
    """The filing rules (a copy of ``bo_lib/reference/filing_rules.csv``, typed)."""
    return _rules().copy()


def _calendar(code: str, closures: pd.DataFrame | None):
    market, _, currency = code.partition(":")
    return calendars.calendar_for(market, currency or None, closures)


def roll(days: np.ndarray, convention: str, calendar) -> np.ndarray:
    """Move deadlines that fall on a non-business day (``following``/``preceding``/``none``)."""
    days = np.asarray(days, dtype="datetime64[D]")
    if convention == "none":
        return days
    return np.busday_offset(days, 0, roll="forward" if convention == "following" else "backward",
                            weekmask="1111100", holidays=calendar.holidays)


def due_dates(rule: pd.Series | dict, period_ends, closures: pd.DataFrame | None = None) -> np.ndarray:
    """Due dates of one rule for the given period ends (vectorised)."""
    ends = np.asarray(pd.to_datetime(pd.Series(period_ends)).to_numpy(), dtype="datetime64[D]")
    calendar = _calendar(rule["calendar"], closures)
    offset = int(rule["due_offset"])
    if rule["due_unit"] == "calendar_days":
        raw = ends + np.timedelta64(offset, "D")
    elif rule["due_unit"] == "months_end":
        raw = (pd.Series(pd.to_datetime(ends)).dt.to_period("M") + offset).dt.end_time.dt.normalize().to_numpy().astype("datetime64[D]")
    elif rule["due_unit"] == "business_days":
        return calendar.offset_array(ends, offset)
    else:
        raise ValueError(f"unknown due_unit {rule['due_unit']!r} for {rule['filing']}")
    return roll(raw, rule["roll"], calendar)


def due_date(filing: str, period_end: dt.date, closures: pd.DataFrame | None = None) -> dt.date:
    """Due date of ``filing`` for one period end, under the rule in force at that period end."""
    rules = _rules()
    stamp = pd.Timestamp(period_end)
    match = rules[rules["filing"].eq(filing) & (rules["effective_from"].isna() | (rules["effective_from"] <= stamp))
                  & (rules["effective_to"].isna() | (rules["effective_to"] >= stamp))]
    if match.empty:
        raise ValueError(f"no rule for filing {filing!r} in force on {period_end} (filings: {sorted(rules['filing'].unique())})")
    return pd.Timestamp(due_dates(match.iloc[0], [period_end], closures)[0]).date()


def period_ends(period: str, start: dt.date, end: dt.date, fiscal_year_end_month: int = 12, basis: str = "calendar") -> list[dt.date]:
    """Period ends in ``[start, end]``: month, quarter, half-year or year ends, aligned on the
    fiscal year end when ``basis`` is ``fiscal``."""
    months = _PERIOD_MONTHS[period]
    anchor = fiscal_year_end_month if basis == "fiscal" else 12
    ends = pd.date_range(pd.Timestamp(start).to_period("M").start_time, end, freq="ME")
    keep = ((ends.month - anchor) % months) == 0
    return [d.date() for d in ends[keep] if start <= d.date() <= end]


def applicable_rules(regimes: list[str], facts: dict[str, float], as_of: dt.date, include_events: bool = False) -> pd.DataFrame:
    """Rules of the company's regimes in force around ``as_of`` whose size condition its facts
    meet (e.g. ``aifm_aum_eur``, ``private_fund_aum_usd``, ``hedge_fund_aum_usd``)."""
    rules = _rules()
    rules = rules[rules["regime"].isin(regimes)]
    if not include_events:
        rules = rules[rules["trigger"].eq("periodic")]
    measure = rules["size_measure"].map(lambda m: facts.get(m, np.nan) if m else np.nan)
    sized = rules["size_measure"].ne("")
    fits = ~sized | ((rules["size_min"].isna() | (measure >= rules["size_min"])) & (rules["size_max"].isna() | (measure < rules["size_max"])))
    return rules[fits.fillna(False).astype(bool)].reset_index(drop=True)


def next_filings(regimes: list[str], facts: dict[str, float], as_of: dt.date, fiscal_year_end_month: int = 12,
                 closures: pd.DataFrame | None = None, horizon_days: int = 500) -> pd.DataFrame:
    """The next due filing of each periodic rule that applies: the earliest period whose due
    date is on or after ``as_of`` under the rule in force at that period end, with business
    days to go on the rule's calendar."""
    rows = []
    lookback = dt.date(as_of.year - 1, 1, 1)
    for rule in applicable_rules(regimes, facts, as_of).itertuples(index=False):
        rule = rule._asdict()
        ends = pd.Series(pd.to_datetime(period_ends(rule["period"], lookback, as_of + dt.timedelta(days=horizon_days),
                                                    fiscal_year_end_month, rule["period_basis"])))
        in_force = pd.Series(True, index=ends.index)
        if pd.notna(rule["effective_from"]):
            in_force &= ends.ge(rule["effective_from"])
        if pd.notna(rule["effective_to"]):
            in_force &= ends.le(rule["effective_to"])
        ends = ends[in_force]
        if ends.empty:
            continue
        due = pd.to_datetime(due_dates(rule, ends, closures))
        upcoming = np.flatnonzero(due >= pd.Timestamp(as_of))
        if not len(upcoming):
            continue
        i = upcoming[0]
        calendar = _calendar(rule["calendar"], closures)
        rows.append({"filing": rule["filing"], "regime": rule["regime"], "description": rule["description"],
                     "period_end": ends.iloc[i], "due_date": due[i],
                     "business_days_to_due": calendar.business_days_between(as_of, due[i].date()),
                     "calendar": calendar.name, "roll": rule["roll"], "notes": rule["notes"]})
    table = pd.DataFrame(rows, columns=CALENDAR_COLUMNS)
    # a filing whose rule changes (N-PORT) appears once: its next due date under either rule
    return table.sort_values(["due_date", "filing"]).drop_duplicates("filing").reset_index(drop=True)


def due_soon(calendar_table: pd.DataFrame, business_days: int = 10) -> pd.DataFrame:
    """Filings due within ``business_days`` (inclusive): amber, red when due today."""
    soon = calendar_table[calendar_table["business_days_to_due"].le(business_days)].copy()
    soon["rag"] = np.where(soon["business_days_to_due"] <= 0, "red", "amber")
    return soon.reset_index(drop=True)
