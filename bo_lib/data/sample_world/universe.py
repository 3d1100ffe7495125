"""The sample world's static side: management company, funds, securities master, counterparties,
investors and one-off market closures. Everything is drawn from one seeded random generator so
the same seed always gives the same world. Issuers are fictional; identifiers are real-format
(valid ISIN, CUSIP and LEI check digits).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bo_lib.data.identifiers import make_cusip, make_isin, make_lei

COMPANY = {
    "code": "MERIDIAN",
    "name": "Meridian Harbor Asset Management LLC",
    "cik": "0001999123",
    "lei_body": "5493007MHAM0SAMPLE",
    "address": {"street": "200 Clarendon Street, 41st Floor", "city": "Boston", "state_or_country": "MA", "zip_code": "02116"},
    "regulatory_regimes": ["13F", "13D/G", "N-PORT", "FORM_PF", "ADV", "AIFMD", "EU_SHORT"],
    "signatory": {"name": "Margaret A. Ellison", "title": "Chief Compliance Officer", "phone": "617-555-0142"},
    "form13f_file_number": "028-24681",
}

_US_NAMES = [
    "Northwind Analytics", "Bluefin Logistics", "Cobalt Ridge Energy", "Harborview Bancorp", "Quarry Lane Materials",
    "Silverpine Software", "Lumen Coast Utilities", "Granite Peak Insurance", "Tidewater Pharmaceuticals", "Oakhurst Retail",
    "Red Mesa Semiconductors", "Pioneer Valley Foods", "Summit Arc Aerospace", "Brightwater Health", "Ironbridge Industrials",
    "Maple Grove Media", "Falcon Crest Telecom", "Evergreen Biotech", "Copperline Mining", "Westbrook Realty Trust",
    "Clearwater Networks", "Sandstone Capital Markets", "Highland Rail", "Aurora Consumer Brands", "Blackstone Creek Chemicals",
    "Crescent Bay Devices", "Riverton Water", "Stonegate Payments", "Juniper Field Robotics", "Lakeside Hospitality",
]
_EU_NAMES = [
    ("Rheinwerk Maschinenbau AG", "DE", "XETR"), ("Nordlicht Energie AG", "DE", "XETR"), ("Vogelsang Chemie AG", "DE", "XETR"),
    ("Compagnie des Alpes Numériques SA", "FR", "XPAR"), ("Maison Lumière SA", "FR", "XPAR"), ("Banque du Val SA", "FR", "XPAR"),
    ("Polder Logistics NV", "NL", "XAMS"), ("Delta Haven Semiconductors NV", "NL", "XAMS"),
]
_UK_NAMES = [("Thamesgate Insurance plc", "GB"), ("Pennine Brewing plc", "GB"), ("Severn Utilities plc", "GB")]

#: bonds of the global bond fund: (issuer, country, currency, coupon %, frequency, day count, issue, maturity, category, ex-coupon days)
_BONDS = [
    ("Federal Republic of Germany", "DE", "EUR", 2.50, 1, "ACT/ACT ICMA", "2024-02-15", "2034-02-15", "SOVEREIGN_DEBT", 0),
    ("Republic of France", "FR", "EUR", 3.00, 1, "ACT/ACT ICMA", "2023-05-25", "2033-05-25", "SOVEREIGN_DEBT", 0),
    ("Kingdom of the Netherlands", "NL", "EUR", 2.75, 1, "ACT/ACT ICMA", "2024-01-15", "2031-01-15", "SOVEREIGN_DEBT", 0),
    ("United Kingdom Gilt", "GB", "GBP", 4.25, 2, "ACT/ACT ICMA", "2023-11-07", "2032-11-07", "SOVEREIGN_DEBT", 7),
    ("Harborview Bancorp", "US", "USD", 5.10, 2, "30/360 US", "2024-03-15", "2030-03-15", "OTHER_DEBT", 0),
    ("Tidewater Pharmaceuticals", "US", "USD", 4.60, 2, "30/360 US", "2023-08-01", "2033-08-01", "OTHER_DEBT", 0),
    ("Fjordkraft Shipping ASA", "NO", "EUR", 4.10, 4, "ACT/360", "2025-01-20", "2029-01-20", "OTHER_DEBT", 0),
    ("Severn Utilities plc", "GB", "GBP", 5.25, 2, "ACT/365F", "2022-10-15", "2032-10-15", "OTHER_DEBT", 0),
]

#: one US corporate note that matures inside a long window: (security id, issuer, issuer id, CUSIP body,
#: coupon %, frequency, day count, issue, maturity). Appended to the master after everything drawn from
#: the random generator (so it changes nothing else), not on the 13(f) list, not in any fund's
#: tradable universe or opening book: the bond fund buys it once, holds it to maturity.
MATURING_BOND = ("BD00009", "Riverton Water Inc", "ISS-B0009", "76882WAC", 3.25, 2, "30/360 US", "2024-12-15", "2026-12-15")
MATURING_BOND_ID = MATURING_BOND[0]

CUSTODIANS = [
    ("CUST-US", "Atlantic Trust Custody Services", "custodian", "ATLTUS33"),
    ("CUST-EU", "Rhine Depositary Bank AG", "custodian", "RHDBDEFF"),
]
BROKERS = [
    ("BRK-GSX", "Granite Street Securities LLC", "broker", "GRSTUS33"),
    ("BRK-NOR", "Northfield Capital Markets Inc", "broker", "NOCMUS33"),
    ("BRK-LMB", "Lombard Quay Securities Ltd", "broker", "LMQSGB2L"),
    ("BRK-EUX", "Eurobridge Wertpapierhandel AG", "broker", "EUWHDEFF"),
]
OTHER_COUNTERPARTIES = [
    ("ADM-KEY", "Keystone Fund Administration Ltd", "administrator", "KEYFIE2D"),
    ("BANK-US", "Atlantic Trust Bank NA", "bank", "ATLTUS3B"),
    ("BANK-EU", "Rhine Depositary Bank AG (cash)", "bank", "RHDBDEFC"),
]

#: one-off market closures (real ones; the library may or may not know them)
MARKET_CLOSURES = [
    ("XNYS", "2012-10-29", "Hurricane Sandy"),
    ("XNYS", "2012-10-30", "Hurricane Sandy"),
    ("XNYS", "2018-12-05", "National Day of Mourning for President George H. W. Bush"),
    ("XNYS", "2025-01-09", "National Day of Mourning for President Jimmy Carter"),
]


@dataclass
class Universe:
    company: dict
    funds: list[dict]
    securities: pd.DataFrame
    counterparties: pd.DataFrame
    investors: pd.DataFrame
    closures: pd.DataFrame
    #: named securities the seeded exceptions use: role -> security_id
    roles: dict[str, str] = field(default_factory=dict)


def _lei(rng: np.random.Generator, prefix: str) -> str:
    alphabet = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return make_lei(prefix + "".join(rng.choice(alphabet, 18 - len(prefix))))


def _cusip_body(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        issuer = "".join(rng.choice(list("0123456789"), 6))
        body = issuer + "10"
        if body not in used:
            used.add(body)
            return body


def _fund_templates(n_funds: int) -> list[dict]:
    base = [
        {
            "fund_code": "USEQ", "name": "Meridian US Equity Fund", "fund_type": "equity", "base_currency": "USD",
            "calendar": "XNYS", "dealing": "daily", "day_basis": 365, "nav_decimals": 4, "unit_decimals": 3,
            "withholding_tax_pct": {"US": 0.0, "DE": 15.0, "FR": 15.0, "NL": 15.0, "GB": 0.0},
            "securities_accounts": [{"account": "0012345678", "custodian": "CUST-US", "markets": ["XNYS", "XNAS"]}],
            "cash_accounts": [{"account": "0012345679", "bank": "BANK-US", "currency": "USD", "statement_format": "mt940"}],
            "share_classes": [
                {"code": "A", "name": "Class A (retail)", "currency": "USD", "management_fee_pct": 1.00, "minimum_investment": 1000.0},
                {"code": "I", "name": "Class I (institutional)", "currency": "USD", "management_fee_pct": 0.50, "minimum_investment": 1000000.0},
            ],
            "fixed_fees": [{"name": "audit", "annual_amount": 45000.0}, {"name": "administration", "annual_amount": 120000.0}],
            "nav_thresholds": {"materiality_pct": 1.0, "day_move_pct": 4.0},
            "recon": {"write_off_threshold": 10000.0},
            "corporate_actions": {"election_buffer_days": 3},
            "pricing": {"hierarchy": {"equity": ["BLOOMBERG", "REFINITIV"]}, "stale_days": 3, "jump_pct": {"equity": 5.0}, "fx_move_pct": 5.0},
            "regulatory_regimes": ["13F", "N-PORT"],
            "universe": {"us_equity": 22},
            "opening_net_assets": 420_000_000.0, "class_split": {"A": 0.35, "I": 0.65},
        },
        {
            "fund_code": "GLBD", "name": "Meridian Global Bond Fund", "fund_type": "bond", "base_currency": "EUR",
            "calendar": "XETR", "dealing": "daily", "day_basis": 365, "nav_decimals": 4, "unit_decimals": 3,
            "withholding_tax_pct": {},
            "securities_accounts": [{"account": "0047110815", "custodian": "CUST-EU", "markets": ["XOFF"]}],
            "cash_accounts": [
                {"account": "DE89370400440532013000", "bank": "BANK-EU", "currency": "EUR", "statement_format": "camt053"},
                {"account": "0047110900", "bank": "BANK-US", "currency": "USD", "statement_format": "mt940"},
                {"account": "GB29NWBK60161331926819", "bank": "BANK-EU", "currency": "GBP", "statement_format": "camt053"},
            ],
            "share_classes": [
                {"code": "R", "name": "Class R (retail, EUR)", "currency": "EUR", "management_fee_pct": 0.60, "distribution": "distributing"},
                {"code": "I", "name": "Class I (institutional, EUR)", "currency": "EUR", "management_fee_pct": 0.30, "minimum_investment": 500000.0},
            ],
            "fixed_fees": [{"name": "audit", "annual_amount": 38000.0}, {"name": "administration", "annual_amount": 95000.0}],
            "nav_thresholds": {"materiality_pct": 0.5, "day_move_pct": 1.5},
            "recon": {"write_off_threshold": 10000.0},
            "corporate_actions": {"election_buffer_days": 3},
            "pricing": {"hierarchy": {"government_bond": ["ICE", "BLOOMBERG"], "corporate_bond": ["ICE", "BLOOMBERG"]}, "stale_days": 3, "jump_pct": {"equity": 5.0, "government_bond": 1.0, "corporate_bond": 1.0}, "fx_move_pct": 5.0},
            "regulatory_regimes": ["AIFMD"],
            "universe": {"bond": 8},
            "opening_net_assets": 260_000_000.0, "class_split": {"R": 0.4, "I": 0.6},
        },
        {
            "fund_code": "MAHF", "name": "Meridian Multi-Asset Opportunities Fund", "fund_type": "hedge", "base_currency": "USD",
            "calendar": "XNYS", "dealing": "monthly", "day_basis": 365, "nav_decimals": 4, "unit_decimals": 4,
            "withholding_tax_pct": {"US": 0.0, "DE": 15.0, "FR": 15.0, "NL": 15.0, "GB": 0.0},
            "securities_accounts": [
                {"account": "0009876543", "custodian": "CUST-US", "markets": ["XNYS", "XNAS"]},
                {"account": "0000456789", "custodian": "CUST-EU", "markets": ["XETR", "XPAR", "XAMS", "XLON"]},
            ],
            "cash_accounts": [
                {"account": "0009876550", "bank": "BANK-US", "currency": "USD", "statement_format": "mt940"},
                {"account": "FR7630006000011234567890189", "bank": "BANK-EU", "currency": "EUR", "statement_format": "camt053"},
                {"account": "GB94BARC10201530093459", "bank": "BANK-EU", "currency": "GBP", "statement_format": "camt053"},
            ],
            "share_classes": [
                {"code": "A", "name": "Class A", "currency": "USD", "management_fee_pct": 1.50, "minimum_investment": 1000000.0,
                 "performance_fee": {"rate_pct": 20.0, "hurdle_pct": 0.0, "crystallisation": "annual"}},
                {"code": "F", "name": "Founders Class", "currency": "USD", "management_fee_pct": 1.00, "minimum_investment": 5000000.0,
                 "performance_fee": {"rate_pct": 10.0, "hurdle_pct": 0.0, "crystallisation": "annual"}},
            ],
            "fixed_fees": [{"name": "audit", "annual_amount": 60000.0}, {"name": "administration", "annual_amount": 150000.0}],
            "nav_thresholds": {"materiality_pct": 1.0, "day_move_pct": 4.0},
            "recon": {"write_off_threshold": 10000.0},
            "corporate_actions": {"election_buffer_days": 3},
            "pricing": {"hierarchy": {"equity": ["BLOOMBERG", "REFINITIV"], "option": ["OPRA"]}, "stale_days": 3, "jump_pct": {"equity": 5.0, "option": 25.0}, "fx_move_pct": 5.0},
            "regulatory_regimes": ["13F", "FORM_PF", "AIFMD"],
            "universe": {"us_equity": 12, "eu_equity": 8, "uk_equity": 3, "option": 2},
            "opening_net_assets": 180_000_000.0, "class_split": {"A": 0.7, "F": 0.3},
        },
    ]
    funds = base[: min(n_funds, 3)]
    for i in range(3, n_funds):  # scale-up copies for benchmarks
        copy = {**base[i % 3]}
        suffix = f"{i // 3:02d}"
        copy["fund_code"] = f"{copy['fund_code']}{suffix}"
        copy["name"] = f"{copy['name']} {suffix}"
        copy["securities_accounts"] = [{**a, "account": f"{a['account'][:-2]}{suffix}"} for a in copy["securities_accounts"]]
        copy["cash_accounts"] = [{**a, "account": f"{a['account'][:-2]}{suffix}"} for a in copy["cash_accounts"]]
        funds.append(copy)
    for fund in funds:
        fund.update({"management_company": COMPANY["code"], "administrator": "ADM-KEY", "inception_date": "2015-01-02"})
    return funds


def build_universe(rng: np.random.Generator, n_funds: int = 3, n_securities: int | None = None) -> Universe:
    """Reference data for ``n_funds`` funds; ``n_securities`` adds US equities to reach that count."""
    used: set[str] = set()
    rows: list[dict] = []
    n_us = len(_US_NAMES)
    extra = max(0, (n_securities or 0) - (n_us + len(_EU_NAMES) + len(_UK_NAMES) + len(_BONDS) + 2))
    us_names = _US_NAMES + [f"Sample Issuer {i:05d} Inc" for i in range(extra)]
    for i, name in enumerate(us_names):
        body = _cusip_body(rng, used)
        cusip = make_cusip(body)
        mic = "XNAS" if i % 3 == 1 else "XNYS"
        rows.append({
            "security_id": f"EQ{i + 1:05d}", "isin": make_isin("US", cusip), "cusip": cusip,
            "ticker": "".join(w[0] for w in name.split()[:3]).upper() + ("X" if i % 2 else ""),
            "name": f"{name} Inc" if not name.endswith(("Trust", "Inc")) else name,
            "asset_class": "equity", "currency": "USD", "mic": mic,
            "issuer_id": f"ISS-US{i + 1:05d}", "issuer_name": f"{name} Inc" if not name.endswith(("Trust", "Inc")) else name,
            "country": "US", "shares_outstanding": float(rng.integers(80, 1500) * 1_000_000),
            "is_13f": True, "csdr_category": "LIQUID_SHARE", "price_multiplier": 1.0,
        })
    for j, (name, country, mic) in enumerate(_EU_NAMES):
        nsin = "".join(rng.choice(list("0123456789"), 9))
        rows.append({
            "security_id": f"EQ{len(rows) + 1:05d}", "isin": make_isin(country, nsin), "cusip": "",
            "ticker": name.split()[0][:4].upper(), "name": name, "asset_class": "equity", "currency": "EUR", "mic": mic,
            "issuer_id": f"ISS-{country}{j + 1:04d}", "issuer_name": name, "country": country,
            "shares_outstanding": float(rng.integers(50, 900) * 1_000_000), "is_13f": False,
            "csdr_category": "ILLIQUID_SHARE" if j == 2 else ("SME_GROWTH" if j == 7 else "LIQUID_SHARE"), "price_multiplier": 1.0,
        })
    for j, (name, country) in enumerate(_UK_NAMES):
        nsin = "00" + "".join(rng.choice(list("0123456789"), 7))
        rows.append({
            "security_id": f"EQ{len(rows) + 1:05d}", "isin": make_isin(country, nsin), "cusip": "",
            "ticker": name.split()[0][:4].upper(), "name": name, "asset_class": "equity", "currency": "GBP", "mic": "XLON",
            "issuer_id": f"ISS-{country}{j + 1:04d}", "issuer_name": name, "country": country,
            "shares_outstanding": float(rng.integers(100, 2000) * 1_000_000), "is_13f": False,
            "csdr_category": "LIQUID_SHARE", "price_multiplier": 1.0,
        })
    for k, (issuer, country, ccy, cpn, freq, dc, issue, maturity, category, exdays) in enumerate(_BONDS):
        if country == "US":
            cusip = make_cusip(_cusip_body(rng, used)[:6] + "AB")
            isin = make_isin("US", cusip)
        else:
            cusip = ""
            isin = make_isin(country, "".join(rng.choice(list("0123456789"), 9)))
        rows.append({
            "security_id": f"BD{k + 1:05d}", "isin": isin, "cusip": cusip, "ticker": "",
            "name": f"{issuer} {cpn:.3f}% {maturity[:4]}", "asset_class": "government_bond" if category == "SOVEREIGN_DEBT" else "corporate_bond", "currency": ccy, "mic": "XOFF",
            "issuer_id": f"ISS-B{k + 1:04d}", "issuer_name": issuer, "country": country, "shares_outstanding": np.nan,
            # straight (non-convertible) debt is not on the SEC's Official List of Section 13(f) Securities
            "is_13f": False, "csdr_category": category, "price_multiplier": 0.01,
            "coupon_rate": cpn, "coupon_frequency": freq, "day_count": dc, "issue_date": issue, "maturity_date": maturity,
            "ex_coupon_days": exdays,
        })
    securities = pd.DataFrame(rows)
    # listed options on two US stocks (13F reports them on the underlying's CUSIP)
    us = securities[securities["country"].eq("US") & securities["asset_class"].eq("equity")]
    options = []
    for k, (put_call, underlying) in enumerate((("Call", us.iloc[0]), ("Put", us.iloc[4]))):
        options.append({
            "security_id": f"OP{k + 1:05d}", "isin": "", "cusip": "", "ticker": f"{underlying['ticker']} 261218{put_call[0]}",
            "name": f"{underlying['name']} {put_call} Dec 2026", "asset_class": "option", "currency": "USD", "mic": "XCBO",
            "issuer_id": underlying["issuer_id"], "issuer_name": underlying["issuer_name"], "country": "US",
            "shares_outstanding": np.nan, "is_13f": True, "csdr_category": "OTHER", "price_multiplier": 100.0,
            "underlying_id": underlying["security_id"], "put_call": put_call, "expiry_date": "2026-12-18",
        })
    securities = pd.concat([securities, pd.DataFrame(options)], ignore_index=True)
    sid, issuer, issuer_id, body, cpn, freq, dc, issue, maturity = MATURING_BOND
    cusip = make_cusip(body)
    if cusip in set(securities["cusip"]):
        raise RuntimeError(f"sample world: the maturing bond's CUSIP {cusip} is already in the master")
    maturing = {
        "security_id": sid, "isin": make_isin("US", cusip), "cusip": cusip, "ticker": "", "name": f"{issuer} {cpn:.3f}% {maturity[:4]}",
        "asset_class": "corporate_bond", "currency": "USD", "mic": "XOFF", "issuer_id": issuer_id, "issuer_name": issuer, "country": "US",
        "shares_outstanding": np.nan, "is_13f": False, "csdr_category": "OTHER_DEBT", "price_multiplier": 0.01,
        "coupon_rate": cpn, "coupon_frequency": freq, "day_count": dc, "issue_date": issue, "maturity_date": maturity, "ex_coupon_days": 0,
    }
    # the small-cap whose aggregate holding crosses 5% of shares outstanding during the month
    crossing = us.iloc[9]["security_id"]
    securities.loc[securities["security_id"] == crossing, "shares_outstanding"] = 6_000_000.0
    roles = {"threshold_crossing": crossing}

    columns = [
        "security_id", "isin", "cusip", "ticker", "name", "asset_class", "currency", "mic", "issuer_id", "issuer_name",
        "country", "shares_outstanding", "is_13f", "csdr_category", "price_multiplier", "coupon_rate", "coupon_frequency",
        "day_count", "issue_date", "maturity_date", "ex_coupon_days", "underlying_id", "put_call", "expiry_date",
    ]
    securities = pd.concat([securities, pd.DataFrame([maturing])], ignore_index=True).reindex(columns=columns)

    cps = [(cid, name, role, bic) for cid, name, role, bic in CUSTODIANS + BROKERS + OTHER_COUNTERPARTIES]
    counterparties = pd.DataFrame(
        [{"counterparty_id": cid, "name": name, "role": role, "lei": _lei(rng, "5493"), "bic": bic} for cid, name, role, bic in cps]
    )
    funds = _fund_templates(n_funds)
    investors = []
    for fund in funds:
        if fund["dealing"] != "monthly":
            continue
        for n in range(1, 9):
            investors.append({
                "investor_id": f"INV-{fund['fund_code']}-{n:03d}", "fund": fund["fund_code"],
                "name": ["Halcyon Pension Trust", "Ostrander Family Office", "Beacon University Endowment", "Marlow Foundation",
                         "Kinsale Insurance Co", "Ridgeway Sovereign Reserve", "Thornbury Partners LP", "Calder Fund of Funds"][n - 1],
                "investor_type": ["pension", "family_office", "endowment", "foundation", "insurer", "sovereign", "partnership", "fund_of_funds"][n - 1],
                "domicile": ["US", "US", "US", "GB", "IE", "NO", "KY", "LU"][n - 1],
                "share_class": "F" if n <= 2 else "A",
            })
    investors_df = pd.DataFrame(investors, columns=["investor_id", "fund", "name", "investor_type", "domicile", "share_class"])
    closures = pd.DataFrame(MARKET_CLOSURES, columns=["market", "closure_date", "reason"])
    company = {**COMPANY, "lei": make_lei(COMPANY["lei_body"])}
    company.pop("lei_body")
    return Universe(company, funds, securities, counterparties, investors_df, closures, roles)


def fund_eligible_securities(universe: Universe, fund: dict) -> pd.DataFrame:
    """The securities a fund may hold, by its template's universe counts."""
    sec = universe.securities
    want = fund["universe"]
    parts = []
    us = sec[(sec["asset_class"] == "equity") & (sec["country"] == "US")]
    if "us_equity" in want:
        n = want["us_equity"]
        if fund["fund_code"].startswith("MAHF"):
            picked = us.iloc[list(range(0, 24, 2))[:n]] if len(us) >= 24 else us.iloc[:n]
            # MAHF also holds the threshold-crossing small-cap, and scale-up extras
            picked = pd.concat([picked, us[us["security_id"] == universe.roles["threshold_crossing"]]]).drop_duplicates("security_id")
        else:
            picked = pd.concat([us.iloc[:n], us.iloc[30:]])  # scale-up issuers go to the equity fund
        parts.append(picked)
    if "eu_equity" in want:
        parts.append(sec[(sec["asset_class"] == "equity") & sec["currency"].eq("EUR")])
    if "uk_equity" in want:
        parts.append(sec[(sec["asset_class"] == "equity") & sec["currency"].eq("GBP")])
    if "bond" in want:  # the maturing note is bought once by a scheduled trade, never at random or at the opening
        parts.append(sec[sec["asset_class"].isin(["government_bond", "corporate_bond"]) & (sec["security_id"] != MATURING_BOND_ID)])
    if "option" in want:
        parts.append(sec[sec["asset_class"] == "option"])
    return pd.concat(parts).drop_duplicates("security_id").reset_index(drop=True)


def business_dates_from(start: dt.date, n_days: int, calendar) -> list[dt.date]:
    """``n_days`` business dates strictly after ``start`` on ``calendar``."""
    dates = []
    d = start
    while len(dates) < n_days:
        d = calendar.add_business_days(d, 1)
        dates.append(d)
    return dates
