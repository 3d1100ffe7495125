"""Period close: locking a fund's NAV and books up to a date, and reopening them, with an
append-only audit trail.

``close_books(fund, date)`` locks every business day of the fund up to ``date``: the books never
recompute a locked day. A month end or quarter end closed is the period's close. A correction
delivered later for a locked day is shown as "restatement required" (its effect per class and per
share) and applied only after ``reopen_books(fund, date, reason, by)``, which unlocks that day and
every later one (a day's figures flow into every day after it). Every close and reopen is a row
of ``book_period_audit``: who, when, why, and what the books said (the state digest and the NAV
per share of every class) at that moment.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bo_lib.books.quality import provisional_reasons
from bo_lib.books.state import STATES, load_state
from bo_lib.store import (
    ensure_schema,
    open_store,
    register_table,
    select_frame,
    table_exists,
)

AUDIT = "book_period_audit"
AUDIT_COLUMNS = {"fund": "VARCHAR", "business_date": "DATE", "action": "VARCHAR", "locked_through": "DATE", "period": "VARCHAR",
                 "by_name": "VARCHAR", "reason": "VARCHAR", "recorded_at": "TIMESTAMP", "state_digest": "VARCHAR", "nav_per_share": "VARCHAR"}


class PeriodError(ValueError):
    """A close or reopen that cannot be done as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class PeriodAction:
    fund: str
    business_date: dt.date
    action: str  # close | reopen
    locked_through: dt.date | None
    period: str  # "" or "month 2026-12" / "quarter 2026-Q4"
    nav_per_share: dict[str, float]


register_table(AUDIT, AUDIT_COLUMNS)


def period_of(day: dt.date, next_business_day: dt.date | None) -> str:
    """Which period ``day`` closes: the last business day of a quarter or a month, else none."""
    if next_business_day is None or next_business_day.month != day.month:
        if day.month % 3 == 0:
            return f"quarter {day.year}-Q{day.month // 3}"
        return f"month {day:%Y-%m}"
    return ""


def locked_through(store: Path | str, fund: str, connection=None) -> dt.date | None:
    """The last business day of ``fund`` that is locked (None: nothing is)."""
    if connection is None:
        if not Path(store).exists():
            return None
        with open_store(store, read_only=True) as con:
            if not table_exists(con, AUDIT):
                return None
            return locked_through(store, fund, con)
    rows = connection.execute(f"SELECT locked_through FROM {AUDIT} WHERE fund = ? ORDER BY recorded_at DESC LIMIT 1", [fund]).fetchall()
    return rows[0][0] if rows and rows[0][0] is not None else None


def audit_trail(store: Path | str, fund: str | None = None) -> pd.DataFrame:
    """Every close and reopen, oldest first."""
    sql = f"SELECT * FROM {AUDIT}" + (" WHERE fund = ?" if fund else "") + " ORDER BY recorded_at"
    return select_frame(store, AUDIT, sql, [fund] if fund else [], AUDIT_COLUMNS)


def close_books(store: Path | str, fund: str, business_date: dt.date, by: str, *, next_business_day: dt.date | None = None,
                comment: str = "", stale_dates: list[dt.date] | None = None, price_flags: Sequence[str] = ()) -> PeriodAction:
    """Lock ``fund``'s books and NAV up to ``business_date`` (which must have been processed and be
    current: ``stale_dates`` lists days whose deliveries changed since they were struck).

    ``price_flags``: the holdings the NAV of ``business_date`` is struck at a price its own pricing
    control flagged, unresolved (an unconfirmed jump, a stale or a carried-forward price: the NAV
    report's ``flagged_prices`` reasons, each naming the security and the exception; ``bo close``
    passes them). Such a NAV is not approved and the period does not close on it until a manual
    price override of the day resolves each and the day is struck again."""
    if not by or not by.strip():
        raise PeriodError("a close needs the name of who closes (--by)")
    stale = sorted(d for d in (stale_dates or []) if d <= business_date)
    if stale:
        raise PeriodError(f"{fund}: deliveries of {', '.join(map(str, stale[:5]))} changed since the books were struck; "
                          f"run `bo run --date {business_date}` first (it ingests and strikes the books), then close")
    with open_store(store) as con:
        ensure_schema(con)
        state = load_state(store, fund, business_date, con)
        if state is None:
            raise PeriodError(f"{fund}: no books for {business_date} (the day was never processed); run `bo run --date {business_date}` first")
        if state.is_provisional:
            reasons = provisional_reasons(list(state.provisional), list(state.missing_days))
            raise PeriodError(f"{fund}: the NAV of {business_date} is provisional and cannot be closed: {'; '.join(reasons[:3])}"
                              f"{f' (and {len(reasons) - 3} more)' if len(reasons) > 3 else ''}; correct the input and run `bo run --date {business_date}`")
        current = locked_through(store, fund, con)
        if current is not None and current >= business_date:
            raise PeriodError(f"{fund}: the books are already locked through {current}")
        if price_flags:
            flags = list(price_flags)
            raise PeriodError(f"{fund}: the NAV of {business_date} is struck at {len(flags)} price(s) its own control flagged and cannot be "
                              f"closed: {'; '.join(flags[:3])}{f' (and {len(flags) - 3} more)' if len(flags) > 3 else ''}; resolve each with "
                              f"a manual price override of the day (overrides/prices.csv, with a reason and who approved it) and run "
                              f"`bo run --date {business_date}`")
        nav = dict(zip(state.classes["share_class"], state.classes["nav_per_share"].astype(float)))
        digest = con.execute(f"SELECT digest FROM {STATES} WHERE fund = ? AND business_date = ?", [fund, business_date]).fetchall()[0][0]
        period = period_of(business_date, next_business_day)
        _append(con, fund, business_date, "close", business_date, period, by, comment, digest, nav)
    return PeriodAction(fund, business_date, "close", business_date, period, nav)


def reopen_books(store: Path | str, fund: str, business_date: dt.date, reason: str, by: str, previous_business_day: dt.date | None) -> PeriodAction:
    """Unlock ``business_date`` and every later day of ``fund``: the next run recomputes them from the
    deliveries as they now are (each change recorded as a restatement)."""
    if not reason or not reason.strip():
        raise PeriodError("a reopen needs a reason (--reason)")
    if not by or not by.strip():
        raise PeriodError("a reopen needs the name of who reopens (--by)")
    with open_store(store) as con:
        ensure_schema(con)
        current = locked_through(store, fund, con)
        if current is None or current < business_date:
            raise PeriodError(f"{fund}: {business_date} is not locked (locked through: {current or 'nothing'})")
        state = load_state(store, fund, business_date, con)
        nav = dict(zip(state.classes["share_class"], state.classes["nav_per_share"].astype(float))) if state else {}
        digest = con.execute(f"SELECT digest FROM {STATES} WHERE fund = ? AND business_date = ?", [fund, business_date]).fetchall()
        _append(con, fund, business_date, "reopen", previous_business_day, "", by, reason, digest[0][0] if digest else None, nav)
    return PeriodAction(fund, business_date, "reopen", previous_business_day, "", nav)


#: the audit action of a scratch copy's unlock (``unlock_from``): never written to the book of record
REPLAY_UNLOCK = "replay unlock"
REPLAY_RELOCK = "replay relock"


def unlock_from(connection, fund: str, business_date: dt.date) -> dt.date | None:
    """In a scratch copy of the store only (``bo replay``): when ``fund`` is locked through
    ``business_date`` or later, lock it through the last day before ``business_date`` that still
    has a state instead (an audit row ``replay unlock``; no such day: nothing locked), so the next
    roll strikes ``business_date`` and later again rather than holding them. Every earlier locked
    day stays locked. Inside the caller's transaction (after ``forget_states_from``); returns the
    lock that was lifted (None: nothing locked from ``business_date`` on)."""
    lock = locked_through(None, fund, connection) if table_exists(connection, AUDIT) else None
    if lock is None or lock < business_date:
        return None
    before = connection.execute(f"SELECT max(business_date) FROM {STATES} WHERE fund = ? AND business_date < ?",
                                [fund, business_date]).fetchall()[0][0]
    _append(connection, fund, business_date, REPLAY_UNLOCK, before, "", "bo replay", f"replay of {business_date} (scratch copy)",
            None, {})
    return lock


def locked_through_as_of(connection, fund: str, moment: dt.datetime) -> dt.date | None:
    """The last locked day of ``fund`` as it stood at ``moment`` (UTC): the lock of the latest close or
    reopen recorded by then (None: nothing was locked)."""
    if not table_exists(connection, AUDIT):
        return None
    rows = connection.execute(f"SELECT locked_through FROM {AUDIT} WHERE fund = ? AND recorded_at <= ? AND action NOT IN (?, ?) "
                              "ORDER BY recorded_at DESC LIMIT 1", [fund, moment, REPLAY_UNLOCK, REPLAY_RELOCK]).fetchall()
    return rows[0][0] if rows and rows[0][0] is not None else None


def relock_as_of(store: Path | str, funds: list[str], moment: dt.datetime) -> dict[str, dt.date | None]:
    """In a scratch copy of the store only (``bo replay``, after its roll struck the date again): lock
    each fund as it was locked at ``moment``, the time the replayed run ran (an audit row ``replay
    relock``), so the replay's reports read the lock the run read. Returns the lock per fund."""
    locks = {}
    with open_store(store) as con:
        ensure_schema(con)
        for fund in funds:
            locks[fund] = through = locked_through_as_of(con, fund, moment)
            if through != locked_through(None, fund, con):
                _append(con, fund, through or moment.date(), REPLAY_RELOCK, through, "", "bo replay", f"the lock as of {moment:%Y-%m-%d %H:%M:%S} UTC",
                        None, {})
    return locks


def _append(con, fund, day, action, through, period, by, reason, digest, nav) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute(f"INSERT INTO {AUDIT} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [fund, day, action, through, period, by.strip(), reason.strip(), now, digest, json.dumps(nav, sort_keys=True)])
