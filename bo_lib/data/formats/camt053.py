"""ISO 20022 camt.053 (bank-to-customer statement) reading and writing.

This module owns the camt.053 codec for :class:`~bo_lib.data.formats.statement.BankStatement`:

* ``write_camt053`` builds a ``camt.053.001.02`` document with lxml (UTF-8,
  XML declaration first).
* ``parse_camt053`` reads versions .02, .04 and .08 (elements are matched by
  local name, so the namespace version does not matter).  Opening balance is
  ``OPBD`` (or ``PRCD``, the previous closing), closing balance ``CLBD``.
  Parsing is hardened: no DTDs, no entity expansion, no network; a document
  declaring a DOCTYPE/ENTITY is refused outright.  Every failure is a
  ``StatementFormatError`` naming the file and the element.

Mapping (entry): ``Amt`` + ``CdtDbtInd`` -> signed amount; ``BookgDt``/``ValDt``
(``Dt`` or ``DtTm``) -> dates; ``AcctSvcrRef`` -> bank_reference;
``BkTxCd/Prtry/Cd`` (else ``Domn`` codes joined by ``-``) -> transaction_code;
first ``NtryDtls/TxDtls/Refs/EndToEndId`` -> customer_reference;
``AddtlNtryInf`` -> description.
"""

from __future__ import annotations

import datetime
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable

from lxml import etree

from bo_lib.data.formats.statement import (
    BankStatement,
    StatementEntry,
    StatementFormatError,
)

__all__ = ["write_camt053", "parse_camt053", "CAMT053_V2_NS"]

CAMT053_V2_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"

# IBAN shape (ISO 13616): country, 2 check digits, up to 30 alphanumerics.
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_DOCTYPE_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


# ====================================================================== writing
def _amount_text(amount: Decimal) -> str:
    return format(abs(amount), "f")


def _indicator(amount: Decimal) -> str:
    return "DBIT" if amount < 0 else "CRDT"


def write_camt053(
    statements: Iterable[BankStatement], message_id: str, created_at: datetime.datetime
) -> bytes:
    """Serialise statements as one camt.053.001.02 document (UTF-8 bytes)."""
    ns = CAMT053_V2_NS

    def sub(parent, tag: str, text: str | None = None, **attrib):
        element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
        if text is not None:
            element.text = text
        return element

    created = created_at.isoformat(timespec="seconds")
    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    report = sub(root, "BkToCstmrStmt")
    header = sub(report, "GrpHdr")
    sub(header, "MsgId", message_id)
    sub(header, "CreDtTm", created)

    for statement in statements:
        stmt = sub(report, "Stmt")
        sub(stmt, "Id", statement.statement_id)
        if statement.sequence_number:
            sub(stmt, "ElctrncSeqNb", statement.sequence_number)
        sub(stmt, "CreDtTm", created)
        acct = sub(stmt, "Acct")
        acct_id = sub(acct, "Id")
        if _IBAN_RE.fullmatch(statement.account):
            sub(acct_id, "IBAN", statement.account)
        else:
            sub(sub(acct_id, "Othr"), "Id", statement.account)
        sub(acct, "Ccy", statement.currency)
        if statement.bic:
            sub(sub(sub(acct, "Svcr"), "FinInstnId"), "BIC", statement.bic)

        for code, amount, date in (
            ("OPBD", statement.opening_balance, statement.opening_date),
            ("CLBD", statement.closing_balance, statement.closing_date),
        ):
            bal = sub(stmt, "Bal")
            sub(sub(sub(bal, "Tp"), "CdOrPrtry"), "Cd", code)
            sub(bal, "Amt", _amount_text(amount), Ccy=statement.currency)
            sub(bal, "CdtDbtInd", _indicator(amount))
            sub(sub(bal, "Dt"), "Dt", date.isoformat())

        for entry in statement.entries:
            ntry = sub(stmt, "Ntry")
            sub(ntry, "Amt", _amount_text(entry.amount), Ccy=entry.currency)
            sub(ntry, "CdtDbtInd", _indicator(entry.amount))
            sub(ntry, "Sts", "BOOK")
            sub(sub(ntry, "BookgDt"), "Dt", entry.booking_date.isoformat())
            sub(sub(ntry, "ValDt"), "Dt", entry.value_date.isoformat())
            if entry.bank_reference:
                sub(ntry, "AcctSvcrRef", entry.bank_reference)
            sub(sub(sub(ntry, "BkTxCd"), "Prtry"), "Cd", entry.transaction_code)
            if entry.customer_reference:
                tx = sub(sub(ntry, "NtryDtls"), "TxDtls")
                sub(sub(tx, "Refs"), "EndToEndId", entry.customer_reference)
            if entry.description:
                sub(ntry, "AddtlNtryInf", entry.description)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ====================================================================== parsing
def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


def _read(path_or_bytes, source_name: str | None) -> tuple[bytes, str]:
    data = path_or_bytes
    name = source_name
    if isinstance(data, (str, os.PathLike)) and not (
        isinstance(data, str) and data.lstrip().startswith("<")
    ):
        path = Path(data)
        name = name or str(path)
        if not path.is_file():
            raise StatementFormatError(name, "file not found or not a regular file")
        data = path.read_bytes()
    elif isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes):
        raise TypeError(f"expected a path or bytes, got {type(path_or_bytes).__name__}")
    return data, name or "<bytes>"


def _children(element, name: str) -> list:
    return [c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _child(element, *path: str):
    """First descendant along a local-name path, or None."""
    current = element
    for name in path:
        found = _children(current, name)
        if not found:
            return None
        current = found[0]
    return current


def _text(element, *path: str) -> str | None:
    node = _child(element, *path)
    if node is None or node.text is None:
        return None
    return node.text.strip()


class _Ctx:
    """Error context: file name + where in the document we are."""

    def __init__(self, name: str):
        self.name = name

    def fail(self, where: str, rule: str) -> StatementFormatError:
        return StatementFormatError(self.name, rule, where)

    def required(self, element, where: str, *path: str) -> str:
        value = _text(element, *path)
        if not value:
            raise self.fail(where, f"missing required element {'/'.join(path)}")
        return value


def _date(ctx: _Ctx, element, where: str, what: str) -> datetime.date:
    """Date from a DateAndDateTimeChoice (``Dt`` or ``DtTm``)."""
    if element is None:
        raise ctx.fail(where, f"missing required element {what}")
    text = _text(element, "Dt")
    try:
        if text:
            return datetime.date.fromisoformat(text[:10])
        text = _text(element, "DtTm")
        if text:
            # The calendar date as written by the bank (local date), no tz shift.
            return datetime.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ctx.fail(where, f"{what} {text!r} is not an ISO date") from exc
    raise ctx.fail(where, f"missing required element {what}/Dt or {what}/DtTm")


def _signed_amount(ctx: _Ctx, element, where: str) -> tuple[Decimal, str]:
    amt = _child(element, "Amt")
    if amt is None or not (amt.text or "").strip():
        raise ctx.fail(where, "missing required element Amt")
    try:
        value = Decimal(amt.text.strip())
    except InvalidOperation as exc:
        raise ctx.fail(where, f"Amt {amt.text!r} is not a decimal number") from exc
    indicator = ctx.required(element, where, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise ctx.fail(where, f"CdtDbtInd {indicator!r} is neither CRDT nor DBIT")
    return (-value if indicator == "DBIT" else value), amt.get("Ccy", "")


def _transaction_code(ntry) -> str:
    proprietary = _text(ntry, "BkTxCd", "Prtry", "Cd")
    if proprietary:
        return proprietary
    domain = _child(ntry, "BkTxCd", "Domn")
    if domain is None:
        return ""
    parts = [
        _text(domain, "Cd"),
        _text(domain, "Fmly", "Cd"),
        _text(domain, "Fmly", "SubFmlyCd"),
    ]
    return "-".join(p for p in parts if p)


def _parse_statement(ctx: _Ctx, stmt, index: int) -> BankStatement:
    statement_id = _text(stmt, "Id")
    where = f"Stmt[{index}]" + (f" (Id {statement_id})" if statement_id else "")
    if not statement_id:
        raise ctx.fail(where, "missing required element Stmt/Id")

    acct = _child(stmt, "Acct")
    if acct is None:
        raise ctx.fail(where, "missing required element Acct")
    account = _text(acct, "Id", "IBAN") or _text(acct, "Id", "Othr", "Id")
    if not account:
        raise ctx.fail(where, "missing required element Acct/Id/IBAN or Acct/Id/Othr/Id")
    bic = _text(acct, "Svcr", "FinInstnId", "BIC") or _text(acct, "Svcr", "FinInstnId", "BICFI") or ""

    opening = closing = None
    for n, bal in enumerate(_children(stmt, "Bal"), start=1):
        code = _text(bal, "Tp", "CdOrPrtry", "Cd")
        bal_where = f"{where}/Bal[{n}]"
        if code in ("OPBD", "PRCD") and (opening is None or code == "OPBD"):
            opening = (*_signed_amount(ctx, bal, bal_where), _date(ctx, _child(bal, "Dt"), bal_where, "Dt"))
        elif code == "CLBD":
            closing = (*_signed_amount(ctx, bal, bal_where), _date(ctx, _child(bal, "Dt"), bal_where, "Dt"))
    if opening is None:
        raise ctx.fail(where, "missing required element Bal with Tp/CdOrPrtry/Cd OPBD or PRCD")
    if closing is None:
        raise ctx.fail(where, "missing required element Bal with Tp/CdOrPrtry/Cd CLBD")
    currency = _text(acct, "Ccy") or opening[1]

    entries = []
    for n, ntry in enumerate(_children(stmt, "Ntry"), start=1):
        ntry_where = f"{where}/Ntry[{n}]"
        amount, entry_ccy = _signed_amount(ctx, ntry, ntry_where)
        booking = _child(ntry, "BookgDt")
        value = _child(ntry, "ValDt")
        if booking is None and value is None:
            raise ctx.fail(ntry_where, "missing required element BookgDt or ValDt")
        booking_date = _date(ctx, booking if booking is not None else value, ntry_where, "BookgDt")
        value_date = _date(ctx, value, ntry_where, "ValDt") if value is not None else booking_date
        end_to_end = ""
        for details in _children(ntry, "NtryDtls"):
            for tx in _children(details, "TxDtls"):
                end_to_end = end_to_end or (_text(tx, "Refs", "EndToEndId") or "")
        entries.append(
            StatementEntry(
                value_date=value_date,
                booking_date=booking_date,
                amount=amount,
                currency=entry_ccy or currency,
                transaction_code=_transaction_code(ntry),
                customer_reference=end_to_end,
                bank_reference=_text(ntry, "AcctSvcrRef") or "",
                description=_text(ntry, "AddtlNtryInf") or "",
            )
        )

    return BankStatement(
        account=account,
        currency=currency,
        statement_id=statement_id,
        sequence_number=_text(stmt, "ElctrncSeqNb") or "",
        opening_date=opening[2],
        opening_balance=opening[0],
        closing_date=closing[2],
        closing_balance=closing[0],
        entries=tuple(entries),
        bic=bic,
    )


def parse_camt053(path_or_bytes, source_name: str | None = None) -> list[BankStatement]:
    """Parse a camt.053 document (path, bytes, or XML text) into statements.

    Raises ``StatementFormatError`` for DOCTYPE/ENTITY declarations, XML that
    is not well-formed, a root that is not a camt.053 document, or missing
    required elements (the message names the statement and element).
    """
    data, name = _read(path_or_bytes, source_name)
    ctx = _Ctx(name)
    # Refuse before parsing: even with entity resolution off, a DTD is never
    # legitimate in camt.053 and declared entities would be silently dropped.
    if _DOCTYPE_RE.search(data):
        raise ctx.fail("prolog", "DOCTYPE/ENTITY declaration found: external/internal entities are not allowed")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise StatementFormatError(name, f"not well-formed XML: {exc}", getattr(exc, "lineno", None)) from exc
    if root.getroottree().docinfo.doctype:
        raise ctx.fail("prolog", "DOCTYPE declaration found: external/internal entities are not allowed")

    if etree.QName(root).localname != "Document":
        raise ctx.fail("root", f"root element is {etree.QName(root).localname!r}, expected Document")
    namespace = etree.QName(root).namespace or ""
    if namespace and "camt.053" not in namespace:
        raise ctx.fail("root", f"namespace {namespace!r} is not a camt.053 namespace")
    report = _child(root, "BkToCstmrStmt")
    if report is None:
        raise ctx.fail("Document", "missing required element BkToCstmrStmt")
    if _child(report, "GrpHdr", "MsgId") is None:
        raise ctx.fail("BkToCstmrStmt", "missing required element GrpHdr/MsgId")
    statements = _children(report, "Stmt")
    if not statements:
        raise ctx.fail("BkToCstmrStmt", "missing required element Stmt (a statement message needs at least one)")
    return [_parse_statement(ctx, stmt, i) for i, stmt in enumerate(statements, start=1)]
