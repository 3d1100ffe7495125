"""Rolling a fund's books forward to a business date: every delivered business day gets its
closing state, each struck from the previous day's state and its own deliveries.

``roll_books`` is what every run calls first (and what a notebook opened in JupyterLab calls for
its date). It is cheap when the books are current: it reads the index of states and when each
day's deliveries were last ingested, and strikes only the days that need it:

* a day never processed (a gap is filled forward from the latest state, oldest first; the opening
  book is the start only when there is no state at all);
* a day whose deliveries changed since it was struck (a corrected re-delivery, or a manual price
  override of the day added, changed or withdrawn: ``Catalogue.price_override_changes``), or whose
  previous day's state changed: it is struck again, and a NAV per share that moves is recorded as a
  restatement (``book_restatements``, status ``restated``);
* unless the day is locked (``bo_lib.books.periods``): then nothing is recomputed. The day is
  struck on the side and, if a class's NAV per share would move, the effect per class and per share
  is recorded as ``required``: the NAV report shows it red until ``bo reopen``. Later days carry on
  from the locked state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.books.inputs import DeliveryWindow, day_inputs
from bo_lib.books.nav import DayInputs, NavResult, strike_day
from bo_lib.books.opening import opening_state
from bo_lib.books.periods import locked_through, unlock_from
from bo_lib.books.quality import DELIVERY_CALENDAR, held_currencies, input_problems, missing_delivery_days
from bo_lib.books.state import STATE_FORMAT, STATES, BookState, forget_states_from, load_state, state_index, write_state
from bo_lib.data.catalogue import Catalogue
from bo_lib.parameters import FundParameters
from bo_lib.store import ensure_schema, open_store, register_table, select_frame, table_exists, transaction

RESTATEMENTS = "book_restatements"
RESTATEMENT_COLUMNS = {"fund": "VARCHAR", "business_date": "DATE", "share_class": "VARCHAR", "status": "VARCHAR",
                       "stored_nav_per_share": "DOUBLE", "recomputed_nav_per_share": "DOUBLE", "difference_per_share": "DOUBLE",
                       "units": "DOUBLE", "effect_net_assets": "DOUBLE", "deliveries_ingested_at": "TIMESTAMP", "detected_at": "TIMESTAMP",
                       "run_id": "VARCHAR", "reason": "VARCHAR"}
RESTATED, REQUIRED, NO_EFFECT = "restated", "required", "no effect"
#: a NAV per share that moves by less than this is unchanged (float noise, not a restatement)
NAV_TOLERANCE = 1e-9


@dataclass
class RollReport:
    fund: str
    up_to: dt.date
    opened_on: dt.date | None
    struck: list[dt.date] = field(default_factory=list)  # days struck by this roll
    restated: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RESTATEMENT_COLUMNS)))
    required: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RESTATEMENT_COLUMNS)))
    locked_through: dt.date | None = None
    problems: list[str] = field(default_factory=list)  # why the books could not be rolled (no opening, no state)

    @property
    def ok(self) -> bool:
        return not self.problems


register_table(RESTATEMENTS, RESTATEMENT_COLUMNS)


def next_nav_date(fund: FundParameters, day: dt.date, closures: pd.DataFrame | None) -> dt.date:
    """The fund's next NAV date after ``day`` on its valuation calendar (performance periods end on
    the last NAV date before it changes period)."""
    return calendars.trading_calendar(fund.calendar, closures).add_business_days(day, 1)


def roll_books(store: Path | str, fund: FundParameters, up_to: dt.date, *, run_id: str = "interactive",
               progress: Callable[[int, int, dt.date], None] | None = None,
               on_strike: Callable[[dt.date, DayInputs, NavResult, BookState], None] | None = None,
               delivery_calendar: str = DELIVERY_CALENDAR) -> RollReport:
    """Bring ``fund``'s books up to the close of ``up_to`` (see the module doc). When the books are
    current the store is only read (parallel jobs of a run are not held up). ``on_strike(day,
    inputs, result, state)`` sees every day struck (a caller that wants the day's full figures).
    ``delivery_calendar``: the market whose sessions the feeds arrive on (a session without any
    delivery leaves the books incomplete: every later NAV is provisional until it arrives)."""
    if Path(store).exists():
        with open_store(store, read_only=True) as con:
            if table_exists(con, STATES):
                current = _roll(con, Catalogue(store, con), fund, up_to, run_id, None, dry_run=True, delivery_calendar=delivery_calendar)
                if current is not None:
                    return current
    with open_store(store) as con:  # one connection for the whole roll: reads and writes
        ensure_schema(con)
        return _roll(con, Catalogue(store, con), fund, up_to, run_id, progress, on_strike=on_strike, delivery_calendar=delivery_calendar)


def _roll(con, catalogue: Catalogue, fund: FundParameters, up_to: dt.date, run_id: str, progress, dry_run: bool = False,
          on_strike=None, delivery_calendar: str = DELIVERY_CALENDAR) -> RollReport | None:
    """The roll; with ``dry_run`` the report of a roll with nothing to do, or None when there is work."""
    code = fund.fund_code
    reference = catalogue.reference()
    opened = catalogue.opening_date()
    dates = catalogue.business_dates(up_to=up_to)
    latest = catalogue.latest_ingest()
    overrides = catalogue.price_overrides()
    ingested = dict(zip(latest["business_date"], latest["ingested_at"]))
    for day, at in catalogue.price_override_changes().itertuples(index=False):  # a manual price of the day changed: the day's input did
        if day in ingested and pd.Timestamp(at) > pd.Timestamp(ingested[day]):
            ingested[day] = at
    stored = {row.business_date: row for row in state_index(None, code, con).itertuples(index=False)}
    lock = locked_through(None, code, con)
    checked = _known_checks(con, code)
    report = RollReport(code, up_to, opened, locked_through=lock)
    securities, closures = reference["securities"], reference["market_closures"]
    overrides = overrides if len(overrides) else None
    nav_calendar = calendars.trading_calendar(fund.calendar, closures)
    feed_calendar = calendars.trading_calendar(delivery_calendar, closures)
    delivered = set(dates) | ({opened} if opened else set())

    def stale(day: dt.date) -> bool:
        """Changed deliveries since the day was struck, or a state in an older layout."""
        if day not in stored:
            return False
        layout = getattr(stored[day], "format", None)  # None: a store from before states had a layout number
        older = layout is None or pd.isna(layout) or int(layout) < STATE_FORMAT
        return older or (ingested.get(day) is not None and pd.Timestamp(ingested[day]) > pd.Timestamp(stored[day].computed_at))

    def locked(day: dt.date) -> bool:
        return lock is not None and day <= lock

    # the start: the opening book when there is no state yet (or its files changed and it is not locked)
    if opened is None and not stored:
        report.problems.append("no opening book (opening/<quarter end>/) and no state: the books cannot start")
        return report
    previous: BookState | None = None
    if opened is not None and (opened not in stored or (stale(opened) and not locked(opened))):
        if dry_run:
            return None
        previous = opening_state(fund, catalogue.opening(code), opened, securities, overrides)
        previous_digest = _save(con, previous, None, run_id, day_inputs_ids(catalogue, opened),
                                load_state(None, code, opened, con) if opened in stored else None, report, "the opening book changed",
                                ingested.get(opened))
        report.struck.append(opened)
        previous_date = opened
    else:
        previous_date = opened if opened is not None else min(stored)
        previous_digest = stored[previous_date].digest
    pending = [d for d in dates if d > previous_date]
    total = sum(1 for d in pending if d not in stored or stale(d))
    window = None
    for day in pending:
        if day in stored and not stale(day) and stored[day].previous_digest == previous_digest and _gaps_unchanged(stored[day], delivered):
            previous, previous_date, previous_digest = None, day, stored[day].digest
            continue
        if locked(day) and checked.get(day) is not None and pd.Timestamp(checked[day]) >= pd.Timestamp(ingested.get(day)):
            previous, previous_date, previous_digest = None, day, stored[day].digest  # checked already: the lock holds
            continue
        if dry_run:
            return None
        if previous is None:
            previous = load_state(None, code, previous_date, con)
        if window is None:  # the deliveries of every day still to strike, read at once
            window = DeliveryWindow(catalogue, code, [d for d in pending if d >= day])
        inputs = window.day(day)
        next_date = nav_calendar.add_business_days(day, 1)
        if locked(day):  # never recomputed: the effect of the change is shown until the day is reopened
            what_if, _ = strike_day(previous, inputs, fund, securities, next_date)
            held = load_state(None, code, day, con)
            rows = _compare(held, what_if, REQUIRED, "deliveries changed after the day was locked", ingested.get(day), run_id)
            _insert(con, rows if len(rows) else _no_effect(held, ingested.get(day), run_id))
            report.required = _together(report.required, rows)
            previous, previous_date, previous_digest = None, day, stored[day].digest
            continue
        state, result = strike_day(previous, inputs, fund, securities, next_date)
        state = _with_quality(state, previous, catalogue, fund, feed_calendar, delivered)
        if on_strike is not None:
            on_strike(day, inputs, result, state)
        reason = "deliveries of the day changed since it was struck" if stale(day) else "an earlier day of the books changed"
        previous_digest = _save(con, state, previous_digest, run_id, inputs.deliveries,
                                load_state(None, code, day, con) if day in stored else None, report, reason, ingested.get(day))
        report.struck.append(day)
        previous, previous_date = state, day
        if progress is not None:
            progress(len(report.struck), max(total, len(report.struck)), day)
    return report


def forget_books_from(store: Path | str, codes: list[str], business_date: dt.date) -> dict[str, int]:
    """In a scratch copy of the store only (``bo replay``): forget what the roll computed for each
    fund of ``codes`` from ``business_date`` on, so the next roll strikes those days again from the
    state of the day before: their closing states (``forget_states_from``) and a lock covering them
    (``unlock_from``). Kept: the restatements recorded (each compares two strikes of a day; a day
    struck afresh restates nothing) and every earlier state. One transaction; returns the number of
    states forgotten per fund."""
    forgotten = {}
    with open_store(store) as con:
        ensure_schema(con)
        with transaction(con):
            for code in codes:
                forgotten[code] = forget_states_from(con, code, business_date)
                unlock_from(con, code, business_date)
    return forgotten


def _with_quality(state: BookState, previous: BookState, catalogue: Catalogue, fund: FundParameters, feed_calendar,
                  delivered: set[dt.date]) -> BookState:
    """The state marked provisional for the input it was struck on and the delivery days missing
    before it (``bo_lib.books.quality``)."""
    missing = sorted({d for d in previous.missing_days if d not in delivered}
                     | set(missing_delivery_days(feed_calendar, delivered, previous.business_date, state.business_date)))
    held = set(previous.positions["security_id"]) | set(state.positions["security_id"])
    problems = input_problems(catalogue, fund.fund_code, state.business_date, held, held_currencies(state, fund.base_currency))
    return dataclasses.replace(state, provisional=tuple(problems), missing_days=tuple(missing))


def _gaps_unchanged(row, delivered: set[dt.date]) -> bool:
    """A stored state's missing days are all still missing (none has been delivered since)."""
    days = json.loads(getattr(row, "missing_days", None) or "[]") if isinstance(getattr(row, "missing_days", None), str) else []
    return all(dt.date.fromisoformat(d) not in delivered for d in days)


def day_inputs_ids(catalogue: Catalogue, day: dt.date) -> list[int]:
    return [int(x) for x in catalogue.deliveries(on=day, statement_accounts=[])["delivery_id"]]


def _save(con, state: BookState, previous_digest, run_id, deliveries, old: BookState | None, report: RollReport, reason: str = "",
          ingested_at=None) -> str:
    """Persist a state struck by the roll (and the restatement it makes, if it moves a NAV); its digest."""
    digest = state.digest()
    with transaction(con):
        write_state(con, state, digest, previous_digest, run_id, deliveries, replace_existing=old is not None)
        if old is not None and not old.is_provisional and not state.is_provisional:  # a provisional NAV is no baseline, and restates nothing
            rows = _compare(old, state, RESTATED, reason, ingested_at, run_id)
            if len(rows):
                _insert(con, rows)
                report.restated = _together(report.restated, rows)
    return digest


def _together(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Restatement rows appended (the first ones keep their column types)."""
    if not len(rows):
        return frame
    return rows.reset_index(drop=True) if frame.empty else pd.concat([frame, rows], ignore_index=True)


def _compare(stored: BookState, recomputed: BookState, status: str, reason: str, ingested_at, run_id: str) -> pd.DataFrame:
    """Per class, the NAV per share as stored against as recomputed, where it moves."""
    left = stored.classes.set_index("share_class")
    right = recomputed.classes.set_index("share_class")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = []
    for code in left.index.union(right.index):
        before = float(left.at[code, "nav_per_share"]) if code in left.index else np.nan
        after = float(right.at[code, "nav_per_share"]) if code in right.index else np.nan
        if abs(after - before) <= NAV_TOLERANCE:
            continue
        units = float(left.at[code, "units"]) if code in left.index else np.nan
        rows.append({"fund": stored.fund, "business_date": pd.Timestamp(stored.business_date), "share_class": code, "status": status,
                     "stored_nav_per_share": before, "recomputed_nav_per_share": after, "difference_per_share": after - before,
                     "units": units, "effect_net_assets": (after - before) * units, "deliveries_ingested_at": ingested_at,
                     "detected_at": now, "run_id": run_id, "reason": reason})
    return pd.DataFrame(rows, columns=list(RESTATEMENT_COLUMNS))


def _no_effect(locked: BookState, ingested_at, run_id: str) -> pd.DataFrame:
    """The record that a locked day's changed deliveries were checked and move no NAV."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return pd.DataFrame([{"fund": locked.fund, "business_date": pd.Timestamp(locked.business_date), "share_class": "", "status": NO_EFFECT,
                          "stored_nav_per_share": np.nan, "recomputed_nav_per_share": np.nan, "difference_per_share": 0.0, "units": np.nan,
                          "effect_net_assets": 0.0, "deliveries_ingested_at": ingested_at, "detected_at": now, "run_id": run_id,
                          "reason": "deliveries changed after the day was locked; no NAV moves"}], columns=list(RESTATEMENT_COLUMNS))


def _insert(con, rows: pd.DataFrame) -> None:
    con.register("_restatements", rows[list(RESTATEMENT_COLUMNS)])
    casts = ", ".join(f"CAST({c} AS {t})" for c, t in RESTATEMENT_COLUMNS.items())
    con.execute(f"INSERT INTO {RESTATEMENTS} SELECT {casts} FROM _restatements")
    con.unregister("_restatements")


def _known_checks(con, fund: str) -> dict[dt.date, object]:
    """Per locked day, the deliveries' ingest time its last check saw (no need to check again)."""
    rows = con.execute(f"SELECT business_date, max(deliveries_ingested_at) FROM {RESTATEMENTS} WHERE fund = ? AND status IN (?, ?) "
                       "GROUP BY business_date", [fund, REQUIRED, NO_EFFECT]).fetchall()
    return {d: t for d, t in rows}


def restatements(store: Path | str, fund: str, status: str | None = None) -> pd.DataFrame:
    """Every recorded restatement of ``fund`` (one status or all), oldest first."""
    sql = f"SELECT * FROM {RESTATEMENTS} WHERE fund = ?" + (" AND status = ?" if status else "") + " ORDER BY detected_at, business_date, share_class"
    frame = select_frame(store, RESTATEMENTS, sql, [fund] + ([status] if status else []), RESTATEMENT_COLUMNS)
    frame["business_date"] = pd.to_datetime(frame["business_date"]).astype("datetime64[ns]")
    return frame


def pending_restatements(store: Path | str, fund: str) -> pd.DataFrame:
    """Locked days whose changed deliveries would move a NAV: the latest check of each still-locked
    day, where it found an effect (what ``bo reopen`` would apply)."""
    every = restatements(store, fund)
    if every.empty:
        return every
    lock = locked_through(store, fund)
    checks = every[every["status"].isin([REQUIRED, NO_EFFECT])]
    if lock is None or checks.empty:
        return every.iloc[0:0]
    latest = checks.groupby("business_date")["detected_at"].transform("max")
    current = checks[checks["detected_at"].eq(latest) & checks["business_date"].le(pd.Timestamp(lock)) & checks["status"].eq(REQUIRED)]
    return current.reset_index(drop=True)


def unlocked_restatements(store: Path | str, fund: str) -> pd.DataFrame:
    """NAVs restated on days not locked yet: what a reviewer must see before closing."""
    every = restatements(store, fund, RESTATED)
    if every.empty:
        return every
    lock = locked_through(store, fund)
    if lock is not None:
        every = every[every["business_date"] > pd.Timestamp(lock)]
    return every.reset_index(drop=True)


def nav_of_day(store: Path | str, fund: FundParameters, day: dt.date) -> tuple[BookState | None, BookState | None, NavResult | None]:
    """The states of the previous NAV date and of ``day``, and the day's NAV figures struck again
    from the previous state (what the NAV report shows: the figures behind the stored state)."""
    catalogue = Catalogue(store)
    with catalogue.session():
        reference = catalogue.reference()
    index = state_index(store, fund.fund_code)
    if index.empty or day not in set(index["business_date"]):
        return None, None, None
    row = index[index["business_date"].eq(day)].iloc[0]
    today = load_state(store, fund.fund_code, day)
    if pd.isna(row["previous_date"]) or row["previous_date"] is None:
        return None, today, None
    previous = load_state(store, fund.fund_code, row["previous_date"])
    closures = reference["market_closures"]
    _, result = strike_day(previous, day_inputs(catalogue, fund.fund_code, day), fund, reference["securities"],
                           next_nav_date(fund, day, closures))
    return previous, today, result
