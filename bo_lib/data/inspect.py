"""What the workbench reads from one delivered file, with its violations (``bo inspect FILE``).

The first thing an analyst does with a file that looks wrong: tell its kind, read it the way the
workbench does (the same loaders, the same contracts, the same reference data) and show the rows,
the rows a control would hold out and every violation with its line and column.

The kind is told by content first, then by name:

* a SWIFT envelope ``{1:...}{2:I940`` (or ``O940``, ``950``), or a bare MT940 (``:20:``, ``:25:``,
  ``:60F:``): an MT940 bank statement;
* ``{2:I564`` / ``{2:O564`` (and 565, 566): corporate-action messages;
* XML with a ``camt.053`` namespace: a camt.053 bank statement;
* a CSV: the dataset its file name and folder give (``bo_lib.data.layout``: ``reference/``,
  ``opening/<date>/``, ``inbound/<date>/``, ``overrides/prices.csv``), else the contract its header
  line matches.

A CSV inside a data root (a folder holding ``reference/`` and ``inbound/``, found by walking up
from the file) is checked against that root's reference data, so an unknown security or
counterparty is a violation as in the daily run; the business date is the ``inbound/<YYYY-MM-DD>/``
folder's, when the file is in one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bo_lib.data.contracts import CONTRACTS
from bo_lib.data.errors import Violation
from bo_lib.data.layout import INBOUND_FILES, MANUAL_FILES, OPENING_FILES, REFERENCE_FILES
from bo_lib.hashing import sha256_file

FORMATS = ("csv", "mt940", "camt053", "mt564", "mt565", "mt566")
CA_FORMATS = ("mt564", "mt565", "mt566")
STATEMENT = "statement"
CA_MESSAGES = "ca_messages"

_SNIFF_BYTES = 1 << 16
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BLOCK2 = re.compile(r"\{2:[IO](\d{3})")
_CAMT_NAMESPACE = re.compile(r"""xmlns(?::\w+)?\s*=\s*["'][^"']*camt\.053""")
_XML_NAMESPACE = re.compile(r"""xmlns(?::\w+)?\s*=\s*["']([^"']*)["']""")
_BARE_MT940 = (re.compile(r"^:20:", re.M), re.compile(r"^:25:", re.M), re.compile(r"^:60[FM]:", re.M))
_NAME_FORMATS = ((".camt053.xml", "camt053"), (".mt940", "mt940"), (".sta", "mt940"), (".940", "mt940"),
                 (".mt564", "mt564"), (".mt565", "mt565"), (".mt566", "mt566"))


class UnknownFileKind(ValueError):
    """The kind of a file cannot be told (neither by its content nor by its name)."""


@dataclass
class Inspection:
    """What the workbench reads from one file.

    ``rows`` is the typed frame the workbench reads: for a CSV every row of the file with its
    ``source_line``, ``held_out`` (a row a control would not read) and ``attributed_fund``; for a
    bank statement one row per entry (``statements`` has one row per statement: balances, dates,
    entries, whether it balances); for corporate-action messages one row per message option.
    ``held_out`` counts the rows a control would not read; ``summary`` holds (label, value) lines
    worth a glance."""

    path: Path
    label: str
    format: str
    dataset: str
    sha256: str
    size_bytes: int
    rows: pd.DataFrame
    rows_in_file: int
    held_out: int
    violations: list[Violation]
    summary: list[tuple[str, str]] = field(default_factory=list)
    statements: pd.DataFrame | None = None
    data_root: Path | None = None
    business_date: dt.date | None = None

    @property
    def rows_read(self) -> int:
        """Rows a control reads: those in the file less those held out."""
        return max(self.rows_in_file - self.held_out, 0)

    @property
    def ok(self) -> bool:
        return not self.violations


# ---------------------------------------------------------------------------------------------
# where the file sits


def find_data_root(path: Path) -> Path | None:
    """The nearest folder above ``path`` holding ``reference/`` and ``inbound/``, if any."""
    for folder in Path(path).resolve().parents:
        if (folder / "reference").is_dir() and (folder / "inbound").is_dir():
            return folder
    return None


def _relative(path: Path, data_root: Path | None) -> tuple[str, ...] | None:
    if data_root is None:
        return None
    try:
        return Path(path).resolve().relative_to(Path(data_root).resolve()).parts
    except ValueError:
        return None


def business_date_of(path: Path) -> dt.date | None:
    """The date of the ``inbound/<YYYY-MM-DD>/`` folder the file is in (directly, or in its ``statements/``)."""
    parents = Path(path).resolve().parents
    for depth in (0, 1):
        if len(parents) > depth + 1:
            folder, above = parents[depth], parents[depth + 1]
            if above.name == "inbound" and _DATE_DIR.match(folder.name):
                try:
                    return dt.date.fromisoformat(folder.name)
                except ValueError:
                    return None
    return None


# ---------------------------------------------------------------------------------------------
# what kind of file


def _expected() -> str:
    names = sorted({*INBOUND_FILES.values(), *REFERENCE_FILES.values(), *OPENING_FILES.values()})
    return ("expected an MT940 bank statement ({1:...}{2:I940 or a bare :20:/:25:/:60F: message, or <account>.mt940), a camt.053 "
            "statement (XML in a camt.053 namespace, or <account>.camt053.xml), an MT564/MT565/MT566 corporate-action message "
            "({2:I564, {2:O566, ...) or a dataset CSV (" + ", ".join(names) + ", overrides/prices.csv, or a header line of a contract)")


def detect_format(path: Path, head: bytes) -> str:
    """``mt940``, ``camt053``, ``mt564``/``mt565``/``mt566`` or ``csv``, by content first, then name.
    Raises :class:`UnknownFileKind` naming the file and what was expected."""
    text = head.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    name = Path(path).name.lower()
    if "{1:" in text[:200] or text.startswith("{"):
        block2 = _BLOCK2.search(text)
        if block2:
            kind = block2.group(1)
            if kind in ("940", "950"):
                return "mt940"
            if f"mt{kind}" in CA_FORMATS:
                return f"mt{kind}"
            raise UnknownFileKind(f"{path}: a SWIFT MT{kind} message, which the workbench does not read; {_expected()}")
    if text.startswith("<"):
        if _CAMT_NAMESPACE.search(text):
            return "camt053"
        namespace = _XML_NAMESPACE.search(text)
        raise UnknownFileKind(f"{path}: XML " + (f"in the namespace {namespace.group(1)!r}" if namespace else "without a namespace")
                              + f", not a camt.053 statement; {_expected()}")
    if all(pattern.search(text) for pattern in _BARE_MT940):
        return "mt940"
    for suffix, kind in _NAME_FORMATS:
        if name.endswith(suffix):
            return kind
    if name.endswith(".csv") or _header_datasets(text):
        return "csv"
    raise UnknownFileKind(f"{path}: cannot tell what kind of file this is; {_expected()}")


def _header_datasets(text: str) -> list[str]:
    """Contracts whose columns are exactly the file's first line (twins like prices/opening_prices both)."""
    first = text.splitlines()[0] if text else ""
    columns = [c.strip().strip('"') for c in first.split(",")]
    if len(columns) < 2:
        return []
    return [name for name, contract in CONTRACTS.items() if sorted(contract.column_names) == sorted(columns)]


def detect_dataset(path: Path, head: bytes, data_root: Path | None = None) -> tuple[str, str]:
    """The contract of a CSV, and how it was told: by its place under a data root, by its folder
    and name, or by its header line. Raises :class:`UnknownFileKind` when none fits."""
    path = Path(path)
    name = path.name
    parts = _relative(path, data_root)
    folders = parts[:-1] if parts else tuple(p for p in path.resolve().parent.parts[-2:])
    for dataset, file_name in MANUAL_FILES.items():
        if path.resolve().as_posix().endswith("/" + file_name) and (parts is None or "/".join(parts) == file_name):
            return dataset, f"the file {file_name}"
    if len(folders) >= 2 and _DATE_DIR.match(folders[-1]):
        kind = folders[-2]
        table = {"opening": OPENING_FILES, "inbound": INBOUND_FILES}.get(kind)
        if table is not None:
            for dataset, file_name in table.items():
                if file_name == name:
                    return dataset, f"its folder {kind}/{folders[-1]}/ and name"
    if folders and folders[-1] == "reference":
        for dataset, file_name in REFERENCE_FILES.items():
            if file_name == name:
                return dataset, "its folder reference/ and name"
    by_name = [dataset for table in (INBOUND_FILES, REFERENCE_FILES, OPENING_FILES)
               for dataset, file_name in table.items() if file_name == name]
    if by_name:
        how = "its name" if len(by_name) == 1 else f"its name ({' or '.join(by_name)}: read as the first, outside its folder)"
        return by_name[0], how
    by_header = _header_datasets(head.decode("utf-8", errors="replace").lstrip("\ufeff"))
    if by_header:
        how = "its header line" + (f" ({' or '.join(by_header)}: read as the first)" if len(by_header) > 1 else "")
        return by_header[0], how
    raise UnknownFileKind(f"{path}: a CSV whose name and header line match no dataset of the workbench; {_expected()}")


# ---------------------------------------------------------------------------------------------
# reading it


def inspect_file(path: Path, data_root: Path | None = None, funds: dict | None = None, *,
                 dataset: str | None = None) -> Inspection:
    """Tell the kind of ``path``, read it as the workbench does, and return what was read.

    ``data_root``: the data root whose reference data a CSV is checked against (default: the
    nearest folder above the file holding ``reference/`` and ``inbound/``; none outside one).
    ``funds``: the fund parameters (accounts, share classes, custodians, statement currencies).
    ``dataset``: the contract of a CSV, when its name and folder do not tell it.
    Raises :class:`UnknownFileKind` for a file of no known kind, ``OSError`` for one that cannot
    be read."""
    path = Path(path)
    with path.open("rb") as handle:  # OSError (missing, a folder, no permission) for the caller
        head = handle.read(_SNIFF_BYTES)
    root = Path(data_root) if data_root is not None else find_data_root(path)
    kind = "csv" if dataset is not None else detect_format(path, head)
    if kind == "csv":
        if dataset is None:
            dataset, how = detect_dataset(path, head, root)
        elif dataset not in CONTRACTS:
            raise UnknownFileKind(f"{path}: --dataset {dataset!r} is not a dataset (known: {', '.join(sorted(CONTRACTS))})")
        else:
            how = "given"
        inspection = _inspect_csv(path, root, funds, dataset, how)
    elif kind in ("mt940", "camt053"):
        inspection = _inspect_statement(path, root, funds, kind)
    else:
        inspection = _inspect_ca_messages(path, root, kind)
    inspection.violations = sorted(inspection.violations, key=lambda v: (v.line is not None, v.line or 0))  # the file's order
    return inspection


def _base(path: Path, root: Path | None, kind: str, dataset: str) -> dict:
    from bo_lib.data.loaders import _label

    label = _label(path, root) if root is not None else path.name
    return {"path": path, "label": label, "format": kind, "dataset": dataset, "sha256": sha256_file(path),
            "size_bytes": path.stat().st_size, "data_root": root}


def _reference_frames(root: Path | None, skip: str) -> tuple[dict[str, pd.DataFrame] | None, str]:
    """The data root's reference datasets as a run validates against them (held-out rows dropped)."""
    from bo_lib.data.loaders import read_dataset

    if root is None:
        return None, "none (the file is not inside a data root; --data-root names one)"
    frames: dict[str, pd.DataFrame] = {}
    counted = []
    for name in REFERENCE_FILES:
        if name == skip:
            continue
        result = read_dataset(name, root, reference=frames)
        frame = result.frame
        if "held_out" in frame:
            frame = frame[~frame["held_out"]]
        frames[name] = frame
        counted.append(f"{len(frame)} {name}")
    return frames, f"{root / 'reference'} ({', '.join(counted)})"


def _inspect_csv(path: Path, root: Path | None, funds: dict | None, dataset: str, how: str) -> Inspection:
    from bo_lib.data.loaders import read_dataset

    contract = CONTRACTS[dataset]
    reference, reference_text = _reference_frames(root, dataset)
    day = business_date_of(path) if dataset in INBOUND_FILES else None
    result = read_dataset(dataset, root if root is not None else path.parent, day, path=path, keep_attribution=True,
                          reference=reference, funds=funds)
    frame = result.frame
    if "held_out" not in frame:
        frame = frame.assign(held_out=pd.Series(False, index=frame.index, dtype=bool))
    if "attributed_fund" not in frame:
        frame = frame.assign(attributed_fund="")
    held = int(frame["held_out"].sum())
    summary = [("dataset", f"{dataset}: {contract.description} (told by {how})")]
    if day is not None:
        summary.append(("business date", f"{day} (the inbound folder's)"))
    summary.append(("reference checks", reference_text))
    summary.append(("fund parameters", ", ".join(sorted(funds)) if funds else "none (accounts, funds and share classes not checked)"))
    summary += _csv_summary(contract, frame)
    if held:
        lines = frame.loc[frame["held_out"], "source_line"].astype(int).tolist()
        summary.append(("held-out lines", _ranges(lines)))
    return Inspection(**_base(path, root, "csv", dataset), rows=frame, rows_in_file=result.rows_in_file, held_out=held,
                      violations=list(result.violations), summary=summary, business_date=day)


def _csv_summary(contract, frame: pd.DataFrame) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    read = frame[~frame["held_out"]] if "held_out" in frame else frame
    date_columns = [contract.date_column] if contract.date_column else [c.name for c in contract.columns if c.kind == "date"][:1]
    for column in date_columns:
        if column in read and read[column].notna().any():
            first, last = read[column].min(), read[column].max()
            lines.append((column, f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} .. {last:%Y-%m-%d}"))
    if contract.fund_column and contract.fund_column in read and len(read):
        lines.append(("funds", _counts(read[contract.fund_column])))
    elif read["attributed_fund"].ne("").any():
        lines.append(("funds (by account)", _counts(read["attributed_fund"].replace("", "(none)"))))
    for column in ("account", "currency", "side", "event_type", "asset_class", "source", "order_type", "settlement_status"):
        if column in read and 0 < read[column].nunique() <= 12:
            lines.append((column, _counts(read[column])))
    return lines


def _counts(values: pd.Series) -> str:
    counts = values.astype("str").replace("", "(blank)").value_counts()
    return ", ".join(f"{key} {count}" for key, count in sorted(counts.items()))


def _ranges(numbers: list[int]) -> str:
    """``3, 7-9, 12``."""
    out: list[str] = []
    for number in sorted(set(numbers)):
        if out and "-" not in out[-1] and int(out[-1]) == number - 1:
            out[-1] = f"{out[-1]}-{number}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) == number - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{number}"
        else:
            out.append(str(number))
    return ", ".join(out)


def _cash_account(funds: dict | None, account: str):
    for code, fund in (funds or {}).items():
        for acct in fund.cash_accounts:
            if acct.account == account:
                return code, acct
    return None


def _inspect_statement(path: Path, root: Path | None, funds: dict | None, kind: str) -> Inspection:
    from bo_lib.data.formats.statement import statement_summaries, statements_to_frame
    from bo_lib.data.loaders import read_statement_file

    base = _base(path, root, kind, STATEMENT)
    account = path.name.split(".", 1)[0]
    owner = _cash_account(funds, account)
    currency = owner[1].currency if owner else None
    parsed, violations = read_statement_file(path, root, account, currency, kind)
    fund_code = owner[0] if owner else None
    if funds and owner is None:
        violations.append(Violation(base["label"], None, "account", "account belongs to no fund in the parameters", account))
    elif owner is not None and owner[1].statement_format != kind:
        violations.append(Violation(base["label"], None, None, f"a {kind} file for an account whose statements are "
                                    f"{owner[1].statement_format}", None, fund_code))
    violations = [Violation(v.file, v.line, v.column, v.rule, v.value, v.fund or fund_code) for v in violations]
    # a statement with any of these is held out whole (as ingest does); one that does not balance is
    # the intake control's red and the cash recon's exception, but its entries are still reconciled
    held = bool(violations)
    for statement in parsed:
        if not statement.balances():
            difference = statement.closing_balance - statement.opening_balance - statement.entries_total()
            violations.append(Violation(base["label"], None, "closing_balance",
                                        f"statement {statement.statement_id} does not balance: opening {statement.opening_balance} + "
                                        f"entries {statement.entries_total()} != closing {statement.closing_balance} (difference "
                                        f"{difference})", str(statement.closing_balance), fund_code))
    entries = statements_to_frame(parsed)
    entries["held_out"] = held
    statements = statement_summaries(parsed)
    day = business_date_of(path)
    summary: list[tuple[str, str]] = [("account", f"{account} (the file name's)"
                                       + (f", fund {fund_code}, {currency}" if owner else (", in no fund of the parameters" if funds else "")))]
    if day is not None:
        summary.append(("business date", f"{day} (the inbound folder's)"))
    for s in parsed:
        summary.append((f"statement {s.statement_id}", f"{s.account} {s.currency}, sequence {s.sequence_number or '-'}"))
        summary.append(("  opening", f"{s.opening_date:%Y-%m-%d} {_money(s.opening_balance)}"))
        summary.append(("  entries", f"{len(s.entries)}, total {_money(s.entries_total())}"))
        summary.append(("  closing", f"{s.closing_date:%Y-%m-%d} {_money(s.closing_balance)}"))
        summary.append(("  balances", "yes" if s.balances() else
                        f"NO (difference {_money(s.closing_balance - s.opening_balance - s.entries_total())})"))
    if not parsed:
        summary.append(("statements", "none read"))
    count = len(entries)
    return Inspection(**base, rows=entries, rows_in_file=count, held_out=count if held else 0, violations=violations,
                      summary=summary, statements=statements, business_date=day)


def _money(amount) -> str:
    return f"{amount:,.2f}"


def _inspect_ca_messages(path: Path, root: Path | None, kind: str) -> Inspection:
    try:
        from bo_lib.data.formats.ca_messages import read_ca_messages
    except ImportError as exc:
        raise UnknownFileKind(f"{path}: an {kind.upper()} corporate-action message, but this version of the workbench has no reader "
                              f"for them (bo_lib.data.formats.ca_messages: {exc})") from None
    frame, violations = read_ca_messages(path, root)
    frame = frame.reset_index(drop=True)
    if "held_out" in frame:
        held = int(frame["held_out"].fillna(False).astype(bool).sum())
    else:
        held = 0
    types = frame["message_type"].astype("str") if "message_type" in frame and len(frame) else pd.Series(dtype="str")
    if len(types):
        kind = _ca_format(types.iloc[0], kind)
    summary: list[tuple[str, str]] = []
    identity = [c for c in ("message_index", "message_number", "sender_reference", "message_reference", "message_type", "sender",
                            "corporate_reference", "function") if c in frame]
    messages = frame.drop_duplicates(identity) if len(frame) and identity else frame
    summary.append(("messages", f"{len(messages)} ({len(frame)} option rows)"))
    for column, title in (("message_type", "message types"), ("function", "functions"), ("event_type", "event types")):
        if column in messages and len(messages):
            summary.append((title, _counts(messages[column].fillna(""))))
    for column in ("isin", "account", "sender"):
        if column in frame and len(frame) and frame[column].notna().any():
            summary.append((column, _counts(messages[column].fillna(""))))
    for column in ("ex_date", "record_date", "pay_date"):
        if column in frame and len(frame):
            dates = pd.to_datetime(frame[column], errors="coerce").dropna()
            if len(dates):
                first, last = dates.min(), dates.max()
                summary.append((column, f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} .. {last:%Y-%m-%d}"))
    return Inspection(**_base(path, root, kind, CA_MESSAGES), rows=frame, rows_in_file=len(frame), held_out=held,
                      violations=list(violations), summary=summary, business_date=business_date_of(path))


def _ca_format(message_type: str, default: str) -> str:
    digits = re.sub(r"\D", "", str(message_type))
    return f"mt{digits}" if f"mt{digits}" in CA_FORMATS else default


# ---------------------------------------------------------------------------------------------
# for printing and for scripts


def printable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD (a timestamp with a time keeps it), missing values as blanks, every cell text."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            has_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
            text = values.dt.strftime("%Y-%m-%d %H:%M:%S" if has_time else "%Y-%m-%d")
        elif pd.api.types.is_float_dtype(values):
            text = values.map(_plain_number)
        else:
            text = values.astype("object").map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else
                                                 (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)))
        out[column] = text.where(values.notna(), "").astype("str").str.replace("\n", " / ", regex=False)  # a continuation line, on one line
    return out


def _plain_number(value: float) -> str:
    """15 significant digits (what the float holds, no noise), never in exponent form (0.000001, not 1e-06)."""
    if pd.isna(value):
        return ""
    return np.format_float_positional(float(f"{value:.15g}"), trim="-")


def frame_records(frame: pd.DataFrame | None) -> list[dict]:
    """JSON-ready records: ISO dates, NaN/NaT/NA as None, numpy scalars as Python ones."""
    if frame is None:
        return []
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({str(key): _json_value(value) for key, value in row.items()})
    return records


def _json_value(value):
    import decimal

    import numpy as np

    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def to_json_dict(inspection: Inspection, rows: int | None = None) -> dict:
    """The inspection as one JSON-ready object (``rows``: the first N rows only; None: all)."""
    from dataclasses import asdict

    shown = inspection.rows if rows is None else inspection.rows.head(rows)
    return {
        "path": str(inspection.path), "label": inspection.label, "format": inspection.format, "dataset": inspection.dataset,
        "sha256": inspection.sha256, "size_bytes": inspection.size_bytes,
        "data_root": str(inspection.data_root) if inspection.data_root is not None else None,
        "business_date": inspection.business_date.isoformat() if inspection.business_date else None,
        "rows_in_file": inspection.rows_in_file, "rows_read": inspection.rows_read, "held_out": inspection.held_out,
        "violation_count": len(inspection.violations),
        "violations": [asdict(v) for v in inspection.violations],
        "summary": [[label, value] for label, value in inspection.summary],
        "columns": [str(c) for c in inspection.rows.columns],
        "rows_shown": len(shown), "rows": frame_records(shown),
        "statements": frame_records(inspection.statements) if inspection.statements is not None else None,
    }
