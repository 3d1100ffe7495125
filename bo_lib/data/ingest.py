"""Ingest: every delivered file is validated once, hashed and loaded into the workbench store,
where every control reads it (``bo_lib.data.catalogue``).

What is stored:

* ``deliveries``: one row per version of a delivered file: dataset, business date (empty for
  reference data), path under the data root, SHA-256, size, rows, violations, version, status
  (``current`` or ``superseded``), which delivery superseded it, when and by which ingest.
* ``ds_<dataset>``: the file's rows typed by the dataset's contract, with ``delivery_id``,
  ``business_date``, ``source_line``, ``attributed_fund`` (the fund the row belongs to by its
  fund column or account; "" when it belongs to nobody in particular) and ``held_out`` (the row
  broke a rule: it is kept for the record and counted, and no control reads it as a figure).
* ``ds_statements`` / ``ds_statement_entries``: bank statements (MT940, camt.053) as parsed rows,
  one per statement and one per entry, the same way; a statement file with a violation (another
  account, unbalanced, malformed) is held out whole.
* ``ds_ca_messages``: the custodians' corporate-action messages (MT564 notifications, MT566
  confirmations, MT565 copies of the elections sent) as parsed rows, one per message option
  (``bo_lib.data.formats.ca_messages``), attributed to the fund by the safekeeping account; a file
  with a violation (malformed, an account of no fund) is held out whole.
* ``ingest_violations``: every contract violation found, with the delivery it was found in.

Ingest is idempotent: a file whose (path, SHA-256) is the current delivery of its path is skipped.
A different file at a path already ingested (a corrected re-delivery) is a new version: it becomes
current and the earlier version is marked superseded, both kept with their rows, so a run's
manifest can say which version it used and an auditor can see what changed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import itertools
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from bo_lib.data import loaders
from bo_lib.data.contracts import CONTRACTS
from bo_lib.data.errors import Violation
from bo_lib.data.formats.statement import statement_summaries, statements_to_frame
from bo_lib.data.formats.ca_messages import read_ca_messages
from bo_lib.data.layout import (INBOUND_FILES, MANUAL_FILES, MESSAGE_SUFFIXES, MESSAGES_DIR, OPENING_FILES, REFERENCE_FILES, STATEMENT_SUFFIXES,
                                business_dates, inbound_dir, outbound_messages_dir)
from bo_lib.hashing import sha256_file
from bo_lib.store import ensure_schema, migrate, open_store, register_sequence, register_table, select_frame, transaction

DELIVERIES = "deliveries"
VIOLATIONS = "ingest_violations"
STATEMENTS = "ds_statements"
STATEMENT_ENTRIES = "ds_statement_entries"
CA_MESSAGES = "ds_ca_messages"
CURRENT, SUPERSEDED = "current", "superseded"

_KIND_TYPES = {"str": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "date": "DATE", "bool": "BOOLEAN"}
_ROW_COLUMNS = {"delivery_id": "BIGINT", "business_date": "DATE", "source_line": "BIGINT", "attributed_fund": "VARCHAR",
                "held_out": "BOOLEAN"}
DELIVERY_COLUMNS = {
    "delivery_id": "BIGINT", "dataset": "VARCHAR", "business_date": "DATE", "path": "VARCHAR", "sha256": "VARCHAR",
    "size_bytes": "BIGINT", "rows": "BIGINT", "held_out_rows": "BIGINT", "violations": "BIGINT", "version": "INTEGER", "status": "VARCHAR",
    "superseded_by": "BIGINT", "ingested_at": "TIMESTAMP", "ingest_id": "VARCHAR", "ingested_by": "VARCHAR",
}
VIOLATION_COLUMNS = {"delivery_id": "BIGINT", "business_date": "DATE", "dataset": "VARCHAR", "file": "VARCHAR", "line": "BIGINT",
                     "column_name": "VARCHAR", "rule": "VARCHAR", "value": "VARCHAR", "fund": "VARCHAR"}
STATEMENT_COLUMNS = {"delivery_id": "BIGINT", "business_date": "DATE", "attributed_fund": "VARCHAR", "account": "VARCHAR",
                     "currency": "VARCHAR", "statement_id": "VARCHAR", "sequence_number": "VARCHAR", "opening_date": "DATE",
                     "opening_balance": "DOUBLE", "entries": "BIGINT", "entries_total": "DOUBLE", "closing_date": "DATE",
                     "closing_balance": "DOUBLE", "balances": "BOOLEAN", "difference": "DOUBLE", "held_out": "BOOLEAN"}
ENTRY_COLUMNS = {"delivery_id": "BIGINT", "business_date": "DATE", "attributed_fund": "VARCHAR", "account": "VARCHAR",
                 "statement_id": "VARCHAR", "currency": "VARCHAR", "value_date": "DATE", "booking_date": "DATE", "amount": "DOUBLE",
                 "transaction_code": "VARCHAR", "customer_reference": "VARCHAR", "bank_reference": "VARCHAR", "description": "VARCHAR",
                 "entry_sequence": "BIGINT", "held_out": "BOOLEAN"}

_TEXT_COLUMNS = ("message_type", "sender", "receiver", "corporate_reference", "sender_reference", "previous_reference", "related_reference",
                 "function", "processing_status", "event_type", "mandatory_voluntary", "isin", "cusip", "security_description", "account",
                 "balance_type", "option_number", "option_type", "currency", "price_currency", "new_isin", "fraction_disposition", "narrative")
_DATE_COLUMNS = ("announcement_date", "ex_date", "record_date", "pay_date", "effective_date", "market_deadline", "response_deadline",
                 "posting_date", "value_date")
_NUMBER_COLUMNS = ("eligible_balance", "gross_rate", "net_rate", "withholding_pct", "ratio_new", "ratio_old", "price", "instructed_quantity",
                   "posted_quantity", "posted_amount", "gross_amount", "tax_amount", "net_amount")
CA_MESSAGE_COLUMNS = ({"delivery_id": "BIGINT", "business_date": "DATE", "attributed_fund": "VARCHAR", "held_out": "BOOLEAN", "file": "VARCHAR",
                       "source_line": "BIGINT", "is_default": "BOOLEAN"}
                      | {c: "VARCHAR" for c in _TEXT_COLUMNS} | {c: "DATE" for c in _DATE_COLUMNS} | {c: "DOUBLE" for c in _NUMBER_COLUMNS})


def dataset_table(dataset: str) -> str:
    return f"ds_{dataset}"


def dataset_columns(dataset: str) -> dict[str, str]:
    """The stored columns of a dataset: the row bookkeeping, then the contract's columns typed."""
    return _ROW_COLUMNS | {c.name: _KIND_TYPES[c.kind] for c in CONTRACTS[dataset].columns}


def _table_columns() -> dict[str, dict[str, str]]:
    tables = {DELIVERIES: DELIVERY_COLUMNS, VIOLATIONS: VIOLATION_COLUMNS, STATEMENTS: STATEMENT_COLUMNS, STATEMENT_ENTRIES: ENTRY_COLUMNS,
              CA_MESSAGES: CA_MESSAGE_COLUMNS}
    return tables | {dataset_table(d): dataset_columns(d) for d in CONTRACTS}


_TABLE_COLUMNS = _table_columns()
for _name, _columns in _TABLE_COLUMNS.items():
    register_table(_name, _columns, ("delivery_id",) if _name == DELIVERIES else ())
register_sequence("delivery_seq")


@dataclass(frozen=True)
class DeliveredFile:
    """A file found under the data root, before it is read."""

    dataset: str  # contract name, "statement" for a bank statement, "ca_messages" for a corporate-action message file
    business_date: dt.date | None  # None: reference data
    path: Path
    relative: str
    account: str = ""  # statements: the account the file is named after
    statement_format: str = ""


@dataclass
class IngestReport:
    ingest_id: str
    new: list[dict] = field(default_factory=list)  # deliveries ingested (first versions)
    superseded: list[dict] = field(default_factory=list)  # corrected re-deliveries: {dataset, path, version, replaces}
    unchanged: int = 0
    violations: int = 0

    @property
    def changed_dates(self) -> list[dt.date]:
        """Business dates whose deliveries changed in this ingest (new or superseding files)."""
        return sorted({d["business_date"] for d in self.new + self.superseded if d["business_date"] is not None})

    def summary(self) -> str:
        parts = [f"{len(self.new)} new file(s)", f"{len(self.superseded)} corrected re-deliver(ies)", f"{self.unchanged} unchanged"]
        return f"ingest {self.ingest_id}: " + ", ".join(parts) + f"; {self.violations} violation(s)"


def delivered_files(data_root: Path | str, dates: list[dt.date] | None = None) -> list[DeliveredFile]:
    """Every file under the data root that ingest reads: reference data, the opening folder(s), and
    the inbound folders of ``dates`` (all of them when None), statements included."""
    root = Path(data_root)
    found: list[DeliveredFile] = []

    def present(files: dict[str, str], folder: Path, day: dt.date | None) -> None:
        found.extend(DeliveredFile(name, day, folder / file_name, (folder / file_name).relative_to(root).as_posix())
                     for name, file_name in files.items() if (folder / file_name).is_file())

    present(REFERENCE_FILES, root / "reference", None)
    present(MANUAL_FILES, root, None)
    opening_root = root / "opening"
    if opening_root.is_dir():
        for folder in sorted(p for p in opening_root.iterdir() if p.is_dir() and _is_date(p.name)):
            present(OPENING_FILES, folder, dt.date.fromisoformat(folder.name))
    suffixes = {suffix: fmt for fmt, suffix in STATEMENT_SUFFIXES.items()}
    for day in (dates if dates is not None else business_dates(root)):
        folder = inbound_dir(root, day)
        present(INBOUND_FILES, folder, day)
        statements = folder / "statements"
        if statements.is_dir():
            for path in sorted(p for p in statements.iterdir() if p.is_file()):
                account, _, rest = path.name.partition(".")
                fmt = suffixes.get("." + rest, "")
                found.append(DeliveredFile("statement", day, path, path.relative_to(root).as_posix(), account, fmt))
        for messages in (folder / MESSAGES_DIR, outbound_messages_dir(root, day)):  # received, and the elections sent
            if messages.is_dir():
                found.extend(DeliveredFile("ca_messages", day, path, path.relative_to(root).as_posix())
                             for path in sorted(p for p in messages.iterdir() if p.is_file()))
    return found


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return len(text) == 10
    except ValueError:
        return False


def ingested_dates(store: Path | str) -> list[dt.date]:
    """Business dates with at least one current inbound delivery in the store."""
    rows = select_frame(store, DELIVERIES, f"SELECT DISTINCT business_date FROM {DELIVERIES} WHERE status = ? AND dataset IN "
                        f"({', '.join('?' for _ in INBOUND_FILES)}) ORDER BY 1", [CURRENT, *INBOUND_FILES], ["business_date"])
    return [pd.Timestamp(d).date() for d in rows["business_date"]]


def dates_to_ingest(data_root: Path | str, store: Path | str, up_to: dt.date | None = None) -> list[dt.date]:
    """What a daily run ingests: every inbound date up to ``up_to`` not ingested yet, and ``up_to``
    itself (its files are re-hashed, so a corrected re-delivery of the day is picked up).
    Corrections to older dates are ingested with ``bo ingest`` (all dates) or ``--date``."""
    done = set(ingested_dates(store))
    present = [d for d in business_dates(data_root) if up_to is None or d <= up_to]
    wanted = [d for d in present if d not in done]
    if up_to is not None and up_to in present and up_to not in wanted:
        wanted.append(up_to)
    return sorted(wanted)


def ingest(data_root: Path | str, store: Path | str, funds: dict, *, dates: list[dt.date] | None = None,
           progress: Callable[[int, int, str], None] | None = None, ingested_by: str | None = None) -> IngestReport:
    """Ingest reference data, the opening and the inbound folders of ``dates`` (every date when
    None) into the store; returns what was new, what superseded an earlier version, what was
    unchanged. ``funds`` (the fund parameters) attribute rows to funds by account."""
    data_root = Path(data_root)
    report = IngestReport(ingest_id=f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}")
    files = delivered_files(data_root, dates)
    cash_accounts = {a.account: (code, a) for code, fund in funds.items() for a in fund.cash_accounts}
    securities_accounts = {a.account: code for code, fund in funds.items() for a in fund.securities_accounts}
    by = ingested_by or _user()
    current = _current_deliveries(store)
    hashed = [(item, sha256_file(item.path)) for item in files]
    todo = [(item, sha) for item, sha in hashed if current.get(item.relative, (None, None, None))[1] != sha]
    report.unchanged = len(hashed) - len(todo)
    if not todo:  # nothing new: the store is not opened for writing (parallel readers are not held up) unless it is older
        migrate(store)
        return report
    with open_store(store) as con:
        ensure_schema(con)
        current = _current_deliveries(store)
        reference = _current_reference(con)
        position = 0
        for _folder, group in itertools.groupby(todo, key=lambda pair: (pair[0].business_date is None, pair[0].business_date)):
            batch = _Batch()
            for item, sha in group:  # one business date (or the reference / one opening folder) per transaction
                position += 1
                if progress is not None:
                    progress(position, len(todo), item.relative)
                known = current.get(item.relative)
                if known is not None and known[1] == sha:  # ingested by someone else meanwhile
                    report.unchanged += 1
                    continue
                delivery_id = con.execute("SELECT nextval('delivery_seq')").fetchall()[0][0]
                if item.dataset == "statement":
                    rows, held, violations = _read_statement(batch, item, data_root, delivery_id, cash_accounts)
                elif item.dataset == "ca_messages":
                    rows, held, violations = _read_ca_messages(batch, item, data_root, delivery_id, securities_accounts)
                else:
                    rows, held, violations, frame = _read_dataset(batch, item, data_root, delivery_id, reference, funds)
                    if item.dataset in REFERENCE_FILES:
                        reference[item.dataset] = frame
                version = known[2] + 1 if known else 1
                batch.add(DELIVERIES, pd.DataFrame([{
                    "delivery_id": delivery_id, "dataset": item.dataset, "business_date": item.business_date, "path": item.relative,
                    "sha256": sha, "size_bytes": item.path.stat().st_size, "rows": rows, "held_out_rows": held, "violations": len(violations), "version": version,
                    "status": CURRENT, "superseded_by": None, "ingested_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                    "ingest_id": report.ingest_id, "ingested_by": by}]))
                batch.add(VIOLATIONS, _violation_rows(violations, delivery_id, item))
                if known:
                    batch.superseded.append((known[0], delivery_id))
                current[item.relative] = (delivery_id, sha, version)
                report.violations += len(violations)
                record = {"dataset": item.dataset, "business_date": item.business_date, "path": item.relative, "version": version,
                          "rows": rows, "held_out_rows": held, "violations": len(violations)}
                (report.superseded if known else report.new).append(record | ({"replaces": known[0]} if known else {}))
            batch.write(con)
    return report


def _current_deliveries(store: Path | str) -> dict[str, tuple[int, str, int]]:
    """path -> (delivery id, SHA-256, version) of every current delivery (empty for a new store)."""
    rows = select_frame(store, DELIVERIES, f"SELECT delivery_id, path, sha256, version FROM {DELIVERIES} WHERE status = ?", [CURRENT],
                        ["delivery_id", "path", "sha256", "version"])
    return {path: (int(delivery_id), sha, int(version)) for delivery_id, path, sha, version in rows.itertuples(index=False)}


class _Batch:
    """What one transaction of an ingest writes: rows per table, and the versions it supersedes."""

    def __init__(self) -> None:
        self.frames: dict[str, list[pd.DataFrame]] = {}
        self.superseded: list[tuple[int, int]] = []

    def add(self, table: str, frame: pd.DataFrame) -> None:
        if len(frame):
            self.frames.setdefault(table, []).append(frame)

    def write(self, con) -> None:
        if not self.frames and not self.superseded:
            return
        with transaction(con):
            for old, new in self.superseded:
                con.execute(f"UPDATE {DELIVERIES} SET status = ?, superseded_by = ? WHERE delivery_id = ?", [SUPERSEDED, new, old])
            for table, frames in self.frames.items():
                _insert_typed(con, table, pd.concat(frames, ignore_index=True), _TABLE_COLUMNS[table])


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container: say so rather than fail
        return "unknown"


def _current_reference(con) -> dict[str, pd.DataFrame]:
    """The reference datasets as currently stored (what later deliveries are validated against)."""
    out = {}
    for name in REFERENCE_FILES:
        frame = con.execute(f"SELECT r.* FROM {dataset_table(name)} r JOIN {DELIVERIES} d USING (delivery_id) "
                            f"WHERE d.status = ? AND NOT coalesce(r.held_out, FALSE)", [CURRENT]).df()
        out[name] = frame
    return out


def _read_dataset(batch: _Batch, item: DeliveredFile, data_root: Path, delivery_id: int, reference: dict,
                  funds: dict) -> tuple[int, int, list[Violation], pd.DataFrame]:
    """Rows, held-out rows, violations and the usable frame of one delivered dataset file."""
    result = loaders.read_dataset(item.dataset, data_root, item.business_date if item.dataset in INBOUND_FILES else None,
                                  reference=reference, path=item.path, keep_attribution=True, funds=funds)
    frame = result.frame
    if "attributed_fund" not in frame:
        frame = frame.assign(attributed_fund="")
    frame = frame.assign(delivery_id=delivery_id, business_date=pd.Timestamp(item.business_date) if item.business_date else pd.NaT)
    if "held_out" not in frame:
        frame = frame.assign(held_out=False)
    batch.add(dataset_table(item.dataset), frame[list(dataset_columns(item.dataset))])
    usable = result.frame[~result.frame["held_out"]] if "held_out" in result.frame else result.frame
    return result.rows_in_file, int(frame["held_out"].sum()), result.violations, usable


def _read_statement(batch: _Batch, item: DeliveredFile, data_root: Path, delivery_id: int, cash_accounts: dict) -> tuple[int, int, list[Violation]]:
    """Entries, held-out entries and violations of one statement file. A file with any violation
    (malformed, another account or currency, unbalanced) is held out whole: its balances and
    entries are kept for the record, and no reconciliation reads them."""
    owner = cash_accounts.get(item.account)
    label = item.relative
    if not item.statement_format:
        return 0, 0, [Violation(label, None, None, f"not a statement file name (<account>{' or <account>'.join(STATEMENT_SUFFIXES.values())})")]
    if owner is None:
        return 0, 0, [Violation(label, None, "account", "account belongs to no fund in the parameters", item.account)]
    fund_code, account = owner
    if account.statement_format != item.statement_format:
        return 0, 0, [Violation(label, None, None, f"a {item.statement_format} file for an account whose statements are {account.statement_format}",
                             None, fund_code)]
    parsed, violations = loaders.read_statement_file(item.path, data_root, account.account, account.currency, item.statement_format)
    violations = [Violation(v.file, v.line, v.column, v.rule, v.value, fund_code) for v in violations]
    day = pd.Timestamp(item.business_date)
    held = bool(violations)
    summaries = statement_summaries(parsed).assign(delivery_id=delivery_id, business_date=day, attributed_fund=fund_code, held_out=held)
    entries = statements_to_frame(parsed).assign(delivery_id=delivery_id, business_date=day, attributed_fund=fund_code, held_out=held)
    batch.add(STATEMENTS, summaries[list(STATEMENT_COLUMNS)])
    batch.add(STATEMENT_ENTRIES, entries[list(ENTRY_COLUMNS)])
    count = sum(len(s.entries) for s in parsed)
    return count, count if held else 0, violations


def _read_ca_messages(batch: _Batch, item: DeliveredFile, data_root: Path, delivery_id: int,
                      securities_accounts: dict[str, str]) -> tuple[int, int, list[Violation]]:
    """Rows (message options), held-out rows and violations of one corporate-action message file.
    A file with a violation (malformed, not a message file, an account of no fund) is held out
    whole: kept for the record, read by no control."""
    label = item.relative
    if item.path.suffix not in MESSAGE_SUFFIXES.values():
        return 0, 0, [Violation(label, None, None, f"not a corporate-action message file name (<reference>{' or <reference>'.join(MESSAGE_SUFFIXES.values())})")]
    frame, violations = read_ca_messages(item.path, data_root)
    funds = frame["account"].map(securities_accounts)
    for row in frame[funds.isna() & frame["account"].ne("")].drop_duplicates("account").itertuples():
        violations.append(Violation(label, int(row.source_line), ":97A::SAFE", "safekeeping account belongs to no fund in the parameters", row.account))
    fund_codes = sorted(set(funds.dropna()))
    violations = [Violation(v.file, v.line, v.column, v.rule, v.value, v.fund or (fund_codes[0] if len(fund_codes) == 1 else None)) for v in violations]
    held = bool(violations)
    rows = frame.assign(delivery_id=delivery_id, business_date=pd.Timestamp(item.business_date), attributed_fund=funds.fillna(""),
                        held_out=held, file=label)
    batch.add(CA_MESSAGES, rows.reindex(columns=list(CA_MESSAGE_COLUMNS)))
    return len(frame), len(frame) if held else 0, violations


def _insert_typed(con, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """Append a frame, casting each column to the stored type (dates arrive as timestamps)."""
    if not len(frame):
        return
    view = f"_incoming_{table}"
    con.register(view, frame[list(columns)])
    try:
        casts = ", ".join(f"CAST({c} AS {t})" for c, t in columns.items())
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {casts} FROM {view}")
    finally:
        con.unregister(view)


def _violation_rows(violations: list[Violation], delivery_id: int, item: DeliveredFile) -> pd.DataFrame:
    return pd.DataFrame([{"delivery_id": delivery_id, "business_date": item.business_date, "dataset": item.dataset, "file": v.file,
                          "line": v.line, "column_name": v.column, "rule": v.rule, "value": v.value, "fund": v.fund} for v in violations],
                        columns=list(VIOLATION_COLUMNS))
