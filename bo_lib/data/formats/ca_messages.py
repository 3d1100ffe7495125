"""ISO 15022 corporate-action messages: MT564 (notification), MT565 (instruction) and MT566
(confirmation) read into rows, and the MT565 election a fund sends.

This module owns what those three message types mean; the FIN syntax (envelope, ``:16R:``/``:16S:``
sequences, value formats) is ``swift``'s.

* ``read_ca_messages(path, data_root)`` reads a file of such messages into one row per message
  option (``CA_MESSAGE_COLUMNS``): every option (``CAOPTN``) of an MT564 (one row when it has
  none), the confirmed option (``CACONF``) of an MT566, the instructed option (``CAINST``) of an
  MT565.  It returns the rows with the violations: the format ones ``swift.read_fin`` finds, a
  message type other than 564/565/566, and the mandatory sequences and fields of each type that
  are missing (``MANDATORY``).  A message with violations keeps its rows (a malformed value is
  left empty in its column), so an analyst sees what the custodian sent.
* ``ca_message_rows(messages)`` is the row building alone, for messages already read.
* ``mt565_instruction(...)`` writes the text of a new (or cancelling) MT565 election.

Where a column's figure may stand in several places the row takes, in order: the option itself,
then its cash/securities movements (``CASHMOVE``/``SECMOVE``), then the event details
(``CADETL``); ``pay_date`` prefers the movements' PAYD.  Rates are as given (a 92A rate is a
percentage, 35 = 35 %; an interest rate per 100 nominal stays per 100); ``ratio_new``/``ratio_old``
are 92D NEWO (new for old) when present, else ADEX (*additional* for existing: 1 for 20 adds one
share to twenty); ``price`` of a 90A is a percentage (``price_currency`` ""), of a 90B an amount
per unit.  Amounts and rates are floats of the exact decimals.  Not checked or not read: the event
code against a code list (``CAEV`` is only checked to be 4!c), the order of fields, qualifiers a
sequence may not carry, the network rules between fields, a second movement's figures where the
first already gives them, tax breakdowns, intermediate securities and beneficial owners.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd

from bo_lib.data.errors import Violation
from bo_lib.data.formats.swift import (
    Field,
    Message,
    Sequence,
    bic_to_lt,
    field_value,
    format_decimal,
    read_fin,
)
from bo_lib.data.identifiers import is_valid_bic, is_valid_isin

__all__ = ["CA_MESSAGE_COLUMNS", "MANDATORY", "read_ca_messages", "ca_message_rows", "mt565_instruction"]

_STR = "str"
_FLOAT = "float"
_DATE = "date"
_BOOL = "bool"
_INT = "int"

_COLUMN_TYPES = {
    "source_line": _INT, "message_type": _STR, "sender": _STR, "receiver": _STR,
    "corporate_reference": _STR, "sender_reference": _STR, "previous_reference": _STR, "related_reference": _STR,
    "function": _STR, "processing_status": _STR, "event_type": _STR, "mandatory_voluntary": _STR,
    "isin": _STR, "cusip": _STR, "security_description": _STR, "account": _STR,
    "eligible_balance": _FLOAT, "balance_type": _STR,
    "announcement_date": _DATE, "ex_date": _DATE, "record_date": _DATE, "pay_date": _DATE, "effective_date": _DATE,
    "market_deadline": _DATE, "response_deadline": _DATE,
    "option_number": _STR, "option_type": _STR, "is_default": _BOOL, "currency": _STR,
    "gross_rate": _FLOAT, "net_rate": _FLOAT, "withholding_pct": _FLOAT, "ratio_new": _FLOAT, "ratio_old": _FLOAT,
    "price": _FLOAT, "price_currency": _STR, "new_isin": _STR, "fraction_disposition": _STR,
    "instructed_quantity": _FLOAT, "posted_quantity": _FLOAT, "posted_amount": _FLOAT,
    "gross_amount": _FLOAT, "tax_amount": _FLOAT, "net_amount": _FLOAT,
    "posting_date": _DATE, "value_date": _DATE, "narrative": _STR,
}
CA_MESSAGE_COLUMNS = list(_COLUMN_TYPES)

#: the option sequence each message type gives its rows from
_OPTION_SEQUENCE = {"564": "CAOPTN", "565": "CAINST", "566": "CACONF"}

#: mandatory content, per message type: (sequence path, tag, qualifier or None, what it is).
#: A path of () with tag None means the sequence itself; ``*`` in a path: each such sequence.
MANDATORY: dict[str, list[tuple[tuple[str, ...], str | None, str | None, str]]] = {
    "564": [
        (("GENL",), None, None, "general information"),
        (("GENL",), "20C", "CORP", "corporate action reference"),
        (("GENL",), "20C", "SEME", "sender's message reference"),
        (("GENL",), "23G", None, "function of the message"),
        (("GENL",), "22F", "CAEV", "corporate action event indicator"),
        (("GENL",), "22F", "CAMV", "mandatory/voluntary indicator"),
        (("GENL",), "25D", "PROC", "processing status"),
        (("USECU",), None, None, "underlying securities"),
        (("USECU",), "35B", None, "identification of the financial instrument"),
        (("USECU", "ACCTINFO"), None, None, "account information"),
        (("USECU", "*ACCTINFO"), "97A", "SAFE", "safekeeping account"),
        (("*CAOPTN",), "13A", "CAON", "corporate action option number"),
        (("*CAOPTN",), "22F", "CAOP", "corporate action option code"),
        (("*CAOPTN",), "17B", "DFLT", "default processing flag"),
    ],
    "565": [
        (("GENL",), None, None, "general information"),
        (("GENL",), "20C", "CORP", "corporate action reference"),
        (("GENL",), "20C", "SEME", "sender's message reference"),
        (("GENL",), "23G", None, "function of the message"),
        (("GENL",), "22F", "CAEV", "corporate action event indicator"),
        (("USECU",), None, None, "underlying securities"),
        (("USECU",), "35B", None, "identification of the financial instrument"),
        (("USECU", "ACCTINFO"), None, None, "account information"),
        (("USECU", "ACCTINFO"), "97A", "SAFE", "safekeeping account"),
        (("CAINST",), None, None, "corporate action instruction"),
        (("CAINST",), "13A", "CAON", "corporate action option number"),
        (("CAINST",), "22F", "CAOP", "corporate action option code"),
        (("CAINST",), "36B", None, "instructed quantity"),
    ],
    "566": [
        (("GENL",), None, None, "general information"),
        (("GENL",), "20C", "CORP", "corporate action reference"),
        (("GENL",), "20C", "SEME", "sender's message reference"),
        (("GENL",), "23G", None, "function of the message"),
        (("GENL",), "22F", "CAEV", "corporate action event indicator"),
        (("USECU",), None, None, "underlying securities"),
        (("USECU",), "35B", None, "identification of the financial instrument"),
        (("USECU",), "97A", "SAFE", "safekeeping account"),
        (("CACONF",), None, None, "corporate action confirmation"),
        (("CACONF",), "13A", "CAON", "corporate action option number"),
        (("CACONF",), "22F", "CAOP", "corporate action option code"),
    ],
}
#: 23G functions each message type may carry
_FUNCTIONS = {
    "564": ("NEWM", "REPL", "REPE", "CANC", "WITH", "RMDR", "ADDB"),
    "565": ("NEWM", "CANC"),
    "566": ("NEWM", "REVR", "REPE", "REPL"),
}


# ====================================================================== validation
def _tag_label(tag: str, qualifier: str | None) -> str:
    return f":{tag}::{qualifier}" if qualifier else f":{tag}:"


def _sequences_at(body: Sequence, path: tuple[str, ...]) -> list[Sequence]:
    """The sequences a MANDATORY path names (``*NAME``: every one of that name; NAME: the first)."""
    current = [body]
    for step in path:
        found: list[Sequence] = []
        for seq in current:
            found.extend(seq.sequences(step[1:]) if step.startswith("*") else seq.sequences(step)[:1])
        current = found
    return current


def _has(seq: Sequence, tag: str, qualifier: str | None) -> bool:
    if tag == "36B":  # an instructed quantity may also be given as 36C (a code)
        return bool(seq.all("36B") or seq.all("36C"))
    if tag == "97A":  # 97C (a code such as GENR) stands for the account too
        return bool(seq.all("97A", qualifier) or seq.all("97C", qualifier))
    return seq.first(tag, qualifier) is not None


def _mandatory_violations(message: Message) -> list[Violation]:
    problems: list[Violation] = []
    kind = f"MT{message.message_type}"
    for path, tag, qualifier, what in MANDATORY[message.message_type]:
        parents = _sequences_at(message.body, path[:-1])
        if not parents:
            continue  # the missing parent was reported already
        if tag is None:
            for parent in parents:
                if not parent.sequences(path[-1].lstrip("*")):
                    where = f"sequence {parent.name} (line {parent.line})" if parent.name else "the message"
                    problems.append(Violation(message.file, parent.line if parent.name else message.line, f":16R:{path[-1]}",
                                              f"{kind}: mandatory sequence {path[-1]} ({what}) is missing from {where}"))
            continue
        for seq in _sequences_at(message.body, path):
            if not _has(seq, tag, qualifier):
                problems.append(Violation(message.file, seq.line, _tag_label(tag, qualifier),
                                          f"{kind}: sequence {seq.name} (from line {seq.line}) has no {_tag_label(tag, qualifier)} ({what}), which is mandatory"))
    genl = message.body.sequence("GENL")
    function = genl.first("23G") if genl else None
    if function is not None and field_value(function) is not None and field_value(function)[0] not in _FUNCTIONS[message.message_type]:
        problems.append(Violation(message.file, function.line, ":23G:",
                                  f"{kind}: function {field_value(function)[0]} is not one of {', '.join(_FUNCTIONS[message.message_type])}", function.value))
    return problems


# ====================================================================== rows
def _first(sequences: list[Sequence | None], tag: str, qualifiers: tuple[str, ...] | str | None = None) -> Field | None:
    """The first field with the tag (one of the qualifiers, in their order of preference) in the
    sequences, searched in order."""
    if isinstance(qualifiers, str) or qualifiers is None:
        qualifiers = (qualifiers,)
    for seq in sequences:
        if seq is None:
            continue
        for qualifier in qualifiers:
            found = seq.first(tag, qualifier)
            if found is not None:
                return found
    return None


def _first_of_tags(sequences: list[Sequence | None], tags: tuple[str, ...], qualifiers: tuple[str, ...] | str) -> Field | None:
    """The first field of any of the tags (e.g. 92A/92F/92H/92J for one rate) in the sequences in order."""
    if isinstance(qualifiers, str):
        qualifiers = (qualifiers,)
    for seq in sequences:
        if seq is None:
            continue
        for qualifier in qualifiers:
            for f in seq.fields:
                if f.tag in tags and f.qualifier == qualifier:
                    return f
    return None


def _num(value) -> float:
    return float(value) if isinstance(value, Decimal) else math.nan


def _date(f: Field | None):
    value = field_value(f)
    return value if isinstance(value, (dt.date, dt.datetime)) else None


def _text(f: Field | None) -> str:
    value = field_value(f)
    return value if isinstance(value, str) else ""


def _links(genl: Sequence | None, qualifier: str) -> str:
    if genl is None:
        return ""
    found = _first([genl, *genl.sequences("LINK")], "20C", qualifier)
    return _text(found)


def _message_part(message: Message) -> dict:
    """The columns every row of a message shares."""
    body = message.body
    genl, usecu, cadetl = body.sequence("GENL"), body.sequence("USECU"), body.sequence("CADETL")
    accounts = usecu.sequences("ACCTINFO") if usecu else []
    function = field_value(genl.first("23G")) if genl else None
    security = field_value(usecu.first("35B")) if usecu else None
    balance_qualifiers = ("ELIG", "CONB") if message.message_type == "566" else ("ELIG",)
    places = [*accounts, usecu]
    balance = field_value(_first(places, "93B", balance_qualifiers))
    return {
        "source_line": message.line, "message_type": message.message_type, "sender": message.sender, "receiver": message.receiver,
        "corporate_reference": _text(_first([genl], "20C", "CORP")), "sender_reference": _text(_first([genl], "20C", "SEME")),
        "previous_reference": _links(genl, "PREV"), "related_reference": _links(genl, "RELA"),
        "function": function[0] if function else "",
        "processing_status": _text(_first([genl], "25D", "PROC")) if message.message_type == "564" else "",
        "event_type": _text(_first([genl], "22F", "CAEV")), "mandatory_voluntary": _text(_first([genl], "22F", "CAMV")),
        "isin": security.isin if security else "", "cusip": security.ids.get("CUSP", "") if security else "",
        "security_description": security.description if security else "",
        "account": _text(_first(places, "97A", "SAFE")),
        "eligible_balance": _num(balance.value) if balance else math.nan, "balance_type": balance.type if balance else "",
        "_cadetl": cadetl,
    }


def _movements(option: Sequence | None, name: str) -> list[Sequence]:
    return option.sequences(name) if option is not None else []


def _new_isin(option: Sequence | None) -> str:
    for move in _movements(option, "SECMOVE"):
        if _text(move.first("22H", "CRDB")) == "CRED":
            security = field_value(move.first("35B"))
            if security and security.isin:
                return security.isin
    return ""


def _rate(sequences: list, qualifier: str):
    return field_value(_first_of_tags(sequences, ("92A", "92F", "92H", "92J", "92K"), qualifier))


def _option_part(message: Message, option: Sequence | None, cadetl: Sequence | None) -> dict:
    cash, securities = _movements(option, "CASHMOVE"), _movements(option, "SECMOVE")
    moves = [*cash, *securities]
    rate_places = [option, *cash, cadetl]
    gross, net = _rate(rate_places, "GRSS"), _rate(rate_places, "NETT")
    withholding = field_value(_first_of_tags(rate_places, ("92A",), ("WITF", "TAXR")))
    ratio = field_value(_first([option, *securities, cadetl], "92D", ("NEWO", "ADEX")))
    price = field_value(_first_of_tags([option, *moves], ("90A", "90B"), ("PRPP", "OFFR", "INDC")))
    cash_currency = next((r.currency for r in (gross, net) if r is not None and r.currency), "")

    def detail_date(qualifier: str):
        return _date(_first([cadetl, option], "98A", qualifier)) or _date(_first([cadetl, option], "98C", qualifier))

    def amount(qualifiers):
        return field_value(_first(cash, "19B", qualifiers))

    narrative = [f.value for seq in (option, message.body.sequence("ADDINFO")) if seq is not None for f in seq.all("70E")]
    posted_quantity = field_value(_first(securities, "36B", "PSTA")) if message.message_type == "566" else None
    instructed = field_value(_first([option], "36B", "QINS")) if message.message_type == "565" else None
    posted_amount = amount("PSTA") if message.message_type == "566" else None
    gross_amount, tax_amount, net_amount = amount("GRSS"), amount(("TAXR", "WITL")), amount("NETT")
    return {
        "announcement_date": detail_date("ANOU"), "ex_date": detail_date("XDTE"), "record_date": detail_date("RDTE"),
        "pay_date": _date(_first(moves, "98A", "PAYD")) or _date(_first([option], "98A", "PAYD")) or _date(_first([cadetl], "98A", "PAYD")),
        "effective_date": detail_date("EFFD"),
        "market_deadline": _date(_first([option], "98A", "MKDT")) or _date(_first([option], "98C", "MKDT")),
        "response_deadline": _date(_first([option], "98A", "RDDT")) or _date(_first([option], "98C", "RDDT")),
        "option_number": _text(_first([option], "13A", "CAON")), "option_type": _text(_first([option], "22F", "CAOP")),
        "is_default": field_value(_first([option], "17B", "DFLT")) is True,
        "currency": cash_currency or _text(_first([option], "11A", "OPTN")),
        "gross_rate": _num(gross.value) if gross else math.nan, "net_rate": _num(net.value) if net else math.nan,
        "withholding_pct": _num(withholding.value) if withholding else math.nan,
        "ratio_new": _num(ratio.new) if ratio else math.nan, "ratio_old": _num(ratio.old) if ratio else math.nan,
        "price": _num(price.value) if price else math.nan, "price_currency": price.currency if price else "",
        "new_isin": _new_isin(option), "fraction_disposition": _text(_first([option, *securities], "22F", "DISF")),
        "instructed_quantity": _num(instructed.value) if instructed else math.nan,
        "posted_quantity": _num(posted_quantity.value) if posted_quantity else math.nan,
        "posted_amount": _num(posted_amount.value) if posted_amount else math.nan,
        "gross_amount": _num(gross_amount.value) if gross_amount else math.nan,
        "tax_amount": _num(tax_amount.value) if tax_amount else math.nan,
        "net_amount": _num(net_amount.value) if net_amount else math.nan,
        "posting_date": _date(_first(moves, "98A", "POST")), "value_date": _date(_first(moves, "98A", "VALU")),
        "narrative": "\n".join(narrative),
    }


def _frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=CA_MESSAGE_COLUMNS)
    for column, kind in _COLUMN_TYPES.items():
        if kind == _STR:
            frame[column] = frame[column].fillna("").astype(object)
        elif kind == _FLOAT:
            frame[column] = frame[column].astype("float64")
        elif kind == _DATE:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        elif kind == _BOOL:
            frame[column] = frame[column].fillna(False).astype(bool)
        else:
            frame[column] = frame[column].astype("int64")
    return frame


def ca_message_rows(messages: list[Message]) -> pd.DataFrame:
    """One row per message option (CA_MESSAGE_COLUMNS); messages of other types are skipped."""
    records: list[dict] = []
    for message in messages:
        name = _OPTION_SEQUENCE.get(message.message_type)
        if name is None:
            continue
        shared = _message_part(message)
        cadetl = shared.pop("_cadetl")
        options = message.body.sequences(name)
        if message.message_type != "564":
            options = options[:1]
        for option in options or [None]:
            records.append({**shared, **_option_part(message, option, cadetl)})
    return _frame(records)


def _label(path: Path, data_root: Path | None) -> str:
    try:
        return path.resolve().relative_to(Path(data_root).resolve()).as_posix() if data_root else path.name
    except ValueError:
        return str(path)


def read_ca_messages(path: Path, data_root: Path | None = None) -> tuple[pd.DataFrame, list[Violation]]:
    """The MT564/565/566 messages of a file as rows, and what is wrong with them."""
    path = Path(path)
    label = _label(path, Path(data_root) if data_root is not None else None)
    if not path.is_file():
        return ca_message_rows([]), [Violation(label, None, None, "file not found or not a regular file")]
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # every byte decodes; the SWIFT character set is within it
    messages, problems = read_fin(text, label)
    kept: list[Message] = []
    for message in messages:
        if message.message_type not in _OPTION_SEQUENCE:
            problems.append(Violation(label, message.line, "{2:", f"MT{message.message_type or '?'} is not a corporate-action message (MT564, MT565 or MT566)",
                                      message.message_type))
            continue
        problems.extend(_mandatory_violations(message))
        kept.append(message)
    problems.sort(key=lambda v: (v.line if v.line is not None else 0))
    return ca_message_rows(kept), problems


# ====================================================================== writing
def _check_reference(value: str, what: str) -> str:
    if not value or len(value) > 16 or "\n" in value or value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{what} {value!r} is not a SWIFT reference (1 to 16 characters, no leading/trailing '/' nor '//')")
    return value


def _check_code(value: str, what: str) -> str:
    if not (isinstance(value, str) and len(value) == 4 and value.isalnum() and value.upper() == value):
        raise ValueError(f"{what} {value!r} is not a 4-character code")
    return value


def mt565_instruction(*, sender: str, receiver: str, corporate_reference: str, sender_reference: str, event_type: str, isin: str,
                      account: str, option_number, option_type: str, quantity, balance_type: str = "UNIT", function: str = "NEWM",
                      prepared: dt.datetime) -> str:
    """The text of an MT565 election the fund (``sender``) sends to its custodian (``receiver``):
    an input message (blocks 1, 2 and 4) with GENL (CORP, SEME, 23G, CAEV, PREP), USECU (35B ISIN,
    ACCTINFO with the safekeeping account) and CAINST (option number and code, instructed
    quantity).  Raises ValueError for what cannot be written."""
    for bic, what in ((sender, "sender"), (receiver, "receiver")):
        if not is_valid_bic(bic):
            raise ValueError(f"{what} {bic!r} is not a BIC (8 or 11 characters)")
    if not is_valid_isin(isin):
        raise ValueError(f"isin {isin!r} is not a valid ISIN")
    if function not in _FUNCTIONS["565"]:
        raise ValueError(f"function {function!r}: an MT565 is NEWM or CANC")
    if balance_type not in ("UNIT", "FAMT"):
        raise ValueError(f"balance_type {balance_type!r} is not UNIT or FAMT")
    number = f"{option_number:03d}" if isinstance(option_number, int) else str(option_number)
    if not (len(number) == 3 and number.isalnum()):
        raise ValueError(f"option_number {option_number!r} is not 3 characters (e.g. 001)")
    if not account or len(account) > 35 or "\n" in account:
        raise ValueError(f"account {account!r} is not 1 to 35 characters")
    if Decimal(str(quantity)) <= 0:
        raise ValueError(f"quantity {quantity!r} must be positive")
    lines = [
        f"{{1:F01{bic_to_lt(sender)}0000000000}}{{2:I565{bic_to_lt(receiver, 'X')}N}}{{4:",
        ":16R:GENL",
        f":20C::CORP//{_check_reference(corporate_reference, 'corporate_reference')}",
        f":20C::SEME//{_check_reference(sender_reference, 'sender_reference')}",
        f":23G:{function}",
        f":22F::CAEV//{_check_code(event_type, 'event_type')}",
        f":98C::PREP//{prepared:%Y%m%d%H%M%S}",
        ":16S:GENL",
        ":16R:USECU",
        f":35B:ISIN {isin}",
        ":16R:ACCTINFO",
        f":97A::SAFE//{account}",
        ":16S:ACCTINFO",
        ":16S:USECU",
        ":16R:CAINST",
        f":13A::CAON//{number}",
        f":22F::CAOP//{_check_code(option_type, 'option_type')}",
        f":36B::QINS//{balance_type}/{format_decimal(quantity)}",
        ":16S:CAINST",
        "-}",
    ]
    return "\n".join(lines) + "\n"
