"""Statement integrity before any cash is reconciled, on real bank statements (``BO_REFERENCE_DIR``,
never copied into the repo): each statement balances (opening + entries = closing) and opens at the
previous statement's closing. Parsing itself is tested in test_statement_formats.py; here the
checks the cash recon adds: across a chain, on files that do not balance, on files that cannot be
read (a violation naming the file, not a silent gap) and on XML that tries an external entity."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.data.formats.camt053 import parse_camt053
from bo_lib.data.formats.mt940 import parse_mt940
from bo_lib.data.formats.statement import StatementFormatError, statement_integrity, statement_summaries
from bo_lib.data.loaders import read_statements

DAY = dt.date(2026, 11, 6)


@pytest.fixture(scope="module")
def reference() -> Path:
    value = os.environ.get("BO_REFERENCE_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("BO_REFERENCE_DIR not set to a directory: real MT940/camt.053 samples unavailable")
    return Path(value)


def _integrity(statements):
    return statement_integrity(statement_summaries(statements).assign(delivery_date=pd.Timestamp(DAY)))


@pytest.mark.parametrize("relative, count", [("ASNB/mt940.txt", 31), ("betterplace/sepa_mt9401.sta", 26), ("jejik/generic.sta", 2),
                                             ("cmxl/mt940.sta", 3), ("mBank/mt940.sta", 1), ("sberbank/171011_01234945.sta", 1)])
def test_balanced_mt940_files_balance_and_chain(reference, relative, count):
    table = _integrity(parse_mt940(reference / "swift-mt940" / relative))
    assert len(table) == count
    assert table["integrity"].eq("ok").all() and table["rag"].eq("green").all()
    chained = table["previous_closing"].notna()
    assert int(chained.sum()) == count - table["account"].nunique()  # every statement after an account's first is chain-checked


def test_abnamro_is_reported_as_unbalanced(reference):
    table = _integrity(parse_mt940(reference / "swift-mt940" / "jejik" / "abnamro.sta"))
    assert table["integrity"].tolist() == ["does not balance", "does not balance; chain broken"]
    assert table["difference"].tolist() == [-2038.0, -1002.6]
    assert table["chain_difference"].iloc[1] == 2000.0 and table["rag"].eq("red").all()


def test_camt053_multi_statement_balances_and_synthetic_samples_do_not(reference):
    camt = reference / "iso20022-camt053"
    assert _integrity(parse_camt053(camt / "camt053.v2.multi.statement.xml"))["integrity"].eq("ok").all()
    # the minimal sample opens at 18.15 CR, books +8.85 and closes at 27.00 *DR*: 54.00 unaccounted for
    minimal = _integrity(parse_camt053(camt / "camt053.v2.minimal.xml")).iloc[0]
    assert (minimal["integrity"], minimal["difference"]) == ("does not balance", -54.0)


def _data_root_with(tmp_path: Path, source: Path, account: str, suffix: str) -> Path:
    target = tmp_path / "data" / "inbound" / DAY.isoformat() / "statements"
    target.mkdir(parents=True)
    shutil.copy(source, target / f"{account}{suffix}")
    return tmp_path / "data"


def test_malformed_statements_are_violations_naming_file_line_and_rule(reference, tmp_path):
    root = _data_root_with(tmp_path, reference / "swift-mt940" / "betterplace" / "sepa_snippet_broken.sta", "ACC1", ".mt940")
    statements, entries, violations = read_statements(root, DAY, [{"account": "ACC1", "statement_format": "mt940", "currency": "EUR"}])
    assert statements == [] and entries.empty
    assert len(violations) == 1
    v = violations[0]
    assert v.file.endswith("statements/ACC1.mt940") and v.line == 6 and ":25:" in v.rule
    with pytest.raises(StatementFormatError, match="Stmt"):
        parse_camt053(reference / "iso20022-camt053" / "camt053.v2.wrong.xml")


def test_an_external_entity_is_refused_and_nothing_is_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("LEAKED-4711")
    document = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Document [<!ENTITY leak SYSTEM "file://{secret}">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>&leak;</MsgId></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><Othr><Id>ACC1</Id></Othr></Id><Ccy>EUR</Ccy></Acct></Stmt></BkToCstmrStmt></Document>""".encode()
    path = tmp_path / "ACC1.camt053.xml"
    path.write_bytes(document)
    with pytest.raises(StatementFormatError, match="external/internal entities are not allowed") as info:
        parse_camt053(path)
    assert "LEAKED" not in str(info.value)
    root = _data_root_with(tmp_path, path, "ACC1", ".camt053.xml")
    _, _, violations = read_statements(root, DAY, [{"account": "ACC1", "statement_format": "camt053", "currency": "EUR"}])
    assert len(violations) == 1 and "entities are not allowed" in violations[0].rule
