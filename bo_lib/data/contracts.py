"""Dataset contracts: for every reference, opening and inbound dataset, its columns with type and
rules, its key, its references to other datasets, and how its rows are attributed to a fund.

The contracts are data; ``bo_lib.data.loaders`` enforces them. Real feeds and the sample world
share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bo_lib.codes import (ASSET_CLASSES, CA_EVENT_TYPES, CSDR_CATEGORIES, LEDGER_MOVEMENT_TYPES, SETTLEMENT_REASON_CODES,
                          SETTLEMENT_STATUSES)
from bo_lib.daycount import CONVENTIONS

Kind = Literal["str", "float", "int", "date", "bool"]

CODE = r"^[A-Za-z0-9_.\-/ ]+$"



@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "str"
    required: bool = True  # a value must be present in every row
    allowed: tuple | None = None
    pattern: str | None = None
    min_value: float | None = None
    exclusive_min: bool = False
    max_abs: float | None = None  # numbers: largest plausible magnitude (loaders.DEFAULT_MAX_ABS when None)
    check: str | None = None  # named extra check: isin, cusip, lei, bic, currency, country


@dataclass(frozen=True)
class Reference:
    column: str
    dataset: str
    target: str


@dataclass(frozen=True)
class Contract:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    fund_column: str | None = None  # rows belong to the fund named here
    account_column: str | None = None  # ... or to the fund owning this account
    date_column: str | None = None  # must equal the file's business date (``date_rule="equal"``) or not be after it ("not_after")
    date_rule: str = "equal"
    description: str = ""
    rules: tuple[str, ...] = field(default_factory=tuple)  # named row rules, see loaders.ROW_RULES

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name, kind="str", **kw) -> Column:
    return Column(name, kind, **kw)


_SEC = (Reference("security_id", "securities", "security_id"),)
POSITIVE = {"min_value": 0.0, "exclusive_min": True}
NON_NEGATIVE = {"min_value": 0.0}
#: plausible ranges by kind of number (beyond them a value is a typo or a corrupt feed, never a figure)
PRICE = {"min_value": 0.0, "exclusive_min": True, "max_abs": 1e7}  # per unit, or per 100 nominal
QUANTITY = {"max_abs": 1e12}  # units or nominal
FX_RATE = {"min_value": 1e-6, "max_abs": 1e6}
RATE_PCT = {"min_value": 0.0, "max_abs": 100.0}  # % per annum

def _renamed(contract: Contract, name: str, description: str) -> Contract:
    from dataclasses import replace

    return replace(contract, name=name, description=description)


CONTRACTS: dict[str, Contract] = {c.name: c for c in [
    Contract("securities", (
        _c("security_id", pattern=CODE), _c("isin", required=False, check="isin"), _c("cusip", required=False, check="cusip"),
        _c("ticker", required=False), _c("name"), _c("asset_class", allowed=ASSET_CLASSES), _c("currency", check="currency"),
        _c("mic", pattern=r"^[A-Z0-9]{4}$"), _c("issuer_id"), _c("issuer_name"), _c("country", check="country"),
        _c("shares_outstanding", "float", required=False, **POSITIVE), _c("is_13f", "bool"), _c("csdr_category", allowed=CSDR_CATEGORIES),
        _c("price_multiplier", "float", **POSITIVE, max_abs=1e6), _c("coupon_rate", "float", required=False, **RATE_PCT),
        _c("coupon_frequency", "int", required=False, allowed=(1, 2, 4, 12)), _c("day_count", required=False, allowed=CONVENTIONS),
        _c("issue_date", "date", required=False), _c("maturity_date", "date", required=False),
        _c("ex_coupon_days", "int", required=False, **NON_NEGATIVE), _c("underlying_id", required=False),
        _c("put_call", required=False, allowed=("Call", "Put")), _c("expiry_date", "date", required=False),
    ), key=("security_id",), description="securities master", rules=("bond_terms", "option_terms", "isin_or_option")),
    Contract("counterparties", (
        _c("counterparty_id", pattern=CODE), _c("name"), _c("role", allowed=("broker", "custodian", "bank", "administrator")),
        _c("lei", check="lei"), _c("bic", check="bic"),
    ), key=("counterparty_id",), description="brokers, custodians, banks, administrators"),
    Contract("market_closures", (_c("market", pattern=r"^[A-Z0-9]{4}$"), _c("closure_date", "date"), _c("reason")),
             key=("market", "closure_date"), description="one-off market closures"),
    Contract("investors", (
        _c("investor_id", pattern=CODE), _c("fund"), _c("name"), _c("investor_type"), _c("domicile", check="country"),
        _c("share_class", required=False),
    ), key=("investor_id",), fund_column="fund", description="investor register"),
    Contract("opening_positions", (
        _c("fund"), _c("account"), _c("security_id"), _c("isin", required=False, check="isin"), _c("quantity", "float", **QUANTITY),
        _c("average_cost", "float", **NON_NEGATIVE), _c("currency", check="currency"),
    ), key=("fund", "account", "security_id"), references=_SEC, fund_column="fund", description="opening positions (quarter end)"),
    Contract("opening_cash", (_c("fund"), _c("account"), _c("currency", check="currency"), _c("balance", "float")),
             key=("fund", "account"), fund_column="fund", description="opening cash balances"),
    Contract("opening_share_classes", (
        _c("fund"), _c("share_class"), _c("currency", check="currency"), _c("units_outstanding", "float", **POSITIVE, **QUANTITY),
        _c("nav_per_share", "float", **PRICE), _c("net_assets", "float", **POSITIVE), _c("high_water_mark", "float", required=False, **PRICE),
        _c("performance_fee_accrued", "float", **NON_NEGATIVE), _c("nav_date", "date"),
    ), key=("fund", "share_class"), fund_column="fund", description="opening units and NAV per share class"),
    Contract("trades", (
        _c("trade_id", pattern=CODE), _c("fund"), _c("account"), _c("security_id"), _c("isin", required=False, check="isin"),
        _c("side", allowed=("BUY", "SELL")), _c("quantity", "float", **POSITIVE, **QUANTITY), _c("price", "float", **PRICE),
        _c("currency", check="currency"), _c("gross_amount", "float", **NON_NEGATIVE), _c("accrued_interest", "float"),
        _c("commission", "float", **NON_NEGATIVE), _c("fees", "float", **NON_NEGATIVE), _c("net_amount", "float", **NON_NEGATIVE),
        _c("trade_date", "date"), _c("settlement_date", "date"), _c("broker_id"),
    ), key=("trade_id",), references=_SEC + (Reference("broker_id", "counterparties", "counterparty_id"),), fund_column="fund",
        date_column="trade_date", description="internal trades (OMS / books)", rules=("settles_after_trade",)),
    Contract("broker_confirms", (
        _c("confirm_id", pattern=CODE), _c("broker_id"), _c("client_reference"), _c("account"), _c("isin", required=False, check="isin"),
        _c("side", allowed=("BUY", "SELL")), _c("quantity", "float", **POSITIVE, **QUANTITY), _c("price", "float", **PRICE),
        _c("currency", check="currency"), _c("gross_amount", "float", **NON_NEGATIVE), _c("commission", "float", **NON_NEGATIVE),
        _c("fees", "float", **NON_NEGATIVE), _c("net_amount", "float", **NON_NEGATIVE), _c("trade_date", "date"), _c("settlement_date", "date"),
    ), key=("confirm_id",), references=(Reference("broker_id", "counterparties", "counterparty_id"),), account_column="account",
        # a late or corrected confirmation of an earlier trade keeps the trade's date
        date_column="trade_date", date_rule="not_after", description="broker trade confirmations", rules=("settles_after_trade",)),
    Contract("custodian_positions", (
        _c("statement_date", "date"), _c("custodian_id"), _c("account"), _c("isin", check="isin"), _c("security_name"),
        _c("quantity", "float", **QUANTITY), _c("quantity_type", allowed=("UNIT", "FAMT")), _c("price", "float", min_value=0.0, max_abs=1e7),
        _c("currency", check="currency"), _c("market_value", "float"),
    ), key=("custodian_id", "account", "isin"), references=(Reference("custodian_id", "counterparties", "counterparty_id"),),
        account_column="account", date_column="statement_date", description="custodian settled positions"),
    Contract("settlement_status", (
        _c("status_date", "date"), _c("custodian_id"), _c("account"), _c("client_reference"), _c("isin", required=False, check="isin"),
        _c("movement", allowed=("RVP", "DVP", "RFP", "DFP")), _c("quantity", "float", **POSITIVE, **QUANTITY), _c("settlement_amount", "float"),
        _c("currency", check="currency"), _c("trade_date", "date"), _c("intended_settlement_date", "date"),
        _c("match_status", allowed=("MACH", "NMAT")), _c("settlement_status", allowed=SETTLEMENT_STATUSES),
        _c("reason_code", required=False, allowed=SETTLEMENT_REASON_CODES), _c("settled_quantity", "float", **NON_NEGATIVE, **QUANTITY),
        _c("settled_amount", "float"), _c("effective_settlement_date", "date", required=False),
    ), key=("account", "client_reference"), references=(Reference("custodian_id", "counterparties", "counterparty_id"),),
        account_column="account", date_column="status_date",
        description="custodian settlement status (MT548 / sese.024)", rules=("failing_has_reason",)),
    Contract("prices", (
        _c("price_date", "date"), _c("security_id"), _c("isin", required=False, check="isin"), _c("source", pattern=CODE),
        _c("price", "float", **PRICE), _c("currency", check="currency"), _c("price_type", allowed=("CLOSE", "EVAL", "BID", "ASK", "MID", "NAV")),
    ), key=("security_id", "source"), references=_SEC, description="prices by source"),
    Contract("fx_rates", (
        _c("rate_date", "date"), _c("from_currency", check="currency"), _c("to_currency", check="currency"),
        _c("rate", "float", **FX_RATE), _c("source", pattern=CODE),
    ), key=("from_currency", "to_currency"), date_column="rate_date", description="FX fixings (units of to_currency per from_currency)"),
    Contract("corporate_actions", (
        _c("event_id", pattern=CODE), _c("event_type", allowed=CA_EVENT_TYPES), _c("security_id"), _c("isin", required=False, check="isin"),
        _c("announcement_date", "date"), _c("ex_date", "date"), _c("record_date", "date"), _c("pay_date", "date"),
        _c("currency", check="currency"), _c("gross_rate", "float", required=False, **NON_NEGATIVE),
        _c("ratio_new", "float", required=False, **POSITIVE), _c("ratio_old", "float", required=False, **POSITIVE),
        _c("event_status", allowed=("CONF", "PREU", "PREC", "CANC")),
    ), key=("event_id",), references=_SEC, description="corporate action events (ISO 15022 codes)", rules=("event_terms",)),
    Contract("capital_activity", (
        _c("order_id", pattern=CODE), _c("fund"), _c("share_class"), _c("investor_id"), _c("order_type", allowed=("SUB", "RED")),
        _c("dealing_date", "date"), _c("settlement_date", "date"), _c("currency", check="currency"),
        _c("amount", "float", **POSITIVE), _c("units", "float", **POSITIVE, **QUANTITY), _c("nav_per_share", "float", **PRICE),
        _c("status", allowed=("DEALT", "PENDING", "CANCELLED")),
    ), key=("order_id",), references=(Reference("investor_id", "investors", "investor_id"),), fund_column="fund",
        date_column="dealing_date", description="subscriptions and redemptions"),
    Contract("admin_nav", (
        _c("nav_date", "date"), _c("fund"), _c("share_class"), _c("currency", check="currency"), _c("nav_per_share", "float", **PRICE),
        _c("units_outstanding", "float", **POSITIVE, **QUANTITY), _c("net_assets", "float", **POSITIVE),
        _c("management_fee_accrued", "float", **NON_NEGATIVE), _c("performance_fee_accrued", "float", **NON_NEGATIVE),
        _c("administrator_id"),
    ), key=("fund", "share_class"), references=(Reference("administrator_id", "counterparties", "counterparty_id"),), fund_column="fund",
        date_column="nav_date", description="the administrator's NAV per share class"),
    Contract("cash_ledger", (
        _c("fund"), _c("account"), _c("currency", check="currency"), _c("value_date", "date"), _c("amount", "float"),
        _c("movement_type", allowed=LEDGER_MOVEMENT_TYPES),
        _c("reference"), _c("description", required=False),
    ), key=("account", "reference"), fund_column="fund", date_column="value_date",
        description="the books' expected cash movements by value date (fund accounting cash ledger)"),
]}
CONTRACTS["price_overrides"] = Contract("price_overrides", (
    _c("price_date", "date"), _c("security_id"), _c("price", "float", **PRICE), _c("reason"), _c("approved_by"),
), key=("price_date", "security_id"), references=_SEC, description="manual price overrides (approved, with a reason)")
CONTRACTS["opening_prices"] = _renamed(CONTRACTS["prices"], "opening_prices", "quarter-end prices by source (the opening valuation)")
CONTRACTS["opening_fx_rates"] = _renamed(CONTRACTS["fx_rates"], "opening_fx_rates", "quarter-end FX fixings (the opening valuation)")
