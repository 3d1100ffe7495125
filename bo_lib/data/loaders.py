"""Loaders: read a dataset file, enforce its contract, return a typed DataFrame.

Every check is vectorised and every violation is collected (file, line, column, rule, value)
before anything is raised, so a user sees all problems of a file at once. Identifiers stay
strings (nothing is parsed as a number unless the contract says so). Rows of shared files are
attributed to a fund (by a fund column or by account), so one fund's bad row does not stop the
jobs of the others; a problem that cannot be attributed belongs to everyone.

``read_dataset`` returns the frame and the violations; ``load_dataset`` raises
:class:`DataValidationError` when there is any.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bo_lib.codes import COUNTRIES, CURRENCIES
from bo_lib.data import identifiers
from bo_lib.data.contracts import CONTRACTS, Column, Contract
from bo_lib.data.errors import DataValidationError, Violation
from bo_lib.data.formats.camt053 import parse_camt053
from bo_lib.data.formats.mt940 import parse_mt940
from bo_lib.data.formats.statement import BankStatement, StatementFormatError, statements_to_frame
from bo_lib.data.layout import INBOUND_FILES, OPENING_FILES, REFERENCE_FILES, inbound_dir, opening_date, statement_path

REFERENCE_DATASETS = tuple(REFERENCE_FILES)
OPENING_DATASETS = tuple(OPENING_FILES)
INBOUND_DATASETS = tuple(INBOUND_FILES)

_CHECKS = {
    "isin": (identifiers.valid_isin_mask, "invalid ISIN (format or check digit)"),
    "cusip": (identifiers.valid_cusip_mask, "invalid CUSIP (format or check digit)"),
    "lei": (lambda s: s.map(identifiers.is_valid_lei).astype(bool), "invalid LEI (format or check digits)"),
    "bic": (lambda s: s.map(identifiers.is_valid_bic).astype(bool), "invalid BIC format"),
    "currency": (lambda s: s.isin(CURRENCIES), "not an ISO 4217 currency code"),
    "country": (lambda s: s.isin(COUNTRIES), "not an ISO 3166 country code"),
}
#: no figure in a back office is this large: beyond it a number is a typo or a corrupt feed
DEFAULT_MAX_ABS = 1e13
#: nor is any non-zero figure this small (a quantity of 1e-217 is corruption, not a holding)
MIN_NONZERO_ABS = 1e-9
#: dates outside these years are typos (a 2062 trade date, a 0026 maturity), not dates
EARLIEST_DATE, LATEST_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31")
_TRUE, _FALSE = {"true", "t", "yes", "y", "1"}, {"false", "f", "no", "n", "0"}


@dataclass
class LoadResult:
    dataset: str
    path: Path
    frame: pd.DataFrame  # typed, with a `source_line` column; rows of the fund asked for
    violations: list[Violation]
    rows_in_file: int

    def raise_if_invalid(self) -> pd.DataFrame:
        if self.violations:
            raise DataValidationError(self.violations)
        return self.frame


def dataset_path(dataset: str, data_root: Path | str, business_date: dt.date | None = None) -> Path:
    data_root = Path(data_root)
    if dataset in REFERENCE_FILES:
        return data_root / "reference" / REFERENCE_FILES[dataset]
    if dataset in OPENING_FILES:
        return data_root / "opening" / opening_date(data_root).isoformat() / OPENING_FILES[dataset]
    if dataset in INBOUND_FILES:
        if business_date is None:
            raise ValueError(f"dataset {dataset!r} is daily: give a business date")
        return inbound_dir(data_root, business_date) / INBOUND_FILES[dataset]
    raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(CONTRACTS)}")


def _label(path: Path, data_root: Path | None) -> str:
    try:
        return path.resolve().relative_to(Path(data_root).resolve()).as_posix() if data_root else path.name
    except ValueError:
        return str(path)


def _read_raw(path: Path, label: str) -> tuple[pd.DataFrame | None, list[Violation]]:
    """The file as an all-text frame, and what is wrong with it as a file: lines that are not
    UTF-8 (each named by its real line number, the rest of the file still read), records with the
    wrong number of fields, a last line without its end (a truncated delivery)."""
    if not path.is_file():
        return None, [Violation(label, None, None, "expected file was not delivered")]
    text, violations = decode_lines(path.read_bytes(), label)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=False)
    except pd.errors.EmptyDataError:
        return None, [Violation(label, None, None, "file is empty (no header line)")]
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        line = int(m.group(2)) if m else None
        rule = f"malformed CSV: expected {m.group(1)} fields, saw {m.group(3)}" if m else f"malformed CSV: {exc}"
        return None, violations + [Violation(label, line, None, rule)]
    violations += _field_count_violations(text, label, len(raw.columns))
    if len(raw) and text and not text.endswith(("\n", "\r")):
        violations.append(Violation(label, _physical_lines(text), None, "last line has no line end: the file may be truncated"))
    return raw, violations


def decode_lines(data: bytes, label: str) -> tuple[str, list[Violation]]:
    """UTF-8 text of a delivered file (a leading byte-order mark dropped). A line that is not
    UTF-8 is a violation of that line (its undecodable bytes shown as U+FFFD); the others stand."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    lines, violations = [], []
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw_line.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            lines.append(raw_line.decode("utf-8", errors="replace"))
            violations.append(Violation(label, number, None, f"not UTF-8 text (byte {exc.start + 1} of the line: 0x{raw_line[exc.start]:02x})"))
    return "\n".join(lines), violations


def _physical_lines(text: str) -> int:
    return text.count("\n") + 1


def _field_count_violations(text: str, label: str, expected: int) -> list[Violation]:
    """pandas pads a short record with empty values; a record with fewer fields than the header is
    malformed, not a row with blanks (csv's reader counts fields, quotes and embedded newlines included)."""
    out = []
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    for record in reader:
        if record and len(record) != expected:
            out.append(Violation(label, reader.line_num, None, f"malformed CSV: expected {expected} fields, saw {len(record)}"))
    return out


def _column_violations(label, col: Column, values: pd.Series, lines: np.ndarray, funds: pd.Series) -> tuple[pd.Series, list[Violation]]:
    """Convert one column by its kind and check its rules; returns (typed values, violations)."""
    out: list[Violation] = []
    stripped = values.str.strip()
    blank = stripped.eq("")

    def flag(mask: pd.Series, rule: str) -> None:
        for i in np.flatnonzero(mask.to_numpy()):
            out.append(Violation(label, int(lines[i]), col.name, rule, str(values.iat[i]), funds.iat[i] or None))

    if col.required:
        flag(blank, "required value missing")
    present = ~blank
    typed: pd.Series
    numeric = None
    if col.kind in ("float", "int"):
        numeric = pd.to_numeric(stripped.where(present), errors="coerce")
        bad = present & numeric.isna()
        flag(bad, "not a number")
        infinite = present & ~bad & ~np.isfinite(numeric.astype("float64"))
        flag(infinite, "not a finite number")
        bad = bad | infinite
        limit = col.max_abs if col.max_abs is not None else DEFAULT_MAX_ABS
        implausible = present & ~bad & (numeric.abs() > limit)
        flag(implausible, f"implausible magnitude (beyond {limit:g})")
        tiny = present & ~bad & numeric.ne(0) & (numeric.abs() < MIN_NONZERO_ABS)
        flag(tiny, f"implausible magnitude (non-zero below {MIN_NONZERO_ABS:g})")
        bad = bad | implausible | tiny
        if col.kind == "int":
            not_int = present & ~bad & (numeric % 1 != 0)
            flag(not_int, "not a whole number")
            typed = numeric.where(~not_int & ~bad).astype("Int64")
        else:
            typed = numeric.where(~bad).astype("float64")  # never a stored inf or an absurd number
        if col.min_value is not None:
            below = present & ~bad & ((numeric <= col.min_value) if col.exclusive_min else (numeric < col.min_value))
            flag(below, f"must be {'>' if col.exclusive_min else '>='} {col.min_value:g}")
        if col.allowed is not None:
            flag(present & ~bad & ~numeric.isin(col.allowed), f"not an allowed value (one of {', '.join(map(str, col.allowed))})")
    elif col.kind == "date":
        parsed = pd.to_datetime(stripped.where(present), format="%Y-%m-%d", errors="coerce")
        flag(present & parsed.isna(), "not a date in YYYY-MM-DD format")
        out_of_range = present & parsed.notna() & ((parsed < EARLIEST_DATE) | (parsed > LATEST_DATE))
        flag(out_of_range, f"implausible date (before {EARLIEST_DATE.year} or after {LATEST_DATE.year})")
        parsed = parsed.where(~out_of_range)
        typed = parsed.astype("datetime64[ns]")
    elif col.kind == "bool":
        lowered = stripped.str.lower()
        ok = lowered.isin(_TRUE | _FALSE)
        flag(present & ~ok, "not a boolean (true/false)")
        typed = lowered.isin(_TRUE)
    else:
        typed = stripped
        if col.allowed is not None:
            allowed = tuple(a for a in col.allowed if a != "")
            flag(present & ~stripped.isin(allowed), f"not an allowed value (one of {', '.join(allowed)})")
        if col.pattern is not None:
            flag(present & ~stripped.str.fullmatch(col.pattern).fillna(False).astype(bool), f"does not match the format {col.pattern}")
        if col.check is not None:
            mask_fn, rule = _CHECKS[col.check]
            valid = mask_fn(stripped.where(present, None)).astype(bool)
            flag(present & ~valid, rule)
    return typed, out


def _row_rules(contract: Contract, label: str, df: pd.DataFrame, raw: pd.DataFrame, lines: np.ndarray, funds: pd.Series) -> list[Violation]:
    out: list[Violation] = []

    def flag(mask: pd.Series, column: str, rule: str) -> None:
        for i in np.flatnonzero(mask.fillna(False).to_numpy()):
            out.append(Violation(label, int(lines[i]), column, rule, str(raw[column].iat[i]) or None, funds.iat[i] or None))

    for rule in contract.rules:
        if rule == "settles_after_trade":
            flag(df["settlement_date"] < df["trade_date"], "settlement_date", "settlement date is before the trade date")
        elif rule == "bond_terms":
            bond = df["asset_class"].str.endswith("bond")
            for c in ("coupon_rate", "coupon_frequency", "day_count", "maturity_date"):
                flag(bond & (df[c].isna() | df[c].astype("str").eq("")), c, "required for a bond")
        elif rule == "option_terms":
            option = df["asset_class"].eq("option")
            for c in ("underlying_id", "put_call", "expiry_date"):
                flag(option & (df[c].isna() | df[c].astype("str").eq("")), c, "required for an option")
        elif rule == "isin_or_option":
            flag(df["asset_class"].ne("option") & df["isin"].eq(""), "isin", "required for every security but a listed option")
        elif rule == "failing_has_reason":
            flag(df["settlement_status"].isin(["PENF", "PART"]) & df["reason_code"].eq(""), "reason_code", "a failing instruction needs a reason code")
        elif rule == "event_terms":
            cash = df["event_type"].isin(["DVCA", "INTR", "CAPD"])
            flag(cash & df["gross_rate"].isna(), "gross_rate", "required for a cash event")
            ratio = df["event_type"].isin(["SPLF", "SPLR", "DVSE", "BONU"])
            flag(ratio & (df["ratio_new"].isna() | df["ratio_old"].isna()), "ratio_new", "split / stock events need ratio_new and ratio_old")
        else:  # pragma: no cover - a contract naming an unknown rule is a programming error
            raise KeyError(rule)
    return out


def validate_frame(raw: pd.DataFrame, contract: Contract, label: str, *, business_date: dt.date | None = None,
                   reference: dict[str, pd.DataFrame] | None = None, account_funds: dict[str, str] | None = None,
                   share_classes: dict[str, frozenset[str]] | None = None,
                   account_custodians: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[Violation]]:
    """Check a raw (all-text) frame against a contract; returns the typed frame and all violations.

    The frame keeps every row, with ``held_out`` true for a row that has a violation (and for
    every row when the file itself cannot be trusted: a required column missing). A held-out row
    is stored and counted but never reaches a figure. ``account_funds`` (account -> fund) and
    ``share_classes`` (fund -> its class codes) and ``account_custodians`` (securities account ->
    its custodian) are the fund parameters the rows are checked against."""
    lines = np.arange(len(raw)) + 2  # line 1 is the header
    violations = _header_violations(contract, label, raw)
    missing_cols = {v.column for v in violations if v.rule == "required column missing"}
    raw = raw.reindex(columns=contract.column_names, fill_value="")
    funds = _row_funds(contract, raw, account_funds, share_classes)
    typed = {}
    for col in contract.columns:
        values, col_violations = _column_violations(label, col, raw[col.name].astype("str"), lines, funds)
        typed[col.name] = values
        if col.name not in missing_cols:
            violations += col_violations
    df = pd.DataFrame(typed, index=raw.index)
    violations += _row_rules(contract, label, df, raw, lines, funds)
    violations += _ownership_violations(contract, label, df, lines, funds, account_funds, share_classes, missing_cols)
    violations += _custodian_violations(contract, label, df, lines, funds, account_custodians, missing_cols)
    violations += _duplicate_key_violations(contract, label, df, lines, funds)
    violations += _reference_violations(contract, label, df, lines, funds, reference)
    if business_date is not None and contract.date_column:
        dates, bd = df[contract.date_column], pd.Timestamp(business_date)
        if contract.date_rule == "not_after":
            wrong, rule = dates.notna() & (dates > bd), f"date is after the file's business date {business_date}"
        else:
            wrong, rule = dates.notna() & (dates != bd), f"date is not the file's business date {business_date}"
        for i in np.flatnonzero(wrong.to_numpy()):
            violations.append(Violation(label, int(lines[i]), contract.date_column, rule, str(raw[contract.date_column].iat[i]), funds.iat[i] or None))
    df["source_line"] = lines
    df["_fund"] = funds.to_numpy()
    df["held_out"] = held_out_mask(lines, violations, whole_file=bool(missing_cols))
    return df, violations


def held_out_mask(lines: np.ndarray, violations: list[Violation], *, whole_file: bool = False) -> np.ndarray:
    """Which rows are held out: those on a line some violation names (or all, for a file that
    cannot be read as its contract says)."""
    if whole_file:
        return np.ones(len(lines), dtype=bool)
    bad_lines = {v.line for v in violations if v.line is not None and v.line >= 2}
    return np.isin(lines, sorted(bad_lines))


def _header_violations(contract: Contract, label: str, raw: pd.DataFrame) -> list[Violation]:
    expected = contract.column_names
    out = [Violation(label, 1, name, "required column missing") for name in expected if name not in raw.columns]
    out += [Violation(label, 1, name, "unexpected column (not in the contract)") for name in raw.columns if name not in expected]
    return out


def _row_funds(contract: Contract, raw: pd.DataFrame, account_funds: dict[str, str] | None,
               share_classes: dict[str, frozenset[str]] | None) -> pd.Series:
    """The fund each row belongs to ("" when nobody's in particular). A fund column naming no
    known fund, or a fund the row's account does not belong to, makes the row everybody's
    problem: it is attributed to nobody, so every fund's input check shows it."""
    blank = pd.Series([""] * len(raw), index=raw.index, dtype="str")
    owners = raw[contract.account_column or "account"].str.strip().map(account_funds or {}).fillna("") \
        if (contract.account_column or "account" in raw.columns) and account_funds else blank
    if contract.fund_column:
        funds = raw[contract.fund_column].str.strip()
        known = _known_funds(account_funds, share_classes)
        if known is not None:
            funds = funds.where(funds.isin(known), "")
        if "account" in raw.columns and account_funds:
            funds = funds.where(owners.eq("") | owners.eq(funds), "")
        return funds
    if contract.account_column and account_funds:
        return owners
    return blank


def _known_funds(account_funds: dict[str, str] | None, share_classes: dict[str, frozenset[str]] | None) -> set[str] | None:
    if share_classes:
        return set(share_classes)
    if account_funds:
        return set(account_funds.values())
    return None


def _ownership_violations(contract: Contract, label: str, df: pd.DataFrame, lines: np.ndarray, funds: pd.Series,
                          account_funds: dict[str, str] | None, share_classes: dict[str, frozenset[str]] | None,
                          missing_cols: set[str]) -> list[Violation]:
    """A row must belong somewhere, and to one place: its fund is a fund of the parameters, its
    account belongs to that fund, its share class is one of that fund's classes."""
    out: list[Violation] = []

    def flag(mask, column: str, rule) -> None:
        for i in np.flatnonzero(np.asarray(mask)):
            out.append(Violation(label, int(lines[i]), column, rule(i) if callable(rule) else rule, str(df[column].iat[i]), funds.iat[i] or None))

    known = _known_funds(account_funds, share_classes)
    fund_col = contract.fund_column
    if fund_col and known is not None and fund_col not in missing_cols:
        claimed = df[fund_col]
        flag(claimed.ne("") & ~claimed.isin(known), fund_col, f"unknown fund (the parameters know {', '.join(sorted(known))})")
        if "account" in df.columns and account_funds and "account" not in missing_cols:
            owner = df["account"].map(account_funds).fillna("")
            flag(claimed.isin(known) & df["account"].ne("") & owner.eq(""), "account", "account belongs to no fund in the parameters")
            flag(claimed.isin(known) & owner.ne("") & owner.ne(claimed), "account",
                 lambda i: f"account belongs to fund {owner.iat[i]}, not to {claimed.iat[i]}")
    if fund_col and share_classes and "share_class" in df.columns and "share_class" not in missing_cols:
        classes = df["share_class"]
        fund_classes = df[fund_col].map(lambda f: share_classes.get(f, frozenset()))
        unknown = [bool(c) and f in share_classes and c not in k for c, f, k in zip(classes, df[fund_col], fund_classes)]
        flag(unknown, "share_class", lambda i: f"not a share class of fund {df[fund_col].iat[i]} "
                                               f"(one of {', '.join(sorted(share_classes[df[fund_col].iat[i]]))})")
    if contract.account_column and account_funds and contract.account_column not in missing_cols and not fund_col:
        accounts = df[contract.account_column]
        flag(accounts.ne("") & funds.eq(""), contract.account_column, "account belongs to no fund in the parameters")
    return out


def _custodian_violations(contract: Contract, label: str, df: pd.DataFrame, lines: np.ndarray, funds: pd.Series,
                          account_custodians: dict[str, str] | None, missing_cols: set[str]) -> list[Violation]:
    """A custodian reports only the accounts held with it: the account's custodian in the fund
    parameters is the custodian_id of the row."""
    if not account_custodians or "custodian_id" not in df.columns or contract.account_column is None \
            or {"custodian_id", contract.account_column} & missing_cols:
        return []
    held_at = df[contract.account_column].map(account_custodians).fillna("")
    wrong = held_at.ne("") & df["custodian_id"].ne("") & held_at.ne(df["custodian_id"])
    return [Violation(label, int(lines[i]), contract.account_column,
                      f"account is held at custodian {held_at.iat[i]}, not at {df['custodian_id'].iat[i]}",
                      str(df[contract.account_column].iat[i]), funds.iat[i] or None) for i in np.flatnonzero(wrong.to_numpy())]


def _duplicate_key_violations(contract: Contract, label: str, df: pd.DataFrame, lines: np.ndarray, funds: pd.Series) -> list[Violation]:
    """Never pair duplicates silently: keys are compared as the controls see them (stripped), so
    'T1 ' duplicates 'T1'. Which of two rows with one key is right cannot be told, so every
    occurrence is a violation (and held out), each naming the other lines."""
    key = list(contract.key)
    keys = df[key].astype("str")
    blank = keys.apply(lambda s: s.str.strip().isin(["", "<NA>", "NaT", "nan"])).any(axis=1)
    dup = keys.duplicated(keep=False) & ~blank
    where: dict[tuple, list[int]] = {}
    for i in np.flatnonzero(dup.to_numpy()):
        where.setdefault(tuple(keys.iloc[i]), []).append(i)
    out = []
    for k, rows in where.items():
        for i in rows:
            others = ", ".join(str(int(lines[j])) for j in rows if j != i)
            out.append(Violation(label, int(lines[i]), ",".join(key), f"duplicate key {'/'.join(k)} (also on line {others})",
                                 None, funds.iat[i] or None))
    return out


def _reference_violations(contract: Contract, label: str, df: pd.DataFrame, lines: np.ndarray, funds: pd.Series,
                          reference: dict[str, pd.DataFrame] | None) -> list[Violation]:
    out = []
    for ref in contract.references:
        target = df if ref.dataset == contract.name else (reference or {}).get(ref.dataset)
        if target is None:
            continue
        known = set(target[ref.target].astype("str"))
        values = df[ref.column].astype("str")
        unknown = values.ne("") & ~values.isin(known)
        for i in np.flatnonzero(unknown.to_numpy()):
            out.append(Violation(label, int(lines[i]), ref.column, f"unknown {ref.target} (not in {ref.dataset})", values.iat[i], funds.iat[i] or None))
    return out


def read_dataset(dataset: str, data_root: Path | str, business_date: dt.date | None = None, *, fund: str | None = None,
                 account_funds: dict[str, str] | None = None, reference: dict[str, pd.DataFrame] | None = None,
                 path: Path | None = None, keep_attribution: bool = False,
                 share_classes: dict[str, frozenset[str]] | None = None, funds: dict | None = None) -> LoadResult:
    """Read and validate one dataset. With ``fund``, keep that fund's rows and the violations
    that are that fund's or nobody's in particular. With ``keep_attribution`` the frame keeps an
    ``attributed_fund`` column (the fund each row belongs to, "" when it belongs to nobody in
    particular): what ingest stores. ``funds`` (the fund parameters) gives the accounts, share
    classes and custodians the rows are checked against (``account_funds`` and ``share_classes``
    give the first two alone)."""
    contract = CONTRACTS[dataset]
    account_custodians = None
    if funds is not None:
        account_funds = account_funds or account_fund_map(funds)
        share_classes = share_classes or fund_share_classes(funds)
        account_custodians = account_custodian_map(funds)
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in contract.column_names})
    try:
        path = Path(path) if path is not None else dataset_path(dataset, data_root, business_date)
    except FileNotFoundError as exc:  # e.g. no opening/<date> folder at all: an input problem, not a crash
        return LoadResult(dataset, Path(data_root), empty.assign(source_line=pd.Series(dtype="int64")),
                          [Violation(f"opening/{OPENING_FILES[dataset]}" if dataset in OPENING_FILES else dataset, None, None, str(exc))], 0)
    label = _label(path, data_root)
    raw, read_violations = _read_raw(path, label)
    if raw is None:
        return LoadResult(dataset, path, empty.assign(source_line=pd.Series(dtype="int64")), read_violations, 0)
    frame, violations = validate_frame(raw, contract, label, business_date=business_date if dataset in INBOUND_FILES else None,
                                       reference=reference, account_funds=account_funds, share_classes=share_classes,
                                       account_custodians=account_custodians)
    violations = _attributed_by_line(read_violations, frame) + violations
    frame["held_out"] = frame["held_out"] | held_out_mask(frame["source_line"].to_numpy(), read_violations)
    if fund is not None and (contract.fund_column or (contract.account_column and account_funds)):
        frame = frame[frame["_fund"] == fund]
        violations = [v for v in violations if v.fund in (None, fund)]
    frame = frame.rename(columns={"_fund": "attributed_fund"}) if keep_attribution else frame.drop(columns="_fund")
    return LoadResult(dataset, path, frame.reset_index(drop=True), violations, len(raw))


def _attributed_by_line(violations: list[Violation], frame: pd.DataFrame) -> list[Violation]:
    """A problem of the file's text on a row's line (not UTF-8, a short record) is that row's fund's."""
    owner = dict(zip(frame["source_line"], frame["_fund"]))
    return [replace(v, fund=owner.get(v.line) or None) if v.line is not None and v.fund is None else v for v in violations]


def load_dataset(dataset: str, data_root: Path | str, business_date: dt.date | None = None, **kwargs) -> pd.DataFrame:
    """Typed, validated frame of a dataset; raises DataValidationError naming every violation."""
    return read_dataset(dataset, data_root, business_date, **kwargs).raise_if_invalid()


def load_reference(data_root: Path | str) -> dict[str, pd.DataFrame]:
    """Securities master, counterparties, market closures and investors, validated together."""
    frames, violations = {}, []
    for name in REFERENCE_DATASETS:
        result = read_dataset(name, data_root, reference=frames)
        frames[name] = result.frame
        violations += result.violations
    if violations:
        raise DataValidationError(violations)
    return frames


# ---------------------------------------------------------------------------------------------
# bank statements


def read_statement_file(path: Path, data_root: Path | str | None, account: str, currency: str | None,
                        statement_format: str) -> tuple[list[BankStatement], list[Violation]]:
    """Parse one statement file expected for ``account`` (in ``currency``). A malformed file, or a
    statement for another account or currency, is a violation naming the file and rule."""
    label = _label(path, Path(data_root) if data_root is not None else None)
    try:
        parsed = parse_mt940(path) if statement_format == "mt940" else parse_camt053(path)
    except StatementFormatError as exc:
        return [], [Violation(label, exc.line if isinstance(exc.line, int) else None, None, exc.rule)]
    violations = []
    for st in parsed:
        if st.account != account:
            violations.append(Violation(label, None, "account", f"statement is for account {st.account}, expected {account}"))
        if currency is not None and st.currency != currency:
            violations.append(Violation(label, None, "currency", f"statement currency {st.currency}, account currency {currency}"))
    return parsed, violations


def read_statements(data_root: Path | str, business_date: dt.date, cash_accounts: list[dict]) -> tuple[list[BankStatement], pd.DataFrame, list[Violation]]:
    """Parse the day's statement of each cash account (``account``, ``statement_format`` keys).
    A missing or malformed statement is a violation, never a silent gap."""
    statements: list[BankStatement] = []
    violations: list[Violation] = []
    for acct in cash_accounts:
        path = statement_path(data_root, business_date, acct["account"], acct["statement_format"])
        if not path.is_file():
            continue  # whether one was due is the intake control's question (payment-system calendar)
        parsed, problems = read_statement_file(path, data_root, acct["account"], acct["currency"], acct["statement_format"])
        statements += parsed
        violations += problems
    entries = statements_to_frame(statements)
    return statements, entries, violations


def fund_share_classes(funds: dict) -> dict[str, frozenset[str]]:
    """fund code -> the codes of its share classes, from the fund parameters."""
    return {code: frozenset(c.code for c in fund.share_classes) for code, fund in funds.items()}


def account_custodian_map(funds: dict) -> dict[str, str]:
    """securities account -> the custodian it is held at, from the fund parameters."""
    return {acct.account: acct.custodian for fund in funds.values() for acct in fund.securities_accounts}


def account_fund_map(funds: dict) -> dict[str, str]:
    """account -> fund code, for every securities and cash account in the fund parameters."""
    mapping = {}
    for code, fund in funds.items():
        for acct in fund.securities_accounts:
            mapping[acct.account] = code
            mapping[f"{acct.account}-OPT"] = code
        for acct in fund.cash_accounts:
            mapping[acct.account] = code
    return mapping
