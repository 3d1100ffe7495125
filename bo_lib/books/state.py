"""The book of record's closing state of a fund on a business date: what the next day starts from.

A ``BookState`` holds, at the close of its date:

* ``positions`` (trade date) per account and security, ``settled_positions`` (contractual
  settlement date) and ``cost_basis`` per security (book cost and realised P&L, average cost);
* ``cash`` per account (the books' view: opening balance + the cash ledger by value date);
* open items: ``open_trades`` (traded, not yet settled: the receivables and payables),
  ``open_capital`` (dealt, not yet settled), ``open_income`` (dividends and coupons gone ex, not
  yet paid);
* ``classes``: per share class units, gross assets, management and performance fees accrued,
  performance fee payable (crystallised, not paid), high-water mark, NAV per share, net assets;
* ``fund``: fixed fees payable and the pool's assets after dealing (what the next day's result is
  measured against);
* ``prices``, ``valuation`` and ``fx``: the valuation prices and rates used, and what the
  positions were worth per currency (the next day's previous close);
* ``applied_events``: corporate actions already booked (an event is booked once, even when the
  feed lists it for days); ``event_bookings``: the later bookings of an event booked from the
  custodians' notifications (a stock dividend credited on its pay date, a tender's proceeds);
* ``class_day`` and ``flows``: the day's NAV row per class and the day's result of the common pool
  (market, FX, income, expenses): the NAV history and its explain, read back across days.

``opening_state`` builds the state of the opening date from the quarter-end book. States are
persisted per fund and date in the workbench store (``save_state`` / ``load_state``), each with a
digest of its content and its predecessor's digest, so a changed earlier day is detectable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bo_lib.data.contracts import CONTRACTS
from bo_lib.store import ensure_schema, open_store, register_table, table_exists, transaction

STATES = "book_states"
STATE_COLUMNS = {"fund": "VARCHAR", "business_date": "DATE", "previous_date": "DATE", "digest": "VARCHAR", "previous_digest": "VARCHAR",
                 "computed_at": "TIMESTAMP", "run_id": "VARCHAR", "deliveries": "VARCHAR", "origin": "VARCHAR", "format": "INTEGER",
                 "provisional": "VARCHAR", "missing_days": "VARCHAR"}
#: the layout of a state's content; a state written in an older layout is struck again (unless locked)
STATE_FORMAT = 3

_CONTRACT_TYPES = {"str": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "date": "DATE", "bool": "BOOLEAN"}


def _contract_columns(dataset: str) -> dict[str, str]:
    return {c.name: _CONTRACT_TYPES[c.kind] for c in CONTRACTS[dataset].columns}


#: the persisted frames of a state and their columns (fund and business_date are added in the store)
FRAMES: dict[str, dict[str, str]] = {
    "positions": {"account": "VARCHAR", "security_id": "VARCHAR", "quantity": "DOUBLE"},
    "settled_positions": {"account": "VARCHAR", "security_id": "VARCHAR", "quantity": "DOUBLE"},
    "cost_basis": {"security_id": "VARCHAR", "quantity": "DOUBLE", "book_cost": "DOUBLE", "realised_pnl": "DOUBLE"},
    "cash": {"account": "VARCHAR", "currency": "VARCHAR", "balance": "DOUBLE"},
    "open_trades": _contract_columns("trades") | {"origin": "VARCHAR"},
    "open_capital": _contract_columns("capital_activity"),
    "open_income": {"event_id": "VARCHAR", "event_type": "VARCHAR", "kind": "VARCHAR", "trade_id": "VARCHAR", "counterparty": "VARCHAR",
                    "security_id": "VARCHAR", "currency": "VARCHAR", "ex_date": "DATE", "record_date": "DATE",
                    "pay_date": "DATE", "recognised_on": "DATE", "holding": "DOUBLE", "gross_rate": "DOUBLE",
                    "withholding_tax_pct": "DOUBLE", "gross_amount": "DOUBLE", "withholding_tax": "DOUBLE", "net_amount": "DOUBLE"},
    "applied_events": {"event_id": "VARCHAR", "basis": "VARCHAR", "applied_on": "DATE", "pay_date": "DATE"},
    "event_bookings": {"event_id": "VARCHAR", "event_type": "VARCHAR", "account": "VARCHAR", "kind": "VARCHAR", "trade_id": "VARCHAR",
                       "basis": "VARCHAR", "booked_on": "DATE", "pay_date": "DATE", "security_id": "VARCHAR", "currency": "VARCHAR",
                       "quantity": "DOUBLE", "cost": "DOUBLE", "cash": "DOUBLE", "realised": "DOUBLE"},
    "classes": {"share_class": "VARCHAR", "units": "DOUBLE", "gross": "DOUBLE", "management_fee_accrued": "DOUBLE",
                "performance_fee_accrued": "DOUBLE", "performance_fee_payable": "DOUBLE", "high_water_mark": "DOUBLE",
                "nav_per_share": "DOUBLE", "net_assets": "DOUBLE"},
    "fund": {"fixed_fees_payable": "DOUBLE", "pool_after_dealing": "DOUBLE", "opened_on": "DATE"},
    "prices": {"security_id": "VARCHAR", "price": "DOUBLE", "source": "VARCHAR", "price_as_of": "DATE"},
    "valuation": {"currency": "VARCHAR", "market_value_local": "DOUBLE", "accrued_interest_local": "DOUBLE"},
    "fx": {"currency": "VARCHAR", "rate_to_base": "DOUBLE"},
    "class_day": {"share_class": "VARCHAR", "units_opening": "DOUBLE", "units_subscribed": "DOUBLE", "units_redeemed": "DOUBLE",
                  "units_outstanding": "DOUBLE", "gross_assets": "DOUBLE", "management_fee_accrued": "DOUBLE", "performance_fee_accrued": "DOUBLE",
                  "performance_fee_payable": "DOUBLE", "performance_fee_crystallised": "DOUBLE", "nav_per_share": "DOUBLE",
                  "net_assets_before_dealing": "DOUBLE", "capital_activity": "DOUBLE", "net_assets": "DOUBLE", "high_water_mark": "DOUBLE",
                  "management_fee_charge": "DOUBLE", "performance_fee_charge": "DOUBLE", "pool_share": "DOUBLE"},
    "flows": {"market": "DOUBLE", "fx": "DOUBLE", "income": "DOUBLE", "expenses": "DOUBLE", "transaction_costs": "DOUBLE",
              "fixed_fees": "DOUBLE", "bank_charges": "DOUBLE", "pnl": "DOUBLE"},
}
DATE_COLUMNS = {name: [c for c, t in cols.items() if t == "DATE"] for name, cols in FRAMES.items()}
#: corporate actions the books booked are remembered this long after their pay date (the feed lists an event until it is paid)
APPLIED_EVENT_MEMORY_DAYS = 120


_PANDAS_KINDS = {"VARCHAR": "str", "DOUBLE": "float64", "DATE": "datetime64[ns]", "BIGINT": "Int64", "BOOLEAN": "bool"}


_EMPTY: dict[str, pd.DataFrame] = {}


def empty_frame(name: str) -> pd.DataFrame:
    if name not in _EMPTY:
        _EMPTY[name] = pd.DataFrame({c: pd.Series(dtype=_PANDAS_KINDS[t]) for c, t in FRAMES[name].items()})
    return _EMPTY[name].copy()


@dataclass
class BookState:
    fund: str
    business_date: dt.date
    positions: pd.DataFrame
    settled_positions: pd.DataFrame
    cost_basis: pd.DataFrame
    cash: pd.DataFrame
    open_trades: pd.DataFrame
    open_capital: pd.DataFrame
    open_income: pd.DataFrame
    applied_events: pd.DataFrame
    event_bookings: pd.DataFrame  # bookings of events booked from the notifications, due later (``books.notified``)
    classes: pd.DataFrame
    fund_balances: pd.DataFrame  # one row: FRAMES["fund"]
    prices: pd.DataFrame
    valuation: pd.DataFrame  # market value and accrued interest per currency (local) at the close
    fx: pd.DataFrame
    class_day: pd.DataFrame  # the day's NAV row per class (units dealt, fees charged, pool share): the NAV history
    flows: pd.DataFrame  # one row on a NAV date, empty at the opening
    previous_date: dt.date | None = None
    origin: str = "books"  # "opening": built from the quarter-end book
    notes: list[str] = field(default_factory=list)
    #: why the NAV of the day is provisional (empty: final); see ``bo_lib.books.quality``
    provisional: tuple[str, ...] = ()
    #: business days since the opening the books have no deliveries for (carried forward)
    missing_days: tuple[dt.date, ...] = ()

    @property
    def is_provisional(self) -> bool:
        return bool(self.provisional or self.missing_days)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, "fund_balances" if name == "fund" else name) for name in FRAMES}

    @property
    def fixed_fees_payable(self) -> float:
        return float(self.fund_balances["fixed_fees_payable"].iloc[0]) if len(self.fund_balances) else 0.0

    @property
    def pool_after_dealing(self) -> float:
        return float(self.fund_balances["pool_after_dealing"].iloc[0]) if len(self.fund_balances) else 0.0

    def digest(self) -> str:
        """SHA-256 of the state's content: every frame's values, hashed by pandas (deterministic for
        equal values of equal types), in the order the books produce them."""
        h = hashlib.sha256(f"{self.fund}|{self.business_date}".encode())
        for name, frame in self.frames().items():
            if len(frame):
                h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
            h.update(f"{name}:{len(frame)}".encode())
        return h.hexdigest()

    def nav_table(self) -> pd.DataFrame:
        """The day's NAV per class (units, NAV per share, net assets, fees, high-water mark)."""
        return self.classes.assign(nav_date=pd.Timestamp(self.business_date))


def normalise(name: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """A state frame with exactly its persisted columns and types (converted only where needed)."""
    columns = FRAMES[name]
    if frame is None or not len(frame):
        return empty_frame(name)
    out = frame if list(frame.columns) == list(columns) else frame.reindex(columns=list(columns))
    if not isinstance(out.index, pd.RangeIndex) or out.index.start != 0:
        out = out.reset_index(drop=True)
    fixes = {}
    for column, kind in columns.items():
        values = out[column]
        if kind == "DATE":
            if values.dtype != "datetime64[ns]":
                fixes[column] = pd.to_datetime(values).astype("datetime64[ns]")
        elif kind == "DOUBLE":
            if values.dtype != "float64":
                fixes[column] = values.astype("float64")
        elif kind == "VARCHAR":
            if values.dtype != "str" or values.hasnans:
                fixes[column] = values.where(values.notna(), "").astype("str")
        elif kind == "BIGINT" and values.dtype != "Int64":
            fixes[column] = values.astype("Int64")
    return out.assign(**fixes) if fixes else out


def make_state(fund: str, business_date: dt.date, **frames) -> BookState:
    names = {f.name for f in fields(BookState)}
    values = {}
    for name in FRAMES:
        key = "fund_balances" if name == "fund" else name
        values[key] = normalise(name, frames.pop(key, empty_frame(name)))
    extra = {k: v for k, v in frames.items() if k in names}
    return BookState(fund=fund, business_date=business_date, **values, **extra)


# ---------------------------------------------------------------------------------------------
# persistence


def _table(name: str) -> str:
    return f"book_{name}"


#: every state frame's rows are keyed by the fund and date of the state (named apart from the frames' own columns)
_KEY = {"book_fund": "VARCHAR", "book_date": "DATE"}


register_table(STATES, STATE_COLUMNS, ("fund", "business_date"))
for _name, _columns in FRAMES.items():
    register_table(_table(_name), _KEY | _columns)


def save_state(store: Path | str, state: BookState, *, previous_digest: str | None, run_id: str, deliveries: list[int]) -> str:
    """Persist ``state`` (replacing any state of the same fund and date); returns its digest."""
    digest = state.digest()
    with open_store(store) as con:
        ensure_schema(con)
        with transaction(con):
            write_state(con, state, digest, previous_digest, run_id, deliveries)
    return digest


def write_state(con, state: BookState, digest: str, previous_digest: str | None, run_id: str, deliveries: list[int],
                replace_existing: bool = True) -> None:
    """Write a state inside the caller's transaction (``replace_existing=False``: the day has no
    state yet, nothing to delete first)."""
    key = [state.fund, state.business_date]
    if replace_existing:
        con.execute(f"DELETE FROM {STATES} WHERE fund = ? AND business_date = ?", key)
    for name, frame in state.frames().items():
        table = _table(name)
        if replace_existing:
            con.execute(f"DELETE FROM {table} WHERE book_fund = ? AND book_date = ?", key)
        if len(frame):
            con.register("_state_rows", frame)
            casts = ", ".join(f"CAST({c} AS {t})" for c, t in FRAMES[name].items())
            con.execute(f"INSERT INTO {table} (book_fund, book_date, {', '.join(FRAMES[name])}) SELECT ?, ?, {casts} FROM _state_rows", key)
            con.unregister("_state_rows")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute(f"INSERT INTO {STATES} ({', '.join(STATE_COLUMNS)}) VALUES ({', '.join('?' for _ in STATE_COLUMNS)})",
                [state.fund, state.business_date, state.previous_date, digest, previous_digest, now, run_id, json.dumps(deliveries), state.origin,
                 STATE_FORMAT, json.dumps(list(state.provisional)), json.dumps([d.isoformat() for d in state.missing_days])])


def forget_states_from(connection, fund: str, business_date: dt.date) -> int:
    """Delete every closing state of ``fund`` from ``business_date`` on (its row of ``book_states``
    and its rows of every frame), inside the caller's transaction; returns how many states. For a
    scratch copy of the store only (``bo replay``): the next roll then strikes those days again
    from the state of the day before. The book of record's states are never deleted."""
    if not table_exists(connection, STATES):
        return 0
    key = [fund, business_date]
    count = connection.execute(f"SELECT count(*) FROM {STATES} WHERE fund = ? AND business_date >= ?", key).fetchall()[0][0]
    connection.execute(f"DELETE FROM {STATES} WHERE fund = ? AND business_date >= ?", key)
    for name in FRAMES:
        if table_exists(connection, _table(name)):
            connection.execute(f"DELETE FROM {_table(name)} WHERE book_fund = ? AND book_date >= ?", key)
    return int(count)


def load_state(store: Path | str, fund: str, business_date: dt.date, connection=None) -> BookState | None:
    """The persisted state of ``fund`` at the close of ``business_date`` (None if there is none)."""
    if connection is None:
        if not Path(store).exists():
            return None
        with open_store(store, read_only=True) as con:
            if not table_exists(con, STATES):
                return None
            return load_state(store, fund, business_date, con)
    row = connection.execute(f"SELECT previous_date, origin, provisional, missing_days FROM {STATES} WHERE fund = ? AND business_date = ?",
                             [fund, business_date]).fetchall()
    if not row:
        return None
    previous, origin, provisional, missing = row[0]
    frames = {}
    for name in FRAMES:
        frame = connection.execute(f"SELECT * EXCLUDE (book_fund, book_date) FROM {_table(name)} WHERE book_fund = ? AND book_date = ?",
                                   [fund, business_date]).df()
        frames["fund_balances" if name == "fund" else name] = frame
    return make_state(fund, business_date, previous_date=previous, origin=origin, provisional=tuple(json.loads(provisional or "[]")),
                      missing_days=tuple(dt.date.fromisoformat(d) for d in json.loads(missing or "[]")), **frames)


def state_index(store: Path | str, fund: str, connection=None) -> pd.DataFrame:
    """Every persisted state of the fund: business_date, previous_date, digest, previous_digest, computed_at."""
    if connection is None:
        if not Path(store).exists():
            return pd.DataFrame(columns=list(STATE_COLUMNS))
        with open_store(store, read_only=True) as con:
            if not table_exists(con, STATES):
                return pd.DataFrame(columns=list(STATE_COLUMNS))
            return state_index(store, fund, con)
    frame = connection.execute(f"SELECT * FROM {STATES} WHERE fund = ? ORDER BY business_date", [fund]).df()
    for column in ("business_date", "previous_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def read_frames(store: Path | str, name: str, fund: str | None = None, start: dt.date | None = None, end: dt.date | None = None,
                dates: list[dt.date] | None = None) -> pd.DataFrame:
    """One state frame over a window of dates (or given dates), every fund or one, with the
    state's ``book_fund`` and ``book_date`` (what reports chart across days and the regulatory
    report aggregates across funds)."""
    where, params = [], []
    for clause, value in (("book_fund = ?", fund), ("book_date >= ?", start), ("book_date <= ?", end)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if dates is not None:
        where.append(f"book_date IN ({', '.join('?' for _ in dates)})" if dates else "FALSE")
        params += list(dates)
    frame = pd.DataFrame()
    if store is not None and Path(store).exists():
        with open_store(store, read_only=True) as con:
            if not table_exists(con, _table(name)):
                return read_frames(None, name)
            frame = con.execute(f"SELECT * FROM {_table(name)}" + (" WHERE " + " AND ".join(where) if where else "")
                                + " ORDER BY book_date, book_fund", params).df()
    out = normalise(name, frame.drop(columns=list(_KEY), errors="ignore"))
    out.insert(0, "book_date", pd.to_datetime(frame["book_date"]).astype("datetime64[ns]") if len(frame) else pd.Series(dtype="datetime64[ns]"))
    out.insert(0, "book_fund", frame["book_fund"].astype("str") if len(frame) else pd.Series(dtype="str"))
    return out


def prune_applied_events(applied: pd.DataFrame, business_date: dt.date) -> pd.DataFrame:
    """Forget booked events long paid (the feed no longer lists them): the state stays small."""
    if applied.empty:
        return applied
    horizon = pd.Timestamp(business_date) - pd.Timedelta(days=APPLIED_EVENT_MEMORY_DAYS)
    keep = applied["pay_date"].isna() | (pd.to_datetime(applied["pay_date"]) >= horizon)
    return applied[keep].reset_index(drop=True)


def with_date(state: BookState, business_date: dt.date) -> BookState:
    return replace(state, business_date=business_date)


def nan_to_none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value
