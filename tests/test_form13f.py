"""Form 13F: the sample company's holdings report (rows, values, options, bonds), EDGAR's rules,
the official schemas, and a round trip through real accepted filings."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.regulatory.inputs import gather_regulatory
from bo_lib.parameters import load_company, load_funds
from bo_lib.regulatory import control, form13f
from tests.conftest import DATA, PARAMETERS

QUARTER_END = dt.date(2026, 9, 30)
REFERENCE = os.environ.get("BO_REFERENCE_DIR")
needs_reference = pytest.mark.skipif(not REFERENCE, reason="BO_REFERENCE_DIR is not set: the official EDGAR schemas and real filings live there")
REAL_FILINGS = ["0001894188-23-000007", "0001951757-25-000093"]


def _independent_13f(exact_total: bool = False):
    """Rows and value total of the sample company's 13F, computed from the raw CSVs alone: 13(f)
    securities of the quarter-end book at BLOOMBERG (first in the equity funds' hierarchies),
    options as the underlying's shares (contracts x 100) at the underlying's price, one row per
    CUSIP and put/call, each rounded half-up once."""
    from decimal import ROUND_HALF_UP, Decimal

    securities = pd.read_csv(DATA / "reference/securities.csv", dtype=str, keep_default_na=False).set_index("security_id")
    positions = pd.read_csv(DATA / "opening/2026-09-30/positions.csv", dtype={"account": str})
    prices = pd.read_csv(DATA / "opening/2026-09-30/prices.csv")
    bloomberg = prices[prices["source"] == "BLOOMBERG"].set_index("security_id")["price"]
    exact: dict[tuple[str, str], float] = {}
    for p in positions.itertuples():
        sec = securities.loc[p.security_id]
        if sec["is_13f"] != "true":
            continue
        if sec["asset_class"] == "option":
            key, value = (securities.at[sec["underlying_id"], "cusip"], sec["put_call"]), p.quantity * 100 * bloomberg[sec["underlying_id"]]
        else:
            key, value = (sec["cusip"], ""), p.quantity * bloomberg[p.security_id]
        exact[key] = exact.get(key, 0.0) + value
    if exact_total:
        return sum(exact.values())
    return len(exact), sum(int(Decimal(repr(float(v))).quantize(Decimal(1), ROUND_HALF_UP)) for v in exact.values())


@pytest.fixture(scope="module")
def xsd_dir() -> Path:
    if not REFERENCE:
        pytest.skip("BO_REFERENCE_DIR is not set: the official EDGAR schemas live there")
    return Path(REFERENCE) / "sec-13f" / "schema"


@pytest.fixture(scope="module")
def inputs(sample_store):
    return gather_regulatory(sample_store, load_company(PARAMETERS), load_funds(PARAMETERS), dt.date(2026, 11, 6))


@pytest.fixture(scope="module")
def report(inputs):
    return control.form13f_report(inputs, None, dt.date(2026, 11, 6))


def _row(rows: pd.DataFrame, cusip: str, put_call: str = "") -> pd.Series:
    hit = rows[rows["cusip"].eq(cusip) & rows["put_call"].eq(put_call)]
    assert len(hit) == 1, f"expected one row for {cusip} {put_call!r}, got {len(hit)}"
    return hit.iloc[0]


def test_sample_company_summary_and_what_is_reported(report, inputs):
    rows = report.rows
    entries, total = _independent_13f()
    assert report.summary == {"table_entry_total": entries, "table_value_total": total}
    assert report.summary["table_value_total"] == int(rows["value"].sum())
    # US equities held by USEQ/MAHF (23 CUSIPs) and two option rows; straight bonds are not 13(f) securities
    assert entries == 25 and rows["sh_prn"].value_counts().to_dict() == {"SH": 25}
    excluded = report.holdings[~report.holdings["reportable"]]
    assert set(excluded["security_id"]) == {f"EQ000{n}" for n in range(31, 42)} | {f"BD0000{n}" for n in range(1, 9)}
    assert set(excluded["exclusion_reason"]) == {"not on the 13(f) list"}
    assert report.rule_breaks.empty


def test_one_row_per_cusip_across_funds(report):
    oakhurst = _row(report.rows, "303560106")
    assert oakhurst["shares_or_principal"] == 180_000 + 108_000
    assert oakhurst["funds"] == "MAHF, USEQ"
    assert (oakhurst["voting_sole"], oakhurst["voting_shared"], oakhurst["voting_none"]) == (288_000, 0, 0)
    # 288,000 x 118.3913 (BLOOMBERG: first in both funds' equity hierarchy)
    assert oakhurst["value"] == 34_096_694


def test_options_on_the_underlying_cusip_with_put_call(report):
    stock = _row(report.rows, "544373103")
    call = _row(report.rows, "544373103", "Call")
    put = _row(report.rows, "577111107", "Put")
    positions = pd.read_csv(DATA / "opening/2026-09-30/positions.csv", dtype={"account": str})
    assert stock["shares_or_principal"] == positions.loc[positions["security_id"] == "EQ00001", "quantity"].sum()  # USEQ + MAHF
    # 60 and 120 contracts x 100: the underlying's shares, valued at the underlying's price
    assert (call["shares_or_principal"], call["sh_prn"]) == (6_000, "SH")
    assert call["value"] == 1_495_774  # 6,000 x 249.2957 = 1,495,774.20, not 60 x 100 x the premium 17.7546
    assert put["shares_or_principal"] == 12_000
    assert (call["voting_sole"], call["voting_none"]) == (0, 6_000)
    assert call["name_of_issuer"] == stock["name_of_issuer"] == "NORTHWIND ANALYTICS INC"


def test_convertible_notes_are_principal_amounts():
    """A 13(f)-listed note (convertible debt) is reported as PRN: principal amount, valued at its
    price per 100 of nominal, voting authority None."""
    securities = pd.DataFrame([{"security_id": "N1", "cusip": "333333AB3", "issuer_name": "Gamma Holdings Inc", "asset_class": "corporate_bond",
                                "currency": "USD", "is_13f": True, "underlying_id": None, "put_call": None, "price_multiplier": 0.01,
                                "coupon_rate": 2.5, "maturity_date": pd.Timestamp("2031-06-15")}])
    positions = pd.DataFrame([("F1", "A", "N1", 4_250_000.0)], columns=["fund", "account", "security_id", "quantity"])
    prices = pd.DataFrame([("N1", "ICE", 103.2213, "USD")], columns=["security_id", "source", "price", "currency"])
    rates = pd.DataFrame(columns=["from_currency", "to_currency", "rate"])
    rows = form13f.information_table_rows(form13f.holdings_13f(positions, securities, prices, rates, {"F1": {"corporate_bond": ["ICE"]}}))
    note = _row(rows, "333333AB3")
    assert (note["sh_prn"], note["shares_or_principal"], note["title_of_class"]) == ("PRN", 4_250_000, "NOTE 2.500% 2031")
    assert note["value"] == 4_386_905  # 4,250,000 x 103.2213% = 4,386,905.25
    assert note["voting_none"] == 4_250_000


def _synthetic(positions: list[tuple], prices: list[tuple], fx: dict[str, float] | None = None, discretion=None):
    securities = pd.DataFrame([
        {"security_id": "S1", "cusip": "111111111", "issuer_name": "Alpha Corp", "asset_class": "equity", "currency": "USD", "is_13f": True,
         "underlying_id": None, "put_call": None, "price_multiplier": 1.0, "coupon_rate": None, "maturity_date": None},
        {"security_id": "S2", "cusip": "222222222", "issuer_name": "Beta AG", "asset_class": "equity", "currency": "EUR", "is_13f": True,
         "underlying_id": None, "put_call": None, "price_multiplier": 1.0, "coupon_rate": None, "maturity_date": None},
    ])
    pos = pd.DataFrame(positions, columns=["fund", "account", "security_id", "quantity"])
    px = pd.DataFrame(prices, columns=["security_id", "source", "price", "currency"])
    rates = pd.DataFrame([{"from_currency": c, "to_currency": "USD", "rate": r} for c, r in (fx or {}).items()],
                         columns=["from_currency", "to_currency", "rate"])
    hierarchies = {f: {"equity": ["BLOOMBERG"]} for f in ("F1", "F2")}
    return form13f.information_table_rows(form13f.holdings_13f(pos, securities, px, rates, hierarchies, discretion))


def test_rounding_half_up_once_per_row_from_the_exact_value():
    # two funds each hold 1000.4 dollars of S1: the row is 2000.8 -> 2001 (per-fund rounding would give 2000)
    rows = _synthetic([("F1", "A", "S1", 4.0), ("F2", "B", "S1", 4.0)], [("S1", "BLOOMBERG", 250.1, "USD")])
    assert _row(rows, "111111111")["value"] == 2001
    # an exact half rounds up (Python's round() would give 10)
    rows = _synthetic([("F1", "A", "S1", 1.0)], [("S1", "BLOOMBERG", 10.5, "USD")])
    assert _row(rows, "111111111")["value"] == 11
    # other currencies at the quarter-end rate: 100 x EUR 10.005 x 1.085 = 1085.5425 -> 1086
    rows = _synthetic([("F1", "A", "S2", 100.0)], [("S2", "BLOOMBERG", 10.005, "EUR")], fx={"EUR": 1.085})
    assert _row(rows, "222222222")["value"] == 1086


def test_rows_split_by_investment_discretion_and_other_manager(inputs):
    hierarchies = {code: fund.pricing.hierarchy for code, fund in inputs.funds.items()}
    qe = inputs.at_quarter_end
    holdings = form13f.holdings_13f(qe.positions, inputs.securities, qe.prices, qe.fx_rates, hierarchies, discretion={"MAHF": ("DFND", "1")})
    rows = form13f.information_table_rows(holdings)
    oakhurst = rows[rows["cusip"].eq("303560106")].set_index("investment_discretion")
    assert oakhurst.loc["SOLE", "shares_or_principal"] == 180_000 and oakhurst.loc["SOLE", "other_manager"] == ""
    assert oakhurst.loc["DFND", "shares_or_principal"] == 108_000 and oakhurst.loc["DFND", "other_manager"] == "1"
    assert (oakhurst.loc["DFND", "voting_sole"], oakhurst.loc["DFND", "voting_shared"]) == (0, 108_000)
    # the 12 US equities held by both funds now take two rows each
    assert len(rows) == _independent_13f()[0] + 12
    assert b"<otherManager>1</otherManager>" in form13f.information_table(rows[form13f.INFO_TABLE_COLUMNS])


def test_xml_declaration_first_and_schema_element_order(report):
    xml = form13f.information_table(report.rows[form13f.INFO_TABLE_COLUMNS])
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = form13f.parse_xml(xml)
    call = next(e for e in root if e.find(f"{{{form13f.NS_INFORMATION_TABLE}}}putCall") is not None)
    assert [c.tag.split("}")[1] for c in call] == ["nameOfIssuer", "titleOfClass", "cusip", "value", "shrsOrPrnAmt", "putCall",
                                                  "investmentDiscretion", "votingAuthority"]
    assert [c.tag.split("}")[1] for c in call[-1]] == ["Sole", "Shared", "None"]


def test_a_holding_breaking_edgar_rules_is_an_error_naming_it(report):
    rows = report.rows[form13f.INFO_TABLE_COLUMNS].copy()
    rows.loc[0, "cusip"] = "92606AB8"  # 8 characters
    rows.loc[1, "name_of_issuer"] = "SOCIÉTÉ GÉNÉRALE"
    breaks = form13f.edgar_rule_breaks(rows)
    assert breaks[["row", "field"]].values.tolist() == [[1, "cusip"], [2, "nameOfIssuer"]]
    with pytest.raises(form13f.Form13FError) as err:
        form13f.information_table(rows)
    assert f"92606AB8 {rows.loc[0, 'name_of_issuer']}: cusip" in str(err.value) and "SOCIÉTÉ GÉNÉRALE: nameOfIssuer" in str(err.value)


@needs_reference
def test_sample_company_documents_validate_against_the_official_schemas(inputs, xsd_dir):
    validated = control.form13f_report(inputs, xsd_dir, dt.date(2026, 11, 6))
    assert validated.schema_errors == []
    assert validated.schema_status == "valid against the official EDGAR schemas"
    cover = form13f.parse_cover_document(validated.cover)
    assert cover["cik"] == "0001999123" and cover["period_of_report"] == QUARTER_END
    assert cover["manager_name"] == "Meridian Harbor Asset Management LLC"
    assert (cover["table_entry_total"], cover["table_value_total"]) == _independent_13f()
    # and the schema does catch a broken document
    broken = validated.information_table.replace(b"<sshPrnamtType>SH</sshPrnamtType>", b"<sshPrnamtType>SHS</sshPrnamtType>", 1)
    assert form13f.schema_errors(broken, xsd_dir)


@needs_reference
@pytest.mark.parametrize("accession", REAL_FILINGS)
def test_real_filings_round_trip_and_totals(accession, xsd_dir):
    folder = Path(REFERENCE) / "sec-13f" / "real"
    parsed = form13f.parse_information_table(folder / f"{accession}_infotable.xml")
    cover = form13f.parse_cover_document(folder / f"{accession}_primary_doc.xml")
    assert len(parsed) == cover["table_entry_total"] and int(parsed["value"].sum()) == cover["table_value_total"]
    regenerated = form13f.information_table(parsed)
    assert form13f.schema_errors(regenerated, xsd_dir) == []
    pd.testing.assert_frame_equal(form13f.parse_information_table(regenerated), parsed)


@needs_reference
def test_text_before_the_declaration_is_explained_not_accepted():
    raw = Path(REFERENCE) / "sec-13f" / "real" / "edgartools_13F-HR.infotable.raw.xml"
    with pytest.raises(form13f.Form13FError, match=r"1 byte\(s\) before the XML declaration .*XML 1.0 \(section 2.8\).*EDGAR refuses"):
        form13f.parse_information_table(raw)
    # reading a saved copy: the stray newline stripped, the default-namespace table parses
    rows = form13f.parse_information_table(raw, allow_leading_whitespace=True)
    assert len(rows) == 255 and rows.loc[0, "cusip"] == "88579Y101"
    assert form13f.information_table(rows).startswith(b"<?xml")


def test_external_entities_are_never_expanded():
    secret = Path(__file__).resolve()
    evil = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
            f'<informationTable xmlns="{form13f.NS_INFORMATION_TABLE}"><infoTable><nameOfIssuer>&e;</nameOfIssuer></infoTable></informationTable>').encode()
    with pytest.raises(form13f.Form13FError, match="DOCTYPE is not allowed"):
        form13f.parse_information_table(evil)


def test_the_100m_filing_test(inputs):
    test = control.month_end_13f_values(inputs)
    assert test["valuation_date"].dt.date.tolist() == [QUARTER_END, dt.date(2026, 10, 30)]
    assert test["meets_threshold"].all()
    assert test.loc[0, "value_usd"] == pytest.approx(_independent_13f(exact_total=True), abs=0.01)
    assert test.loc[0, "filings_required"] == "13F for Q4 2026 and Q1-Q3 2027"
    below = form13f.filing_test(pd.DataFrame({"valuation_date": pd.to_datetime(["2026-01-30"]), "value_usd": [99_999_999.0]}))
    assert not below["meets_threshold"].any()


def test_cli_writes_both_documents(tmp_path, capsys):
    from bo_lib.cli import main

    assert main(["form13f", "--quarter-end", "2026-09-30", "--out", str(tmp_path), "--data", str(DATA), "--parameters", str(PARAMETERS)]) in (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["form13f_2026Q3_infotable.xml", "form13f_2026Q3_primary_doc.xml"]
    entries, total = _independent_13f()
    assert f"{entries} rows, value total ${total:,}" in capsys.readouterr().out
    assert main(["form13f", "--quarter-end", "2026-06-30", "--out", str(tmp_path), "--data", str(DATA), "--parameters", str(PARAMETERS)]) == 2
