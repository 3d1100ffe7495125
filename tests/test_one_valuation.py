"""One valuation rule everywhere: the same holding on the same date gets one and the same price,
source and FX rate through every control that values it — the books' NAV (``strike_day``), the
position recon (the books' side where the custodian reports nothing), the CSDR penalty reference
price and the settlement report's base amount, the 13F holdings value and the intake's best source.

A hand-built world (no sample store): fund TGBP, base GBP, equity hierarchy BLOOMBERG then
REFINITIV; three French shares (EUR, XPAR) held 1,000 each; prices of 2026-11-05 (P) and
2026-11-06 (D) from BLOOMBERG, REFINITIV and ICE (outside the hierarchy), manual overrides; FX
fixings quoted X -> USD: GBP 1.29, EUR 1.085. Every expected figure is worked out by hand below,
never by the code under test.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bo_lib.books.nav import DayInputs, strike_day
from bo_lib.books.state import make_state
from bo_lib.data.catalogue import _empty
from bo_lib.intake.control import price_freshness
from bo_lib.parameters import load_funds
from bo_lib.recon.positions import MISSING_AT_CUSTODIAN, reconcile_positions
from bo_lib.regulatory import form13f
from bo_lib.settlement import csdr, status
from tests.conftest import PARAMETERS

P, D = dt.date(2026, 11, 5), dt.date(2026, 11, 6)
HIERARCHY = {"equity": ["BLOOMBERG", "REFINITIV"]}
ACCOUNT = "0012345678"
HELD = 1_000.0
FAILING = 400.0

# EUR -> GBP crosses through USD: 1.085 / 1.29 = 0.841085271317829... (1.29 x 0.841085271317829 = 1.085)
EUR_TO_GBP = 0.841085271317829
EUR_TO_USD = 1.085

#: security -> (price, source, date of the price, carried forward), by hand from the rows below
EXPECTED = {
    # the override is of P, not D; BLOOMBERG (ranked first) did not price D; REFINITIV ranks second;
    # ICE's 101.40 is outside the hierarchy and never used
    "EQFR1": (101.25, "REFINITIV", D, False),
    # only ICE (outside the hierarchy) priced D: BLOOMBERG's 50.00 of P carried forward, flagged
    "EQFR2": (50.00, "BLOOMBERG", P, True),
    # the override of D comes first, before BLOOMBERG's 20.10
    "EQFR3": (20.00, "MANUAL", D, False),
}


def _security(security_id: str, isin: str, cusip: str, name: str) -> dict:
    return {"security_id": security_id, "isin": isin, "cusip": cusip, "name": name, "issuer_name": name, "asset_class": "equity",
            "currency": "EUR", "mic": "XPAR", "country": "FR", "csdr_category": "LIQUID_SHARE", "price_multiplier": 1.0, "is_13f": True,
            "underlying_id": None, "put_call": None, "coupon_rate": None, "maturity_date": None, "day_count": None,
            "coupon_frequency": None, "issue_date": None, "first_coupon_date": None, "shares_outstanding": 1e9}


SECURITIES = pd.DataFrame([_security("EQFR1", "FR0000000011", "F00000011", "Acme SA"),
                           _security("EQFR2", "FR0000000029", "F00000029", "Beta SA"),
                           _security("EQFR3", "FR0000000037", "F00000037", "Gamma SA")])
PRICES = pd.DataFrame([
    (P, "EQFR1", "BLOOMBERG", 100.50), (P, "EQFR1", "REFINITIV", 100.45),
    (D, "EQFR1", "REFINITIV", 101.25), (D, "EQFR1", "ICE", 101.40),
    (P, "EQFR2", "BLOOMBERG", 50.00), (P, "EQFR2", "REFINITIV", 49.95),
    (D, "EQFR2", "ICE", 50.80),  # the missing day: no ranked source priced EQFR2 on D
    (P, "EQFR3", "BLOOMBERG", 20.05), (D, "EQFR3", "BLOOMBERG", 20.10), (D, "EQFR3", "REFINITIV", 20.12),
], columns=["price_date", "security_id", "source", "price"]).assign(
    price_date=lambda f: pd.to_datetime(f["price_date"]), currency="EUR", price_type="CLOSE")
OVERRIDES = pd.DataFrame([(P, "EQFR1", 100.00), (D, "EQFR3", 20.00)], columns=["price_date", "security_id", "price"]).assign(
    price_date=lambda f: pd.to_datetime(f["price_date"]), reason="vendor dispute", approved_by="head of pricing")
FX = pd.DataFrame([(D, "GBP", "USD", 1.29), (D, "EUR", "USD", 1.085)], columns=["rate_date", "from_currency", "to_currency", "rate"]).assign(
    rate_date=lambda f: pd.to_datetime(f["rate_date"]), source="WMR_4PM_LONDON")


@pytest.fixture(scope="module")
def fund():
    """A GBP fund (the sample USEQ's parameters, rebased) ranking BLOOMBERG then REFINITIV."""
    base = load_funds(PARAMETERS)["USEQ"]
    return base.model_copy(update={
        "fund_code": "TGBP", "base_currency": "GBP", "fixed_fees": [],
        "share_classes": [base.share_classes[0].model_copy(update={"currency": "GBP"})],
        "cash_accounts": [base.cash_accounts[0].model_copy(update={"currency": "GBP"})],
        "pricing": base.pricing.model_copy(update={"hierarchy": HIERARCHY}),
    })


def _positions() -> pd.DataFrame:
    return pd.DataFrame([(ACCOUNT, s, HELD) for s in EXPECTED], columns=["account", "security_id", "quantity"])


@pytest.fixture(scope="module")
def nav_valuation(fund) -> pd.DataFrame:
    """(a) The books' NAV of D, struck from a state at the close of P holding the three shares."""
    previous = make_state(
        "TGBP", P, positions=_positions(), settled_positions=_positions(),
        cost_basis=pd.DataFrame([(s, HELD, 50_000.0, 0.0) for s in EXPECTED], columns=["security_id", "quantity", "book_cost", "realised_pnl"]),
        prices=pd.DataFrame([("EQFR1", 100.00, "MANUAL", P), ("EQFR2", 50.00, "BLOOMBERG", P), ("EQFR3", 20.05, "BLOOMBERG", P)],
                            columns=["security_id", "price", "source", "price_as_of"]),
        fx=pd.DataFrame([("EUR", 0.84), ("GBP", 1.0)], columns=["currency", "rate_to_base"]),
        valuation=pd.DataFrame([("EUR", 170_050.0, 0.0)], columns=["currency", "market_value_local", "accrued_interest_local"]),
        classes=pd.DataFrame([{"share_class": "A", "units": 1_000.0, "gross": 142_842.0, "management_fee_accrued": 0.0,
                               "performance_fee_accrued": 0.0, "performance_fee_payable": 0.0, "high_water_mark": float("nan"),
                               "nav_per_share": 142.842, "net_assets": 142_842.0}]))
    day = DayInputs(business_date=D, trades=_empty("trades"), corporate_actions=_empty("corporate_actions"),
                    capital_activity=_empty("capital_activity"), cash_ledger=_empty("cash_ledger"), prices=PRICES, fx_rates=FX,
                    admin_nav=_empty("admin_nav"), price_overrides=OVERRIDES)
    _, result = strike_day(previous, day, fund, SECURITIES)
    valuation = result.valuation
    return valuation[valuation["nav_date"].eq(pd.Timestamp(D))].set_index("security_id")


@pytest.fixture(scope="module")
def recon(fund):
    """(b) The position recon of D with a custodian statement that reports nothing for the account:
    the books' market value is then at the fund's own price."""
    books = _positions().assign(fund="TGBP")
    return reconcile_positions(books, _empty("custodian_positions"), SECURITIES, _empty("settlement_status"), _empty("trades"), PRICES, FX,
                               business_date=D, base_currency="GBP", tolerances=fund.tolerances, price_hierarchy=HIERARCHY,
                               price_overrides=OVERRIDES)


def _failing_sales() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sale of 400 of each share, due D, reported failing for lack of securities on D."""
    trades = pd.DataFrame([{"trade_id": f"T-{s}", "fund": "TGBP", "account": ACCOUNT, "security_id": s,
                            "isin": SECURITIES.set_index("security_id").at[s, "isin"], "side": "SELL", "quantity": FAILING,
                            "price": EXPECTED[s][0], "currency": "EUR", "gross_amount": FAILING * EXPECTED[s][0], "accrued_interest": 0.0,
                            "commission": 0.0, "fees": 0.0, "net_amount": FAILING * EXPECTED[s][0], "trade_date": pd.Timestamp(P),
                            "settlement_date": pd.Timestamp(D), "broker_id": "BRK-X"} for s in EXPECTED])
    feed = pd.DataFrame([{"status_date": pd.Timestamp(D), "custodian_id": "CUST-EU", "account": ACCOUNT, "client_reference": t.trade_id,
                          "isin": t.isin, "movement": "DVP", "quantity": FAILING, "settlement_amount": t.net_amount, "currency": "EUR",
                          "trade_date": pd.Timestamp(P), "intended_settlement_date": pd.Timestamp(D), "match_status": "MACH",
                          "settlement_status": "PENF", "reason_code": "LACK", "settled_quantity": 0.0, "settled_amount": 0.0,
                          "effective_settlement_date": pd.NaT} for t in trades.itertuples()])
    return trades, feed


@pytest.fixture(scope="module")
def penalties() -> pd.DataFrame:
    """(c) The CSDR penalty of D on each failing sale (its reference price)."""
    trades, feed = _failing_sales()
    days = csdr.penalty_days(status.custody_instructions(trades, SECURITIES), feed, PRICES, HIERARCHY, D, overrides=OVERRIDES)
    return csdr.csdr_penalties(days).set_index("security_id")


@pytest.fixture(scope="module")
def holdings_13f() -> pd.DataFrame:
    """(d) The 13F holdings of D (valued in USD at the holding fund's hierarchy)."""
    positions = _positions().assign(fund="TGBP")[["fund", "account", "security_id", "quantity"]]
    return form13f.holdings_13f(positions, SECURITIES, PRICES, FX, {"TGBP": HIERARCHY}, as_of=D, overrides=OVERRIDES).set_index("security_id")


@pytest.fixture(scope="module")
def intake() -> pd.DataFrame:
    """(e) The intake's price freshness of D (the best source it names)."""
    held = SECURITIES[["security_id", "isin", "name", "asset_class", "currency"]].assign(quantity=HELD)
    return price_freshness(PRICES, held, D, HIERARCHY, stale_days=3, overrides=OVERRIDES).set_index("security_id")


@pytest.mark.parametrize("security_id", ["EQFR1", "EQFR3"])
def test_every_control_values_the_holding_at_one_price_source_and_rate(security_id, nav_valuation, recon, penalties, holdings_13f, intake):
    price, source, as_of, carried = EXPECTED[security_id]
    # (a) the NAV
    nav = nav_valuation.loc[security_id]
    assert (nav["price"], nav["source"], nav["price_as_of"], bool(nav["carried_forward"])) == (price, source, pd.Timestamp(as_of), carried)
    assert nav["rate_to_base"] == pytest.approx(EUR_TO_GBP, abs=1e-15)
    # (b) the position recon: the books' price, their market value, the break valued in GBP
    books = recon.books_prices.set_index("security_id").loc[security_id]
    assert (books["price"], books["source"], books["price_as_of"], bool(books["carried_forward"])) == (price, source, pd.Timestamp(as_of), carried)
    row = recon.table.set_index("security_id").loc[security_id]
    assert row["classification"] == MISSING_AT_CUSTODIAN
    assert row["market_value_left"] == pytest.approx(HELD * price)
    assert row["break_value_base"] == pytest.approx(HELD * price * EUR_TO_GBP)
    assert row["break_value_base"] == pytest.approx(nav["market_value_base"])
    # (c) the CSDR reference price
    penalty = penalties.loc[security_id]
    assert (penalty["reference_price"], penalty["reference_price_source"], bool(penalty["reference_price_carried_forward"])) == (price, source, carried)
    assert penalty["reference_price_as_of"] == pd.Timestamp(as_of)
    # (d) the 13F: the same price, the same fixings crossed to USD (EUR -> USD 1.085)
    held = holdings_13f.loc[security_id]
    assert (held["price"], held["price_source"], held["price_as_of"], bool(held["price_carried_forward"])) == (price, source, pd.Timestamp(as_of), carried)
    assert held["fx_rate"] == EUR_TO_USD
    # the NAV's GBP value times GBP -> USD 1.29 is the 13F's USD value
    assert held["value_usd"] == pytest.approx(nav["market_value_base"] * 1.29)
    # (e) the intake names the same source and date
    assert (intake.loc[security_id, "best_source"], intake.loc[security_id, "latest_price_date"]) == (source, pd.Timestamp(as_of))


def test_the_figures_by_hand(nav_valuation, recon, penalties, holdings_13f):
    # EQFR1: 1,000 x EUR 101.25 = 101,250.00 x 0.841085271317829 = GBP 85,159.88 (= 109,856.25 / 1.29)
    assert nav_valuation.at["EQFR1", "market_value_local"] == 101_250.0
    assert nav_valuation.at["EQFR1", "market_value_base"] == pytest.approx(85_159.883720930, abs=1e-6)
    assert recon.table.set_index("security_id").at["EQFR1", "break_value_base"] == pytest.approx(85_159.883720930, abs=1e-6)
    # 13F: 1,000 x 101.25 x 1.085 = USD 109,856.25, rounded half-up once per row: 109,856
    assert holdings_13f.at["EQFR1", "value_usd"] == pytest.approx(109_856.25)
    rows = form13f.information_table_rows(holdings_13f.reset_index()).set_index("cusip")
    assert rows.at["F00000011", "value"] == 109_856
    # CSDR: 400 failing x 101.25 x 1 bp (liquid share) = 4.05; 400 x 20.00 x 1 bp = 0.80; 400 x 50.00 x 1 bp = 2.00
    assert penalties["penalty"].to_dict() == {"EQFR1": 4.05, "EQFR2": 2.00, "EQFR3": 0.80}
    assert set(penalties["direction"]) == {"pay"}


def test_the_settlement_report_converts_with_the_one_cross_rate():
    trades, feed = _failing_sales()
    report = status.settlement_report(status.custody_instructions(trades, SECURITIES), feed, D, fx_rates=FX, base_currency="GBP").set_index("trade_id")
    # EUR 40,500.00 unsettled (400 x 101.25) x 1.085 / 1.29 = GBP 34,063.953488... -> 34,063.95
    assert report.at["T-EQFR1", "unsettled_amount"] == 40_500.0
    assert report.at["T-EQFR1", "unsettled_amount_base"] == 34_063.95


def test_a_source_outside_the_hierarchy_never_prices_even_alone(nav_valuation, recon, penalties, holdings_13f, intake):
    """EQFR2 on D: only ICE (not in the fund's hierarchy) priced it, at 50.80. The twins differed:
    the 13F's own ranking took ICE's 50.80 (an unranked source when no ranked one priced it), the
    CSDR's ranked ICE last (rank 99) and took 50.80, the intake named BLOOMBERG from its history but
    called the day amber ("fewer sources"). The one rule: BLOOMBERG's 50.00 of P carried forward,
    flagged, everywhere."""
    price, source, as_of, carried = EXPECTED["EQFR2"]
    assert (price, source, as_of, carried) == (50.00, "BLOOMBERG", P, True)
    nav = nav_valuation.loc["EQFR2"]
    assert (nav["price"], nav["source"], nav["price_as_of"], bool(nav["carried_forward"])) == (50.00, "BLOOMBERG", pd.Timestamp(P), True)
    # 1,000 x 50.00 = EUR 50,000 x 1.085 / 1.29 = GBP 42,054.263565...
    assert nav["market_value_base"] == pytest.approx(42_054.263565891, abs=1e-6)
    books = recon.books_prices.set_index("security_id").loc["EQFR2"]
    assert (books["price"], books["source"], bool(books["carried_forward"])) == (50.00, "BLOOMBERG", True)
    assert recon.table.set_index("security_id").at["EQFR2", "market_value_left"] == 50_000.0
    penalty = penalties.loc["EQFR2"]
    assert (penalty["reference_price"], penalty["reference_price_source"], bool(penalty["reference_price_carried_forward"])) == (50.00, "BLOOMBERG", True)
    assert penalty["penalty"] == 2.00  # the CSDR twin: 400 x 50.80 x 1 bp = 2.032 -> 2.03
    held = holdings_13f.loc["EQFR2"]
    assert (held["price"], held["price_source"], bool(held["price_carried_forward"])) == (50.00, "BLOOMBERG", True)
    assert held["value_usd"] == pytest.approx(54_250.0)  # 1,000 x 50.00 x 1.085 (the 13F twin: 50.80 -> 55,118.00)
    # the intake: an unranked price is no price; BLOOMBERG of P is the price the fund values at
    assert intake.loc["EQFR2", ["best_source", "latest_price_date", "status", "rag"]].tolist() == [
        "BLOOMBERG", pd.Timestamp(P), "no price today", "red"]
    assert intake.loc["EQFR2", "sources_today"] == "ICE"


def test_no_ranked_price_in_the_history_is_nan_not_an_unranked_one():
    """Where no override or ranked source priced the security in the history read, every
    control's price is NaN (an exception it shows), never the unranked source's."""
    only_ice = PRICES[PRICES["security_id"].eq("EQFR2") & PRICES["source"].eq("ICE")]
    positions = pd.DataFrame([("TGBP", ACCOUNT, "EQFR2", HELD)], columns=["fund", "account", "security_id", "quantity"])
    held = form13f.holdings_13f(positions, SECURITIES, only_ice, FX, {"TGBP": HIERARCHY}, as_of=D).iloc[0]
    assert pd.isna(held["price"]) and pd.isna(held["value_usd"])
    trades, feed = _failing_sales()
    days = csdr.penalty_days(status.custody_instructions(trades, SECURITIES), feed, only_ice, HIERARCHY, D).set_index("security_id")
    assert pd.isna(days.at["EQFR2", "reference_price"]) and days.at["EQFR2", "reference_price_source"] == ""
    assert not days.at["EQFR2", "reference_price_carried_forward"]


def test_the_intake_names_the_source_the_fund_values_at(intake):
    """EQFR1 on D: the intake's own loop named BLOOMBERG (the first ranked source anywhere in its
    history, here P) and called the day fresh, counting ICE among the hierarchy's two sources. The
    fund values at REFINITIV's price of D, and one ranked source of two delivered."""
    assert intake.loc["EQFR1", ["best_source", "latest_price_date", "sources_today", "status", "rag"]].tolist() == [
        "REFINITIV", pd.Timestamp(D), "ICE, REFINITIV", "fewer sources than the hierarchy", "amber"]
    # EQFR3: the override of D is the price; both ranked sources delivered
    assert intake.loc["EQFR3", ["best_source", "status"]].tolist() == ["MANUAL", "fresh"]
