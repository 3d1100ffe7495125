"""``bo inspect FILE``: what the workbench reads from one delivered file, on the sample world's
real files. Every count below was counted off the file independently (``wc -l`` less the header,
``grep -c '^:61:'`` of an MT940, ``grep -c '<Ntry>'`` of a camt.053) and every balance read off the
file by eye."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.data.inspect import UnknownFileKind, detect_format, inspect_file
from tests.commands import bo
from tests.conftest import DATA, PARAMETERS

TRADES = DATA / "inbound" / "2026-10-01" / "trades.csv"  # 15 lines: 14 trades
POSITIONS = DATA / "opening" / "2026-09-30" / "positions.csv"  # 58 lines: 57 positions (MAHF holds one share at both custodians)
SECURITIES = DATA / "reference" / "securities.csv"  # 53 lines: 52 securities
MT940 = DATA / "inbound" / "2026-10-05" / "statements" / "0012345679.mt940"  # 8 :61: entries
CAMT = DATA / "inbound" / "2026-10-05" / "statements" / "DE89370400440532013000.camt053.xml"  # 4 <Ntry>

#: line 4 of the copy (T261001GLBD003): an unknown security, a negative quantity and a 13th month
BAD_LINE = ("T261001GLBD003,GLBD,0047110815,ZZ99999,GB5590932669,BUY,-410000.0,104.619,GBP,428937.9,10202.26,0.0,0.0,"
            "439140.16,2026-13-01,2026-10-05,BRK-LMB")


@pytest.fixture
def bad_trades(tmp_path) -> Path:
    """A data root with the sample reference data and a trades file whose line 4 is seeded bad."""
    root = tmp_path / "world"
    shutil.copytree(DATA / "reference", root / "reference")
    day = root / "inbound" / "2026-10-01"
    day.mkdir(parents=True)
    lines = TRADES.read_text().splitlines()
    assert lines[3].startswith("T261001GLBD003,")
    lines[3] = BAD_LINE
    (day / "trades.csv").write_text("\n".join(lines) + "\n")
    return day / "trades.csv"


# ---------------------------------------------------------------------------------------------
# the API, on the sample world


def test_trades_of_the_sample_world(funds):
    inspection = inspect_file(TRADES, funds=funds)
    assert (inspection.format, inspection.dataset, inspection.label) == ("csv", "trades", "inbound/2026-10-01/trades.csv")
    assert inspection.data_root == DATA.resolve()
    assert str(inspection.business_date) == "2026-10-01"
    assert (inspection.rows_in_file, inspection.held_out, inspection.rows_read, inspection.violations) == (14, 0, 14, [])
    assert len(inspection.rows) == 14 and inspection.rows["trade_id"].iloc[0] == "T261001GLBD001"
    assert pd.api.types.is_datetime64_any_dtype(inspection.rows["trade_date"])  # typed as the workbench reads it
    assert inspection.rows["quantity"].iloc[0] == 640000.0
    summary = dict(inspection.summary)
    assert summary["trade_date"] == "2026-10-01"
    assert summary["funds"] == "GLBD 3, MAHF 5, USEQ 6"  # grep -c ',GLBD,' etc.
    assert "52 securities" in summary["reference checks"]
    assert inspection.size_bytes == TRADES.stat().st_size and len(inspection.sha256) == 64


def test_opening_positions_and_securities_told_by_folder(funds):
    positions = inspect_file(POSITIONS, funds=funds)
    assert (positions.dataset, positions.rows_in_file, positions.held_out, positions.violations) == ("opening_positions", 57, 0, [])
    assert positions.business_date is None
    securities = inspect_file(SECURITIES, funds=funds)
    assert (securities.dataset, securities.rows_in_file, securities.violations) == ("securities", 52, [])


def test_an_mt940_statement_with_its_balances(funds):
    inspection = inspect_file(MT940, funds=funds)
    assert (inspection.format, inspection.dataset) == ("mt940", "statement")
    assert (inspection.rows_in_file, inspection.held_out, inspection.violations) == (8, 0, [])
    statement = inspection.statements.iloc[0]
    # :60F:C261002USD57383809,06 and :62F:C261005USD64376057,29
    assert statement["opening_balance"] == pytest.approx(57383809.06)
    assert statement["closing_balance"] == pytest.approx(64376057.29)
    assert (str(statement["opening_date"].date()), str(statement["closing_date"].date())) == ("2026-10-02", "2026-10-05")
    assert (statement["account"], statement["currency"], statement["entries"], bool(statement["balances"])) == ("0012345679", "USD", 8, True)
    assert inspection.rows["amount"].iloc[0] == pytest.approx(816433.90)  # :61:2610051005C816433,90NSEC...
    summary = dict(inspection.summary)
    assert summary["  opening"] == "2026-10-02 57,383,809.06" and summary["  closing"] == "2026-10-05 64,376,057.29"
    assert summary["  balances"] == "yes"


def test_a_camt053_statement_with_its_balances(funds):
    inspection = inspect_file(CAMT, funds=funds)
    assert (inspection.format, inspection.dataset, inspection.rows_in_file, inspection.violations) == ("camt053", "statement", 4, [])
    statement = inspection.statements.iloc[0]
    # <Bal> OPBD 4442648.49 CRDT on 2026-10-02, CLBD 5592361.69 CRDT on 2026-10-05
    assert statement["opening_balance"] == pytest.approx(4442648.49)
    assert statement["closing_balance"] == pytest.approx(5592361.69)
    assert statement["currency"] == "EUR" and bool(statement["balances"])


def test_a_statement_that_does_not_balance_is_a_violation_its_entries_still_read(tmp_path, funds):
    """As the cash recon does: the statement is an exception, its entries are reconciled (flagged)."""
    copy = tmp_path / "0012345679.mt940"
    copy.write_text(MT940.read_text().replace(":62F:C261005USD64376057,29", ":62F:C261005USD64376057,30"))
    inspection = inspect_file(copy, funds=funds)
    assert inspection.data_root is None and inspection.label == "0012345679.mt940"
    assert (inspection.rows_in_file, inspection.held_out, inspection.rows_read) == (8, 0, 8)
    [violation] = inspection.violations
    assert violation.column == "closing_balance" and "does not balance" in violation.rule and "difference 0.01" in violation.rule
    assert not bool(inspection.statements["balances"].iloc[0])


def test_a_statement_for_another_account_is_held_out_whole(tmp_path, funds):
    """USEQ's statement of 0012345679 delivered under the name of GLBD's account 0047110900: ingest
    holds it out whole, every entry."""
    misnamed = tmp_path / "0047110900.mt940"
    shutil.copy(MT940, misnamed)
    inspection = inspect_file(misnamed, funds=funds)
    assert (inspection.rows_in_file, inspection.held_out, inspection.rows_read) == (8, 8, 0)
    assert [(v.column, v.rule, v.fund) for v in inspection.violations] == [
        ("account", "statement is for account 0012345679, expected 0047110900", "GLBD")]
    assert inspection.rows["held_out"].all()


def test_a_seeded_bad_row_gives_exactly_its_violations(bad_trades, funds):
    inspection = inspect_file(bad_trades, funds=funds)
    assert inspection.label == "inbound/2026-10-01/trades.csv"
    found = sorted((v.line, v.column, v.rule, v.value) for v in inspection.violations)
    assert found == [
        (4, "quantity", "must be > 0", "-410000.0"),
        (4, "security_id", "unknown security_id (not in securities)", "ZZ99999"),
        (4, "trade_date", "not a date in YYYY-MM-DD format", "2026-13-01"),
    ]
    assert (inspection.rows_in_file, inspection.held_out, inspection.rows_read) == (14, 1, 13)
    held = inspection.rows[inspection.rows["held_out"]]
    assert held["source_line"].tolist() == [4] and held["trade_id"].tolist() == ["T261001GLBD003"]
    assert dict(inspection.summary)["held-out lines"] == "4"


def test_outside_a_data_root_no_reference_check(tmp_path, bad_trades, funds):
    """The same bad file copied out of its data root: told by its name, no unknown-security check
    (there is no reference data to check against), unless --data-root names one."""
    loose = tmp_path / "trades.csv"
    shutil.copy(bad_trades, loose)
    inspection = inspect_file(loose, funds=funds)
    assert inspection.dataset == "trades" and inspection.data_root is None
    assert sorted(v.column for v in inspection.violations) == ["quantity", "trade_date"]
    assert "not inside a data root" in dict(inspection.summary)["reference checks"]
    with_root = inspect_file(loose, data_root=bad_trades.parents[2], funds=funds)
    assert sorted(v.column for v in with_root.violations) == ["quantity", "security_id", "trade_date"]


def test_a_csv_told_by_its_header_line(tmp_path):
    export = tmp_path / "export_20261001.csv"
    shutil.copy(TRADES, export)
    inspection = inspect_file(export)
    assert (inspection.dataset, inspection.rows_in_file) == ("trades", 14)
    assert "header line" in dict(inspection.summary)["dataset"]


def test_kind_by_content_first(tmp_path):
    assert detect_format(Path("x.txt"), b"{1:F01BANKDEFFXXXX0000000000}{2:O9401200261005BANKDEFFXXXX}{4:\n:20:X\n") == "mt940"
    assert detect_format(Path("x.csv"), b"{1:F01MTGSUS6SAXXX3206837054}{2:O5641435070316CHASGB2LDGST}{4:\n") == "mt564"
    assert detect_format(Path("x.fin"), b"{1:F01MTGSUS6SAXXX3206837054}{2:I566CHASGB2LXGSTN}{4:\n") == "mt566"
    assert detect_format(Path("a.xml"), b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">') == "camt053"
    assert detect_format(Path("a.txt"), MT940.read_bytes()) == "mt940"  # a bare MT940 by its tags
    with pytest.raises(UnknownFileKind, match="MT535"):
        detect_format(Path("a.fin"), b"{1:F01MTGSUS6SAXXX3206837054}{2:O5351435070316CHASGB2LDGST}{4:\n")
    with pytest.raises(UnknownFileKind, match="camt.052"):
        detect_format(Path("a.xml"), b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02">')


def test_an_mt566_of_the_sample_world_read_by_the_parser(funds):
    """The short-paid EU dividend's confirmation, as delivered: the figures read off the file."""
    path = DATA / "inbound" / "2026-11-04" / "messages" / "RHDBC00000017.mt566"
    inspection = inspect_file(path, funds=funds)
    assert (inspection.format, inspection.dataset, inspection.rows_in_file, inspection.violations) == ("mt566", "ca_messages", 1, [])
    row = inspection.rows.iloc[0]
    # :20C::CORP//CA2026100003, :97A::SAFE//0000456789, :93B::CONB//UNIT/109300,, :19B::GRSS//EUR145849,92,
    # :19B::TAXR//EUR38467,92, :19B::NETT//EUR107382,, :92A::TAXR//26,375, :98A::PAYD//20261104
    assert (row["corporate_reference"], row["account"], row["eligible_balance"]) == ("CA2026100003", "0000456789", 109300.0)
    assert (row["gross_amount"], row["tax_amount"], row["net_amount"], row["withholding_pct"]) == (145849.92, 38467.92, 107382.0, 26.375)
    assert row["pay_date"] == pd.Timestamp("2026-11-04") and row["sender"] == "RHDBDEFF"


def test_bo_inspect_the_real_mt564_sample_and_a_broken_message(tmp_path):
    import os

    sample = Path(os.environ["BO_REFERENCE_DIR"]) / "swift-mt564" / "prowide_dvca_isin_withholding.fin"
    code, out, err = bo("inspect", sample)
    assert code == 0, err
    assert "format:      mt564" in out and "corporate_reference:  D455103" in out and "gross_rate:           0.000001" in out
    assert "security_description: ZURICH FIN SVS GRP / CHF0.10" in out  # the continuation line, on one line
    code, out, err = bo("inspect", sample, "--json")
    document = json.loads(out)
    assert code == 0 and document["rows"][0]["eligible_balance"] == 7000 and document["rows"][0]["withholding_pct"] == 35
    broken = tmp_path / "broken.mt564"
    broken.write_text(sample.read_text().replace(":92A::WITF//35,", ":92A::WITF//35.0"))
    code, out, err = bo("inspect", broken)
    assert code == 1, err
    assert "violations:  1" in out and ":92A::WITF" in out


# ---------------------------------------------------------------------------------------------
# the command


def test_bo_inspect_a_clean_file_exits_0():
    code, out, err = bo("inspect", TRADES, "--parameters", PARAMETERS, "--rows", 3)
    assert code == 0, err
    assert "format:      csv" in out and "dataset:     trades" in out
    assert "rows:        14 in the file, 14 read, 0 held out" in out and "violations:  0" in out
    assert "rows (first 3 of 14; --rows N or --all for more):" in out
    table = out.split("rows (first 3 of 14", 1)[1].splitlines()[1:]
    assert table[0].split()[:3] == ["source_line", "held_out", "trade_id"] and len(table) == 4
    assert table[1].split()[2] == "T261001GLBD001"


def test_bo_inspect_a_statement_shows_its_balances():
    code, out, err = bo("inspect", MT940, "--parameters", PARAMETERS, "--all")
    assert code == 0, err
    assert "opening:" in out and "2026-10-02 57,383,809.06" in out and "2026-10-05 64,376,057.29" in out
    assert "entries (all 8):" in out


def test_bo_inspect_a_bad_file_lists_every_violation_and_exits_1(bad_trades):
    code, out, err = bo("inspect", bad_trades, "--parameters", PARAMETERS)
    assert code == 1, err
    assert "rows:        14 in the file, 13 read, 1 held out" in out and "violations:  3" in out
    violations = out.split("violations (3):", 1)[1].split("\n\n", 1)[0].strip("\n").splitlines()[1:]
    assert len(violations) == 3
    for column, rule, value in (("quantity", "must be > 0", "'-410000.0'"), ("trade_date", "not a date in YYYY-MM-DD format", "'2026-13-01'"),
                                ("security_id", "unknown security_id (not in securities)", "'ZZ99999'")):
        [line] = [line for line in violations if f" {column} " in line]
        assert line.split()[:3] == ["inbound/2026-10-01/trades.csv", "4", column] and rule in line and value in line


def test_bo_inspect_json_has_the_same_counts(bad_trades):
    code, out, err = bo("inspect", bad_trades, "--parameters", PARAMETERS, "--json", "--all")
    assert code == 1, err
    document = json.loads(out)
    assert (document["format"], document["dataset"], document["rows_in_file"], document["rows_read"], document["held_out"]) == \
        ("csv", "trades", 14, 13, 1)
    assert document["violation_count"] == 3 and {v["column"] for v in document["violations"]} == {"quantity", "trade_date", "security_id"}
    assert all(v["line"] == 4 for v in document["violations"])
    assert len(document["rows"]) == document["rows_shown"] == 14
    bad = document["rows"][2]
    assert bad["source_line"] == 4 and bad["held_out"] is True and bad["trade_date"] is None  # NaT as null
    assert document["rows"][0]["trade_date"] == "2026-10-01"  # ISO dates
    default = json.loads(bo("inspect", bad_trades, "--parameters", PARAMETERS, "--json")[1])
    assert default["rows_shown"] == 14 and default["rows_in_file"] == 14  # 14 rows: under the default 20


def test_bo_inspect_json_of_a_statement():
    code, out, err = bo("inspect", CAMT, "--parameters", PARAMETERS, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["dataset"] == "statement" and document["rows_in_file"] == 4
    [statement] = document["statements"]
    assert statement["opening_balance"] == pytest.approx(4442648.49) and statement["closing_balance"] == pytest.approx(5592361.69)
    assert statement["opening_date"] == "2026-10-02" and statement["balances"] is True


def test_bo_inspect_an_unknown_file_is_exit_2(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("call the custodian about the missing file\n")
    code, out, err = bo("inspect", notes)
    assert code == 2 and out == ""
    assert err.startswith("bo: error: ") and str(notes) in err and "expected an MT940 bank statement" in err and "Traceback" not in err
    stray = tmp_path / "holdings.csv"
    stray.write_text("a,b,c\n1,2,3\n")
    code, _, err = bo("inspect", stray)
    assert code == 2 and "match no dataset" in err


def test_bo_inspect_an_unreadable_path_is_exit_3(tmp_path):
    code, out, err = bo("inspect", tmp_path / "missing.csv")
    assert code == 3 and err.strip() == f"bo: cannot access {tmp_path / 'missing.csv'}: No such file or directory"
    code, out, err = bo("inspect", tmp_path)  # a folder, not a file
    assert code == 3 and "Is a directory" in err


def test_bo_inspect_usage_errors_are_exit_2(tmp_path):
    assert bo("inspect", TRADES, "--rows", -1)[0] == 2
    assert bo("inspect", TRADES, "--data-root", tmp_path / "nowhere")[0] == 2
    code, _, err = bo("inspect", TRADES, "--dataset", "nonsense")
    assert code == 2 and "nonsense" in err
