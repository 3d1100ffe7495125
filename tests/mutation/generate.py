"""The mutations: generated from the dataset contracts (every inbound dataset, every column of its
contract), plus the bank statement mutations. Each one is a transformation of one delivered file's
bytes, with what a correct product must say about it: the line (the mutated row's; ``None`` for a
file-level mutation, which may be named on line 1 or as the whole file) and the columns a violation
may name.

Rows are mutated in the middle of the file (rows of USEQ where the file has fund rows), so that
rows before and after it exist to check that they survive unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from bo_lib.data.contracts import CONTRACTS, Column
from bo_lib.data.layout import INBOUND_FILES

from tests.mutation.world import (LAST, account_funds, clean_bytes, clean_rows, custodian_of, funds, inbound_rel, parse_csv,
                                  statement_files, write_csv)

Transform = Callable[[bytes], bytes]

NON_FINITE = ("inf", "-inf", "nan", "Infinity")
EXTREME = ("1e308", "-1e308", "1e15", "1e999")  # 1e999 overflows to inf when parsed
BAD_DATES = ("2026-13-45", "2026-02-30", "06/11/2026")
#: a magnitude no back-office figure reaches: a number at or above it is a data error
PLAUSIBLE_MAX = 1e15
OWNER = "USEQ"  # the fund whose rows are mutated where a file has fund rows
OTHER = "GLBD"  # the fund whose code or account is put on a USEQ row


@dataclass(frozen=True)
class Mutation:
    dataset: str  # contract name, or "statement"
    kind: str
    column: str | None
    value: str  # what was put in, or what was done
    line: int | None  # the mutated row's line (1 = header); None: a file-level mutation
    file: str  # path under the data root
    transform: Transform = field(compare=False, repr=False)
    expect_columns: frozenset[str] | None = None  # columns a violation may name; None: any (or none)
    also_lines: frozenset[int] = frozenset()  # other lines a violation may name instead (a duplicate's first line)
    owner: str | None = None  # the fund whose row it is, when known

    @property
    def file_level(self) -> bool:
        return self.line is None

    @property
    def id(self) -> str:
        where = "file" if self.line is None else f"L{self.line}"
        value = self.value if len(self.value) <= 24 else self.value[:21] + "..."
        prefix = self.file.rsplit("/", 1)[-1] if self.dataset == "statement" else self.dataset
        return f"{prefix}.{self.column or '*'}:{self.kind}={value!r}@{where}"

    def describe(self) -> str:
        where = "the whole file" if self.line is None else f"line {self.line}"
        col = f", column {self.column}" if self.column else ""
        return f"mutation {self.kind} ({self.value!r}) of {self.file}, {where}{col}"

    def apply(self, data: bytes) -> bytes:
        return self.transform(data)


# ------------------------------------------------------------------------------------------------
# transformations


def set_cell(line: int, column: str, value: str) -> Transform:
    def transform(data: bytes) -> bytes:
        rows = parse_csv(data)
        rows[line - 1][rows[0].index(column)] = value
        return write_csv(rows)
    return transform


def set_cells(line: int, values: dict[str, str]) -> Transform:
    def transform(data: bytes) -> bytes:
        rows = parse_csv(data)
        for column, value in values.items():
            rows[line - 1][rows[0].index(column)] = value
        return write_csv(rows)
    return transform


def drop_column(column: str) -> Transform:
    def transform(data: bytes) -> bytes:
        rows = parse_csv(data)
        i = rows[0].index(column)
        return write_csv([r[:i] + r[i + 1:] for r in rows])
    return transform


def rename_header(column: str, new: str) -> Transform:
    def transform(data: bytes) -> bytes:
        rows = parse_csv(data)
        rows[0][rows[0].index(column)] = new
        return write_csv(rows)
    return transform


def empty_file(data: bytes) -> bytes:
    return b""


def header_only(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0] + b"\n"


def truncate_last_line(data: bytes) -> bytes:
    """The last record cut in the middle, no newline after it (a transfer that stopped)."""
    lines = data.rstrip(b"\n").split(b"\n")
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return b"\n".join(lines)


def append_copy(line: int, changes: dict[str, Callable[[str], str]]) -> Transform:
    """A copy of the row of ``line`` appended at the end, its cells changed by ``changes``."""
    def transform(data: bytes) -> bytes:
        rows = parse_csv(data)
        copy = list(rows[line - 1])
        for column, change in changes.items():
            i = rows[0].index(column)
            copy[i] = change(copy[i])
        return write_csv(rows + [copy])
    return transform


def latin1_in_row(line: int, column: str) -> Transform:
    """One Latin-1 byte (é = b'\\xe9') in one cell of one row; every other line stays UTF-8."""
    def transform(data: bytes) -> bytes:
        rows = parse_csv(data)
        i = rows[0].index(column)
        rows[line - 1][i] = rows[line - 1][i] + "\u00e9"
        text = write_csv(rows).decode("utf-8").split("\n")
        encoded = [t.encode("latin-1") if n == line - 1 else t.encode("utf-8") for n, t in enumerate(text)]
        return b"\n".join(encoded)
    return transform


def wrong_check_digit(isin: str) -> str:
    return isin[:-1] + str((int(isin[-1]) + 1) % 10) if isin and isin[-1].isdigit() else isin + "X"


# ------------------------------------------------------------------------------------------------
# which row


def row_fund(dataset: str, row: dict[str, str]) -> str:
    contract = CONTRACTS[dataset]
    if contract.fund_column:
        return row.get(contract.fund_column, "").strip()
    if contract.account_column:
        return account_funds().get(row.get(contract.account_column, "").strip(), "")
    return ""


def records(dataset: str) -> list[dict[str, str]]:
    rows = clean_rows(dataset)
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def pick_line(dataset: str, want: Callable[[dict], bool] = lambda row: True, fund: str | None = OWNER) -> int | None:
    """The line of a middle row among the rows ``want`` accepts (``fund``'s rows first)."""
    rows = records(dataset)
    candidates = [i for i, r in enumerate(rows) if want(r)]
    preferred = [i for i in candidates if fund and row_fund(dataset, rows[i]) == fund] or candidates
    if not preferred:
        return None
    return preferred[len(preferred) // 2] + 2


def row_at(dataset: str, line: int) -> dict[str, str]:
    return records(dataset)[line - 2]


# ------------------------------------------------------------------------------------------------
# generation from the contracts


def _is_identifier(contract, col: Column) -> bool:
    """An identifier of something the world must know (not the row's own key, not free text)."""
    referenced = {r.column for r in contract.references}
    return col.name.endswith("_id") and col.name not in contract.key and col.name not in referenced


def _value_mutations(dataset: str, col: Column) -> list[tuple[str, str, Callable[[dict], bool]]]:
    """(kind, value, which rows qualify) for one column."""
    contract = CONTRACTS[dataset]
    present = lambda r: r.get(col.name, "").strip() != ""  # noqa: E731
    anyrow = lambda r: True  # noqa: E731
    out: list[tuple[str, str, Callable[[dict], bool]]] = []
    if col.kind in ("float", "int"):
        out += [("non-finite number", v, anyrow) for v in NON_FINITE]
        out += [("extreme number", v, anyrow) for v in EXTREME]
        if col.min_value is not None:
            out.append(("negative where not allowed", "-1", anyrow))
            if col.exclusive_min:
                out.append(("zero where positive required", "0", anyrow))
    elif col.kind == "date":
        out += [("bad date", v, anyrow) for v in BAD_DATES]
        if col.required:
            out.append(("bad date", "", present))
    elif col.kind == "str":
        if col.name == contract.fund_column:
            out.append(("unknown fund", "NO", anyrow))
        if col.name == "share_class":
            out.append(("unknown share class", "Z", anyrow))
        if col.check == "currency" or col.name.endswith("currency"):
            out.append(("unknown currency", "ZZZ", anyrow))
        if col.name == "account" or col.name == contract.account_column:
            out.append(("unknown account", "9999999999", anyrow))
        for ref in contract.references:
            if ref.column == col.name:
                out.append(("unknown identifier", "EQ99999" if ref.target == "security_id" else "ZZ-UNKNOWN", anyrow))
        if _is_identifier(contract, col):
            out.append(("unknown identifier", "ZZ-UNKNOWN", anyrow))
        if col.allowed is not None and "ZZ" not in col.allowed:
            out.append(("unknown code", "ZZ", anyrow))
        if col.name == "isin" or col.check == "isin":
            out.append(("wrong check digit", "", present))  # the value is the row's own ISIN with its check digit changed
    return out


def _key_mutations(dataset: str) -> list[Mutation]:
    contract = CONTRACTS[dataset]
    key = list(contract.key)
    line = pick_line(dataset, lambda r: all(r[k].strip() for k in key))
    if line is None:
        return []
    appended = len(clean_rows(dataset)) + 1
    expect = frozenset(key) | {",".join(key)}
    variants = [("duplicate key", "exact copy", lambda v: v), ("duplicate key", "trailing space", lambda v: v + " "),
                ("duplicate key", "leading space", lambda v: " " + v)]
    return [Mutation(dataset, kind, key[0], f"{value} of line {line}", appended, inbound_rel(dataset),
                     append_copy(line, {key[0]: change}), expect, frozenset({line}), row_fund(dataset, row_at(dataset, line)) or None)
            for kind, value, change in variants]


def _other_fund_mutations(dataset: str) -> list[Mutation]:
    """A row of one fund carrying another fund's code or account."""
    contract = CONTRACTS[dataset]
    out = []
    mapping = account_funds()
    if contract.fund_column and "account" in contract.column_names:
        line = pick_line(dataset, lambda r: mapping.get(r["account"]) == OWNER and r[contract.fund_column] == OWNER)
        if line is not None:
            out.append(Mutation(dataset, "another fund's row", contract.fund_column, f"{OTHER} on a {OWNER} account", line,
                                inbound_rel(dataset), set_cell(line, contract.fund_column, OTHER),
                                frozenset({contract.fund_column, "account"}), owner=OWNER))
    elif contract.fund_column and "share_class" in contract.column_names:
        line = pick_line(dataset, lambda r: r[contract.fund_column] == OWNER)
        if line is not None:
            out.append(Mutation(dataset, "another fund's row", contract.fund_column, f"{OTHER} on a {OWNER} class", line,
                                inbound_rel(dataset), set_cell(line, contract.fund_column, OTHER),
                                frozenset({contract.fund_column, "share_class"}), owner=OWNER))
    elif contract.account_column and "custodian_id" in contract.column_names:
        line = pick_line(dataset, lambda r: mapping.get(r["account"]) == OWNER)
        if line is not None:
            custodian = row_at(dataset, line)["custodian_id"]
            foreign = next(a.account for code, f in sorted(funds().items()) if code != OWNER
                           for a in f.securities_accounts if a.custodian != custodian)
            out.append(Mutation(dataset, "another fund's account", contract.account_column,
                                f"{foreign} ({mapping[foreign]}, at {custodian_of(foreign)})", line, inbound_rel(dataset),
                                set_cell(line, contract.account_column, foreign), frozenset({contract.account_column, "custodian_id"}),
                                owner=OWNER))
    return out


def _encoding_column(dataset: str) -> str:
    contract = CONTRACTS[dataset]
    text = [c.name for c in contract.columns if c.kind == "str" and c.name in ("security_name", "description", "name", "administrator_id")]
    plain = [c.name for c in contract.columns if c.kind == "str" and c.pattern is None and c.allowed is None and c.check is None
             and c.name not in contract.key and c.name not in (contract.fund_column, contract.account_column, "account")]
    return (text or plain or [contract.columns[0].name])[0]


def csv_mutations(dataset: str) -> list[Mutation]:
    """Every mutation of one inbound dataset's file of the last sample date."""
    contract = CONTRACTS[dataset]
    rel = inbound_rel(dataset)
    out: list[Mutation] = [
        Mutation(dataset, "empty file", None, "0 bytes", None, rel, empty_file),
        Mutation(dataset, "header only", None, "no rows", None, rel, header_only),
    ]
    last = len(clean_rows(dataset))
    out.append(Mutation(dataset, "truncated last line", None, "cut mid-record, no newline", last, rel, truncate_last_line,
                        owner=row_fund(dataset, row_at(dataset, last)) or None))
    enc_line = pick_line(dataset)
    enc_col = _encoding_column(dataset)
    out.append(Mutation(dataset, "wrong encoding", enc_col, "Latin-1 byte 0xe9", enc_line, rel, latin1_in_row(enc_line, enc_col),
                        owner=row_fund(dataset, row_at(dataset, enc_line)) or None))
    for col in contract.columns:
        out.append(Mutation(dataset, "missing column", col.name, "dropped", None, rel, drop_column(col.name), frozenset({col.name})))
        out.append(Mutation(dataset, "renamed header", col.name, col.name.upper(), None, rel, rename_header(col.name, col.name.upper()),
                            frozenset({col.name, col.name.upper()})))
        for kind, value, want in _value_mutations(dataset, col):
            line = pick_line(dataset, want)
            if line is None:
                continue
            if kind == "wrong check digit":
                value = wrong_check_digit(row_at(dataset, line)[col.name].strip())
            out.append(Mutation(dataset, kind, col.name, value, line, rel, set_cell(line, col.name, value), frozenset({col.name}),
                                owner=row_fund(dataset, row_at(dataset, line)) or None))
    out += _key_mutations(dataset)
    out += _other_fund_mutations(dataset)
    return out


def all_csv_mutations() -> list[Mutation]:
    return [m for dataset in INBOUND_FILES for m in csv_mutations(dataset)]


# ------------------------------------------------------------------------------------------------
# bank statements


def _statement_rel(path) -> str:
    return f"inbound/{LAST.isoformat()}/statements/{path.name}"


def _other_cash_account(account: str, statement_format: str) -> str:
    """A cash account of another fund with the same statement format."""
    mapping = account_funds()
    owner = mapping.get(account)
    return next(a.account for code, f in sorted(funds().items()) if code != owner for a in f.cash_accounts
                if a.statement_format == statement_format)


def _drop_mt940_tag(tag: str) -> Transform:
    def transform(data: bytes) -> bytes:
        return b"".join(line for line in data.splitlines(keepends=True) if not line.startswith(tag.encode()))
    return transform


def _mt940_first_amount_plus_one(data: bytes) -> bytes:
    text = data.decode("latin-1")
    m = re.search(r"^(:61:\d{10}[CD]R?[A-Z]?)(\d+),(\d*)", text, flags=re.M)
    changed = text[:m.start(2)] + str(int(m.group(2)) + 1) + text[m.end(2):]
    return changed.encode("latin-1")


def _replace_once(old: bytes, new: bytes) -> Transform:
    def transform(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)
    return transform


def _drop_camt_balance(code: str) -> Transform:
    def transform(data: bytes) -> bytes:
        text = data.decode("utf-8")
        out = re.sub(r"\s*<Bal>(?:(?!</Bal>).)*<Cd>" + code + r"</Cd>(?:(?!</Bal>).)*</Bal>", "", text, count=1, flags=re.S)
        assert out != text, code
        return out.encode("utf-8")
    return transform


def _camt_first_entry_plus_one(data: bytes) -> bytes:
    text = data.decode("utf-8")
    start = text.index("<Ntry>")
    m = re.compile(r'(<Amt Ccy="[A-Z]{3}">)(\d+)(\.\d+</Amt>)').search(text, start)
    return (text[:m.start(2)] + str(int(m.group(2)) + 1) + text[m.end(2):]).encode("utf-8")


XXE_TARGET = "/etc/passwd"


def _camt_xxe(data: bytes) -> bytes:
    text = data.decode("utf-8")
    head, rest = text.split("\n", 1)
    doctype = f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{XXE_TARGET}">]>'
    rest = rest.replace("<MsgId>", "<MsgId>&xxe;", 1)
    return f"{head}\n{doctype}\n{rest}".encode("utf-8")


def statement_mutations() -> list[Mutation]:
    out = []
    for path in statement_files():
        account, _, suffix = path.name.partition(".")
        rel = _statement_rel(path)
        data = path.read_bytes()
        fund = account_funds().get(account)
        if suffix == "mt940":
            other = _other_cash_account(account, "mt940")
            out += [Mutation("statement", "missing balance tag", None, ":60F:", None, rel, _drop_mt940_tag(":60F:"), owner=fund),
                    Mutation("statement", "missing balance tag", None, ":62F:", None, rel, _drop_mt940_tag(":62F:"), owner=fund),
                    Mutation("statement", "another account", "account", other, None, rel,
                             _replace_once(f":25:{account}".encode(), f":25:{other}".encode()), frozenset({"account"}), owner=fund)]
            if b":61:" in data:
                out.append(Mutation("statement", "unbalanced", None, "first entry +1", None, rel, _mt940_first_amount_plus_one, owner=fund))
        else:
            other = _other_cash_account(account, "camt053")
            out += [Mutation("statement", "missing balance", None, "OPBD", None, rel, _drop_camt_balance("OPBD"), owner=fund),
                    Mutation("statement", "missing balance", None, "CLBD", None, rel, _drop_camt_balance("CLBD"), owner=fund),
                    Mutation("statement", "another account", "account", other, None, rel,
                             _replace_once(f"<IBAN>{account}</IBAN>".encode(), f"<IBAN>{other}</IBAN>".encode()), frozenset({"account"}),
                             owner=fund),
                    Mutation("statement", "external entity", None, f"file://{XXE_TARGET}", None, rel, _camt_xxe, owner=fund)]
            if b"<Ntry>" in data:
                out.append(Mutation("statement", "unbalanced", None, "first entry +1", None, rel, _camt_first_entry_plus_one, owner=fund))
    return out


def clean_statement_bytes(rel: str) -> bytes:
    from tests.mutation.world import DATA

    return (DATA / rel).read_bytes()


__all__ = ["Mutation", "all_csv_mutations", "csv_mutations", "statement_mutations", "pick_line", "row_at", "records", "row_fund",
           "set_cell", "set_cells", "append_copy", "latin1_in_row", "header_only", "wrong_check_digit", "PLAUSIBLE_MAX", "clean_bytes",
           "clean_statement_bytes", "XXE_TARGET"]
