"""The catalogue: how every control reads delivered data, from the workbench store, never from the
files (``bo_lib.data.ingest`` put them there once). Only current versions are read; frames come back
typed as the dataset contracts say (dates ``datetime64[ns]``, identifiers as text), with the
row's ``delivery_date``, ``source_line`` and ``delivery_id``.

A read names what it needs: a dataset, a fund, one date or a window of dates, or the rows of given
keys. The cost of a read is the size of what it asks for, not the age of the books.

Violations are collected, never raised: each control shows them. A file due on a date and not
delivered is a violation of that date ("expected file was not delivered").
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from bo_lib.data.contracts import CONTRACTS
from bo_lib.data.errors import Violation
from bo_lib.data.formats.statement import FRAME_COLUMNS, STATEMENT_SUMMARY_COLUMNS
from bo_lib.data.ingest import CA_MESSAGE_COLUMNS, CA_MESSAGES, CURRENT, DELIVERIES, STATEMENT_ENTRIES, STATEMENTS, VIOLATIONS, dataset_table
from bo_lib.data.layout import INBOUND_FILES, OPENING_FILES, REFERENCE_FILES
from bo_lib.store import ensure_schema, open_store

INVENTORY_COLUMNS = ["dataset", "path", "size_bytes", "sha256", "version", "delivery_id", "ingested_at", "business_date"]


def _typed(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A stored frame back in the types the loaders give (what every control was written for)."""
    for col in CONTRACTS[dataset].columns:
        if col.name not in frame:
            continue
        if col.kind == "date":
            frame[col.name] = pd.to_datetime(frame[col.name]).astype("datetime64[ns]")
        elif col.kind == "float":
            frame[col.name] = frame[col.name].astype("float64")
        elif col.kind == "int":
            frame[col.name] = frame[col.name].astype("Int64")
        elif col.kind == "bool":
            frame[col.name] = frame[col.name].fillna(False).astype(bool)
        else:
            frame[col.name] = frame[col.name].fillna("").astype("str")
    if "business_date" in frame:
        frame["delivery_date"] = pd.to_datetime(frame["business_date"]).astype("datetime64[ns]")
        frame = frame.drop(columns="business_date")
    if "source_line" in frame:
        frame["source_line"] = frame["source_line"].astype("int64")
    return frame


def _empty(dataset: str) -> pd.DataFrame:
    frame = pd.DataFrame({c.name: pd.Series(dtype="str") for c in CONTRACTS[dataset].columns})
    frame = frame.assign(source_line=pd.Series(dtype="int64"), delivery_id=pd.Series(dtype="int64"),
                         attributed_fund=pd.Series(dtype="str"), business_date=pd.Series(dtype="datetime64[ns]"))
    return _typed(frame, dataset)


def _attributed(dataset: str) -> bool:
    contract = CONTRACTS[dataset]
    return bool(contract.fund_column or contract.account_column)


class Catalogue:
    """Read access to the deliveries in the workbench store at ``store``.

    Each read opens a short connection, or uses the one of an enclosing ``with catalogue.session():``
    block (a batch of reads, one connection), or the ``connection`` it was made with (a caller that
    also writes, such as the books' roll, keeps one connection for all its work)."""

    def __init__(self, store: Path | str, connection=None):
        self.store = Path(store)
        self._connection = connection
        if connection is not None:
            ensure_schema(connection)

    @contextlib.contextmanager
    def session(self) -> Iterator[Catalogue]:
        """A batch of reads on one (read-only, unless shared with a writer) connection."""
        if self._connection is not None:
            yield self
            return
        with open_store(self.store, read_only=True) as con:
            self._connection = con
            try:
                yield self
            finally:
                self._connection = None

    def _query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.session():
            return self._connection.execute(sql, params or []).df()

    # -- dates -----------------------------------------------------------------------------------

    def business_dates(self, up_to: dt.date | None = None) -> list[dt.date]:
        """Inbound business dates with current deliveries, oldest first."""
        sql = (f"SELECT DISTINCT business_date FROM {DELIVERIES} WHERE status = ? AND dataset IN ({_marks(INBOUND_FILES)})"
               + (" AND business_date <= ?" if up_to else "") + " ORDER BY 1")
        frame = self._query(sql, [CURRENT, *INBOUND_FILES] + ([up_to] if up_to else []))
        return [pd.Timestamp(d).date() for d in frame["business_date"]]

    def previous_date(self, day: dt.date) -> dt.date | None:
        frame = self._query(f"SELECT max(business_date) AS d FROM {DELIVERIES} WHERE status = ? AND business_date < ? "
                            f"AND dataset IN ({_marks(INBOUND_FILES)})", [CURRENT, day, *INBOUND_FILES])
        value = frame["d"].iloc[0]
        return None if pd.isna(value) else pd.Timestamp(value).date()

    def opening_date(self) -> dt.date | None:
        """The latest opening folder delivered (the quarter-end book the books start from)."""
        frame = self._query(f"SELECT max(business_date) AS d FROM {DELIVERIES} WHERE status = ? AND dataset IN ({_marks(OPENING_FILES)})",
                            [CURRENT, *OPENING_FILES])
        value = frame["d"].iloc[0]
        return None if pd.isna(value) else pd.Timestamp(value).date()

    # -- rows --------------------------------------------------------------------------------------

    def rows(self, dataset: str, *, fund: str | None = None, on: dt.date | None = None, start: dt.date | None = None,
             end: dt.date | None = None, keys: tuple[str, Iterable] | None = None, held_out: bool = False) -> pd.DataFrame:
        """Current rows of ``dataset``: of ``fund`` (for datasets attributed to funds), delivered
        ``on`` a date or between ``start`` and ``end`` (inclusive), or whose ``keys[0]`` column is
        one of ``keys[1]``. Ordered by delivery date and source line. Rows held out for a
        violation are left out (``held_out=True`` returns only them: what a report lists)."""
        where, params = ["d.status = ?", _HELD_OUT if held_out else f"NOT {_HELD_OUT}"], [CURRENT]
        if fund is not None and _attributed(dataset):
            where.append("r.attributed_fund = ?")
            params.append(fund)
        _delivered_between(where, params, on, start, end)
        if keys is not None:
            column, values = keys
            values = sorted({str(v) for v in values})
            if not values:
                return _empty(dataset)
            where.append(f"r.{column} IN ({_marks(values)})")
            params += values
        frame = self._query(f"SELECT r.* FROM {dataset_table(dataset)} r JOIN {DELIVERIES} d USING (delivery_id) "
                            f"WHERE {' AND '.join(where)} ORDER BY r.business_date NULLS FIRST, r.delivery_id, r.source_line", params)
        if frame.empty:
            return _empty(dataset)
        frame = frame if held_out else frame.drop(columns="held_out")
        return _typed(frame, dataset).reset_index(drop=True)

    def reference(self) -> dict[str, pd.DataFrame]:
        """Securities master, counterparties, market closures and investors (current versions)."""
        with self.session():
            return {name: self.rows(name).drop(columns=["delivery_date"]) for name in REFERENCE_FILES}

    def price_overrides(self) -> pd.DataFrame:
        """Manual price overrides (approved, with a reason), current version."""
        return self.rows("price_overrides").drop(columns=["delivery_date"])

    def price_override_changes(self) -> pd.DataFrame:
        """When the manual price overrides of each price date last changed: the ingest time of the
        latest version of the overrides file whose rows of that date (security, price) differ from
        the version before it (an override added, changed or withdrawn). A day the books struck
        before its overrides changed is struck again. Columns: price_date, changed_at."""
        with self.session():
            versions = self._query(f"SELECT delivery_id, version, ingested_at FROM {DELIVERIES} WHERE dataset = ? ORDER BY version, ingested_at",
                                   ["price_overrides"])
            rows = self._query(f"SELECT r.delivery_id, r.price_date, r.security_id, r.price FROM {dataset_table('price_overrides')} r "
                               f"WHERE NOT {_HELD_OUT}")
        changed: dict = {}
        before: dict = {}
        for v in versions.itertuples():  # a handful of versions of a small file
            mine = rows[rows["delivery_id"].eq(v.delivery_id)]
            now = {pd.Timestamp(d).date(): frozenset(zip(g["security_id"], g["price"].astype(float))) for d, g in mine.groupby("price_date")}
            for day in set(now) | set(before):
                if now.get(day) != before.get(day):
                    changed[day] = pd.Timestamp(v.ingested_at)
            before = now
        return pd.DataFrame({"price_date": list(changed), "changed_at": list(changed.values())}, columns=["price_date", "changed_at"])

    def opening(self, fund: str | None = None) -> dict[str, pd.DataFrame]:
        """The latest opening book (positions, cash, share classes, prices, FX) of ``fund`` or all."""
        with self.session():
            opened = self.opening_date()
            return {name: self.rows(name, fund=fund, on=opened) if opened else _empty(name) for name in OPENING_FILES}

    def statements(self, *, fund: str, on: dt.date | None = None, start: dt.date | None = None, end: dt.date | None = None,
                   accounts: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The fund's bank statements (one row each, ``STATEMENT_SUMMARY_COLUMNS``) and their entries
        (``FRAME_COLUMNS``), with ``delivery_date``, delivered on a date or in a window."""
        where, params = ["d.status = ?", "r.attributed_fund = ?", f"NOT {_HELD_OUT}"], [CURRENT, fund]
        _delivered_between(where, params, on, start, end)
        if accounts is not None:
            accounts = sorted(set(accounts))
            if not accounts:
                where.append("FALSE")
            else:
                where.append(f"r.account IN ({_marks(accounts)})")
                params += accounts
        clause = " AND ".join(where)
        with self.session():
            summaries = self._query(f"SELECT r.* FROM {STATEMENTS} r JOIN {DELIVERIES} d USING (delivery_id) WHERE {clause} "
                                    "ORDER BY r.business_date, r.account, r.statement_id", params)
            entries = self._query(f"SELECT r.* FROM {STATEMENT_ENTRIES} r JOIN {DELIVERIES} d USING (delivery_id) WHERE {clause} "
                                  "ORDER BY r.business_date, r.account, r.statement_id, r.entry_sequence", params)
        summaries = _dated(summaries, ["opening_date", "closing_date"]).reindex(
            columns=STATEMENT_SUMMARY_COLUMNS + ["delivery_date", "delivery_id"])
        entries = _dated(entries, ["value_date", "booking_date"]).reindex(columns=FRAME_COLUMNS + ["delivery_date", "delivery_id"])
        summaries["balances"] = summaries["balances"].fillna(False).astype(bool)
        for frame in (summaries, entries):
            frame["delivery_date"] = pd.to_datetime(frame["delivery_date"]).astype("datetime64[ns]")
        entries["entry_sequence"] = entries["entry_sequence"].astype("int64")
        return summaries, entries

    def ca_messages(self, *, fund: str, on: dt.date | None = None, start: dt.date | None = None, end: dt.date | None = None,
                    corporate_references: Iterable[str] | None = None) -> pd.DataFrame:
        """The fund's corporate-action messages (one row per message option, ``CA_MESSAGE_COLUMNS``
        less the bookkeeping, with ``delivery_date``), delivered on a date or in a window, or every
        one of the given events (``corporate_references``) whenever delivered."""
        where, params = ["d.status = ?", "r.attributed_fund = ?", f"NOT {_HELD_OUT}"], [CURRENT, fund]
        _delivered_between(where, params, on, start, end)
        if corporate_references is not None:
            refs = sorted(set(corporate_references))
            where.append(f"r.corporate_reference IN ({_marks(refs)})" if refs else "FALSE")
            params += refs
        with self.session():
            rows = self._query(f"SELECT r.* FROM {CA_MESSAGES} r JOIN {DELIVERIES} d USING (delivery_id) WHERE {' AND '.join(where)} "
                               "ORDER BY r.business_date, r.file, r.source_line, r.option_number", params)
        dates = [c for c, t in CA_MESSAGE_COLUMNS.items() if t == "DATE" and c != "business_date"]
        rows = _dated(rows, dates + ["delivery_date"]).reindex(columns=[c for c in CA_MESSAGE_COLUMNS if c not in ("business_date", "held_out")]
                                                            + ["delivery_date"])
        rows["delivery_date"] = pd.to_datetime(rows["delivery_date"]).astype("datetime64[ns]")
        for column, kind in CA_MESSAGE_COLUMNS.items():
            if kind == "VARCHAR" and column in rows:
                rows[column] = rows[column].fillna("").astype("str")
        rows["is_default"] = rows["is_default"].fillna(False).astype(bool)
        return rows

    def message_files_of_others(self, *, fund: str, on: dt.date) -> set[str]:
        """The corporate-action message files delivered ``on`` a date that belong to other funds
        only (every message in them for another fund's account): what ``fund``'s inventory leaves
        out. A file of no fund, or one that could not be read, belongs to every fund."""
        with self.session():
            rows = self._query(f"SELECT DISTINCT d.path, coalesce(r.attributed_fund, '') AS fund FROM {CA_MESSAGES} r JOIN {DELIVERIES} d "
                               "USING (delivery_id) WHERE d.status = ? AND d.business_date = ?", [CURRENT, on])
        if rows.empty:
            return set()
        funds = rows.groupby("path")["fund"].agg(set)
        return {path for path, owners in funds.items() if fund not in owners and "" not in owners}

    # -- violations and inventory ------------------------------------------------------------------

    def violations(self, *, fund: str | None = None, on: dt.date | None = None, datasets: Iterable[str] | None = None,
                   reference: bool = True, expected: bool = True) -> list[Violation]:
        """Violations of the current deliveries of ``on`` (and of reference data with
        ``reference``) that are ``fund``'s or nobody's in particular; with ``expected``, a
        violation per daily dataset due on ``on`` and not delivered."""
        where, params = ["d.status = ?"], [CURRENT]
        scope = []
        if on is not None:
            scope.append("v.business_date = ?")
            params.append(on)
        if reference:
            scope.append(f"v.dataset IN ({_marks(REFERENCE_FILES)})")
            params += list(REFERENCE_FILES)
        if scope:
            where.append("(" + " OR ".join(scope) + ")")
        if fund is not None:
            where.append("(v.fund IS NULL OR v.fund = ?)")
            params.append(fund)
        if datasets is not None:
            wanted = sorted(set(datasets) | (set(REFERENCE_FILES) if reference else set()))
            where.append(f"v.dataset IN ({_marks(wanted)})")
            params += wanted
        frame = self._query(f"SELECT v.* FROM {VIOLATIONS} v JOIN {DELIVERIES} d USING (delivery_id) WHERE {' AND '.join(where)} "
                            "ORDER BY v.business_date NULLS FIRST, v.file, v.line", params)
        found = [Violation(r.file, None if pd.isna(r.line) else int(r.line), r.column_name if isinstance(r.column_name, str) else None,
                           r.rule, r.value if isinstance(r.value, str) else None, r.fund if isinstance(r.fund, str) else None)
                 for r in frame.itertuples()]
        if expected and on is not None:
            delivered = set(self.deliveries(on=on)["dataset"])
            wanted = [d for d in INBOUND_FILES if datasets is None or d in set(datasets)]
            found += [Violation(f"inbound/{on.isoformat()}/{INBOUND_FILES[d]}", None, None, "expected file was not delivered")
                      for d in wanted if d not in delivered]
        return found

    def deliveries(self, *, on: dt.date | None = None, datasets: Iterable[str] | None = None, reference: bool = False,
                   opening: bool = False, statement_accounts: Iterable[str] | None = None, start: dt.date | None = None,
                   end: dt.date | None = None) -> pd.DataFrame:
        """The inventory of current deliveries: of ``on`` (statements included, named
        ``statement:<account>``; only of ``statement_accounts`` when given), and with
        ``reference``/``opening`` the reference files and the latest opening folder."""
        scope, params = [], [CURRENT]
        if on is not None:
            scope.append(f"(business_date = ? AND dataset NOT IN ({_marks(OPENING_FILES)}))")
            params += [on, *OPENING_FILES]
        if start is not None and end is not None:
            scope.append(f"(business_date BETWEEN ? AND ? AND dataset NOT IN ({_marks(OPENING_FILES)}))")
            params += [start, end, *OPENING_FILES]
        if reference:
            scope.append(f"dataset IN ({_marks(REFERENCE_FILES)})")
            params += list(REFERENCE_FILES)
        if opening:
            opened = self.opening_date()
            if opened is not None:
                scope.append(f"(business_date = ? AND dataset IN ({_marks(OPENING_FILES)}))")
                params += [opened, *OPENING_FILES]
        if not scope:
            return pd.DataFrame(columns=INVENTORY_COLUMNS)
        sql = (f"SELECT {', '.join(INVENTORY_COLUMNS)} FROM {DELIVERIES} WHERE status = ? AND (" + " OR ".join(scope) + ")")
        frame = self._query(sql + " ORDER BY business_date NULLS FIRST, path", params)
        is_statement = frame["dataset"].eq("statement")
        account = frame["path"].str.rsplit("/", n=1).str[-1].str.split(".", n=1).str[0]
        frame["dataset"] = frame["dataset"].where(~is_statement, "statement:" + account)
        if statement_accounts is not None:
            frame = frame[~is_statement | account.isin(set(statement_accounts))]
        if datasets is not None:
            frame = frame[frame["dataset"].isin(set(datasets))]
        return frame.reset_index(drop=True)

    def delivery_history(self, path: str) -> pd.DataFrame:
        """Every version ever ingested of the file at ``path`` (the trail of corrections)."""
        return self._query(f"SELECT * FROM {DELIVERIES} WHERE path = ? ORDER BY version", [path])

    def latest_ingest(self, start: dt.date | None = None) -> pd.DataFrame:
        """Per business date, when its current deliveries were last ingested (for staleness checks)."""
        sql = f"SELECT business_date, max(ingested_at) AS ingested_at FROM {DELIVERIES} WHERE status = ? AND business_date IS NOT NULL"
        params: list = [CURRENT]
        if start is not None:
            sql += " AND business_date >= ?"
            params.append(start)
        frame = self._query(sql + " GROUP BY business_date ORDER BY business_date", params)
        frame["business_date"] = pd.to_datetime(frame["business_date"]).dt.date
        return frame


#: a row held out for a violation (rows stored before the column existed were never held out)
_HELD_OUT = "coalesce(r.held_out, FALSE)"


def _delivered_between(where: list[str], params: list, on: dt.date | None, start: dt.date | None, end: dt.date | None) -> None:
    """Add to a query's conditions: delivered ``on`` a date, or from ``start`` and up to ``end`` (inclusive)."""
    for op, value in (("=", on), (">=", start), ("<=", end)):
        if value is not None:
            where.append(f"r.business_date {op} ?")
            params.append(value)


def _marks(values: Iterable) -> str:
    return ", ".join("?" for _ in values)


def _dated(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.rename(columns={"business_date": "delivery_date"})
    for column in columns:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame
