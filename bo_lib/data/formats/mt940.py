"""SWIFT MT940 (customer statement message) reading and writing.

This module owns the MT940 codec for :class:`~bo_lib.data.formats.statement.BankStatement`:

* ``write_mt940`` produces the plain tag form (``:20:`` ... ``:64:``, statements
  separated by a ``-`` line) that banks' host-to-host channels deliver and that
  the ``mt-940`` package parses; optionally wrapped in a minimal SWIFT
  block 1 / block 4 envelope carrying the sender BIC.
* ``parse_mt940`` reads such files (plain, enveloped, with bank header lines
  such as ABN AMRO's) into ``BankStatement`` objects.  Field parsing (``:61:``
  statement lines, balances) is delegated to the ``mt-940`` package; this
  module adds what that package does not do: splitting a file into
  statements, checking the tag sequence of each statement (a file whose
  structure is broken is refused rather than half-read), keeping the exact
  ``:86:`` text, and turning every failure into a ``StatementFormatError``
  naming the file, line and rule.

Conventions: amounts are exact ``Decimal`` (signed, + credit / - debit; an
``RC`` reversal-of-credit mark is a debit, ``RD`` a credit).  The booking date
is the ``:61:`` entry date (the value date when the bank omits it).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

import mt940 as _mt940lib

from bo_lib.data.formats.statement import (
    BankStatement,
    StatementEntry,
    StatementFormatError,
)
from bo_lib.data.identifiers import is_valid_bic

__all__ = ["write_mt940", "parse_mt940"]

log = logging.getLogger(__name__)

# SWIFT field 86 is "6*65x": at most six lines of 65 characters.
DESCRIPTION_LINE_WIDTH = 65
DESCRIPTION_MAX_LINES = 6

# Tags that start a field; any other ":xx:" at the start of a line is text
# (the same rule the mt-940 package applies).
_KNOWN_TAGS = {
    "13", "13D", "20", "21", "25", "25P", "28", "28C", "34F",
    "60", "60F", "60M", "61", "62", "62F", "62M", "64", "65", "86",
    "90C", "90D", "NS",
}
_TAG_LINE_RE = re.compile(r"^:(?P<tag>[0-9]{2}[A-Z]?|NS):")
_BALANCE_RE = re.compile(r"[CD][0-9]{6}[A-Z]{3}[0-9]{1,14},[0-9]*")
_FRAMING_CHARS = "\x01\x03\x1a"
_BLOCK1_RE = re.compile(r"\{1:F01(?P<lt>[A-Z0-9]{12})")

# Order a statement's fields must appear in (tag -> rank).  ":86:" is handled
# separately: it belongs to the preceding ":61:" or, after the closing
# balance, to the statement as a whole.
_RANK = {
    "20": 0, "21": 1, "25": 2, "25P": 2, "28": 3, "28C": 3, "13": 3, "13D": 3,
    "34F": 3, "60": 4, "60F": 4, "60M": 4, "61": 5, "90C": 6, "90D": 6,
    "62": 7, "62F": 7, "62M": 7, "64": 8, "65": 9,
}
_TAG_NAMES = {
    "20": "transaction reference", "25": "account identification",
    "28C": "statement/sequence number", "60": "opening balance",
    "61": "statement line", "62": "closing balance", "86": "information to account owner",
}


def _tag_family(tag: str) -> str:
    """'60F' -> '60', '28C' -> '28' (for uniqueness / mandatory checks)."""
    return tag[:2]


# ====================================================================== writing
def _format_amount(amount: Decimal) -> str:
    """SWIFT 15d amount: digits, comma decimal separator, no sign/thousands."""
    text = format(abs(amount), "f")
    if "." in text:
        whole, frac = text.split(".")
        text = f"{whole},{frac}"
    else:
        text += ","
    if len(text) > 15:
        raise ValueError(f"amount {amount} does not fit the 15-character SWIFT amount field")
    return text


def _mark(amount: Decimal) -> str:
    return "D" if amount < 0 else "C"


def _balance_field(amount: Decimal, date: datetime.date, currency: str) -> str:
    return f"{_mark(amount)}{date:%y%m%d}{currency}{_format_amount(amount)}"


def _description_lines(description: str) -> list[str]:
    """Wrap a description into SWIFT ``:86:`` lines (6 x 65 characters).

    Explicit newlines are kept as line breaks; longer lines are cut hard at 65
    characters (SWIFT continuation lines are a hard wrap, which is also how the
    parser joins them back: a full 65-character line continues on the next).
    Trailing whitespace and empty lines are dropped (SWIFT has no empty lines).
    """
    physical: list[str] = []
    for logical in description.split("\n"):
        logical = logical.rstrip()
        if not logical:
            continue
        for start in range(0, len(logical), DESCRIPTION_LINE_WIDTH):
            physical.append(logical[start : start + DESCRIPTION_LINE_WIDTH])
    if len(physical) > DESCRIPTION_MAX_LINES:
        # Field 86 is limited to 6*65 characters; a longer field makes the
        # whole message invalid for any receiver that validates SWIFT syntax
        # (the MT940 would be rejected, not just this entry).  Truncating keeps
        # the statement deliverable; the full text stays in our own records
        # and in camt.053, which has no such limit.
        log.warning(
            "MT940 :86: description truncated from %d to %d lines of %d characters",
            len(physical), DESCRIPTION_MAX_LINES, DESCRIPTION_LINE_WIDTH,
        )
        physical = physical[:DESCRIPTION_MAX_LINES]
    for line in physical:
        if _TAG_LINE_RE.match(line) or line.startswith(("-", "{")):
            raise ValueError(
                f"description line {line!r} would be read as an MT940 field or "
                "message boundary; SWIFT text lines may not start with ':', '-' or '{'"
            )
    return physical


def _check_text(value: str, what: str, max_len: int) -> None:
    if len(value) > max_len or "\n" in value:
        raise ValueError(f"{what} {value!r} exceeds {max_len} characters or contains a newline")


def _statement_lines(statement: BankStatement) -> Iterator[str]:
    _check_text(statement.statement_id, "statement_id (:20:)", 16)
    _check_text(statement.account, "account (:25:)", 35)
    if not re.fullmatch(r"[0-9]{1,5}(/[0-9]{1,5})?", statement.sequence_number):
        raise ValueError(
            f"sequence_number {statement.sequence_number!r} is not the :28C: form 5n[/5n]"
        )
    currency = statement.currency
    yield f":20:{statement.statement_id}"
    yield f":25:{statement.account}"
    yield f":28C:{statement.sequence_number}"
    yield f":60F:{_balance_field(statement.opening_balance, statement.opening_date, currency)}"
    for entry in statement.entries:
        if entry.currency != currency:
            raise ValueError(
                f"entry currency {entry.currency} differs from statement currency {currency}; "
                "MT940 has one currency per statement"
            )
        code = entry.transaction_code
        if not re.fullmatch(r"[A-Z][A-Z0-9]{3}", code):
            raise ValueError(f"transaction code {code!r} is not the :61: form 1!a3!c (e.g. NTRF)")
        customer_ref = entry.customer_reference or "NONREF"  # mandatory subfield
        _check_text(customer_ref, "customer reference", 16)
        _check_text(entry.bank_reference, "bank reference", 16)
        if "//" in customer_ref:
            raise ValueError(f"customer reference {customer_ref!r} may not contain '//'")
        line = (
            f":61:{entry.value_date:%y%m%d}{entry.booking_date:%m%d}"
            f"{_mark(entry.amount)}{_format_amount(entry.amount)}{code}{customer_ref}"
        )
        if entry.bank_reference:
            line += f"//{entry.bank_reference}"
        yield line
        text_lines = _description_lines(entry.description)
        if text_lines:
            yield f":86:{text_lines[0]}"
            yield from text_lines[1:]
    closing = _balance_field(statement.closing_balance, statement.closing_date, currency)
    yield f":62F:{closing}"
    # We do not model the available balance separately: report it as the
    # closing booked balance, which is what a same-day statement carries.
    yield f":64:{closing}"


def _logical_terminal(bic: str) -> str:
    """12-character LT address: BIC8 + terminal code 'A' + branch (XXX default)."""
    return bic[:8] + "A" + (bic[8:] or "XXX")


def write_mt940(
    statements: Iterable[BankStatement], sender_bic: str, *, envelope: bool = False
) -> str:
    """Render statements as MT940 text (CRLF-free, ``\\n`` line ends).

    ``sender_bic`` is validated always and written into a SWIFT block 1 header
    when ``envelope=True`` (``{1:F01<LT>0000000000}{4:`` ... ``-}``); the plain
    tag form (default) has no place for it.  Raises ``ValueError`` for
    statements that cannot be expressed in MT940 (references too long,
    mixed currencies, malformed transaction codes).
    """
    if not is_valid_bic(sender_bic):
        raise ValueError(f"sender_bic {sender_bic!r} is not a valid BIC")
    out: list[str] = []
    for statement in statements:
        body = list(_statement_lines(statement))
        if envelope:
            out.append(f"{{1:F01{_logical_terminal(sender_bic)}0000000000}}{{4:")
            out.extend(body)
            out.append("-}")
        else:
            out.extend(body)
            out.append("-")
    return "\n".join(out) + "\n" if out else ""


# ====================================================================== parsing
@dataclass
class _Field:
    tag: str
    line: int  # 1-based line number in the file
    lines: list[str] = field(default_factory=list)

    @property
    def first(self) -> str:
        return self.lines[0] if self.lines else ""


@dataclass
class _Block:
    start_line: int
    fields: list[_Field]
    bic: str = ""

    def text(self) -> str:
        out = []
        for f in self.fields:
            out.append(f":{f.tag}:{f.first}")
            out.extend(f.lines[1:])
        return "\n".join(out) + "\n"


def _read_source(path_or_text, source_name: str | None) -> tuple[str, str]:
    """Return (text, name) for a path, raw text or raw bytes."""
    data = path_or_text
    name = source_name
    if isinstance(data, os.PathLike) or (
        isinstance(data, str) and "\n" not in data and not data.lstrip().startswith((":", "{"))
    ):
        path = Path(data)
        name = name or str(path)
        if not path.is_file():
            raise StatementFormatError(name, "file not found or not a regular file")
        data = path.read_bytes()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            # Many banks still send ISO 8859-1; every byte decodes, nothing is lost.
            data = data.decode("latin-1")
    if not isinstance(data, str):
        raise TypeError(f"expected a path, str or bytes, got {type(path_or_text).__name__}")
    return data.lstrip("\ufeff"), name or "<text>"


def _split_blocks(text: str, name: str) -> list[_Block]:
    """Split a file into statements (one per ``:20:``), with line numbers.

    Envelope lines (``{1:...}{4:``, ``-}``), ``-`` separators and bank header
    lines before the first tag (e.g. ABN AMRO's ``ABNANL2A``/``940``) are
    not part of any statement.
    """
    blocks: list[_Block] = []
    current: _Block | None = None
    pending_bic = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        # SOH/ETX/SUB framing characters (e.g. mBank ends with "-\x03") are not content.
        line = raw.rstrip("\r").strip(_FRAMING_CHARS)
        stripped = line.strip()
        if stripped == "-" or stripped.startswith("-}") or stripped.startswith("{"):
            current = None
            match = _BLOCK1_RE.search(stripped)
            if match:
                lt = match["lt"]
                branch = lt[9:12]
                pending_bic = lt[:8] + ("" if branch == "XXX" else branch)
            continue
        match = _TAG_LINE_RE.match(line)
        if match and match["tag"] in _KNOWN_TAGS:
            tag = match["tag"]
            if tag == "20":
                current = _Block(start_line=number, fields=[], bic=pending_bic)
                blocks.append(current)
            elif current is None:
                raise StatementFormatError(
                    name, f"field :{tag}: appears before the :20: that must start a statement", number
                )
            current.fields.append(_Field(tag, number, [line[match.end():]]))
        elif current is not None and current.fields:
            current.fields[-1].lines.append(line)
        # else: header text before the first statement -- ignored.
    if not blocks:
        raise StatementFormatError(name, "no :20: field found; this is not an MT940 statement file")
    return blocks


def _check_structure(block: _Block, name: str) -> None:
    """Enforce the MT940 field sequence of one statement."""
    seen: dict[str, _Field] = {}
    rank = -1
    previous = ""
    for f in block.fields:
        family = _tag_family(f.tag)
        if f.tag == "86":
            if previous not in ("61",) and _RANK.get(previous, 0) < _RANK["62"]:
                raise StatementFormatError(
                    name, f"field :86: at line {f.line} must follow a :61: statement line "
                    f"or the closing balance, not :{previous}:", f.line,
                )
            previous = "86"
            continue
        if f.tag == "NS":
            continue
        this_rank = _RANK[f.tag]
        if this_rank < rank or (this_rank == rank and family not in ("61", "65")):
            what = _TAG_NAMES.get(family, "field")
            raise StatementFormatError(
                name,
                f"field :{f.tag}: ({what}) at line {f.line} is out of sequence "
                f"after :{previous}: (repeated or misplaced field)",
                f.line,
            )
        rank = this_rank
        previous = f.tag
        seen.setdefault(family, f)
        if family in ("60", "62", "64", "65"):
            value = f.first.strip()
            if not _BALANCE_RE.fullmatch(value) or len(f.lines) > 1 and any(
                s.strip() for s in f.lines[1:]
            ):
                raise StatementFormatError(
                    name,
                    f"balance field :{f.tag}: {value!r} is not D/C mark + YYMMDD + currency + amount",
                    f.line,
                )
    for family, label in (("25", ":25:"), ("28", ":28C:"), ("60", ":60F:/:60M:"), ("62", ":62F:/:62M:")):
        if family not in seen:
            raise StatementFormatError(
                name,
                f"statement starting at line {block.start_line} has no {label} "
                f"({_TAG_NAMES.get(family, 'mandatory field')})",
                block.start_line,
            )


def _join_description(lines: list[str]) -> str:
    """Join :86: physical lines: a full 65-character line continues the next."""
    text = ""
    for i, line in enumerate(lines):
        if i and len(lines[i - 1]) != DESCRIPTION_LINE_WIDTH:
            text += "\n"
        text += line
    return text.rstrip()


@contextlib.contextmanager
def _quiet_library() -> Iterator[None]:
    """The mt-940 package logs at ERROR before raising; we report the error ourselves."""
    logger = logging.getLogger("mt940")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)


_OPTIONS = _mt940lib.Options(
    reversal_sign=True,  # RC (reversal of credit) is a debit
    case_insensitive_marks=True,
    unbounded_details=True,
    merge_keeps_values=True,
)
# We keep :86: verbatim ourselves; skip the package's German GVC sub-field parsing.
_PROCESSORS = {"post_transaction_details": []}


def _library_parse(block: _Block, name: str):
    text = block.text()
    with _quiet_library():
        try:
            return _mt940lib.parse(text, processors=_PROCESSORS, options=_OPTIONS)
        except Exception:  # noqa: BLE001 -- retried with a lenient :61: below
            pass
        try:
            # Some banks (ASN, GLS) put an IBAN (>16 chars) in the customer
            # reference subfield; accept references of any length up to '//'.
            lenient = _mt940lib.tags.StatementGLS()
            return _mt940lib.parse(
                text, processors=_PROCESSORS, options=_OPTIONS, tags={lenient.id: lenient}
            )
        except Exception as exc:  # noqa: BLE001 -- reported as a format error
            detail = exc.args[0] if exc.args else repr(exc)
            raise StatementFormatError(
                name,
                f"statement starting at line {block.start_line} could not be parsed: {detail}",
                block.start_line,
            ) from exc


def _plain_date(value) -> datetime.date:
    return datetime.date(value.year, value.month, value.day)


def _balance(data: dict, keys: tuple[str, ...]):
    for key in keys:
        balance = data.get(key)
        if balance is not None and getattr(balance, "amount", None) is not None:
            return balance
    return None


def _convert(block: _Block, parsed, name: str) -> BankStatement:
    data = parsed.data
    opening = _balance(data, ("final_opening_balance", "intermediate_opening_balance", "opening_balance"))
    closing = _balance(data, ("final_closing_balance", "intermediate_closing_balance", "closing_balance"))
    if opening is None or closing is None:
        raise StatementFormatError(
            name, f"statement starting at line {block.start_line} lacks an opening or closing balance",
            block.start_line,
        )
    currency = opening.amount.currency
    statement_lines = [f for f in block.fields if f.tag == "61"]
    transactions = [t for t in parsed.transactions if "amount" in t.data]
    if len(transactions) != len(statement_lines):
        raise StatementFormatError(
            name,
            f"statement starting at line {block.start_line}: {len(statement_lines)} :61: lines "
            f"but {len(transactions)} parsed entries",
            block.start_line,
        )
    # Description of each :61: = the :86: directly after it (if any).
    descriptions: list[str] = []
    for i, f in enumerate(block.fields):
        if f.tag == "61":
            nxt = block.fields[i + 1] if i + 1 < len(block.fields) else None
            descriptions.append(_join_description(nxt.lines) if nxt and nxt.tag == "86" else "")
    entries = []
    for t, description, f in zip(transactions, descriptions, statement_lines):
        d = t.data
        amount = d["amount"].amount
        if not isinstance(amount, Decimal):
            raise StatementFormatError(name, f"unreadable amount in :61: {f.first!r}", f.line)
        value_date = _plain_date(d["date"])
        booking = d.get("entry_date")
        entries.append(
            StatementEntry(
                value_date=value_date,
                booking_date=_plain_date(booking) if booking else value_date,
                amount=amount,
                currency=d.get("currency") or currency,
                transaction_code=(d.get("id") or "").strip(),
                customer_reference=(d.get("customer_reference") or "").strip(),
                bank_reference=(d.get("bank_reference") or "").strip(),
                description=description,
            )
        )
    statement_number = data.get("statement_number") or ""
    sequence = data.get("sequence_number")
    return BankStatement(
        account=(data.get("account_identification") or "").strip(),
        currency=currency,
        statement_id=(data.get("transaction_reference") or "").strip(),
        sequence_number=f"{statement_number}/{sequence}" if sequence else statement_number,
        opening_date=_plain_date(opening.date),
        opening_balance=opening.amount.amount,
        closing_date=_plain_date(closing.date),
        closing_balance=closing.amount.amount,
        entries=tuple(entries),
        bic=block.bic,
    )


def parse_mt940(path_or_text, source_name: str | None = None) -> list[BankStatement]:
    """Parse an MT940 file (path) or its content (str/bytes) into statements.

    ``source_name`` names the document in error messages when text is passed.
    Raises ``StatementFormatError`` (file, line, rule) for any malformed input.
    """
    text, name = _read_source(path_or_text, source_name)
    statements = []
    for block in _split_blocks(text, name):
        _check_structure(block, name)
        parsed = _library_parse(block, name)
        statements.append(_convert(block, parsed, name))
    return statements
