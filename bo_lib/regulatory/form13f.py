"""Form 13F: the management company's quarterly holdings report of Section 13(f) securities, as
EDGAR accepts it.

This module owns:

* **Holdings**: quarter-end positions of every fund (long only, on the 13(f) list) valued in US
  dollars, and the information-table rows they make (one row per CUSIP x put/call x investment
  discretion x other managers x SH/PRN).
* **EDGAR's rules beyond the schema**, checked before any XML is written: a holding that breaks
  one is an error naming it, never a silently invalid file.
* **Documents**: the information table and the cover document (``primary_doc.xml``), and
  validation against the official EDGAR schemas when a schema folder is configured.
* **Parsing filed documents** back into the same rows (any namespace prefix, or none), with
  external entities and network access disabled.
* **The $100M filing test** (Rule 13f-1(a)(1)).

Decisions (documented here, tested in tests/test_form13f.py):

* **Value** is in whole US dollars (filings since 2023-01-03). Each position is valued exactly
  (quantity x price x price multiplier x quarter-end FX rate to USD); positions of one row are
  summed and the **row** is rounded ROUND_HALF_UP once (``bo_lib.money.round_half_up_array``), so
  the value total is the sum of the rounded rows, as on the summary page.
* **Price and FX** are the workbench's one rule (``bo_lib.prices``, ``bo_lib.fx``), as the NAV
  values the same position: a manual override first, then the holding fund's ranked sources for
  the asset class; a source outside the hierarchy is never used (before, it priced a position no
  ranked source had priced); where none priced it on the date, the last chosen price carried
  forward (``price_carried_forward``, ``price_as_of``). The rate to USD is ``fx.rate_to_base``.
* **Options** are reported on the underlying's CUSIP, with ``putCall`` (``Put``/``Call``) on a row
  of their own, never netted with the stock. Following the SEC staff's 13F FAQ, shares and value
  are those of the **underlying**: shares = contracts x contract multiplier (SH), value = those
  shares at the underlying's quarter-end price (not the option premium).
* **Bonds** on the 13(f) list (convertible notes) are reported as principal (``PRN``) at the face
  amount, valued at clean price x face x price multiplier (accrued interest excluded).
* **Investment discretion** is per fund: ``SOLE`` with no other manager unless the caller says
  otherwise. **Voting authority**: shares follow the discretion (SOLE -> Sole, DFND/OTR ->
  Shared); options and principal amounts carry no vote and go to None. All three voting columns
  are always written.
* Shares and principal are whole numbers: a fractional holding is rounded half-up to the unit.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from bo_lib.fx import rate_to_base
from bo_lib.money import round_half_up_array
from bo_lib.prices import as_ns, fund_holding_prices

NS_INFORMATION_TABLE = "http://www.sec.gov/edgar/document/thirteenf/informationtable"
NS_FILER = "http://www.sec.gov/edgar/thirteenffiler"
NS_COMMON = "http://www.sec.gov/edgar/common"
XSD_INFORMATION_TABLE = "eis_13FDocument.xsd"
XSD_COVER = "eis_13F_Filer.xsd"
SCHEMA_VERSION = "X0202"
#: filings for periods from this date report values in whole dollars (before: thousands)
WHOLE_DOLLARS_FROM = dt.date(2023, 1, 3)
FILING_THRESHOLD_USD = 100_000_000.0

DISCRETIONS = ("SOLE", "DFND", "OTR")
PUT_CALL = ("Put", "Call")
SH_PRN = ("SH", "PRN")

#: one information-table row; the order of the XML elements is the schema's (INFO_TABLE sequence)
INFO_TABLE_COLUMNS = [
    "name_of_issuer", "title_of_class", "cusip", "figi", "value", "shares_or_principal", "sh_prn", "put_call",
    "investment_discretion", "other_manager", "voting_sole", "voting_shared", "voting_none",
]
ROW_KEYS = ["cusip", "put_call", "investment_discretion", "other_manager", "sh_prn"]

# EDGAR's character set for an issuer name (ENTITY_NAME_TYPE_STRING in eis_13FDocument.xsd; XSD \s
# is space, tab, CR, LF only, so it is spelled out rather than Python's Unicode-wide \s)
_ISSUER_NAME = re.compile(r"^[A-Za-z0-9 \t\r\n!\\#$(),.:;`=@'\-{}|/&]{1,150}$")
_CUSIP = re.compile(r"^[A-Za-z0-9]{9}$")
_FIGI = re.compile(r"^[A-Za-z0-9]{12}$")
_MAX_16_DIGITS = 9_999_999_999_999_999


class Form13FError(ValueError):
    """The 13F cannot be written or read as EDGAR requires; ``problems`` lists each holding and
    rule broken (a DataFrame for rule breaks, or text)."""

    def __init__(self, message: str, problems: pd.DataFrame | None = None):
        self.problems = problems if problems is not None else pd.DataFrame()
        if problems is not None and len(problems):
            lines = [f"row {p.row} {p.cusip or '(no CUSIP)'} {p.name_of_issuer or '(no name)'}: {p.field}: {p.rule}"
                     for p in problems.itertuples()]
            message += "\n  " + "\n  ".join(lines)
        super().__init__(message)


# --------------------------------------------------------------------------------------------
# Holdings


def title_of_class(securities: pd.DataFrame) -> pd.Series:
    """Title of class as on the 13F list: COM for shares, NOTE <coupon>% <maturity year> for notes."""
    maturity_year = pd.to_datetime(securities["maturity_date"]).dt.year.astype("Int64").astype(str)
    coupon = pd.to_numeric(securities["coupon_rate"], errors="coerce").map(lambda c: f"{c:.3f}%" if c == c else "")
    note = ("NOTE " + coupon + " " + maturity_year).str.strip()
    return pd.Series(np.where(securities["asset_class"].str.endswith("bond"), note, "COM"), index=securities.index)


def holdings_13f(positions: pd.DataFrame, securities: pd.DataFrame, prices: pd.DataFrame, fx_rates: pd.DataFrame,
                 hierarchies: dict[str, dict[str, list[str]]], discretion: dict[str, tuple[str, str]] | None = None, *,
                 as_of: dt.date | None = None, overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every fund position at quarter end, with whether and how it goes on the 13F.

    ``positions``: fund, account, security_id, quantity. ``prices``: prices by source of the
    valuation date ``as_of`` and the deliveries before it (a price is carried forward from them);
    without ``price_date`` they are all the valuation date's, and without ``as_of`` the valuation
    date is their latest. ``fx_rates``: the date's fixings from_currency -> USD; ``hierarchies``:
    fund -> the fund's price hierarchy; ``overrides``: manual price overrides; ``discretion``:
    fund -> (investment discretion, other manager), default SOLE.

    Returns one row per position: reportable (bool), exclusion_reason, the reported security
    (the underlying for options) with cusip, name_of_issuer, title_of_class, put_call, sh_prn,
    shares_or_principal, price, price_source, price_as_of, price_carried_forward, fx_rate,
    value_usd (exact, unrounded), discretion and voting authority columns.
    """
    discretion = discretion or {}
    master = securities.set_index("security_id")
    held = positions[["fund", "account", "security_id", "quantity"]].merge(
        securities[["security_id", "asset_class", "is_13f", "underlying_id", "put_call", "price_multiplier", "currency"]],
        on="security_id", how="left")
    is_option = held["asset_class"].eq("option")
    held["reported_security_id"] = held["underlying_id"].where(is_option, held["security_id"])
    held["put_call"] = held["put_call"].where(is_option, "").fillna("")
    # an option reports the underlying's shares: contracts x contract multiplier
    held["shares_or_principal"] = np.where(is_option, held["quantity"] * held["price_multiplier"], held["quantity"])
    reported = master.reindex(held["reported_security_id"])
    held["reported_asset_class"] = reported["asset_class"].to_numpy()
    held["cusip"] = reported["cusip"].fillna("").to_numpy()
    held["name_of_issuer"] = reported["issuer_name"].fillna("").str.upper().to_numpy()
    held["title_of_class"] = title_of_class(reported.reset_index()).to_numpy()
    held["reported_currency"] = reported["currency"].to_numpy()
    held["reported_multiplier"] = reported["price_multiplier"].to_numpy()
    held["sh_prn"] = np.where(held["reported_asset_class"].astype(str).str.endswith("bond"), "PRN", "SH")

    long = held["quantity"] > 0
    on_list = held["is_13f"].fillna(False).astype(bool)
    held["reportable"] = long & on_list
    held["exclusion_reason"] = np.select([~on_list, ~long], ["not on the 13(f) list", "short position (13F reports long positions only)"], "")

    # the reported security (the underlying of an option) at the price of the holding fund's hierarchy
    day = _valuation_day(prices, as_of)
    history = prices if "price_date" in prices else prices.assign(price_date=day)
    need = pd.DataFrame({"fund": held["fund"], "price_date": as_ns(pd.Series(day, index=held.index)), "security_id": held["reported_security_id"]})
    priced = need.merge(fund_holding_prices(need, history, securities, hierarchies, overrides), on=["fund", "price_date", "security_id"], how="left")
    held["price"] = priced["price"].to_numpy()
    held["price_source"] = priced["source"].to_numpy()
    held["price_as_of"] = priced["price_as_of"].to_numpy()
    held["price_carried_forward"] = priced["carried_forward"].fillna(True).astype(bool).to_numpy()
    held["fx_rate"] = rate_to_base(held["reported_currency"], fx_rates, "USD")
    held["value_usd"] = held["shares_or_principal"] * held["price"] * held["reported_multiplier"] * held["fx_rate"]

    chosen = held["fund"].map(lambda f: discretion.get(f, ("SOLE", "")))
    held["investment_discretion"] = chosen.str[0]
    held["other_manager"] = chosen.str[1].fillna("")
    votes = held["sh_prn"].eq("SH") & held["put_call"].eq("")
    sole = votes & held["investment_discretion"].eq("SOLE")
    held["voting_sole"] = np.where(sole, held["shares_or_principal"], 0.0)
    held["voting_shared"] = np.where(votes & ~sole, held["shares_or_principal"], 0.0)
    held["voting_none"] = np.where(votes, 0.0, held["shares_or_principal"])
    cols = ["fund", "account", "security_id", "quantity", "reportable", "exclusion_reason", "reported_security_id", "cusip",
            "name_of_issuer", "title_of_class", "put_call", "sh_prn", "shares_or_principal", "price", "price_source",
            "price_as_of", "price_carried_forward", "reported_currency", "fx_rate", "value_usd", "investment_discretion", "other_manager",
            "voting_sole", "voting_shared", "voting_none"]
    return held[cols]


def _valuation_day(prices: pd.DataFrame, as_of: dt.date | None) -> pd.Timestamp:
    """The valuation date: ``as_of``, else the latest price date (prices without a date: one day's)."""
    if as_of is not None:
        return pd.Timestamp(as_of)
    if "price_date" in prices and prices["price_date"].notna().any():
        return pd.Timestamp(pd.to_datetime(prices["price_date"]).max())
    return pd.Timestamp(0)


def information_table_rows(holdings: pd.DataFrame) -> pd.DataFrame:
    """Reportable holdings aggregated into information-table rows: one per CUSIP x put/call x
    investment discretion x other manager x SH/PRN, value summed exactly then rounded half-up to
    whole dollars once per row; largest value first."""
    rep = holdings[holdings["reportable"]]
    grouped = rep.groupby(ROW_KEYS, as_index=False, dropna=False).agg(
        name_of_issuer=("name_of_issuer", "first"), title_of_class=("title_of_class", "first"),
        exact_value=("value_usd", lambda v: v.sum(min_count=len(v))), shares_or_principal=("shares_or_principal", "sum"),
        voting_sole=("voting_sole", "sum"), voting_shared=("voting_shared", "sum"), voting_none=("voting_none", "sum"),
        funds=("fund", lambda f: ", ".join(sorted(set(f)))))
    grouped["value"] = round_half_up_array(grouped["exact_value"], 0).astype("Int64")
    for col in ("shares_or_principal", "voting_sole", "voting_shared", "voting_none"):
        grouped[col] = round_half_up_array(grouped[col], 0).astype("Int64")
    grouped["figi"] = ""
    rows = grouped[INFO_TABLE_COLUMNS + ["exact_value", "funds"]]
    return rows.sort_values(["value", "cusip", "put_call"], ascending=[False, True, True], na_position="first").reset_index(drop=True)


def table_summary(rows: pd.DataFrame) -> dict:
    """The summary page: entry total = number of rows, value total = sum of the (rounded) row values."""
    return {"table_entry_total": int(len(rows)), "table_value_total": int(pd.to_numeric(rows["value"]).fillna(0).sum())}


# --------------------------------------------------------------------------------------------
# EDGAR's rules


def edgar_rule_breaks(rows: pd.DataFrame) -> pd.DataFrame:
    """Every information-table row that EDGAR would reject, one line per rule broken: row
    (1-based), cusip, name_of_issuer, put_call, field, rule, value. Empty when the table is fit to file."""
    problems: list[pd.DataFrame] = []
    frame = rows.reset_index(drop=True)
    text = {c: frame[c].astype(object).where(frame[c].notna(), "").astype(str) if c in frame else pd.Series("", index=frame.index)
            for c in INFO_TABLE_COLUMNS}

    def add(mask: pd.Series, field: str, rule: str, values: pd.Series) -> None:
        mask = mask.fillna(True).astype(bool)
        if mask.any():
            problems.append(pd.DataFrame({"row": frame.index[mask] + 1, "cusip": text["cusip"][mask], "name_of_issuer": text["name_of_issuer"][mask],
                                          "put_call": text["put_call"][mask], "field": field, "rule": rule, "value": values[mask].astype(str)}))

    add(~text["cusip"].str.match(_CUSIP), "cusip", "a CUSIP is exactly 9 letters or digits", text["cusip"])
    add(~text["name_of_issuer"].str.match(_ISSUER_NAME), "nameOfIssuer",
        "1-150 characters from EDGAR's set (letters, digits, space and !\\#$(),.:;`=@'-{}|/&)", text["name_of_issuer"])
    add(~text["title_of_class"].str.len().between(1, 150), "titleOfClass", "1-150 characters", text["title_of_class"])
    add(text["figi"].ne("") & ~text["figi"].str.match(_FIGI), "figi", "a FIGI is exactly 12 letters or digits", text["figi"])
    for col, field in (("value", "value"), ("shares_or_principal", "sshPrnamt"), ("voting_sole", "Sole"),
                       ("voting_shared", "Shared"), ("voting_none", "None")):
        number = pd.to_numeric(frame[col], errors="coerce")
        bad = number.isna() | (number < 0) | (number > _MAX_16_DIGITS) | (number != np.floor(number))
        label = "a whole number of US dollars, 0 to 16 digits (is there a quarter-end price and FX rate?)" if col == "value" else "a whole number, 0 to 16 digits"
        add(bad, field, label, frame[col])
    add(~text["sh_prn"].isin(SH_PRN), "sshPrnamtType", "SH (shares) or PRN (principal)", text["sh_prn"])
    add(~text["put_call"].isin(("",) + PUT_CALL), "putCall", "Put or Call (title case), or empty", text["put_call"])
    add(~text["investment_discretion"].isin(DISCRETIONS), "investmentDiscretion", "SOLE, DFND or OTR", text["investment_discretion"])
    add(text["other_manager"].str.len() > 100, "otherManager", "at most 100 characters", text["other_manager"])
    if not problems:
        return pd.DataFrame(columns=["row", "cusip", "name_of_issuer", "put_call", "field", "rule", "value"])
    return pd.concat(problems, ignore_index=True).sort_values(["row", "field"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Documents

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _sub(parent, tag: str, text=None):
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def information_table(holdings: pd.DataFrame) -> bytes:
    """The EDGAR information table (XML, UTF-8, the declaration first) of information-table rows
    (``information_table_rows``, or a parsed filing). Raises :class:`Form13FError` naming every
    holding that breaks an EDGAR rule."""
    problems = edgar_rule_breaks(holdings)
    if len(problems):
        raise Form13FError(f"{problems['row'].nunique()} holding(s) break EDGAR's rules; no information table written", problems)
    ns = "{%s}" % NS_INFORMATION_TABLE
    root = etree.Element(ns + "informationTable", nsmap={None: NS_INFORMATION_TABLE})
    for row in holdings.fillna({"figi": "", "put_call": "", "other_manager": ""}).itertuples(index=False):
        entry = _sub(root, ns + "infoTable")
        _sub(entry, ns + "nameOfIssuer", row.name_of_issuer)
        _sub(entry, ns + "titleOfClass", row.title_of_class)
        _sub(entry, ns + "cusip", row.cusip)
        if row.figi:
            _sub(entry, ns + "figi", row.figi)
        _sub(entry, ns + "value", int(row.value))
        amount = _sub(entry, ns + "shrsOrPrnAmt")
        _sub(amount, ns + "sshPrnamt", int(row.shares_or_principal))
        _sub(amount, ns + "sshPrnamtType", row.sh_prn)
        if row.put_call:
            _sub(entry, ns + "putCall", row.put_call)
        _sub(entry, ns + "investmentDiscretion", row.investment_discretion)
        if row.other_manager:
            _sub(entry, ns + "otherManager", row.other_manager)
        voting = _sub(entry, ns + "votingAuthority")
        _sub(voting, ns + "Sole", int(row.voting_sole))
        _sub(voting, ns + "Shared", int(row.voting_shared))
        _sub(voting, ns + "None", int(row.voting_none))
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)


@dataclass(frozen=True)
class Signatory:
    """Who signs the 13F (the signature block). The placeholders mark a draft to be completed."""

    name: str = "TO BE SIGNED"
    title: str = "Chief Compliance Officer"
    phone: str = "000-000-0000"
    city: str = ""
    state_or_country: str = ""
    signature_date: dt.date | None = None


def _edgar_date(day: dt.date) -> str:
    return day.strftime("%m-%d-%Y")


def cover_document(company, period_end: dt.date, summary: dict, signatory: Signatory | None = None, *,
                   live_test: str = "LIVE", form13f_file_number: str | None = None, signature_date: dt.date | None = None) -> bytes:
    """The 13F-HR cover document (``primary_doc.xml``): period, filer CIK, manager name and
    address, signature block and the summary page (entry total, value total). ``company`` is a
    ``bo_lib.parameters.ManagementCompany``; the CCC (the filer's EDGAR password) is never stored
    here and is written as ``XXXXXXXX``, as in the published copies of filings."""
    if signatory is None:
        declared = getattr(company, "signatory", None)  # parameters/company.yaml; placeholders mark a draft without one
        signatory = Signatory(name=declared.name, title=declared.title, phone=declared.phone, city=company.address.city,
                              state_or_country=company.address.state_or_country) if declared else Signatory(
            city=company.address.city, state_or_country=company.address.state_or_country)
    form13f_file_number = form13f_file_number or getattr(company, "form13f_file_number", None)
    signed = signatory.signature_date or signature_date or period_end
    com = "{%s}" % NS_COMMON
    ns = "{%s}" % NS_FILER
    root = etree.Element(ns + "edgarSubmission", nsmap={None: NS_FILER, "com": NS_COMMON})
    _sub(root, ns + "schemaVersion", SCHEMA_VERSION)
    header = _sub(root, ns + "headerData")
    _sub(header, ns + "submissionType", "13F-HR")
    filer_info = _sub(header, ns + "filerInfo")
    _sub(filer_info, ns + "liveTestFlag", live_test)
    credentials = _sub(_sub(filer_info, ns + "filer"), ns + "credentials")
    _sub(credentials, ns + "cik", company.cik)
    _sub(credentials, ns + "ccc", "XXXXXXXX")
    _sub(filer_info, ns + "periodOfReport", _edgar_date(period_end))
    form = _sub(root, ns + "formData")
    cover = _sub(form, ns + "coverPage")
    _sub(cover, ns + "reportCalendarOrQuarter", _edgar_date(period_end))
    manager = _sub(cover, ns + "filingManager")
    _sub(manager, ns + "name", company.name)
    address = _sub(manager, ns + "address")
    _sub(address, com + "street1", company.address.street)
    _sub(address, com + "city", company.address.city)
    _sub(address, com + "stateOrCountry", company.address.state_or_country)
    _sub(address, com + "zipCode", company.address.zip_code)
    _sub(cover, ns + "reportType", "13F HOLDINGS REPORT")
    if form13f_file_number:
        _sub(cover, ns + "form13FFileNumber", form13f_file_number)
    _sub(cover, ns + "provideInfoForInstruction5", "N")
    block = _sub(form, ns + "signatureBlock")
    for tag, value in (("name", signatory.name), ("title", signatory.title), ("phone", signatory.phone), ("signature", signatory.name),
                       ("city", signatory.city), ("stateOrCountry", signatory.state_or_country), ("signatureDate", _edgar_date(signed))):
        _sub(block, ns + tag, value)
    page = _sub(form, ns + "summaryPage")
    _sub(page, ns + "otherIncludedManagersCount", 0)
    _sub(page, ns + "tableEntryTotal", summary["table_entry_total"])
    _sub(page, ns + "tableValueTotal", summary["table_value_total"])
    _sub(page, ns + "isConfidentialOmitted", "false")
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)


# --------------------------------------------------------------------------------------------
# Reading filed documents (safely)


def safe_parser() -> etree.XMLParser:
    """lxml parser for documents from outside: no external entities, no DTD loading, no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False)


def _read(source: bytes | str | Path) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "(document)"
    path = Path(source)
    return path.read_bytes(), path.name


def leading_content_problem(data: bytes) -> str | None:
    """Why a document with anything before ``<?xml`` is not acceptable (None when it starts right)."""
    start = data.find(b"<?xml")
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if start <= 0 or body.startswith(b"<?xml"):
        return None
    return (f"{start} byte(s) before the XML declaration ({data[:start][:20]!r}): XML 1.0 (section 2.8) allows the "
            "declaration only at the very start of a document, so a conforming parser rejects it ('XML declaration "
            "allowed only at the start of the document') and EDGAR refuses the submission; remove them and refile")


def parse_xml(source: bytes | str | Path, *, allow_leading_whitespace: bool = False) -> etree._Element:
    """Parse an EDGAR XML document safely. Text before the declaration is an error explaining
    why, unless ``allow_leading_whitespace`` (reading a copy saved with a stray newline: only
    whitespace is then stripped). A DOCTYPE is refused (EDGAR documents have none)."""
    data, label = _read(source)
    problem = leading_content_problem(data)
    if problem:
        if not (allow_leading_whitespace and not data[: data.find(b"<?xml")].strip()):
            raise Form13FError(f"{label}: {problem}")
        data = data.lstrip()
    try:
        tree = etree.fromstring(data, parser=safe_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise Form13FError(f"{label}: not well-formed XML: {exc}") from None
    if tree.docinfo.doctype:
        raise Form13FError(f"{label}: a DOCTYPE is not allowed in an EDGAR document (entities are never expanded)")
    return tree.getroot()


def _local(element) -> str:
    return etree.QName(element).localname


def _children(element) -> dict[str, etree._Element]:
    return {_local(child): child for child in element if isinstance(child.tag, str)}


def _text(element, *path: str) -> str:
    for name in path:
        if element is None:
            return ""
        element = _children(element).get(name)
    return (element.text or "").strip() if element is not None else ""


def parse_information_table(source: bytes | str | Path, *, allow_leading_whitespace: bool = False) -> pd.DataFrame:
    """An information table (any namespace prefix or none) as information-table rows."""
    root = parse_xml(source, allow_leading_whitespace=allow_leading_whitespace)
    if _local(root) != "informationTable":
        raise Form13FError(f"not an information table: root element is {_local(root)!r}")
    records = []
    for entry in (child for child in root if isinstance(child.tag, str) and _local(child) == "infoTable"):
        records.append({
            "name_of_issuer": _text(entry, "nameOfIssuer"), "title_of_class": _text(entry, "titleOfClass"),
            "cusip": _text(entry, "cusip"), "figi": _text(entry, "figi"), "value": _text(entry, "value"),
            "shares_or_principal": _text(entry, "shrsOrPrnAmt", "sshPrnamt"), "sh_prn": _text(entry, "shrsOrPrnAmt", "sshPrnamtType"),
            "put_call": _text(entry, "putCall"), "investment_discretion": _text(entry, "investmentDiscretion"),
            "other_manager": _text(entry, "otherManager"), "voting_sole": _text(entry, "votingAuthority", "Sole"),
            "voting_shared": _text(entry, "votingAuthority", "Shared"), "voting_none": _text(entry, "votingAuthority", "None"),
        })
    rows = pd.DataFrame(records, columns=INFO_TABLE_COLUMNS)
    for col in ("value", "shares_or_principal", "voting_sole", "voting_shared", "voting_none"):
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("Int64")
    return rows


def parse_cover_document(source: bytes | str | Path) -> dict:
    """The facts of a 13F cover document: period, CIK, manager, report type, summary totals."""
    root = parse_xml(source)
    form = _children(root).get("formData")
    totals = {key: _text(form, "summaryPage", key) for key in ("tableEntryTotal", "tableValueTotal", "otherIncludedManagersCount")}
    period = _text(root, "headerData", "filerInfo", "periodOfReport")
    return {
        "submission_type": _text(root, "headerData", "submissionType"),
        "cik": _text(root, "headerData", "filerInfo", "filer", "credentials", "cik"),
        "period_of_report": dt.datetime.strptime(period, "%m-%d-%Y").date() if period else None,
        "manager_name": _text(form, "coverPage", "filingManager", "name"),
        "manager_city": _text(form, "coverPage", "filingManager", "address", "city"),
        "report_type": _text(form, "coverPage", "reportType"),
        "table_entry_total": int(totals["tableEntryTotal"]) if totals["tableEntryTotal"] else None,
        "table_value_total": int(totals["tableValueTotal"]) if totals["tableValueTotal"] else None,
        "other_included_managers": int(totals["otherIncludedManagersCount"] or 0),
    }


# --------------------------------------------------------------------------------------------
# Schema validation


def schema_directory(environ: dict | None = None) -> Path | None:
    """The folder of the official EDGAR 13F schemas: ``BO_FORM13F_XSD_DIR``, else
    ``$BO_REFERENCE_DIR/sec-13f/schema``; None when neither is configured."""
    environ = os.environ if environ is None else environ
    if environ.get("BO_FORM13F_XSD_DIR"):
        return Path(environ["BO_FORM13F_XSD_DIR"])
    if environ.get("BO_REFERENCE_DIR"):
        return Path(environ["BO_REFERENCE_DIR"]) / "sec-13f" / "schema"
    return None


@lru_cache(maxsize=8)
def _schema(path: str):
    import xmlschema

    # sandbox: the schemas may import only files beside them; defuse: no entity tricks in the XSDs
    return xmlschema.XMLSchema(path, allow="sandbox", defuse="always")


def schema_errors(document: bytes, xsd_dir: Path | str, kind: str = "information_table") -> list[str]:
    """Every error of ``document`` against the official schema (``information_table`` or
    ``cover``); an empty list means valid."""
    xsd = Path(xsd_dir) / (XSD_INFORMATION_TABLE if kind == "information_table" else XSD_COVER)
    if not xsd.is_file():
        raise FileNotFoundError(f"EDGAR schema not found: {xsd} (set BO_FORM13F_XSD_DIR to the folder of the 13F schemas)")
    import xmlschema

    # the instance is parsed by our safe parser and may reach nothing outside itself
    resource = xmlschema.XMLResource(parse_xml(document), allow="none", defuse="always")
    return [f"{err.path}: {err.reason}" for err in _schema(str(xsd)).iter_errors(resource)]


# --------------------------------------------------------------------------------------------
# Who must file: the $100M test


def month_end_trading_days(start: dt.date, end: dt.date, trading_days: list[dt.date]) -> list[dt.date]:
    """The last trading day of each month from ``start`` to ``end`` (given the sessions in range)."""
    days = pd.Series(pd.to_datetime([d for d in trading_days if start <= d <= end]))
    if days.empty:
        return []
    return [d.date() for d in days.groupby(days.dt.to_period("M")).max()]


def filing_test(month_end_values: pd.DataFrame, threshold_usd: float = FILING_THRESHOLD_USD) -> pd.DataFrame:
    """Rule 13f-1(a)(1): a manager whose accounts hold 13(f) securities worth at least $100M on
    the last trading day of any month of a calendar year files 13F for that year's December
    quarter and the March, June and September quarters of the next year.

    ``month_end_values``: valuation_date, value_usd (13(f) securities, every fund). Returns it with
    meets_threshold and the quarters it obliges (as text)."""
    table = month_end_values.sort_values("valuation_date").reset_index(drop=True).copy()
    table["meets_threshold"] = table["value_usd"] >= threshold_usd
    year = pd.to_datetime(table["valuation_date"]).dt.year
    table["filings_required"] = np.where(
        table["meets_threshold"], "13F for Q4 " + year.astype(str) + " and Q1-Q3 " + (year + 1).astype(str), "")
    return table
