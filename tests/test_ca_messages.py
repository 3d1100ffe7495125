"""ISO 15022 corporate-action messages (bo_lib.data.formats.swift, .ca_messages): two real MT564s
written by others (``$BO_REFERENCE_DIR/swift-mt564``, never copied here) read to the figures they
hold, read off the files by eye and written out below; hand-written malformed messages, each giving
one violation naming the line, the tag and the rule while the rest of the file is still read;
repeated options, replacements, cancellations, an MT566 and an MT565 written and read back."""

from __future__ import annotations

import datetime as dt
import math
import os
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.data.formats.ca_messages import CA_MESSAGE_COLUMNS, ca_message_rows, mt565_instruction, read_ca_messages
from bo_lib.data.formats.swift import Rate, read_fin
from bo_lib.data.identifiers import is_valid_isin


@pytest.fixture(scope="module")
def samples() -> Path:
    value = os.environ.get("BO_REFERENCE_DIR")
    if not value or not (Path(value) / "swift-mt564").is_dir():
        pytest.fail("BO_REFERENCE_DIR must name the reference directory holding swift-mt564/ (the real MT564 samples); "
                    f"got {value!r}. Export BO_REFERENCE_DIR=/work/shared/reference (or CI's copy) and rerun.")
    return Path(value) / "swift-mt564"


def _write(tmp_path: Path, text: str, name: str = "ca.fin") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _line_of(text: str, needle: str, start_line: int = 1) -> int:
    """The 1-based line of the first line at or after ``start_line`` that starts with ``needle``."""
    for number, line in enumerate(text.split("\n"), start=1):
        if number >= start_line and line.startswith(needle):
            return number
    raise AssertionError(f"{needle!r} not in the text")


# ====================================================================== the real samples
def test_the_cusip_sample_reads_to_its_figures(samples):
    rows, problems = read_ca_messages(samples / "prowide_dvca_cusip.fin", samples.parent)
    assert problems == []
    assert list(rows.columns) == CA_MESSAGE_COLUMNS and len(rows) == 1
    row = rows.iloc[0]
    assert row["source_line"] == 1 and row["message_type"] == "564"
    assert (row["sender"], row["receiver"]) == ("FIFRUS31", "")  # block 1 LT FIFRUS31AXXX; block 2 "I564N" names no receiver
    assert (row["corporate_reference"], row["sender_reference"]) == ("DV200000168730", "DV200000168730")
    assert (row["function"], row["event_type"], row["mandatory_voluntary"], row["processing_status"]) == ("NEWM", "DVCA", "MAND", "COMP")
    assert (row["isin"], row["cusip"]) == ("", "12345B68")
    assert row["security_description"] == "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert row["account"] == "NONREF"
    assert row["ex_date"] == pd.Timestamp("2000-11-27")  # as written in the file (2000, not 2020)
    assert row["record_date"] == pd.Timestamp("2020-11-30")
    assert row["announcement_date"] == pd.Timestamp("2020-10-29")
    assert row["pay_date"] == pd.Timestamp("2020-12-31")  # the CASHMOVE's
    assert (row["option_number"], row["option_type"], bool(row["is_default"])) == ("001", "CASH", True)
    assert row["currency"] == "USD"
    assert row["gross_rate"] == 0.12345657  # :92H::GRSS//USD0,12345657/ACTU of the option
    assert row["narrative"] == "US UNITED STATES"
    assert math.isnan(row["eligible_balance"]) and row["balance_type"] == ""


def test_the_cusip_samples_92j_rate_in_the_cash_movement(samples):
    messages, problems = read_fin((samples / "prowide_dvca_cusip.fin").read_text(), "prowide_dvca_cusip.fin")
    assert problems == [] and len(messages) == 1
    cash = messages[0].body.sequence("CAOPTN").sequence("CASHMOVE")
    field = cash.first("92J", "GRSS")
    assert (field.line, field.column, field.value) == (35, ":92J::GRSS", "INCO/USD0,1234567/ACTU")
    from bo_lib.data.formats.swift import parse_field

    assert parse_field(field) == Rate(Decimal("0.1234567"), "USD", "INCO", "ACTU")


def test_the_isin_sample_reads_to_its_figures(samples):
    rows, problems = read_ca_messages(samples / "prowide_dvca_isin_withholding.fin", samples.parent)
    assert problems == [] and len(rows) == 1
    row = rows.iloc[0]
    # output message: O564 1435 070316 CHASGB2LDGST... -> sender from the MIR; receiver from block 1 MTGSUS6SAXXX
    assert (row["sender"], row["receiver"]) == ("CHASGB2LGST", "MTGSUS6S")
    assert (row["corporate_reference"], row["sender_reference"]) == ("D455103", "029206016")
    assert (row["function"], row["event_type"], row["mandatory_voluntary"]) == ("NEWM", "DVCA", "MAND")
    assert row["isin"] == "CH0011075394" and row["cusip"] == ""
    assert row["security_description"] == "ZURICH FIN SVS GRP\nCHF0.10"
    assert row["account"] == "760043140"
    assert (row["eligible_balance"], row["balance_type"]) == (7000.0, "UNIT")
    assert row["withholding_pct"] == 35.0
    assert row["gross_rate"] == 0.000001
    for column in ("ex_date", "record_date", "pay_date"):
        assert row[column] == pd.Timestamp("2011-11-11"), column
    assert row["currency"] == "CHF"
    assert (row["gross_amount"], row["net_amount"]) == (0.01, 0.01)
    assert row["value_date"] == pd.Timestamp("2011-11-11")


def test_the_isin_samples_header(samples):
    messages, _ = read_fin((samples / "prowide_dvca_isin_withholding.fin").read_text(), "x.fin")
    message = messages[0]
    assert (message.direction, message.user_reference, message.message_type) == ("output", "000255CQ8272245", "564")


def test_the_file_label_is_relative_to_the_data_root(tmp_path):
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    path = _write(inbound, GOOD.replace(":20C::CORP//DE0007164600DV26\n", ""))
    _, problems = read_ca_messages(path, tmp_path)
    assert [v.file for v in problems] == ["inbound/ca.fin"]


# ====================================================================== hand-written messages
GOOD = """{1:F01DEUTDEFFAXXX0000000000}{2:O5640912261102CHASGB2LAXXX00011234562611020912N}{4:
:16R:GENL
:20C::CORP//DE0007164600DV26
:20C::SEME//CA2611020001
:23G:NEWM
:22F::CAEV//DVCA
:22F::CAMV//MAND
:98C::PREP//20261102091200
:25D::PROC//COMP
:16S:GENL
:16R:USECU
:35B:ISIN DE0007164600
SAP SE
:16R:ACCTINFO
:97A::SAFE//4711002
:93B::ELIG//UNIT/12000,
:16S:ACCTINFO
:16S:USECU
:16R:CADETL
:98A::ANOU//20261020
:98A::XDTE//20261106
:98A::RDTE//20261109
:16S:CADETL
:16R:CAOPTN
:13A::CAON//001
:22F::CAOP//CASH
:11A::OPTN//EUR
:17B::DFLT//Y
:92A::WITF//15,
:92F::GRSS//EUR2,35
:16R:CASHMOVE
:22H::CRDB//CRED
:98A::PAYD//20261110
:16S:CASHMOVE
:16S:CAOPTN
-}
"""

DEFECTS = {
    "missing :16S:": (":16S:CASHMOVE\n", "", ":16S:CAOPTN", ":16S:CASHMOVE", "has no :16S:CASHMOVE before :16S:CAOPTN"),
    "dot decimal": (":92A::WITF//15,", ":92A::WITF//0.12", ":92A::WITF", ":92A::WITF", "comma as the decimal mark"),
    "bad date": (":98A::XDTE//20261106", ":98A::XDTE//20201340", ":98A::XDTE", ":98A::XDTE", "not a valid calendar date"),
    "unknown currency": (":11A::OPTN//EUR", ":11A::OPTN//XYZ", ":11A::OPTN", ":11A::OPTN", "XYZ is not an ISO 4217 currency"),
    "bad ISIN check digit": (":35B:ISIN DE0007164600", ":35B:ISIN DE0007164601", ":35B:", ":35B:", "fails its check digit"),
    "missing :16S:GENL": (":16S:GENL\n", "", ":16R:USECU", ":16S:GENL", "has no :16S:GENL before :16R:USECU"),
    "missing CORP": (":20C::CORP//DE0007164600DV26\n", "", ":16R:GENL", ":20C::CORP", "has no :20C::CORP (corporate action reference), which is mandatory"),
}


def test_the_good_message_has_no_violation(tmp_path):
    rows, problems = read_ca_messages(_write(tmp_path, GOOD))
    assert problems == []
    row = rows.iloc[0]
    assert (row["isin"], row["eligible_balance"], row["gross_rate"], row["withholding_pct"], row["currency"]) == ("DE0007164600", 12000.0, 2.35, 15.0, "EUR")
    assert (row["sender"], row["receiver"]) == ("CHASGB2L", "DEUTDEFF")
    assert row["pay_date"] == pd.Timestamp("2026-11-10") and row["ex_date"] == pd.Timestamp("2026-11-06")


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_broken_message_gives_one_violation_and_the_good_one_still_reads(tmp_path, defect):
    old, new, line_needle, column, rule = DEFECTS[defect]
    assert old in GOOD
    broken = GOOD.replace(old, new).replace("CA2611020001", "CA2611020002")
    text = GOOD + broken  # the good message first, the broken one second
    second = GOOD.count("\n") + 1  # the line of the broken message's {1:
    rows, problems = read_ca_messages(_write(tmp_path, text))
    assert len(problems) == 1, [str(v) for v in problems]
    problem = problems[0]
    assert problem.file == "ca.fin"
    assert problem.line == _line_of(text, line_needle, second)
    assert problem.column == column
    assert rule in problem.rule
    assert rows["sender_reference"].tolist() == ["CA2611020001", "CA2611020002"]  # both kept; the broken one for the analyst
    assert rows.iloc[0]["corporate_reference"] == "DE0007164600DV26" and rows.iloc[0]["gross_rate"] == 2.35


def test_a_malformed_value_leaves_its_column_empty(tmp_path):
    rows, _ = read_ca_messages(_write(tmp_path, GOOD.replace(":98A::XDTE//20261106", ":98A::XDTE//20201340")))
    assert pd.isna(rows.iloc[0]["ex_date"]) and rows.iloc[0]["record_date"] == pd.Timestamp("2026-11-09")


def test_an_unclosed_text_block_does_not_swallow_the_next_message(tmp_path):
    text = GOOD.replace("-}\n", "") + GOOD.replace("CA2611020001", "CA2611020002")
    rows, problems = read_ca_messages(_write(tmp_path, text))
    assert [(v.line, v.column) for v in problems] == [(1, "{4:")]
    assert "not closed by a line '-}'" in problems[0].rule
    assert rows["sender_reference"].tolist() == ["CA2611020001", "CA2611020002"]


def test_a_message_of_another_type_is_named_not_read(tmp_path):
    mt940 = "{1:F01DEUTDEFFAXXX0000000000}{2:I940CHASGB2LXXXXN}{4:\n:20:STMT1\n-}\n"
    rows, problems = read_ca_messages(_write(tmp_path, mt940 + GOOD))
    assert len(rows) == 1
    assert [(v.line, v.column) for v in problems] == [(1, "{2:")] and "MT940 is not a corporate-action message" in problems[0].rule


DVOP = """{1:F01DEUTDEFFAXXX0000000000}{2:O5641030261015DEUTDEFFAXXX00011234562610151030N}{3:{108:DVOP2026A}}{4:
:16R:GENL
:20C::CORP//NL0000009165OP26
:20C::SEME//OP2610150001
:23G:NEWM
:22F::CAEV//DVOP
:22F::CAMV//CHOS
:98C::PREP//20261015103000
:25D::PROC//COMP
:16S:GENL
:16R:USECU
:35B:ISIN NL0000009165
HEINEKEN NV
:16R:ACCTINFO
:97A::SAFE//8800417
:93B::ELIG//UNIT/2000,
:16S:ACCTINFO
:16S:USECU
:16R:CADETL
:98A::XDTE//20261020
:98A::RDTE//20261021
:16S:CADETL
:16R:CAOPTN
:13A::CAON//001
:22F::CAOP//CASH
:11A::OPTN//EUR
:17B::DFLT//Y
:98A::RDDT//20261028
:92F::GRSS//EUR1,04
:16R:CASHMOVE
:22H::CRDB//CRED
:98A::PAYD//20261110
:16S:CASHMOVE
:16S:CAOPTN
:16R:CAOPTN
:13A::CAON//002
:22F::CAOP//SECU
:22F::DISF//CINL
:17B::DFLT//N
:98C::MKDT//20261029170000
:90B::PRPP//ACTU/EUR81,25
:16R:SECMOVE
:22H::CRDB//CRED
:35B:ISIN NL0000009165
HEINEKEN NV
:92D::ADEX//1,/78,
:98A::PAYD//20261112
:16S:SECMOVE
:16S:CAOPTN
:16R:ADDINFO
:70E::ADTX//REINVESTMENT AT THE PRICE SET
BY THE ISSUER ON 29 OCT 2026
:16S:ADDINFO
-}
"""


def test_repeated_options_give_one_row_each(tmp_path):
    assert is_valid_isin("NL0000009165")
    rows, problems = read_ca_messages(_write(tmp_path, DVOP))
    assert problems == []
    assert rows["option_number"].tolist() == ["001", "002"]
    assert rows["option_type"].tolist() == ["CASH", "SECU"]
    assert rows["is_default"].tolist() == [True, False]
    assert rows["event_type"].eq("DVOP").all() and rows["mandatory_voluntary"].eq("CHOS").all()
    cash, stock = rows.iloc[0], rows.iloc[1]
    assert (cash["currency"], cash["gross_rate"], cash["pay_date"]) == ("EUR", 1.04, pd.Timestamp("2026-11-10"))
    assert cash["response_deadline"] == pd.Timestamp("2026-10-28") and math.isnan(cash["ratio_new"])
    assert (stock["ratio_new"], stock["ratio_old"], stock["fraction_disposition"]) == (1.0, 78.0, "CINL")
    assert (stock["price"], stock["price_currency"], stock["new_isin"]) == (81.25, "EUR", "NL0000009165")
    assert stock["market_deadline"] == pd.Timestamp("2026-10-29 17:00:00") and stock["pay_date"] == pd.Timestamp("2026-11-12")
    assert rows["ex_date"].eq(pd.Timestamp("2026-10-20")).all()  # the event's details on every option's row
    assert rows["narrative"].eq("REINVESTMENT AT THE PRICE SET\nBY THE ISSUER ON 29 OCT 2026").all()
    assert rows["eligible_balance"].eq(2000.0).all()


def test_a_replacement_names_the_message_it_replaces_and_a_cancellation_reads(tmp_path):
    repl = GOOD.replace(":23G:NEWM", ":23G:REPL").replace("CA2611020001", "CA2611030001").replace(
        ":25D::PROC//COMP\n", ":25D::PROC//COMP\n:16R:LINK\n:20C::PREV//CA2611020001\n:16S:LINK\n")
    canc = GOOD.replace(":23G:NEWM", ":23G:CANC/PROC").replace("CA2611020001", "CA2611040001")
    rows, problems = read_ca_messages(_write(tmp_path, GOOD + repl + canc))
    assert problems == []
    assert rows["function"].tolist() == ["NEWM", "REPL", "CANC"]
    assert rows["previous_reference"].tolist() == ["", "CA2611020001", ""]
    assert rows["source_line"].tolist() == [1, GOOD.count("\n") + 1, GOOD.count("\n") + repl.count("\n") + 1]


MT566 = """{1:F01DEUTDEFFAXXX0000000000}{2:O5661415261110CHASGB2LAXXX00011234572611101415N}{4:
:16R:GENL
:20C::CORP//DE0007164600DV26
:20C::SEME//CF2611100001
:23G:NEWM
:22F::CAEV//DVCA
:98C::PREP//20261110141500
:16R:LINK
:13A::LINK//564
:20C::RELA//CA2611020001
:16S:LINK
:16S:GENL
:16R:USECU
:97A::SAFE//4711002
:35B:ISIN DE0007164600
SAP SE
:93B::CONB//UNIT/12000,
:16S:USECU
:16R:CADETL
:98A::XDTE//20261106
:98A::RDTE//20261109
:16S:CADETL
:16R:CACONF
:13A::CAON//001
:22F::CAOP//CASH
:92F::GRSS//EUR2,35
:92A::WITF//15,
:16R:CASHMOVE
:22H::CRDB//CRED
:97A::CASH//4711002EUR
:19B::PSTA//EUR23970,
:19B::GRSS//EUR28200,
:19B::WITL//EUR4230,
:19B::NETT//EUR23970,
:98A::POST//20261110
:98A::VALU//20261110
:98A::PAYD//20261110
:16S:CASHMOVE
:16S:CACONF
-}
"""


def test_a_confirmation_gives_posted_gross_tax_and_net(tmp_path):
    rows, problems = read_ca_messages(_write(tmp_path, MT566))
    assert problems == [] and len(rows) == 1
    row = rows.iloc[0]
    assert (row["message_type"], row["related_reference"], row["processing_status"]) == ("566", "CA2611020001", "")
    assert (row["eligible_balance"], row["balance_type"], row["account"]) == (12000.0, "UNIT", "4711002")
    assert (row["posted_amount"], row["gross_amount"], row["tax_amount"], row["net_amount"]) == (23970.0, 28200.0, 4230.0, 23970.0)
    assert row["gross_amount"] == 12000 * 2.35 and row["tax_amount"] == pytest.approx(0.15 * 28200)
    assert (row["posting_date"], row["value_date"], row["pay_date"]) == (pd.Timestamp("2026-11-10"),) * 3
    assert (row["gross_rate"], row["withholding_pct"], row["currency"]) == (2.35, 15.0, "EUR")


def test_a_confirmation_without_its_confirmation_sequence_is_a_violation(tmp_path):
    text = MT566[:MT566.index(":16R:CACONF")] + "-}\n"
    rows, problems = read_ca_messages(_write(tmp_path, text))
    assert [(v.line, v.column) for v in problems] == [(1, ":16R:CACONF")] and "mandatory sequence CACONF" in problems[0].rule
    assert len(rows) == 1 and rows.iloc[0]["option_number"] == ""


EXPECTED_MT565 = """{1:F01MTGSUS6SAXXX0000000000}{2:I565CHASGB2LXGSTN}{4:
:16R:GENL
:20C::CORP//NL0000009165OP26
:20C::SEME//EL2610200001
:23G:NEWM
:22F::CAEV//DVOP
:98C::PREP//20261020093000
:16S:GENL
:16R:USECU
:35B:ISIN NL0000009165
:16R:ACCTINFO
:97A::SAFE//8800417
:16S:ACCTINFO
:16S:USECU
:16R:CAINST
:13A::CAON//002
:22F::CAOP//SECU
:36B::QINS//UNIT/2000,
:16S:CAINST
-}
"""


def test_an_election_is_written_as_expected_and_reads_back(tmp_path):
    text = mt565_instruction(sender="MTGSUS6S", receiver="CHASGB2LGST", corporate_reference="NL0000009165OP26", sender_reference="EL2610200001",
                             event_type="DVOP", isin="NL0000009165", account="8800417", option_number=2, option_type="SECU", quantity=2000,
                             prepared=dt.datetime(2026, 10, 20, 9, 30))
    assert text == EXPECTED_MT565
    rows, problems = read_ca_messages(_write(tmp_path, text))
    assert problems == []
    row = rows.iloc[0]
    assert (row["message_type"], row["sender"], row["receiver"]) == ("565", "MTGSUS6S", "CHASGB2LGST")
    assert (row["corporate_reference"], row["sender_reference"], row["function"], row["event_type"]) == ("NL0000009165OP26", "EL2610200001", "NEWM", "DVOP")
    assert (row["isin"], row["account"], row["option_number"], row["option_type"], row["instructed_quantity"]) == ("NL0000009165", "8800417", "002", "SECU", 2000.0)


def test_an_election_refuses_what_it_cannot_write():
    base = dict(sender="MTGSUS6S", receiver="CHASGB2LGST", corporate_reference="NL0000009165OP26", sender_reference="EL2610200001",
                event_type="DVOP", isin="NL0000009165", account="8800417", option_number="002", option_type="SECU", quantity=2000,
                prepared=dt.datetime(2026, 10, 20, 9, 30))
    for change, message in (({"isin": "NL0000009166"}, "not a valid ISIN"), ({"receiver": "CHASE"}, "not a BIC"),
                            ({"sender_reference": "EL26102000010001X"}, "not a SWIFT reference"), ({"function": "REPL"}, "NEWM or CANC"),
                            ({"quantity": 0}, "must be positive")):
        with pytest.raises(ValueError, match=message):
            mt565_instruction(**{**base, **change})
    assert ":36B::QINS//FAMT/1500,5\n" in mt565_instruction(**{**base, "quantity": Decimal("1500.50"), "balance_type": "FAMT"})


def test_an_instruction_without_quantity_or_account_is_a_violation(tmp_path):
    text = EXPECTED_MT565.replace(":36B::QINS//UNIT/2000,\n", "").replace(":97A::SAFE//8800417\n", "")
    _, problems = read_ca_messages(_write(tmp_path, text))
    assert sorted((v.line, v.column) for v in problems) == [(_line_of(text, ":16R:ACCTINFO"), ":97A::SAFE"), (_line_of(text, ":16R:CAINST"), ":36B:")]


def test_no_messages_give_an_empty_frame_with_the_columns():
    frame = ca_message_rows([])
    assert list(frame.columns) == CA_MESSAGE_COLUMNS and frame.empty
    assert str(frame["ex_date"].dtype) == "datetime64[ns]" and frame["is_default"].dtype == bool


# ====================================================================== value formats
def test_value_formats():
    from bo_lib.data.formats.swift import Field, FieldFormatError, Price, Quantity, Ratio, parse_field

    def value(tag, text, qualifier="XXXX"):
        return parse_field(Field(tag, qualifier, "", text, 1))

    assert value("93B", "UNIT/7000,") == Quantity("UNIT", Decimal("7000"))
    assert value("93B", "FAMT/N250000,") == Quantity("FAMT", Decimal("-250000"))
    assert value("92A", "0,12345657") == Rate(Decimal("0.12345657"))
    assert value("92A", "N0,5") == Rate(Decimal("-0.5"))
    assert value("92D", "1,/20,") == Ratio(Decimal("1"), Decimal("20"))
    assert value("90A", "PRCT/101,5") == Price("PRCT", "", Decimal("101.5"))
    assert value("90B", "ACTU/USD12,") == Price("ACTU", "USD", Decimal("12"))
    assert value("98B", "UKWN") is None and value("98A", "20261106") == dt.date(2026, 11, 6)
    assert value("98C", "20201029152301") == dt.datetime(2020, 10, 29, 15, 23, 1)
    assert value("92K", "UKWN") == Rate(None, "", "UKWN")
    assert value("23G", "CANC/PROC", "") == ("CANC", "PROC")
    assert value("69A", "20261020/20261028").end == dt.date(2026, 10, 28)
    for tag, text, rule in (("92A", "0.12", "comma as the decimal mark"), ("92A", "12", "mandatory decimal comma"),
                            ("36B", "UNIT/N5,", "sign N is not allowed"), ("92A", "N0,", "zero may not carry the sign"),
                            ("98A", "2026116", "not YYYYMMDD"), ("19B", "ABC5,", "not an ISO 4217"), ("93B", "PCS/5,", "UNIT, FAMT or AMOR"),
                            ("17B", "YES", "Y or N"), ("20C", "A" * 17, "1 to 16 characters"), ("92D", "1,", "ratio new/old")):
        with pytest.raises(FieldFormatError, match=rule):
            value(tag, text)


def test_an_unknown_date_code_is_no_date_and_no_violation(tmp_path):
    rows, problems = read_ca_messages(_write(tmp_path, GOOD.replace(":98A::PAYD//20261110", ":98B::PAYD//UKWN")))
    assert problems == [] and pd.isna(rows.iloc[0]["pay_date"])
