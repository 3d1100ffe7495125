"""Bank statement model, MT940 and camt.053 codecs.

Round trips run everywhere.  Tests against real bank files read them from
``$BO_REFERENCE_DIR`` (never copied into the repo) and skip, with a reason,
when the variable is unset.
"""

from __future__ import annotations

import datetime
import json
import os
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.data.formats.camt053 import parse_camt053, write_camt053
from bo_lib.data.formats.mt940 import parse_mt940, write_mt940
from bo_lib.data.formats.statement import (
    BankStatement,
    StatementEntry,
    StatementFormatError,
    statements_to_frame,
)

D = datetime.date

LONG_DESCRIPTION = (
    "Coupon payment DE0001102580 Bundesrepublik Deutschland 0.000% 15/02/2031 "
    "nominal EUR 5,000,000.00 record date 12/02 ex date 13/02 paid via Clearstream "
    "Banking Frankfurt account 7011 our ref TRD-2025-000123"
)


def _entry(**overrides) -> StatementEntry:
    values = dict(
        value_date=D(2025, 3, 3),
        booking_date=D(2025, 3, 3),
        amount=Decimal("1250.00"),
        currency="EUR",
        transaction_code="NTRF",
        customer_reference="TRD000123",
        bank_reference="BK0001",
        description="Subscription fund A",
    )
    values.update(overrides)
    return StatementEntry(**values)


@pytest.fixture
def statements() -> list[BankStatement]:
    duplicate = _entry(
        amount=Decimal("-75.25"),
        transaction_code="NCHG",
        customer_reference="NONREF",
        bank_reference="FEE0303",
        description="Custody fee March",
    )
    entries = (
        _entry(),  # credit
        duplicate,  # debit ...
        duplicate,  # ... and the very same entry again on the same day
        _entry(
            value_date=D(2025, 3, 4),
            booking_date=D(2025, 3, 3),
            amount=Decimal("98765.43"),
            transaction_code="NDIV",
            customer_reference="CPN-DE0001102580",
            bank_reference="",
            description=LONG_DESCRIPTION,
        ),
        _entry(amount=Decimal("-0.01"), transaction_code="NMSC", description=""),
    )
    first = BankStatement(
        account="0012345678",
        currency="EUR",
        statement_id="STMT20250303",
        sequence_number="00123/001",
        opening_date=D(2025, 3, 2),
        opening_balance=Decimal("-1000.50"),
        closing_date=D(2025, 3, 3),
        closing_balance=Decimal("-1000.50") + sum(e.amount for e in entries),
        entries=entries,
    )
    second = BankStatement(
        account="0012345678",
        currency="EUR",
        statement_id="STMT20250304",
        sequence_number="00124/001",
        opening_date=D(2025, 3, 3),
        opening_balance=first.closing_balance,
        closing_date=D(2025, 3, 4),
        closing_balance=first.closing_balance,
        entries=(),
    )
    return [first, second]


# ------------------------------------------------------------------ model
def test_balances_and_frame(statements):
    assert all(s.balances() for s in statements)
    broken = BankStatement(**{**statements[0].__dict__, "closing_balance": Decimal("0")})
    assert not broken.balances()

    frame = statements_to_frame(statements)
    assert list(frame.columns) == [
        "account", "statement_id", "currency", "value_date", "booking_date", "amount",
        "transaction_code", "customer_reference", "bank_reference", "description",
        "entry_sequence",
    ]
    assert len(frame) == 5
    assert frame["amount"].dtype == "float64"
    assert frame["entry_sequence"].tolist() == [1, 2, 3, 4, 5]
    assert frame["account"].iloc[0] == "0012345678"
    assert frame["value_date"].iloc[3] == pd.Timestamp("2025-03-04")
    assert statements_to_frame([]).empty


def test_format_error_names_file_line_rule():
    err = StatementFormatError("x.sta", "field :25: missing", 12)
    assert (err.file, err.line, err.rule) == ("x.sta", 12, "field :25: missing")
    assert "x.sta" in str(err) and "line 12" in str(err) and ":25:" in str(err)
    assert isinstance(err, ValueError)


# ------------------------------------------------------------------ MT940
def test_mt940_round_trip(statements):
    text = write_mt940(statements, sender_bic="DEUTDEFF")
    assert ":25:0012345678" in text and ":28C:00123/001" in text
    assert ":60F:D250302EUR1000,50" in text
    # field 86 is 6*65x: every line of content (after the ":86:" tag) <= 65
    content = [line.removeprefix(":86:") for line in text.splitlines() if not line.startswith(":61:")]
    assert max(len(line) for line in content) == 65
    parsed = parse_mt940(text)
    assert parsed == statements
    assert all(s.balances() for s in parsed)
    assert parsed[0].entries[1] == parsed[0].entries[2]
    assert parsed[0].entries[3].amount == Decimal("98765.43")


def test_mt940_envelope_carries_sender_bic(statements):
    enveloped = [BankStatement(**{**s.__dict__, "bic": "DEUTDEFF"}) for s in statements]
    text = write_mt940(enveloped, sender_bic="DEUTDEFF", envelope=True)
    assert text.startswith("{1:F01DEUTDEFFAXXX0000000000}{4:")
    assert parse_mt940(text) == enveloped


def test_mt940_writer_limits(statements):
    with pytest.raises(ValueError):
        write_mt940(statements, sender_bic="NOT A BIC")
    too_long = BankStatement(
        **{**statements[0].__dict__, "entries": (_entry(description="x" * 500),)}
    )
    parsed = parse_mt940(write_mt940([too_long], "DEUTDEFF"))
    assert parsed[0].entries[0].description == "x" * (6 * 65)  # 6x65 SWIFT limit
    bad_ref = BankStatement(
        **{**statements[0].__dict__, "entries": (_entry(customer_reference="R" * 17),)}
    )
    with pytest.raises(ValueError):
        write_mt940([bad_ref], "DEUTDEFF")


def test_mt940_malformed_text_is_a_format_error():
    with pytest.raises(StatementFormatError) as info:
        parse_mt940(":20:X\n:25:123\n:28C:1\n:60F:C250101EUR1,00\n:61:garbage\n:62F:C250101EUR1,00\n",
                    source_name="inline.sta")
    assert info.value.file == "inline.sta"
    with pytest.raises(StatementFormatError, match="no :20:"):
        parse_mt940("hello\nworld\n", source_name="x.txt")
    with pytest.raises(StatementFormatError, match=":62F:"):
        parse_mt940(":20:X\n:25:123\n:28C:1\n:60F:C250101EUR1,00\n", source_name="y.sta")


# ------------------------------------------------------------------ camt.053
CREATED = datetime.datetime(2025, 3, 4, 7, 30, tzinfo=datetime.timezone.utc)


def test_camt053_round_trip(statements):
    iban_statement = BankStatement(
        **{**statements[1].__dict__, "account": "DE89370400440532013000", "bic": "COBADEFFXXX"}
    )
    data = write_camt053([statements[0], iban_statement], "MSG-1", CREATED)
    assert data.startswith(b"<?xml")
    assert b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" in data
    assert b"<Othr>" in data and b"<IBAN>DE89370400440532013000</IBAN>" in data
    parsed = parse_camt053(data)
    assert parsed == [statements[0], iban_statement]
    assert all(s.balances() for s in parsed)
    assert parsed[0].entries[3].description == LONG_DESCRIPTION


def test_camt053_refuses_entities():
    doc = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&e;</Document>'
    )
    with pytest.raises(StatementFormatError, match="entities are not allowed"):
        parse_camt053(doc, source_name="evil.xml")


def test_camt053_bad_xml_and_missing_elements():
    with pytest.raises(StatementFormatError, match="not well-formed"):
        parse_camt053(b"<Document><BkToCstmrStmt>", source_name="cut.xml")
    doc = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        b"<GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S1</Id><Acct><Id><IBAN>"
        b"DE89370400440532013000</IBAN></Id></Acct></Stmt></BkToCstmrStmt></Document>"
    )
    with pytest.raises(StatementFormatError, match="OPBD") as info:
        parse_camt053(doc, source_name="nobal.xml")
    assert info.value.file == "nobal.xml" and "S1" in str(info.value)


# ------------------------------------------------------------------ real samples
def _reference_dir() -> Path:
    value = os.environ.get("BO_REFERENCE_DIR")
    if not value:
        pytest.skip("BO_REFERENCE_DIR not set: real MT940/camt.053 samples unavailable")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"BO_REFERENCE_DIR={value} is not a directory")
    return path


@pytest.fixture
def mt940_dir() -> Path:
    return _reference_dir() / "swift-mt940"


@pytest.fixture
def camt_dir() -> Path:
    return _reference_dir() / "iso20022-camt053"


def test_real_betterplace_26_statements_all_balance(mt940_dir):
    parsed = parse_mt940(mt940_dir / "betterplace" / "sepa_mt9401.sta")
    assert len(parsed) == 26
    assert all(s.balances() for s in parsed)
    # RC (reversal of credit) entries are debits
    reversal = [e for s in parsed for e in s.entries if e.transaction_code == "NRTI"]
    assert reversal and all(e.amount < 0 for e in reversal)


def test_real_asnb_31_statements_chain(mt940_dir):
    parsed = parse_mt940(mt940_dir / "ASNB" / "mt940.txt")
    assert len(parsed) == 31
    assert all(s.balances() for s in parsed)
    for earlier, later in zip(parsed, parsed[1:]):
        assert earlier.closing_balance == later.opening_balance
    assert parsed[0].bic == "ASNBNL21"  # from the SWIFT block 1 header
    assert parsed[0].entries[0].customer_reference == "NL47INGB9999999999"  # IBAN > 16x


def test_real_abnamro_does_not_balance(mt940_dir):
    parsed = parse_mt940(mt940_dir / "jejik" / "abnamro.sta")
    assert parsed
    assert not all(s.balances() for s in parsed)


@pytest.mark.parametrize(
    "relative", ["jejik/generic.sta", "cmxl/mt940.sta", "mBank/mt940.sta", "sberbank/171011_01234945.sta"]
)
def test_real_other_banks_balance(mt940_dir, relative):
    parsed = parse_mt940(mt940_dir / relative)
    assert parsed and all(s.balances() for s in parsed)


def test_real_broken_snippet_raises(mt940_dir):
    path = mt940_dir / "betterplace" / "sepa_snippet_broken.sta"
    with pytest.raises(StatementFormatError) as info:
        parse_mt940(path)
    assert info.value.file == str(path)
    assert info.value.line == 6  # the misplaced :25: where a :86: belongs
    assert ":25:" in info.value.rule


def test_real_mt940_survives_our_writer(mt940_dir):
    """Real statements re-emitted by write_mt940 parse back identically
    (descriptions fit 6x65 in this file)."""
    parsed = parse_mt940(mt940_dir / "jejik" / "generic.sta")
    assert parse_mt940(write_mt940(parsed, "ABNANL2A")) == parsed


def _json_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


@pytest.mark.parametrize(
    "name",
    ["camt053.v2.minimal", "camt053.v4", "camt053.v8", "camt053.v2.multi.statement"],
)
def test_real_camt053_against_expected_json(camt_dir, name):
    parsed = parse_camt053(camt_dir / f"{name}.xml")
    expected = json.loads((camt_dir / f"{name}.json").read_text())
    by_id = {s.statement_id: s for s in parsed}
    # The JSON lists the entries (and, inside each, its statement's balances)
    # of the statements that carry them; group the expected entries by statement.
    groups: dict[str, list[dict]] = {}
    for entry in expected["getEntries"]:
        groups.setdefault(entry["getRecord"]["getId"], []).append(entry)
    assert groups
    for statement_id, json_entries in groups.items():
        statement = by_id[statement_id]
        assert len(statement.entries) == len(json_entries)
        for ours, theirs in zip(statement.entries, json_entries):
            assert _json_cents(ours.amount) == int(theirs["getAmount"]["getAmount"])
            assert ours.currency == theirs["getAmount"]["getCurrency"]["getCode"]
            assert ours.booking_date.isoformat() == theirs["getBookingDate"]["0"][:10]
            assert ours.bank_reference == (theirs["getAccountServicerReference"] or "")
        balances = {b["getType"]: int(b["getAmount"]["getAmount"])
                    for b in json_entries[0]["getRecord"]["getBalances"]}
        assert _json_cents(statement.opening_balance) == balances["opening"]
        assert _json_cents(statement.closing_balance) == balances["closing"]
    if name.endswith("multi.statement"):
        assert len(parsed) == 2 and all(s.balances() for s in parsed)


def test_real_camt053_wrong_raises(camt_dir):
    path = camt_dir / "camt053.v2.wrong.xml"
    with pytest.raises(StatementFormatError, match="Stmt") as info:
        parse_camt053(path)
    assert info.value.file == str(path)
