"""SWIFT FIN (ISO 15022) message reading: the envelope, the block 4 field syntax and the value formats.

This module owns the generic part of reading FIN messages such as MT564/MT565/MT566; what a given
message type means is the business of its own module (``ca_messages`` for corporate actions).

* ``read_fin(text, file)`` splits a file into messages (several per file; blocks
  ``{1:}{2:}{3:}{4:...-}{5:}``, block 3 and 5 optional), reads the parties from the headers and
  block 4 into nested :class:`Sequence` objects (``:16R:NAME`` ... ``:16S:NAME``), and returns the
  messages together with every :class:`~bo_lib.data.errors.Violation` found: a broken envelope, an
  unbalanced or mismatched ``:16R:``/``:16S:``, a line that is no field, and every field whose
  value breaks its format (see ``FIELD_PARSERS``).  A message with violations is still returned,
  so a reader can show what it holds; a broken message does not stop the rest of the file.
* Parties: an input message (block 2 ``I564<receiver LT>...``) is sent by the block 1 logical
  terminal and received by the block 2 one; an output message (``O564<HHMM><MIR>...``) is sent by
  the terminal in the MIR and received by block 1's.  Logical terminal addresses (12 characters)
  are normalised to BICs by dropping the terminal code (9th character); a ``XXX`` branch gives
  the 8-character BIC (as ``mt940`` does).
* Values: ``parse_field(field)`` turns a field into a Python value (dates, ``Decimal`` amounts,
  small named tuples) or raises :class:`FieldFormatError` with the rule broken; ``field_value``
  is its lenient twin (``None`` for a bad value, which ``read_fin`` has already reported).

Conventions of the standard checked here: decimals take a comma as the decimal mark, which is
mandatory (``7000,``), at least one integer digit, at most 15 characters; a negative sign is a
leading ``N``; dates are ``YYYYMMDD``; currency codes are ISO 4217 (``bo_lib.codes.CURRENCIES``);
an ISIN in ``:35B:`` must carry a correct check digit.  Not checked: the per-message-type
qualifier lists and field order (left to the message module), character sets, network rules
between fields.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, NamedTuple

from bo_lib.codes import CURRENCIES
from bo_lib.data.errors import Violation
from bo_lib.data.identifiers import is_valid_bic, is_valid_isin

__all__ = [
    "Field", "Sequence", "Message", "FieldFormatError", "read_fin", "parse_field", "field_value",
    "lt_to_bic", "bic_to_lt", "format_decimal", "Rate", "Ratio", "Quantity", "Amount", "Price",
    "SecurityId", "Period", "FIELD_PARSERS", "CA_TOP_LEVEL",
]


class FieldFormatError(ValueError):
    """A field value that breaks its SWIFT format; ``rule`` says which rule."""

    def __init__(self, rule: str):
        super().__init__(rule)
        self.rule = rule


# ====================================================================== data model
@dataclass(frozen=True)
class Field:
    """One block 4 field. ``qualifier``/``issuer`` are "" for a non-generic field (``:23G:NEWM``);
    ``value`` keeps continuation lines joined with "\\n"; ``line`` is the file line of ``:TAG:``."""

    tag: str
    qualifier: str
    issuer: str
    value: str
    line: int

    @property
    def column(self) -> str:
        """The tag as a violation names it: ``:98A::XDTE`` (generic) or ``:23G:``."""
        return f":{self.tag}::{self.qualifier}" if self.qualifier else f":{self.tag}:"


class _Children(tuple):
    """The sub-sequences of a sequence: a tuple of them all, and, called with a name, a list of
    those of that name (``seq.sequences`` / ``seq.sequences("CAOPTN")``)."""

    def __call__(self, name: str) -> list[Sequence]:
        return [s for s in self if s.name == name]


@dataclass(frozen=True)
class Sequence:
    """A ``:16R:NAME`` ... ``:16S:NAME`` sequence (the message body is the unnamed root, name "")."""

    name: str
    line: int
    fields: tuple[Field, ...] = ()
    sequences: tuple = ()  # a _Children: iterate it, or call it with a name

    def __post_init__(self):
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "sequences", _Children(self.sequences))

    def first(self, tag: str, qualifier: str | None = None) -> Field | None:
        """This sequence's first field with the tag (and qualifier, when given); sub-sequences not searched."""
        return next(iter(self.all(tag, qualifier)), None)

    def all(self, tag: str, qualifier: str | None = None) -> list[Field]:
        return [f for f in self.fields if f.tag == tag and (qualifier is None or f.qualifier == qualifier)]

    def sequence(self, name: str) -> Sequence | None:
        """The first direct sub-sequence of that name."""
        return next(iter(self.sequences(name)), None)

    def walk(self):
        """This sequence and all nested below it, depth first."""
        yield self
        for child in self.sequences:
            yield from child.walk()


@dataclass(frozen=True)
class Message:
    file: str
    line: int  # the line of the message's "{1:"
    message_type: str  # "564"
    direction: str  # "input" (we send) or "output" (delivered to us)
    sender: str  # BIC8 or BIC11, "" when the header does not tell
    receiver: str
    user_reference: str  # block 3 field 108 (MUR), "" when absent
    body: Sequence


# ====================================================================== value formats
_DECIMAL_RE = re.compile(r"(N?)([0-9]+),([0-9]*)")
_CODE_RE = re.compile(r"[A-Z0-9]{4}")
_DATE_RE = re.compile(r"[0-9]{8}")


class Rate(NamedTuple):
    """92A (value), 92F (currency, value), 92H (+ status), 92J (+ rate type), 92K (rate type code only)."""

    value: Decimal | None
    currency: str = ""
    rate_type: str = ""
    status: str = ""


class Ratio(NamedTuple):  # 92D: new / old
    new: Decimal
    old: Decimal


class Quantity(NamedTuple):  # 93B, 36B: UNIT / FAMT / AMOR
    type: str
    value: Decimal


class Amount(NamedTuple):  # 19B
    currency: str
    value: Decimal


class Price(NamedTuple):  # 90A (PRCT/YIEL..., no currency), 90B (ACTU + currency), 90E (code only)
    type: str
    currency: str
    value: Decimal | None


class SecurityId(NamedTuple):  # 35B
    isin: str
    ids: dict  # scheme -> identifier, e.g. {"CUSP": "12345B68", "XX": "5983816"}
    description: str


class Period(NamedTuple):  # 69a
    start: dt.date | dt.datetime | None
    end: dt.date | dt.datetime | None


def parse_decimal(text: str, *, signed: bool = False) -> Decimal:
    """SWIFT ``15d`` (``[N]15d`` when ``signed``): digits, a mandatory comma, at most 15 characters."""
    if "." in text:
        raise FieldFormatError(f"decimal {text!r} has a dot; SWIFT decimals take a comma as the decimal mark (e.g. {text.replace('.', ',')})")
    match = _DECIMAL_RE.fullmatch(text)
    if not match:
        raise FieldFormatError(f"{text!r} is not a SWIFT decimal (digits with a mandatory decimal comma, e.g. 7000, or 0,5)")
    sign, whole, fraction = match.groups()
    if sign and not signed:
        raise FieldFormatError(f"{text!r}: a sign N is not allowed here")
    if len(text) - len(sign) > 15:
        raise FieldFormatError(f"decimal {text!r} is longer than 15 characters")
    value = Decimal(f"{whole}.{fraction or '0'}")
    if sign and value == 0:
        raise FieldFormatError(f"{text!r}: a zero may not carry the sign N")
    return -value if sign else value


def format_decimal(value) -> str:
    """A number as a SWIFT decimal: ``7000`` -> ``7000,``, ``0.125`` -> ``0,125`` (no sign)."""
    text = format(Decimal(str(value)), "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    out = f"{whole},{fraction}"
    if whole.startswith("-") or len(out) > 15:
        raise ValueError(f"{value!r} does not fit a SWIFT 15d decimal (positive, 15 characters)")
    return out


def _currency(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise FieldFormatError(f"{code!r} is not a 3-letter currency code")
    if code not in CURRENCIES:
        raise FieldFormatError(f"currency {code} is not an ISO 4217 currency code")
    return code


def _code(text: str, what: str = "code") -> str:
    if not _CODE_RE.fullmatch(text):
        raise FieldFormatError(f"{what} {text!r} is not 4 letters/digits (4!c)")
    return text


def parse_date(text: str) -> dt.date:
    """``YYYYMMDD`` (98A, and the dates of 69a)."""
    if not _DATE_RE.fullmatch(text):
        raise FieldFormatError(f"date {text!r} is not YYYYMMDD")
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise FieldFormatError(f"date {text!r} is not a valid calendar date (YYYYMMDD)") from None


def parse_datetime(text: str) -> dt.datetime:
    """``YYYYMMDDHHMMSS`` (98C; 98E's optional decimals and UTC offset are dropped)."""
    match = re.fullmatch(r"([0-9]{8})([0-9]{6})(?:,[0-9]{1,3})?(?:/N?[0-9]{2}(?:[0-9]{2})?)?", text)
    if not match:
        raise FieldFormatError(f"date/time {text!r} is not YYYYMMDDHHMMSS")
    day = parse_date(match[1])
    try:
        clock = dt.datetime.strptime(match[2], "%H%M%S").time()
    except ValueError:
        raise FieldFormatError(f"time {match[2]!r} in {text!r} is not a valid HHMMSS") from None
    return dt.datetime.combine(day, clock)


def _split(text: str, parts: int, what: str) -> list[str]:
    pieces = text.split("/")
    if len(pieces) != parts:
        raise FieldFormatError(f"{text!r} is not {what}")
    return pieces


def _parse_98(tag: str):
    def parse(value: str):
        if tag == "98A":
            return parse_date(value)
        if tag == "98B":
            _code(value, "date code")
            return None  # UKWN, ONGO, OPEN: no date
        return parse_datetime(value)
    return parse


def _parse_92a(value: str) -> Rate:
    return Rate(parse_decimal(value, signed=True))


def _currency_amount(text: str, *, signed: bool = False) -> tuple[str, Decimal]:
    match = re.fullmatch(r"(N?)([A-Z]{3})(.*)", text, re.S)
    if not match:
        raise FieldFormatError(f"{text!r} is not a currency code followed by an amount (e.g. USD0,5)")
    sign, currency, amount = match.groups()
    if sign and not signed:
        raise FieldFormatError(f"{text!r}: a sign N is not allowed here")
    return _currency(currency), parse_decimal(sign + amount, signed=bool(sign))


def _parse_92f(value: str) -> Rate:
    currency, amount = _currency_amount(value)
    return Rate(amount, currency)


def _parse_92h(value: str) -> Rate:
    head, _, status = value.partition("/")
    currency, amount = _currency_amount(head)
    return Rate(amount, currency, "", _code(status, "rate status") if status else "")


def _parse_92j(value: str) -> Rate:
    pieces = value.split("/")
    if len(pieces) not in (2, 3):
        raise FieldFormatError(f"{value!r} is not rate type code/currency amount[/rate status] (4!c/3!a15d[/4!c])")
    currency, amount = _currency_amount(pieces[1])
    return Rate(amount, currency, _code(pieces[0], "rate type code"), _code(pieces[2], "rate status") if len(pieces) == 3 else "")


def _parse_92k(value: str) -> Rate:
    return Rate(None, "", _code(value, "rate type code"))


def _parse_92b(value: str) -> Rate:
    first, second, rate = _split(value, 3, "first currency/second currency/rate (3!a/3!a/15d)")
    return Rate(parse_decimal(rate), f"{_currency(first)}/{_currency(second)}")


def _parse_92d(value: str) -> Ratio:
    new, old = _split(value, 2, "a ratio new/old (15d/15d, e.g. 1,/20,)")
    return Ratio(parse_decimal(new), parse_decimal(old))


def _quantity(value: str, *, signed: bool) -> Quantity:
    kind, number = _split(value, 2, "quantity type code/quantity (e.g. UNIT/7000,)")
    if kind not in ("UNIT", "FAMT", "AMOR"):
        raise FieldFormatError(f"quantity type {kind!r} is not UNIT, FAMT or AMOR")
    return Quantity(kind, parse_decimal(number, signed=signed))


def _parse_19b(value: str) -> Amount:
    currency, amount = _currency_amount(value, signed=True)
    return Amount(currency, amount)


def _parse_90a(value: str) -> Price:
    kind, number = _split(value, 2, "percentage type code/price (e.g. PRCT/101,5)")
    return Price(_code(kind, "percentage type code"), "", parse_decimal(number, signed=True))


def _parse_90b(value: str) -> Price:
    kind, rest = _split(value, 2, "amount type code/currency price (e.g. ACTU/USD12,)")
    currency, amount = _currency_amount(rest)
    return Price(_code(kind, "amount type code"), currency, amount)


def _parse_90e(value: str) -> Price:
    return Price(_code(value, "price code"), "", None)


def _parse_17b(value: str) -> bool:
    if value not in ("Y", "N"):
        raise FieldFormatError(f"flag {value!r} is not Y or N")
    return value == "Y"


def _parse_13a(value: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{3}", value):
        raise FieldFormatError(f"number {value!r} is not 3 letters/digits (3!c, e.g. 001)")
    return value


def _parse_20c(value: str) -> str:
    if not value or len(value) > 16 or "\n" in value:
        raise FieldFormatError(f"reference {value!r} is not 1 to 16 characters (16x)")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise FieldFormatError(f"reference {value!r} may not start or end with '/' nor contain '//'")
    return value


def _parse_23g(value: str) -> tuple[str, str]:
    function, _, sub = value.partition("/")
    if not re.fullmatch(r"[A-Z0-9]{4}", function) or (sub and not _CODE_RE.fullmatch(sub)):
        raise FieldFormatError(f"function {value!r} is not 4!c[/4!c] (e.g. NEWM, CANC/PROC)")
    return function, sub


def _parse_text(lines: int, width: int):
    def parse(value: str) -> str:
        rows = value.split("\n")
        if len(rows) > lines or any(len(r) > width for r in rows):
            raise FieldFormatError(f"text is longer than {lines} lines of {width} characters ({lines}*{width}x)")
        return value
    return parse


def _parse_35b(value: str) -> SecurityId:
    rows = value.split("\n")
    isin = ""
    if rows and rows[0].startswith("ISIN"):
        match = re.fullmatch(r"ISIN ([A-Z0-9]{12})", rows[0])
        if not match:
            raise FieldFormatError(f"{rows[0]!r} is not 'ISIN' followed by a space and 12 characters")
        if not is_valid_isin(match[1]):
            raise FieldFormatError(f"ISIN {match[1]} fails its check digit (or is not 2 letters + 9 characters + a digit)")
        isin = match[1]
        rows = rows[1:]
    if len(rows) > 4 or any(len(r) > 35 for r in rows):
        raise FieldFormatError("description is longer than 4 lines of 35 characters (4*35x)")
    ids: dict[str, str] = {}
    description: list[str] = []
    for row in rows:
        match = re.fullmatch(r"/([A-Z0-9]{2,4})/(\S.*)", row)
        if match and not description:
            ids[match[1]] = match[2].strip()
        else:
            description.append(row)
    if not isin and not ids and not description:
        raise FieldFormatError("no ISIN and no description: the financial instrument is not identified")
    return SecurityId(isin, ids, "\n".join(description).strip())


def _parse_94b(value: str) -> str:
    code, _, _narrative = value.partition("/")
    _code(code, "place code")
    return value


def _parse_94f(value: str) -> str:
    code, bic = _split(value, 2, "place code/BIC (e.g. CUST/UBSWCHZH80A)")
    _code(code, "place code")
    if not is_valid_bic(bic):
        raise FieldFormatError(f"{bic!r} is not a BIC (8 or 11 characters)")
    return bic


def _parse_97a(value: str) -> str:
    if not value or len(value) > 35 or "\n" in value:
        raise FieldFormatError(f"account {value!r} is not 1 to 35 characters (35x)")
    return value


def _parse_69(tag: str):
    def date_part(text: str):
        return parse_date(text) if len(text) == 8 else parse_datetime(text)

    def parse(value: str) -> Period:
        first, second = _split(value, 2, "a period start/end")
        if tag in ("69A", "69B"):
            return Period(date_part(first), date_part(second))
        if tag in ("69C", "69D"):
            _code(second, "date code")
            return Period(date_part(first), None)
        _code(first, "date code")  # 69E, 69F
        return Period(None, date_part(second))
    return parse


def _parse_69j(value: str) -> Period:
    _code(value, "date code")
    return Period(None, None)


FIELD_PARSERS: dict[str, Callable[[str], object]] = {
    "98A": _parse_98("98A"), "98B": _parse_98("98B"), "98C": _parse_98("98C"), "98E": _parse_98("98E"),
    "92A": _parse_92a, "92B": _parse_92b, "92D": _parse_92d, "92F": _parse_92f, "92H": _parse_92h,
    "92J": _parse_92j, "92K": _parse_92k,
    "93B": lambda v: _quantity(v, signed=True), "36B": lambda v: _quantity(v, signed=False),
    "19B": _parse_19b, "90A": _parse_90a, "90B": _parse_90b, "90E": _parse_90e,
    "17B": _parse_17b, "11A": _currency, "13A": _parse_13a,
    "22F": lambda v: _code(v, "indicator"), "22H": lambda v: _code(v, "indicator"), "25D": lambda v: _code(v, "status code"),
    "35B": _parse_35b, "97A": _parse_97a, "94B": _parse_94b, "94F": _parse_94f,
    "20C": _parse_20c, "23G": _parse_23g,
    "69A": _parse_69("69A"), "69B": _parse_69("69B"), "69C": _parse_69("69C"), "69D": _parse_69("69D"),
    "69E": _parse_69("69E"), "69F": _parse_69("69F"), "69J": _parse_69j,
    "70E": _parse_text(10, 35), "70D": _parse_text(6, 35), "70F": lambda v: v,
}
#: the sequences that only ever stand at the top of a corporate-action message body (MT564-MT568):
#: a :16R: of one of them closes whatever is still open (reported), so one missing :16S: does
#: not nest the rest of the message in the wrong sequence
CA_TOP_LEVEL = frozenset({"GENL", "USECU", "INTSEC", "CADETL", "CAOPTN", "CACONF", "CAINST", "ADDINFO", "BENODET"})
# fields written :TAG:value; every other tag of an ISO 15022 message is generic, :TAG::QUAL//value
_NON_GENERIC = {"16R", "16S", "23G", "35B", "28E"}


def parse_field(f: Field):
    """The value of a field (see ``FIELD_PARSERS``); raises FieldFormatError; a tag without a
    parser gives its text as is."""
    parser = FIELD_PARSERS.get(f.tag)
    return parser(f.value) if parser else f.value


def field_value(f: Field | None):
    """``parse_field`` that gives None for an absent or malformed field (``read_fin`` reports those)."""
    if f is None:
        return None
    try:
        return parse_field(f)
    except FieldFormatError:
        return None


# ====================================================================== envelope
_FIELD_RE = re.compile(r":([0-9]{2}[A-Z]?):(.*)")
_GENERIC_RE = re.compile(r":([A-Z0-9]{4})/([A-Z0-9]{0,8})/(.*)", re.S)
_BLOCK1_RE = re.compile(r"[FAL]01([A-Z0-9]{12})([0-9]{4})([0-9]{6})")
_INPUT_RE = re.compile(r"I([0-9]{3})([A-Z0-9]{12})?([SUN]?)([0-9]?)([0-9]{3})?")
_OUTPUT_RE = re.compile(r"O([0-9]{3})([0-9]{4})([0-9]{6})([A-Z0-9]{12})([0-9]{4})([0-9]{6})([0-9]{6})([0-9]{4})([SUN]?)")


def lt_to_bic(address: str) -> str:
    """12-character logical terminal address -> BIC: drop the terminal code (9th character);
    the branch ``XXX`` gives the 8-character BIC."""
    branch = address[9:12]
    return address[:8] + ("" if branch in ("", "XXX") else branch)


def bic_to_lt(bic: str, terminal: str = "A") -> str:
    """BIC8/BIC11 -> 12-character logical terminal address (terminal code A, branch XXX by default)."""
    return bic[:8] + terminal + (bic[8:] or "XXX")


class _Lines:
    """Offsets -> 1-based line numbers of one text."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def _braced_block(text: str, start: int) -> int:
    """End offset (after the closing brace) of the block opening at ``start``; -1 when unclosed."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


@dataclass
class _Builder:
    name: str
    line: int
    fields: list = field(default_factory=list)
    children: list = field(default_factory=list)

    def freeze(self) -> Sequence:
        return Sequence(self.name, self.line, tuple(self.fields), tuple(c.freeze() for c in self.children))


def _raw_fields(body: str, first_line: int, file: str, problems: list[Violation]) -> list[tuple[str, int, list[str]]]:
    """Block 4 text -> [(tag, line, [first line value, continuation lines...])]."""
    fields: list[tuple[str, int, list[str]]] = []
    for number, raw in enumerate(body.split("\n"), start=first_line):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        match = _FIELD_RE.match(line)
        if match:
            fields.append((match[1], number, [match[2]]))
        elif line.startswith(":"):
            problems.append(Violation(file, number, None, "line starts with ':' but is not a field ':TAG:' (2 digits and an optional letter)", line))
        elif fields:
            fields[-1][2].append(line)
        else:
            problems.append(Violation(file, number, None, "text before the first field of block 4", line))
    return fields


def _make_field(tag: str, line: int, lines: list[str], file: str, problems: list[Violation], iso15022: bool) -> Field:
    value = "\n".join(lines)
    if tag in _NON_GENERIC or not (iso15022 or value.startswith(":")):
        return Field(tag, "", "", value, line)
    match = _GENERIC_RE.fullmatch(value)
    if not match:
        problems.append(Violation(file, line, f":{tag}:", f"field :{tag}: is not in the generic form :{tag}::QUAL//value (or :QUAL/ISSUER/value)", value))
        return Field(tag, "", "", value, line)
    return Field(tag, match[1], match[2], match[3], line)


def _read_block4(body: str, first_line: int, end_line: int, file: str, problems: list[Violation], iso15022: bool = True,
                 top_level: frozenset = CA_TOP_LEVEL) -> Sequence:
    """Fields into nested sequences; every field's value format checked.  ``iso15022``: a
    category 5 message, whose fields other than 16R/16S/23G/35B/28E must be generic."""
    root = _Builder("", first_line)
    stack = [root]
    for tag, line, lines in _raw_fields(body, first_line, file, problems):
        f = _make_field(tag, line, lines, file, problems, iso15022)
        if tag == "16R":
            name = f.value.strip()
            if not re.fullmatch(r"[A-Z0-9]{1,16}", name):
                problems.append(Violation(file, line, ":16R:", "start of block :16R: without a sequence name", f.value))
            if name in top_level:
                while len(stack) > 1:
                    unclosed = stack.pop()
                    problems.append(Violation(file, line, f":16S:{unclosed.name}",
                                              f"sequence {unclosed.name} opened at line {unclosed.line} has no :16S:{unclosed.name} before :16R:{name}"))
            child = _Builder(name, line)
            stack[-1].children.append(child)
            stack.append(child)
            continue
        if tag == "16S":
            name = f.value.strip()
            open_names = [b.name for b in stack[1:]]
            if name not in open_names:
                problems.append(Violation(file, line, f":16S:{name}", f"end of block :16S:{name} closes no open sequence"
                                          + (f" (the open one is {open_names[-1]}, from line {stack[-1].line})" if open_names else ""), f.value))
                continue
            while stack[-1].name != name:
                unclosed = stack.pop()
                problems.append(Violation(file, line, f":16S:{unclosed.name}",
                                          f"sequence {unclosed.name} opened at line {unclosed.line} has no :16S:{unclosed.name} before :16S:{name}"))
            stack.pop()
            continue
        if tag in FIELD_PARSERS and iso15022:
            try:
                parse_field(f)
            except FieldFormatError as exc:
                problems.append(Violation(file, line, f.column, exc.rule, f.value))
        stack[-1].fields.append(f)
    for unclosed in reversed(stack[1:]):
        problems.append(Violation(file, end_line, f":16S:{unclosed.name}",
                                  f"sequence {unclosed.name} opened at line {unclosed.line} is not closed (no :16S:{unclosed.name} before the end of block 4)"))
    return root.freeze()


def _parties(block1: str, block2: str, file: str, line: int, problems: list[Violation]) -> tuple[str, str, str, str]:
    """(message type, direction, sender, receiver) from blocks 1 and 2."""
    own = ""
    match = _BLOCK1_RE.fullmatch(block1)
    if match:
        own = lt_to_bic(match[1])
    else:
        problems.append(Violation(file, line, "{1:", "basic header block 1 is not F01<12-character LT address><4-digit session><6-digit sequence>", block1))
    output = _OUTPUT_RE.fullmatch(block2)
    if output:
        return output[1], "output", lt_to_bic(output[4]), own
    given = _INPUT_RE.fullmatch(block2)
    if given:
        return given[1], "input", own, lt_to_bic(given[2]) if given[2] else ""
    problems.append(Violation(file, line, "{2:", "application header block 2 is neither I<MT><receiver LT>[priority] nor O<MT><time><MIR><date><time>[priority]", block2))
    found = re.match(r"[IO]?([0-9]{3})", block2)
    return (found[1] if found else ""), "", own if block2.startswith("I") else "", ""


def _read_message(text: str, start: int, limit: int, lines: _Lines, file: str, problems: list[Violation],
                  top_level: frozenset) -> tuple[Message | None, int]:
    """The message whose "{1:" is at ``start`` (not reading past ``limit``, the next message's
    start); returns it and the offset after it."""
    line = lines(start)
    blocks: dict[str, str] = {}
    pos = start
    body_seq: Sequence | None = None
    while pos < limit and text.startswith("{", pos):
        label = re.match(r"\{([0-9A-Z]+):", text[pos:pos + 8])
        if not label:
            problems.append(Violation(file, lines(pos), None, "block does not start {<id>:", text[pos:pos + 20]))
            break
        block_id = label[1]
        if block_id == "4":
            content_start = pos + label.end()
            end = text.find("\n-}", content_start, limit)
            closed = end >= 0
            if not closed:
                problems.append(Violation(file, lines(pos), "{4:", "text block 4 is not closed by a line '-}'"))
                end = limit
            after = end + 3 if closed else limit
            body = text[content_start:end]
            first_line = lines(content_start)
            if body.startswith("\r\n") or body.startswith("\n"):
                body = body.split("\n", 1)[1]
                first_line += 1
            end_line = lines(end + 1) if closed else lines(max(limit - 1, 0))  # the "-}" line, or the block's last
            iso15022 = re.match(r"\{?[IO]5", blocks.get("2", "")) is not None
            body_seq = _read_block4(body, first_line, end_line, file, problems, iso15022, top_level)
            pos = after
            continue
        end = _braced_block(text, pos)
        if end < 0 or end > limit:
            problems.append(Violation(file, lines(pos), f"{{{block_id}:", f"block {block_id} is not closed by '}}'"))
            pos = limit
            break
        blocks[block_id] = text[pos + label.end():end - 1]
        pos = end
    if body_seq is None:
        problems.append(Violation(file, line, "{4:", "message has no text block 4"))
        return None, max(pos, start + 1)
    message_type, direction, sender, receiver = _parties(blocks.get("1", ""), blocks.get("2", ""), file, line, problems)
    mur = re.search(r"\{108:([^}]*)\}", blocks.get("3", ""))
    return Message(file, line, message_type, direction, sender, receiver, mur[1] if mur else "", body_seq), pos


def read_fin(text: str, file: str, *, top_level: frozenset = CA_TOP_LEVEL) -> tuple[list[Message], list[Violation]]:
    """All FIN messages of a file's text, and every violation found in them (file, line, tag, rule).
    ``top_level``: the sequence names that cannot nest (see ``CA_TOP_LEVEL``; pass an empty set
    for message types outside corporate actions)."""
    text = text.lstrip("\ufeff")
    lines = _Lines(text)
    problems: list[Violation] = []
    messages: list[Message] = []
    starts = [m.start() for m in re.finditer(r"\{1:", text)]
    if not starts:
        problems.append(Violation(file, None, None, "no SWIFT message (no basic header block '{1:') in the file"))
    pos = 0
    for i, start in enumerate(starts):
        between = text[pos:start].strip().strip("\x01\x03$")
        if between and start >= pos:
            problems.append(Violation(file, lines(pos), None, "text outside any message", between[:40]))
        limit = starts[i + 1] if i + 1 < len(starts) else len(text)
        message, pos = _read_message(text, start, limit, lines, file, problems, top_level)
        if message is not None:
            messages.append(message)
    tail = text[pos:].strip().strip("\x01\x03$") if starts else ""
    if tail:
        problems.append(Violation(file, lines(pos), None, "text outside any message", tail[:40]))
    return messages, problems
