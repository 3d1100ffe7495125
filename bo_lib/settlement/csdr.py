"""CSDR cash penalties (EU settlement discipline regime) on fails in EU CSDs.

For each business day an instruction fails to settle, from its intended settlement date on:

* **lack of securities** (LACK: we fail and pay; CLAC: the counterparty fails and pays us):
  reference price x failing quantity x the daily rate of the instrument's category;
* **lack of cash** (MONY: we pay; CMON: we receive): reference price x failing quantity x the
  central bank's overnight credit rate of the settlement currency (floored at zero) / day basis.

Each day uses that day's reference price and is rounded half-up to the cent on its own; a month's
total is the sum of the rounded days. The reference price is the workbench's one valuation rule
(``bo_lib.prices``): a manual override of the day first, then the fund's ranked sources for the
asset class; a source outside the hierarchy is never used (before, it ranked last and could price
a day no ranked source had priced); a day no override or ranked source priced takes the last
chosen price carried forward, flagged (``reference_price_carried_forward``, ``reference_price_as_of``). Rates are effective-dated data, not code:
``bo_lib/reference/csdr_penalty_rates.csv`` (Commission Delegated Regulation (EU) 2017/389 as
amended by (EU) 2021/70) and ``bo_lib/reference/central_bank_rates.csv`` (e.g. the ECB marginal
lending facility), each row with its source. The day basis of the cash rate is a column of the
latter (360, as the workbench's specification fixes it).

Pure functions over DataFrames (no I/O). ``csdr_daily_penalty`` is the scalar form for analysts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.money import round_half_up, round_half_up_array
from bo_lib.prices import holding_prices
from bo_lib.settlement.status import FAILING_STATUSES

SECURITIES, CASH = "securities", "cash"
PAY, RECEIVE = "pay", "receive"
#: reason code -> (what is lacking, whether we pay or receive the penalty)
REASON_PENALTY = {"LACK": (SECURITIES, PAY), "CLAC": (SECURITIES, RECEIVE), "MONY": (CASH, PAY), "CMON": (CASH, RECEIVE)}
#: the currency whose central bank rate applies when none is given (EU CSDs settle in EUR here)
DEFAULT_CASH_CURRENCY = "EUR"


def _read(name: str) -> pd.DataFrame:
    with resources.files("bo_lib").joinpath("reference", name).open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    table["effective_from"] = pd.to_datetime(table["effective_from"].replace("", "1900-01-01"))
    table["effective_to"] = pd.to_datetime(table["effective_to"].replace("", "2262-04-11"))
    return table


@lru_cache(maxsize=1)
def _penalty_rates() -> pd.DataFrame:
    table = _read("csdr_penalty_rates.csv")
    table["daily_rate_bp"] = table["daily_rate_bp"].astype(float)
    return table


@lru_cache(maxsize=1)
def _cash_rates() -> pd.DataFrame:
    table = _read("central_bank_rates.csv")
    table["rate_pct"] = table["rate_pct"].astype(float)
    table["day_basis"] = table["day_basis"].astype(int)
    return table


def penalty_rates() -> pd.DataFrame:
    """The effective-dated CSDR daily rates by instrument category (a copy)."""
    return _penalty_rates().copy()


def central_bank_rates() -> pd.DataFrame:
    """The effective-dated central bank overnight credit rates (a copy)."""
    return _cash_rates().copy()


def _lookup(table: pd.DataFrame, key: str, keys: pd.Series, dates: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Per row, the rule of ``table`` for its key in force on its date (NaN where none)."""
    out = pd.DataFrame(np.nan, index=keys.index, columns=columns, dtype="float64")
    for rule in table.itertuples():  # a handful of rules, not rows
        hit = keys.eq(getattr(rule, key)) & dates.ge(rule.effective_from) & dates.le(rule.effective_to)
        for column in columns:
            out.loc[hit, column] = float(getattr(rule, column))
    return out


def _fail_type(value: str) -> tuple[str, str | None]:
    key = str(value).strip().upper()
    if key in REASON_PENALTY:
        return REASON_PENALTY[key]
    if key.lower() in (SECURITIES, CASH):
        return key.lower(), None
    raise ValueError(f"fail_type {value!r}: expected 'securities', 'cash' or a reason code {sorted(REASON_PENALTY)}")


def csdr_daily_penalty(fail_type: str, instrument_category: str | None, quantity: float, reference_price: float,
                       cash_rate: float | None = None, *, on: dt.date | None = None, price_multiplier: float = 1.0,
                       currency: str = DEFAULT_CASH_CURRENCY) -> Decimal:
    """One day's CSDR cash penalty, rounded half-up to the cent.

    ``fail_type``: ``"securities"`` or ``"cash"`` (or a reason code: LACK/CLAC or MONY/CMON).
    ``cash_rate``: the central bank's overnight credit rate as a decimal fraction (0.0025 for
    0.25 %); when omitted it is looked up for ``currency`` on ``on`` (default: today). The
    securities rate is the category's rate in force on ``on``. ``price_multiplier`` turns a
    price into a value per unit (0.01 for bonds quoted per 100 nominal).

    >>> csdr_daily_penalty("securities", "SME_GROWTH", 5000, 25)
    Decimal('3.13')
    >>> csdr_daily_penalty("cash", None, 5000, 25, cash_rate=0.0025)
    Decimal('0.87')
    """
    kind, _side = _fail_type(fail_type)
    day = pd.Timestamp(on or dt.date.today())
    value = Decimal(repr(float(quantity))) * Decimal(repr(float(reference_price))) * Decimal(repr(float(price_multiplier)))
    if kind == SECURITIES:
        rates = _lookup(_penalty_rates(), "instrument_category", pd.Series([str(instrument_category)]), pd.Series([day]), ["daily_rate_bp"])
        rate_bp = rates["daily_rate_bp"].iat[0]
        if np.isnan(rate_bp):
            raise ValueError(f"no CSDR penalty rate for instrument category {instrument_category!r} on {day.date()}")
        return round_half_up(value * Decimal(repr(float(rate_bp))) / Decimal(10_000))
    if cash_rate is None:
        found = _lookup(_cash_rates(), "currency", pd.Series([currency]), pd.Series([day]), ["rate_pct", "day_basis"])
        if found.isna().any(axis=None):
            raise ValueError(f"no central bank rate for {currency} on {day.date()}")
        annual, basis = Decimal(repr(float(found["rate_pct"].iat[0]))) / 100, int(found["day_basis"].iat[0])
    else:
        if abs(cash_rate) >= 1:
            raise ValueError(f"cash_rate {cash_rate} looks like a percentage: pass a decimal fraction (0.0025 for 0.25 %)")
        annual, basis = Decimal(repr(float(cash_rate))), _default_day_basis(currency)
    return round_half_up(value * max(annual, Decimal(0)) / basis)


def _default_day_basis(currency: str) -> int:
    rows = _cash_rates()[_cash_rates()["currency"].eq(currency)]
    return int(rows["day_basis"].iat[-1]) if len(rows) else 360


PENALTY_COLUMNS = ["penalty_date", "trade_id", "counterparty", "security_id", "isin", "market", "currency", "csdr_category", "reason_code",
                   "fail_type", "direction", "failing_quantity", "reference_price", "reference_price_source", "reference_price_as_of",
                   "reference_price_carried_forward", "penalty_value",
                   "daily_rate_bp", "cash_rate_pct", "day_basis", "penalty", "signed_penalty"]


def csdr_penalties(failing_instructions: pd.DataFrame) -> pd.DataFrame:
    """Vectorised daily penalties. One input row per instruction and day of failure with
    ``penalty_date``, ``reason_code`` (LACK/CLAC/MONY/CMON; other codes carry no penalty here and
    get NaN), ``csdr_category``, ``failing_quantity``, ``reference_price``, optional
    ``price_multiplier`` (default 1), ``currency`` (default EUR) and ``cash_rate`` (decimal
    fraction; default: the central bank rate table on the penalty date).

    Adds ``fail_type``, ``direction`` (pay/receive), ``penalty_value`` (price x quantity),
    ``daily_rate_bp`` or ``cash_rate_pct`` and ``day_basis``, ``penalty`` (rounded half-up to the
    cent per day, NaN where a rate or price is missing) and ``signed_penalty`` (negative: we pay).
    """
    frame = failing_instructions.copy()
    dates = pd.to_datetime(frame["penalty_date"])
    reason = frame["reason_code"].fillna("").astype(str).str.upper()
    frame["fail_type"] = reason.map({k: v[0] for k, v in REASON_PENALTY.items()})
    frame["direction"] = reason.map({k: v[1] for k, v in REASON_PENALTY.items()})
    multiplier = frame["price_multiplier"].astype("float64") if "price_multiplier" in frame else 1.0
    currency = frame["currency"].fillna(DEFAULT_CASH_CURRENCY) if "currency" in frame else pd.Series(DEFAULT_CASH_CURRENCY, index=frame.index)
    value = frame["failing_quantity"].astype("float64") * frame["reference_price"].astype("float64") * multiplier
    frame["penalty_value"] = round_half_up_array(value, 2)
    securities = _lookup(_penalty_rates(), "instrument_category", frame["csdr_category"].astype(str), dates, ["daily_rate_bp"])
    cash = _lookup(_cash_rates(), "currency", currency.astype(str), dates, ["rate_pct", "day_basis"])
    if "cash_rate" in frame:
        given = frame["cash_rate"].astype("float64")
        cash["rate_pct"] = (given * 100).where(given.notna(), cash["rate_pct"])
        cash["day_basis"] = cash["day_basis"].fillna(float(_default_day_basis(DEFAULT_CASH_CURRENCY)))
    is_sec, is_cash = frame["fail_type"].eq(SECURITIES), frame["fail_type"].eq(CASH)
    frame["daily_rate_bp"] = securities["daily_rate_bp"].where(is_sec)
    frame["cash_rate_pct"] = cash["rate_pct"].where(is_cash)
    frame["day_basis"] = cash["day_basis"].where(is_cash).astype("Int64")
    raw = np.where(is_sec, value * frame["daily_rate_bp"] / 10_000,
                   np.where(is_cash, value * np.maximum(frame["cash_rate_pct"], 0.0) / 100 / cash["day_basis"], np.nan))
    frame["penalty"] = round_half_up_array(raw, 2)
    frame["signed_penalty"] = np.where(frame["direction"].eq(PAY), -frame["penalty"], frame["penalty"])
    return frame


def penalty_days(report_instructions: pd.DataFrame, status_history: pd.DataFrame, prices: pd.DataFrame,
                 price_hierarchy: dict[str, list[str]], business_date: dt.date, closures: pd.DataFrame | None = None,
                 overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each (instruction, day) on which an instruction in an EU CSD (EUR settlement in an EU
    market) was reported failing, from its intended settlement date up to ``business_date``, on
    business days of its settlement calendar; with that day's failing quantity and reference
    price (the fund's valuation price of the day: ``with_reference_prices``).

    ``report_instructions``: ``custody_instructions`` rows (trade_id, counterparty, security_id,
    isin, market, currency, asset_class, csdr_category, price_multiplier)."""
    bd = pd.Timestamp(business_date)
    rows = status_history[status_history["status_date"].le(bd) & status_history["intended_settlement_date"].le(status_history["status_date"])
                          & (status_history["settlement_status"].isin(FAILING_STATUSES) | status_history["settlement_status"].eq("PEND"))]
    keep = ["trade_id", "counterparty", "security_id", "isin", "market", "asset_class", "csdr_category", "price_multiplier"]
    days = rows[["status_date", "client_reference", "currency", "quantity", "settled_quantity", "reason_code"]].merge(
        report_instructions[keep], left_on="client_reference", right_on="trade_id", how="inner")
    days = days[calendars.settlement_regions(days).eq("EU") & days["currency"].eq("EUR")] if len(days) else days
    if len(days):
        elapsed = calendars.business_days_elapsed(days.assign(previous=days["status_date"] - pd.Timedelta(days=1)), "previous", "status_date", closures)
        days = days[elapsed.eq(1)]  # the status date is itself a settlement business day
    days = days.assign(penalty_date=days["status_date"], failing_quantity=days["quantity"] - days["settled_quantity"])
    days = days.drop(columns=["status_date", "client_reference", "quantity", "settled_quantity"]).reset_index(drop=True)
    return with_reference_prices(days, prices, price_hierarchy, overrides)


def with_reference_prices(days: pd.DataFrame, prices: pd.DataFrame, price_hierarchy: dict[str, list[str]],
                          overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """Adds ``reference_price``, ``reference_price_source``, ``reference_price_as_of`` and
    ``reference_price_carried_forward`` to rows with security_id and penalty_date: the price the
    fund values the security at that day by the one rule (``bo_lib.prices.holding_prices``: an
    override, else the fund's ranked sources, else the last chosen price carried forward; NaN
    where none was ever chosen in ``prices``)."""
    keyed = days.reset_index(drop=True)
    need = pd.DataFrame({"price_date": pd.to_datetime(keyed["penalty_date"]).astype("datetime64[ns]"), "security_id": keyed["security_id"]})
    asset_classes = keyed[["security_id", "asset_class"]].drop_duplicates("security_id")  # the instructions' master columns
    priced = need.merge(holding_prices(need, prices, asset_classes, price_hierarchy, overrides), on=["price_date", "security_id"], how="left")
    keyed["reference_price"] = priced["price"].astype("float64").to_numpy()
    keyed["reference_price_source"] = priced["source"].fillna("").astype(object).to_numpy()
    keyed["reference_price_as_of"] = priced["price_as_of"].to_numpy()
    keyed["reference_price_carried_forward"] = (priced["carried_forward"].fillna(False).astype(bool) & priced["price"].notna()).to_numpy()
    return keyed


def monthly_penalties(penalties: pd.DataFrame) -> pd.DataFrame:
    """Per month and counterparty: penalties we pay, penalties we receive, and the net (received
    minus paid), each the sum of the rounded daily penalties."""
    frame = penalties.assign(month=pd.to_datetime(penalties["penalty_date"]).dt.strftime("%Y-%m"),
                             paid=penalties["penalty"].where(penalties["direction"].eq(PAY), 0.0),
                             received=penalties["penalty"].where(penalties["direction"].eq(RECEIVE), 0.0))
    out = frame.groupby(["month", "counterparty", "currency"], as_index=False).agg(
        instructions=("trade_id", "nunique"), penalty_days=("penalty_date", "size"), paid=("paid", "sum"), received=("received", "sum"))
    out["paid"] = round_half_up_array(out["paid"], 2)
    out["received"] = round_half_up_array(out["received"], 2)
    out["net"] = round_half_up_array(out["received"] - out["paid"], 2)
    return out.sort_values(["month", "counterparty"]).reset_index(drop=True)
