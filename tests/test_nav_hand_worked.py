"""A hand-worked NAV: small funds whose every figure is written out below from first principles
(quantity x price x multiplier, day counts, FX crossed through USD, fee accruals, the split of the
day's result across share classes, rounding), never computed by the code under test nor taken from
the sample world.

Entry point: the books' pure functions, driven from in-memory frames, no store, no catalogue (run
with ``--noconftest``). ``bo_lib.books.opening.opening_state`` builds the first state from the
opening frames (positions, cash, share classes, prices, FX); ``bo_lib.books.nav.strike_day`` strikes
each NAV date from the previous state and a hand-made ``DayInputs`` (the day's trades, corporate
actions, dealt orders, cash ledger, prices, FX fixings). ``roll_books`` would do the same day by
day, but only from a store's catalogue; ``strike_day`` is the narrowest public entry that strikes a
NAV. The controls' coupon check (``bo_lib.nav.controls.coupons_without_event``) is called directly.

The books' rules the figures follow (``bo_lib/books/nav.py``):

* the pool's result of the day = pool assets on D - fixed fees payable - capital dealt on D
  - (the pool after dealing on P - class fees paid on D); it is split across the classes pro rata
  to their gross assets (net assets + their own fees accrued) at P, after dealing;
* management fee accrued on D = class net assets at P (after dealing) x rate % p.a. x calendar
  days / the fund's day basis, the days from the previous NAV's accrual to D's (the last NAV of a
  month accrues through the month's last day); a fixed fee = annual amount x days / day basis;
* NAV per share = round_half_up(net assets / units, nav decimals); a subscription dealt on D
  buys round_half_up(amount / NAV per share of D, unit decimals) units;
* FX fixings are quoted X -> USD: a rate to a EUR base is rate(X->USD) / rate(EUR->USD), so
  USD -> EUR = 1 / rate(EUR->USD).

Three rules an audit found broken have their own tests here: (a) income entitlement on the
settled holding at the record date with a market claim for a cum sale not settled by then (paid
with the sale's settlement), (b) an ACT/360 or ACT/365F coupon amount = nominal x rate x days in
the period / 360 (365), (c) the month-end fee cut-off (every day of October accrued in October).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bo_lib.books.nav import DayInputs, strike_day
from bo_lib.books.opening import opening_state
from bo_lib.data.contracts import CONTRACTS
from bo_lib.nav.controls import coupons_without_event
from bo_lib.parameters import FundParameters

D = dt.date
CENT = 0.005  # "to the cent": a figure within half a cent of the hand-worked one
SIX = 1e-6  # an unrounded amount (accrued interest, a fee accrual, the day's result) written to 6 decimals


# ---------------------------------------------------------------------------------------------
# building the inputs by hand


def _frame(dataset: str, rows: list[tuple]) -> pd.DataFrame:
    """Rows of one of the feeds' datasets, in its contract's column order."""
    columns = CONTRACTS[dataset].column_names
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame(rows, columns=columns)


def _fund(code: str, classes: list[tuple[str, float]], fixed_fees: list[tuple[str, float]] = (), day_basis: int = 365) -> FundParameters:
    return FundParameters.model_validate({
        "fund_code": code, "name": f"hand-worked fund {code}", "fund_type": "mixed", "base_currency": "EUR",
        "management_company": "HAND", "administrator": "ADM", "calendar": "XETR", "inception_date": "2026-09-01",
        "day_basis": day_basis, "nav_decimals": 4, "unit_decimals": 3,
        "securities_accounts": [{"account": "SEC1", "custodian": "CUST"}],
        "cash_accounts": [{"account": "CASHEUR", "bank": "BANK", "currency": "EUR", "statement_format": "camt053"},
                          {"account": "CASHUSD", "bank": "BANK", "currency": "USD", "statement_format": "mt940"}],
        "share_classes": [{"code": c, "name": f"class {c}", "currency": "EUR", "management_fee_pct": pct} for c, pct in classes],
        "fixed_fees": [{"name": n, "annual_amount": a} for n, a in fixed_fees],
        "nav_thresholds": {"materiality_pct": 0.5, "day_move_pct": 1.5},
        "pricing": {"hierarchy": {"equity": ["SRC"], "corporate_bond": ["SRC"]}},
    })


def _security(sid, asset_class, currency, multiplier, coupon=np.nan, frequency=np.nan, day_count=None, maturity=None):
    return {"security_id": sid, "isin": "", "asset_class": asset_class, "currency": currency, "country": "FR",
            "price_multiplier": multiplier, "coupon_rate": coupon, "coupon_frequency": frequency, "day_count": day_count,
            "maturity_date": pd.Timestamp(maturity) if maturity else pd.NaT, "ex_coupon_days": 0 if day_count else np.nan}


SECURITIES = pd.DataFrame([
    _security("EQEU", "equity", "EUR", 1.0),
    _security("EQUS", "equity", "USD", 1.0),
    # 4% semi-annual, ACT/ACT ICMA, coupons 29 Mar / 29 Sep (maturity 29 Mar 2031), priced per 100 nominal
    _security("BDEU", "corporate_bond", "EUR", 0.01, 4.0, 2, "ACT/ACT ICMA", "2031-03-29"),
    # 4% semi-annual, ACT/360, coupons 15 Apr / 15 Oct (maturity 15 Apr 2030)
    _security("BD360", "corporate_bond", "EUR", 0.01, 4.0, 2, "ACT/360", "2030-04-15"),
])


def _prices(day: str, prices: dict[str, tuple[float, str]]) -> pd.DataFrame:
    return _frame("prices", [(day, sid, "", "SRC", p, ccy, "CLOSE") for sid, (p, ccy) in prices.items()])


def _eurusd(day: str, rate: float) -> pd.DataFrame:
    return _frame("fx_rates", [(day, "EUR", "USD", rate, "ECB")])


def _strike(fund: FundParameters, opening: dict[str, pd.DataFrame], opened_on: dt.date, days: list[dict]) -> dict:
    """The opening state, then each day struck from the previous one: {date: (state, result)}."""
    state = opening_state(fund, opening, opened_on, SECURITIES)
    out = {opened_on: (state, None)}
    for i, day in enumerate(days):
        date = D.fromisoformat(day["date"])
        following = D.fromisoformat(days[i + 1]["date"]) if i + 1 < len(days) else D.fromisoformat(day["next"])
        inputs = DayInputs(business_date=date, trades=_frame("trades", day.get("trades", [])),
                           corporate_actions=_frame("corporate_actions", day.get("events", [])),
                           capital_activity=_frame("capital_activity", day.get("orders", [])),
                           cash_ledger=_frame("cash_ledger", day.get("ledger", [])), prices=day.get("prices", _frame("prices", [])),
                           fx_rates=day["fx"], admin_nav=_frame("admin_nav", []))
        state, result = strike_day(state, inputs, fund, SECURITIES, following)
        out[date] = (state, result)
    return out


def _class(result, day: dt.date, share_class: str) -> pd.Series:
    rows = result.class_nav
    return rows[rows["nav_date"].eq(pd.Timestamp(day)) & rows["share_class"].eq(share_class)].iloc[0]


def _line(result, day: dt.date, line: str) -> float:
    sheet = result.balance_sheet
    return float(sheet.loc[sheet["nav_date"].eq(pd.Timestamp(day)) & sheet["line"].eq(line), "amount_base"].iloc[0])


def _valued(result, security_id: str) -> pd.Series:
    return result.valuation[result.valuation["security_id"].eq(security_id)].iloc[0]


# =============================================================================================
# 1. HAND: two equities (EUR, USD), one ACT/ACT ICMA bond, cash in EUR and USD, two classes, a
#    fixed fee, a subscription; NAV dates Wed 30 Sep (month end), Thu 1, Fri 2, Mon 5 Oct 2026
#    (the weekend 3-4 Oct accrues on Monday: 3 calendar days).
#
# Fund: base EUR, day basis 365, NAV per share to 4 decimals, units to 3.
#   class R: management fee 1.50% p.a.; class I: 0.75% p.a.; fixed fee (administration)
#   36,500.00 a year = 36,500 x 1 / 365 = 100.00 a calendar day.
#
# Opening book, Tue 29 Sep 2026 (EUR->USD 1.25, so USD->EUR = 1 / 1.25 = 0.8):
#   EQEU  20,000 x 50.00                 = 1,000,000.00 EUR
#   EQUS  10,000 x 120.00 = 1,200,000.00 USD x 0.8 = 960,000.00 EUR
#   BDEU  2,000,000 x 99.50 / 100        = 1,990,000.00 EUR; accrued 0 (29 Sep is a coupon date)
#   cash  500,000.00 EUR + 250,000.00 USD x 0.8 = 200,000.00 EUR
#   pool  4,650,000.00 = class R 20,000 units x 100.00 = 2,000,000.00
#                      + class I  2,650 units x 1,000.00 = 2,650,000.00
#
# Bond accrual: coupon period 29 Sep 2026 - 29 Mar 2027 = 181 days (Sep 1 + Oct 31 + Nov 30 + Dec 31
# + Jan 31 + Feb 28 + Mar 29); coupon per period = 2,000,000 x 4% / 2 = 40,000.00; ACT/ACT ICMA
# accrued = 40,000 x days since 29 Sep / 181.
#
# Wed 30 Sep (EUR->USD 1.28, USD->EUR = 1 / 1.28 = 0.78125), 1 calendar day:
#   EQEU 20,000 x 50.50 = 1,010,000.00; EQUS 10,000 x 121.00 = 1,210,000.00 USD x 0.78125 = 945,312.50
#   BDEU 2,000,000 x 99.60 / 100 = 1,992,000.00; accrued 40,000 x 1 / 181 = 220.994475
#   cash 500,000.00 + 250,000 USD x 0.78125 = 195,312.50
#   pool assets 4,642,845.994475; fixed fees payable 100.00; pool 4,642,745.994475
#   result 4,642,745.994475 - 4,650,000.00 = -7,254.005525
#   R: weight 2,000,000 / 4,650,000 = 0.430107527; share -3,120.002376; fee 2,000,000 x 1.5% x 1/365 = 82.191781
#      gross 1,996,879.997624; net 1,996,797.805843 -> 1,996,797.81; / 20,000 = 99.839890 -> 99.8399
#   I: weight 2,650,000 / 4,650,000 = 0.569892473; share -4,134.003149; fee 2,650,000 x 0.75% x 1/365 = 54.452055
#      gross 2,645,865.996851; net 2,645,811.544797 -> 2,645,811.54; / 2,650 = 998.419451 -> 998.4195
#
# Thu 1 Oct (1.25 -> 0.8), 1 day; class I subscription of 250,000.00 dealt at the day's NAV, settling Mon 5 Oct:
#   EQEU 20,000 x 51.00 = 1,020,000.00; EQUS 10,000 x 119.50 = 1,195,000.00 USD x 0.8 = 956,000.00
#   BDEU 2,000,000 x 99.55 / 100 = 1,991,000.00; accrued 40,000 x 2 / 181 = 441.988950
#   cash 500,000.00 + 250,000 USD x 0.8 = 200,000.00; subscription receivable 250,000.00 (dealt today)
#   pool assets 4,917,441.988950; fixed fees payable 200.00; before dealing 4,917,441.988950 - 250,000 - 200
#   = 4,667,241.988950; result 4,667,241.988950 - 4,642,745.994475 = 24,495.994475
#   R: share 24,495.994475 x 0.430107527 = 10,535.911602; fee 1,996,797.805843 x 1.5% x 1/365 = 82.060184
#      gross 2,007,415.909226; fees accrued 82.191781 + 82.060184 = 164.251965
#      net 2,007,251.657261 -> 2,007,251.66; / 20,000 = 100.362583 -> 100.3626
#   I: share 24,495.994475 x 0.569892473 = 13,960.082873; fee 2,645,811.544797 x 0.75% x 1/365 = 54.365991
#      gross 2,659,826.079724; fees accrued 108.818045; net 2,659,717.261679; / 2,650 = 1,003.666891 -> 1,003.6669
#      subscription: 250,000.00 / 1,003.6669 = 249.086624 -> 249.087 units; units 2,650 + 249.087 = 2,899.087
#      net after dealing 2,659,717.261679 + 250,000 = 2,909,717.261679 -> 2,909,717.26
#
# Fri 2 Oct (1.28 -> 0.78125), 1 day:
#   EQEU 20,000 x 50.25 = 1,005,000.00; EQUS 10,000 x 120.50 = 1,205,000.00 USD x 0.78125 = 941,406.25
#   BDEU 2,000,000 x 99.70 / 100 = 1,994,000.00; accrued 40,000 x 3 / 181 = 662.983425
#   cash 500,000.00 + 195,312.50; subscription receivable 250,000.00
#   pool assets 4,886,381.733425; fixed fees payable 300.00; pool 4,886,081.733425
#   result 4,886,081.733425 - (4,667,241.988950 + 250,000) = -31,160.255525
#   weights: gross R 2,007,415.909226, gross I 2,659,826.079724 + 250,000 = 2,909,826.079724, total 4,917,241.988950:
#   R: weight 0.408240211; share -12,720.869304; fee 2,007,251.657261 x 1.5% x 1/365 = 82.489794
#      gross 1,994,695.039922; fees accrued 246.741759; net 1,994,448.298163 -> 1,994,448.30; / 20,000 = 99.722415 -> 99.7224
#   I: weight 0.591759789; share -18,439.386221; fee 2,909,717.261679 x 0.75% x 1/365 = 59.788711
#      gross 2,891,386.693503; fees accrued 168.606756; net 2,891,218.086747 -> 2,891,218.09; / 2,899.087 = 997.285727 -> 997.2857
#
# Mon 5 Oct (1.25 -> 0.8), 3 calendar days (Sat 3, Sun 4, Mon 5 Oct); the subscription settles:
#   EQEU 20,000 x 50.75 = 1,015,000.00; EQUS 10,000 x 122.00 = 1,220,000.00 USD x 0.8 = 976,000.00
#   BDEU 2,000,000 x 99.65 / 100 = 1,993,000.00; accrued 40,000 x 6 / 181 = 1,325.966851
#   cash 500,000.00 + 250,000.00 (subscription received) + 250,000 USD x 0.8 = 200,000.00; nothing receivable
#   pool assets 4,935,325.966851; fixed fees payable 300.00 + 36,500 x 3 / 365 = 600.00; pool 4,934,725.966851
#   result 4,934,725.966851 - 4,886,081.733425 = 48,644.233425
#   R: share 48,644.233425 x 0.408240211 = 19,858.532138; fee 1,994,448.298163 x 1.5% x 3/365 = 245.890886
#      gross 2,014,553.572061; fees accrued 492.632645; net 2,014,060.939416 -> 2,014,060.94; / 20,000 = 100.703047 -> 100.7030
#   I: share 48,644.233425 x 0.591759789 = 28,785.701287; fee 2,891,218.086747 x 0.75% x 3/365 = 178.225772
#      gross 2,920,172.394790; fees accrued 346.832529; net 2,919,825.562261 -> 2,919,825.56; / 2,899.087 = 1,007.153480 -> 1,007.1535

HAND_PRICES = {  # EQEU (EUR), EQUS (USD), BDEU (EUR per 100 nominal), EUR->USD
    "2026-09-29": (50.00, 120.00, 99.50, 1.25),
    "2026-09-30": (50.50, 121.00, 99.60, 1.28),
    "2026-10-01": (51.00, 119.50, 99.55, 1.25),
    "2026-10-02": (50.25, 120.50, 99.70, 1.28),
    "2026-10-05": (50.75, 122.00, 99.65, 1.25),
}
SUBSCRIPTION = ("O261001HAND001", "HAND", "I", "INV1", "SUB", "2026-10-01", "2026-10-05", "EUR", 250_000.00,
                249.087, 1_003.6669, "DEALT")  # 250,000.00 / 1,003.6669 = 249.086624 -> 249.087 units

#: per NAV date and class: the pool share, the day's management fee and the fees accrued (unrounded, to 6 decimals),
#: net assets (cents), NAV per share, units
HAND_EXPECTED = {
    D(2026, 9, 30): {
        "R": (0.430107527, 82.191781, 82.191781, 1_996_797.81, 99.8399, 20_000.000),
        "I": (0.569892473, 54.452055, 54.452055, 2_645_811.54, 998.4195, 2_650.000)},
    D(2026, 10, 1): {
        "R": (0.430107527, 82.060184, 164.251965, 2_007_251.66, 100.3626, 20_000.000),
        "I": (0.569892473, 54.365991, 108.818045, 2_909_717.26, 1_003.6669, 2_899.087)},
    D(2026, 10, 2): {
        "R": (0.408240211, 82.489794, 246.741759, 1_994_448.30, 99.7224, 20_000.000),
        "I": (0.591759789, 59.788711, 168.606756, 2_891_218.09, 997.2857, 2_899.087)},
    D(2026, 10, 5): {
        "R": (0.408240211, 245.890886, 492.632645, 2_014_060.94, 100.7030, 20_000.000),
        "I": (0.591759789, 178.225772, 346.832529, 2_919_825.56, 1_007.1535, 2_899.087)},
}
#: per NAV date: investments, cash at bank, subscriptions receivable, fixed fees payable (cents); accrued interest and
#: the pool's result (unrounded, to 6 decimals)
HAND_SHEET = {
    # 1,010,000.00 + 945,312.50 + 1,992,000.00; 40,000 x 1/181; 500,000 + 195,312.50
    D(2026, 9, 30): (3_947_312.50, 220.994475, 695_312.50, 0.00, 100.00, -7_254.005525),
    # 1,020,000.00 + 956,000.00 + 1,991,000.00; 40,000 x 2/181; 500,000 + 200,000
    D(2026, 10, 1): (3_967_000.00, 441.988950, 700_000.00, 250_000.00, 200.00, 24_495.994475),
    # 1,005,000.00 + 941,406.25 + 1,994,000.00; 40,000 x 3/181; 500,000 + 195,312.50
    D(2026, 10, 2): (3_940_406.25, 662.983425, 695_312.50, 250_000.00, 300.00, -31_160.255525),
    # 1,015,000.00 + 976,000.00 + 1,993,000.00; 40,000 x 6/181; 750,000 + 200,000
    D(2026, 10, 5): (3_984_000.00, 1_325.966851, 950_000.00, 0.00, 600.00, 48_644.233425),
}


@pytest.fixture(scope="module")
def hand():
    return _hand_fund()


def _hand_fund(extra_orders: tuple = ()):
    fund = _fund("HAND", [("R", 1.5), ("I", 0.75)], [("administration", 36_500.0)])

    def prices(day):
        eq_eu, eq_us, bond, _ = HAND_PRICES[day]
        return _prices(day, {"EQEU": (eq_eu, "EUR"), "EQUS": (eq_us, "USD"), "BDEU": (bond, "EUR")})

    opening = {
        "opening_positions": _frame("opening_positions", [("HAND", "SEC1", "EQEU", "", 20_000.0, 48.0, "EUR"),
                                                          ("HAND", "SEC1", "EQUS", "", 10_000.0, 110.0, "USD"),
                                                          ("HAND", "SEC1", "BDEU", "", 2_000_000.0, 99.0, "EUR")]),
        "opening_cash": _frame("opening_cash", [("HAND", "CASHEUR", "EUR", 500_000.00), ("HAND", "CASHUSD", "USD", 250_000.00)]),
        "opening_share_classes": _frame("opening_share_classes", [
            ("HAND", "R", "EUR", 20_000.0, 100.0, 2_000_000.00, None, 0.0, "2026-09-29"),
            ("HAND", "I", "EUR", 2_650.0, 1_000.0, 2_650_000.00, None, 0.0, "2026-09-29")]),
        "opening_prices": prices("2026-09-29"), "opening_fx_rates": _eurusd("2026-09-29", 1.25),
    }
    days = [{"date": day, "prices": prices(day), "fx": _eurusd(day, HAND_PRICES[day][3])} for day in list(HAND_PRICES)[1:]]
    days[1]["orders"] = [SUBSCRIPTION, *extra_orders]
    days[3]["ledger"] = [("HAND", "CASHEUR", "EUR", "2026-10-05", 250_000.00, "SUBSCRIPTION", "O261001HAND001", "SUBSCRIPTION HAND I INV1")]
    days[3]["next"] = "2026-10-06"
    return _strike(fund, opening, D(2026, 9, 29), days)


def test_the_opening_book_is_valued_at_the_hand_figures(hand):
    state, _ = hand[D(2026, 9, 29)]
    assert float(state.fund_balances["pool_after_dealing"].iloc[0]) == pytest.approx(4_650_000.00, abs=CENT)
    classes = state.classes.set_index("share_class")
    assert classes.at["R", "gross"] == pytest.approx(2_000_000.00, abs=CENT)  # nothing to spread: the book adds up
    assert classes.at["I", "gross"] == pytest.approx(2_650_000.00, abs=CENT)
    assert dict(zip(state.fx["currency"], state.fx["rate_to_base"])) == pytest.approx({"EUR": 1.0, "USD": 0.8})  # 1 / 1.25


@pytest.mark.parametrize("day, usd_eur", [(D(2026, 9, 30), 0.78125), (D(2026, 10, 1), 0.8), (D(2026, 10, 2), 0.78125), (D(2026, 10, 5), 0.8)])
def test_market_values_accrued_interest_and_fx(hand, day, usd_eur):
    _, result = hand[day]
    eq_eu, eq_us, bond, eurusd = HAND_PRICES[day.isoformat()]
    days_accrued = {D(2026, 9, 30): 1, D(2026, 10, 1): 2, D(2026, 10, 2): 3, D(2026, 10, 5): 6}[day]
    fx = result.fx[result.fx["rate_date"].eq(pd.Timestamp(day))].set_index("currency")["rate_to_base"]
    assert fx["USD"] == pytest.approx(usd_eur, rel=1e-12)  # 1 / EUR->USD, e.g. 1 / 1.28 = 0.78125
    assert 1 / eurusd == pytest.approx(usd_eur, rel=1e-12)
    eu, us, bd = _valued(result, "EQEU"), _valued(result, "EQUS"), _valued(result, "BDEU")
    assert eu["market_value_base"] == pytest.approx(20_000 * eq_eu, abs=CENT)
    assert us["market_value_local"] == pytest.approx(10_000 * eq_us, abs=CENT)
    assert us["market_value_base"] == pytest.approx(10_000 * eq_us * usd_eur, abs=CENT)
    assert bd["market_value_base"] == pytest.approx(2_000_000 * bond / 100, abs=CENT)
    # ACT/ACT ICMA: 2,000,000 x 4% / 2 x days / 181 (29 Sep 2026 - 29 Mar 2027)
    assert bd["accrued_interest_local"] == pytest.approx({1: 220.994475, 2: 441.988950, 3: 662.983425, 6: 1_325.966851}[days_accrued], abs=SIX)
    investments, accrued, cash, receivable, fixed_payable, pnl = HAND_SHEET[day]
    assert _line(result, day, "investments") == pytest.approx(investments, abs=CENT)
    assert _line(result, day, "accrued_interest") == pytest.approx(accrued, abs=SIX)
    assert _line(result, day, "cash_at_bank") == pytest.approx(cash, abs=CENT)
    assert _line(result, day, "subscriptions_receivable") == pytest.approx(receivable, abs=CENT)
    assert _line(result, day, "fixed_fees_payable") == pytest.approx(-fixed_payable, abs=CENT)
    assert float(result.pool_flows["pnl"].iloc[0]) == pytest.approx(pnl, abs=SIX)


@pytest.mark.parametrize("day", list(HAND_EXPECTED))
@pytest.mark.parametrize("share_class", ["R", "I"])
def test_class_split_fees_net_assets_and_nav_per_share(hand, day, share_class):
    _, result = hand[day]
    weight, fee, accrued, net_assets, nav_per_share, units = HAND_EXPECTED[day][share_class]
    row = _class(result, day, share_class)
    assert row["pool_share"] == pytest.approx(weight, abs=1e-9)
    assert row["management_fee_charge"] == pytest.approx(fee, abs=SIX)
    assert row["management_fee_accrued"] == pytest.approx(accrued, abs=SIX)
    assert row["net_assets"] == pytest.approx(net_assets, abs=CENT)
    assert row["nav_per_share"] == nav_per_share
    assert row["units_outstanding"] == units


def test_the_fixed_fee_accrues_every_calendar_day(hand):
    charges = [float(hand[d][1].pool_flows["fixed_fees"].iloc[0]) for d in HAND_EXPECTED]
    assert charges == pytest.approx([-100.00, -100.00, -100.00, -300.00], abs=CENT)  # 36,500 x 1/365 ...; Monday 36,500 x 3/365


def test_the_subscription_is_dealt_at_the_days_nav_per_share(hand):
    _, result = hand[D(2026, 10, 1)]
    dealt = result.dealing.iloc[0]
    assert dealt["shadow_nav_per_share"] == 1_003.6669  # 2,659,717.261679 / 2,650 = 1,003.666891
    assert dealt["shadow_units"] == 249.087  # 250,000.00 / 1,003.6669 = 249.086624
    assert bool(dealt["register_rounding_ok"]) and dealt["units_difference"] == pytest.approx(0.0, abs=1e-9)
    row = _class(result, D(2026, 10, 1), "I")
    assert row["net_assets_before_dealing"] == pytest.approx(2_659_717.26, abs=CENT)
    assert row["units_subscribed"] == 249.087 and row["capital_activity"] == 250_000.00


def test_orders_not_dealt_move_neither_units_nor_cash():
    # a pending subscription of class R and a cancelled redemption of class I on 1 Oct: the transfer agent has
    # not dealt them, so the NAV, the units and the pool are those of the dealt subscription alone
    pending = ("O261001HAND002", "HAND", "R", "INV2", "SUB", "2026-10-01", "2026-10-05", "EUR", 100_000.00, 996.387, 100.3626, "PENDING")
    cancelled = ("O261001HAND003", "HAND", "I", "INV3", "RED", "2026-10-01", "2026-10-05", "EUR", 10_036.67, 10.0, 1_003.6669, "CANCELLED")
    days = _hand_fund((pending, cancelled))
    for day, expected in HAND_EXPECTED.items():
        for share_class, (_, _, _, net_assets, nps, units) in expected.items():
            row = _class(days[day][1], day, share_class)
            assert (row["net_assets"], row["nav_per_share"], row["units_outstanding"]) == (pytest.approx(net_assets, abs=CENT), nps, units), (day, share_class)
    assert list(days[D(2026, 10, 1)][1].dealing["order_id"]) == ["O261001HAND001"]


def test_the_balance_sheet_adds_up_to_the_class_net_assets(hand):
    for day in HAND_EXPECTED:
        _, result = hand[day]
        sheet = result.balance_sheet[result.balance_sheet["nav_date"].eq(pd.Timestamp(day))]["amount_base"].sum()
        classes = sum(HAND_EXPECTED[day][c][3] for c in ("R", "I"))
        assert sheet == pytest.approx(classes, abs=2 * CENT)  # e.g. 5 Oct: 4,935,325.97 - 600.00 - 839.47 = 4,933,886.50


# =============================================================================================
# 2. HANDA: one ACT/360 bond around its coupon (income entitlement, rules (a) and (b)).
#
# Fund: base EUR, one class A (10,000 units, no fee), no fixed fee. BD360: 4% semi-annual ACT/360,
# coupon date Thu 15 Oct 2026 (ex-date = record date = pay date = 15 Oct, no ex-coupon period),
# price 99.80 every day; cash 100,000.00 EUR. The coupon period 15 Apr - 15 Oct 2026 has 183 days
# (Apr 15 + May 31 + Jun 30 + Jul 31 + Aug 31 + Sep 30 + Oct 15), the next 15 Oct 2026 - 15 Apr
# 2027 has 182.
#
# Rule (b): the coupon of an ACT/360 bond = nominal x rate x actual days / 360
#   1,000,000 x 4% x 183 / 360 = 20,333.33 (not 1,000,000 x 4% / 2 = 20,000.00); per 100 nominal
#   4 x 183 / 360 = 2.033333 (what the paying agent announces, the feed's gross rate).
#   ACT/365F: 1,000,000 x 4% x 183 / 365 = 20,054.79.
#
# Opening Tue 13 Oct: 1,000,000 x 99.80 / 100 = 998,000.00; accrued 1,000,000 x 4% x 181 / 360 =
#   20,111.111111; cash 100,000.00; net assets 1,118,111.111111 (the book's own figure, declared
#   unrounded so the opening spreads nothing); NAV 1,118,111.11 / 10,000 = 111.8111.
# Wed 14 Oct: accrued 1,000,000 x 4% x 182 / 360 = 20,222.222222 -> net assets 1,118,222.22, NAV 111.8222.
#
# Held through the coupon ("hold"): Thu 15 Oct: accrued 0 (coupon date), coupon 20,333.33 received
#   (ledger); the day's income 20,333.33 - 20,222.222222 = 111.107778 (one day: 40,000 / 360 = 111.11);
#   net assets 998,000 + 100,000 + 20,333.33 = 1,118,333.33, NAV 111.8333.
#   Fri 16 Oct: accrued 40,000 x 1/360 = 111.111111 -> 1,118,444.44 (111.8444);
#   Mon 19 Oct: accrued 40,000 x 4/360 = 444.444444 -> 1,118,777.774444 -> 1,118,777.77 (111.8778).
#
# Rule (a), income entitlement on the SETTLED holding at the record date. A sale of 400,000 nominal at
# 99.80 (gross 400,000 x 99.80 / 100 = 399,200.00), its accrued interest the books' accrued on the sold
# nominal on the trade date (so the sale itself moves no NAV):
#
# "ex": traded ON the ex-date Thu 15 Oct (accrued 0.00), settling Mon 19 Oct (after the record date).
#   Holder of record of the settled 1,000,000, the buyer bought ex: the fund is entitled to the full
#   coupon 20,333.33, no claim. 15 Oct: 600,000 x 99.80 / 100 = 598,800.00 + sale receivable 399,200.00
#   + cash 120,333.33 = 1,118,333.33 (111.8333). 16 Oct: + 600,000 x 4% x 1/360 = 66.666667 ->
#   1,118,400.00 (111.8400). 19 Oct: accrued 600,000 x 4% x 4/360 = 266.666667, the sale settled (cash
#   519,533.33) -> 1,118,600.00 (111.8600).
#
# "cum": traded Wed 14 Oct, BEFORE the ex-date (accrued 400,000 x 4% x 182/360 = 8,088.888889 ->
#   8,088.89, net 407,288.89), settling Fri 16 Oct (after the record date 15 Oct).
#   14 Oct: 598,800.00 + 600,000 x 4% x 182/360 = 12,133.333333 + receivable 407,288.89 + cash
#   100,000.00 = 1,118,222.223333 -> 1,118,222.22 (111.8222).
#   15 Oct: the fund is holder of record of the settled 1,000,000: it receives the full coupon
#   1,000,000 x 4% x 183/360 = 20,333.33 and owes the buyer a market claim on 400,000: 400,000 x 4% x
#   183/360 = 8,133.33; income in the NAV 20,333.33 - 8,133.33 = 12,200.00 (= 600,000 x 4% x 183/360).
#   Net assets 598,800.00 + receivable 407,288.89 + cash 120,333.33 - claim 8,133.33 = 1,118,288.89
#   (111.8289); the day's result 1,118,288.89 - 1,118,222.223333 = 66.67 = 600,000 x 4% x 1/360.
#   16 Oct: the sale settles (+407,288.89) and the claim is paid (-8,133.33): cash 100,000.00 +
#   20,333.33 + 407,288.89 - 8,133.33 = 519,488.89; accrued 66.666667 -> 1,118,355.556667 -> 1,118,355.56
#   (111.8356). 19 Oct: accrued 266.666667 -> 1,118,555.56 (111.8556).

COUPON_EVENT = ("CI261015BD360", "INTR", "BD360", "", "2026-09-15", "2026-10-15", "2026-10-15", "2026-10-15", "EUR",
                4.0 * 183 / 360, None, None, "CONF")  # gross rate per 100 nominal: 4 x 183 / 360 = 2.033333
SALES = {
    "cum": ("T261014HANDA001", "HANDA", "SEC1", "BD360", "", "SELL", 400_000.0, 99.80, "EUR", 399_200.00, 8_088.89, 0.0, 0.0,
            407_288.89, "2026-10-14", "2026-10-16", "BRK"),
    "ex": ("T261015HANDA001", "HANDA", "SEC1", "BD360", "", "SELL", 400_000.0, 99.80, "EUR", 399_200.00, 0.00, 0.0, 0.0,
           399_200.00, "2026-10-15", "2026-10-19", "BRK"),
}
HANDA_NAV = {  # net assets (NAV per share = net assets / 10,000 units)
    "hold": {D(2026, 10, 14): 1_118_222.22, D(2026, 10, 15): 1_118_333.33, D(2026, 10, 16): 1_118_444.44, D(2026, 10, 19): 1_118_777.77},
    "ex": {D(2026, 10, 14): 1_118_222.22, D(2026, 10, 15): 1_118_333.33, D(2026, 10, 16): 1_118_400.00, D(2026, 10, 19): 1_118_600.00},
    "cum": {D(2026, 10, 14): 1_118_222.22, D(2026, 10, 15): 1_118_288.89, D(2026, 10, 16): 1_118_355.56, D(2026, 10, 19): 1_118_555.56},
}
HANDA_NPS = {
    "hold": {D(2026, 10, 14): 111.8222, D(2026, 10, 15): 111.8333, D(2026, 10, 16): 111.8444, D(2026, 10, 19): 111.8778},
    "ex": {D(2026, 10, 14): 111.8222, D(2026, 10, 15): 111.8333, D(2026, 10, 16): 111.8400, D(2026, 10, 19): 111.8600},
    "cum": {D(2026, 10, 14): 111.8222, D(2026, 10, 15): 111.8289, D(2026, 10, 16): 111.8356, D(2026, 10, 19): 111.8556},
}


def _coupon_fund(variant: str, with_event: bool = True) -> dict:
    fund = _fund("HANDA", [("A", 0.0)])
    opening = {
        "opening_positions": _frame("opening_positions", [("HANDA", "SEC1", "BD360", "", 1_000_000.0, 99.0, "EUR")]),
        "opening_cash": _frame("opening_cash", [("HANDA", "CASHEUR", "EUR", 100_000.00)]),
        "opening_share_classes": _frame("opening_share_classes", [
            ("HANDA", "A", "EUR", 10_000.0, 111.8111, 998_000.00 + 1_000_000 * 0.04 * 181 / 360 + 100_000.00, None, 0.0, "2026-10-13")]),
        "opening_prices": _prices("2026-10-13", {"BD360": (99.80, "EUR")}), "opening_fx_rates": _eurusd("2026-10-13", 1.25),
    }
    sale = SALES.get(variant)
    days = []
    for day in ("2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19"):
        ledger = []
        if day == "2026-10-15" and with_event:  # the coupon paid to the holder of record of 1,000,000
            ledger.append(("HANDA", "CASHEUR", "EUR", day, 20_333.33, "COUPON", COUPON_EVENT[0], "COUPON BD360 NOMINAL 1,000,000"))
        if sale and day == sale[15]:
            ledger.append(("HANDA", "CASHEUR", "EUR", day, sale[13], "TRADE_SETTLEMENT", sale[0], "SALE 400,000 BD360"))
        if variant == "cum" and day == "2026-10-16":  # the market claim, settled with the sale
            ledger.append(("HANDA", "CASHEUR", "EUR", day, -8_133.33, "COUPON", "MC" + COUPON_EVENT[0], "MARKET CLAIM BD360 NOMINAL 400,000"))
        days.append({"date": day, "prices": _prices(day, {"BD360": (99.80, "EUR")}), "fx": _eurusd(day, 1.25),
                     "events": [COUPON_EVENT] if with_event else [], "trades": [sale] if sale and day == sale[14] else [],
                     "ledger": ledger, "next": "2026-10-20"})
    return _strike(fund, opening, D(2026, 10, 13), days)


@pytest.fixture(scope="module")
def coupon():
    return {variant: _coupon_fund(variant) for variant in ("hold", "ex", "cum")}


def _entitlement(result) -> pd.DataFrame:
    return result.income[result.income["event_id"].eq(COUPON_EVENT[0])]


def test_act360_accrued_interest_and_coupon_in_the_books(coupon):
    days = coupon["hold"]
    bond = _valued(days[D(2026, 10, 14)][1], "BD360")
    assert bond["accrued_interest_local"] == pytest.approx(20_222.222222, abs=SIX)  # 1,000,000 x 4% x 182 / 360
    _, result = days[D(2026, 10, 15)]
    assert _valued(result, "BD360")["accrued_interest_local"] == 0.0  # the coupon date
    income = _entitlement(result).iloc[0]
    assert income["holding"] == 1_000_000.0
    assert income["gross_amount"] == pytest.approx(20_333.33, abs=CENT)  # 1,000,000 x 4% x 183 / 360
    assert float(result.pool_flows["income"].iloc[0]) == pytest.approx(111.107778, abs=SIX)  # 20,333.33 - 20,222.222222: one day
    assert _valued(days[D(2026, 10, 16)][1], "BD360")["accrued_interest_local"] == pytest.approx(111.111111, abs=SIX)  # x 1/360
    assert _valued(days[D(2026, 10, 19)][1], "BD360")["accrued_interest_local"] == pytest.approx(444.444444, abs=SIX)  # x 4/360


@pytest.mark.parametrize("variant", ["hold", "ex"])
def test_coupon_fund_nav_held_or_sold_on_the_ex_date(coupon, variant):
    for day, net_assets in HANDA_NAV[variant].items():
        row = _class(coupon[variant][day][1], day, "A")
        assert row["net_assets"] == pytest.approx(net_assets, abs=CENT), day
        assert row["nav_per_share"] == HANDA_NPS[variant][day], day


def test_a_sale_traded_on_the_ex_date_leaves_the_full_coupon_and_no_claim(coupon):
    _, result = coupon["ex"][D(2026, 10, 15)]
    income = _entitlement(result)
    assert list(income["holding"]) == [1_000_000.0]  # the settled holding at the record date; the buyer bought ex
    assert float(income["gross_amount"].sum()) == pytest.approx(20_333.33, abs=CENT)
    assert float(income["net_amount"].sum()) == pytest.approx(20_333.33, abs=CENT)


def test_a_cum_sale_settling_after_the_record_date_before_and_after_the_coupon(coupon):
    """What the books get right today around the cum sale: the trade date and the days after the claim is paid."""
    for day in (D(2026, 10, 14), D(2026, 10, 16), D(2026, 10, 19)):
        row = _class(coupon["cum"][day][1], day, "A")
        assert row["net_assets"] == pytest.approx(HANDA_NAV["cum"][day], abs=CENT), day
        assert row["nav_per_share"] == HANDA_NPS["cum"][day], day


def test_a_cum_sale_settling_after_the_record_date_is_entitled_on_the_settled_nominal(coupon):
    _, result = coupon["cum"][D(2026, 10, 15)]
    income = _entitlement(result)
    assert float(income["holding"].max()) == 1_000_000.0  # holder of record of the settled 1,000,000
    assert float(income["gross_amount"].max()) == pytest.approx(20_333.33, abs=CENT)  # 1,000,000 x 4% x 183 / 360


def test_a_cum_sale_settling_after_the_record_date_owes_the_buyer_a_market_claim(coupon):
    day = D(2026, 10, 15)
    _, result = coupon["cum"][day]
    row = _class(result, day, "A")
    # 598,800.00 + 407,288.89 + 120,333.33 - 8,133.33: income 20,333.33 - 8,133.33 = 12,200.00 (600,000 x 4% x 183/360)
    assert row["net_assets"] == pytest.approx(1_118_288.89, abs=CENT)
    assert row["nav_per_share"] == 111.8289
    assert float(result.pool_flows["pnl"].iloc[0]) == pytest.approx(66.67, abs=CENT)  # 600,000 x 4% x 1 / 360


@pytest.mark.parametrize("day_count, amount", [("ACT/360", 20_333.33),  # 1,000,000 x 4% x 183 / 360
                                               ("ACT/365F", 20_054.79)])  # 1,000,000 x 4% x 183 / 365
def test_the_coupon_of_an_act360_or_act365f_bond_counts_the_days_of_its_period(day_count, amount):
    securities = SECURITIES.assign(day_count=np.where(SECURITIES["security_id"].eq("BD360"), day_count, SECURITIES["day_count"]))
    held = pd.DataFrame({"nav_date": pd.to_datetime(["2026-10-14", "2026-10-15"]), "security_id": "BD360", "quantity": 1_000_000.0})
    missing = coupons_without_event(held, securities, _frame("corporate_actions", []), [D(2026, 10, 14), D(2026, 10, 15)])
    assert list(missing["coupon_date"]) == [pd.Timestamp("2026-10-15")]
    assert float(missing["coupon_amount"].iloc[0]) == pytest.approx(amount, abs=CENT)


# =============================================================================================
# 3. HANDC: the month-end fee cut-off (rule (c)). Cash only (10,000,000.00 EUR), day basis 360,
# launched Wed 28 Oct 2026; NAV dates Thu 29 Oct, Fri 30 Oct (October's last), Mon 2 Nov, Tue 3 Nov.
# October's fees are paid on 2 Nov (ledger F2611HANDC<class>), each equal to October's accrual.
#
# Classes: R 40,000 units x 100.00 = 4,000,000.00, fee 1.80% p.a. (1.8% / 360 = 0.00005 a day);
#          I  6,000 units x 1,000.00 = 6,000,000.00, fee 0.72% p.a. (0.72% / 360 = 0.00002 a day).
# Nothing moves but the fees: each class's gross stays 4,000,000.00 / 6,000,000.00 until a fee is paid.
#
# 29 Oct (1 day): R 4,000,000 x 0.00005 = 200.00 -> 3,999,800.00 (99.9950);
#                 I 6,000,000 x 0.00002 = 120.00 -> 5,999,880.00 (999.9800).
# 30 Oct, October's last NAV: accrues 30 AND 31 Oct (2 days) on 29 Oct's net assets:
#   R 3,999,800.00 x 0.00005 x 2 = 399.98; accrued 599.98 -> 3,999,400.02 / 40,000 = 99.9850005 -> 99.9850
#   I 5,999,880.00 x 0.00002 x 2 = 239.9952; accrued 359.9952 -> 5,999,640.0048 -> 5,999,640.00 / 6,000 -> 999.9400
#   October's fee: R 200.00 + 399.98 = 599.98; I 120.00 + 239.9952 = 359.9952 -> 360.00 paid (cents).
#   (the books today: 1 day, R 199.99 -> 3,999,600.01 (99.9900); I 119.9976 -> 5,999,760.00 (999.9600))
# 2 Nov: 1 and 2 Nov (2 days) on 30 Oct's net assets; October's fee paid:
#   R 3,999,400.02 x 0.00005 x 2 = 399.940002; accrued 599.98 - 599.98 + 399.940002 = 399.940002 (November's only);
#     gross 4,000,000 - 599.98 = 3,999,400.02; net 3,999,000.079998 -> 3,999,000.08 (99.9750)
#   I 5,999,640.0048 x 0.00002 x 2 = 239.985600; accrued 359.9952 - 360.00 + 239.9856 = 239.980800;
#     gross 6,000,000 - 360.00 = 5,999,640.00; net 5,999,400.0192 -> 5,999,400.02 (999.9000)
# 3 Nov (1 day): R 3,999,000.079998 x 0.00005 = 199.950004 -> 3,998,800.13 (99.9700);
#                I 5,999,400.0192 x 0.00002 = 119.988000 -> 5,999,280.03 (999.8800).
#
# The same cut-off for a fixed fee (variant "fixed": one class A, 100,000 units x 100.00, no
# management fee, an audit fee of 36,000.00 a year = 36,000 / 360 = 100.00 a day):
# 29 Oct 100.00 -> 9,999,900.00 (99.9990); 30 Oct 2 days = 200.00, payable 300.00 -> 9,999,700.00
# (99.9970; the books today 99.9980); 2 Nov October's 300.00 paid, 2 days = 200.00 accrued, payable
# 200.00 -> 9,999,500.00 (99.9950).


def _cut_off_fund(variant: str) -> dict:
    if variant == "fixed":
        fund = _fund("HANDC", [("A", 0.0)], [("audit", 36_000.0)], day_basis=360)
        classes = [("HANDC", "A", "EUR", 100_000.0, 100.0, 10_000_000.00, None, 0.0, "2026-10-28")]
        paid = [("HANDC", "CASHEUR", "EUR", "2026-11-02", -300.00, "FEE_PAYMENT", "F2611HANDCFX", "AUDIT AND ADMINISTRATION FEES")]
    else:
        fund = _fund("HANDC", [("R", 1.8), ("I", 0.72)], day_basis=360)
        classes = [("HANDC", "R", "EUR", 40_000.0, 100.0, 4_000_000.00, None, 0.0, "2026-10-28"),
                   ("HANDC", "I", "EUR", 6_000.0, 1_000.0, 6_000_000.00, None, 0.0, "2026-10-28")]
        paid = [("HANDC", "CASHEUR", "EUR", "2026-11-02", -599.98, "FEE_PAYMENT", "F2611HANDCR", "MANAGEMENT FEE CLASS R"),
                ("HANDC", "CASHEUR", "EUR", "2026-11-02", -360.00, "FEE_PAYMENT", "F2611HANDCI", "MANAGEMENT FEE CLASS I")]
    opening = {"opening_positions": _frame("opening_positions", []),
               "opening_cash": _frame("opening_cash", [("HANDC", "CASHEUR", "EUR", 10_000_000.00)]),
               "opening_share_classes": _frame("opening_share_classes", classes),
               "opening_prices": _frame("prices", []), "opening_fx_rates": _eurusd("2026-10-28", 1.25)}
    days = [{"date": day, "fx": _eurusd(day, 1.25), "ledger": paid if day == "2026-11-02" else [], "next": "2026-11-04"}
            for day in ("2026-10-29", "2026-10-30", "2026-11-02", "2026-11-03")]
    return _strike(fund, opening, D(2026, 10, 28), days)


@pytest.fixture(scope="module")
def cut_off():
    return {variant: _cut_off_fund(variant) for variant in ("management", "fixed")}


def _fee_row(result, share_class: str) -> pd.Series:
    rows = result.accruals
    return rows[rows["accrual"].eq("management fee") & rows["share_class"].eq(share_class)].iloc[0]


def test_cut_off_fund_figures_the_rule_does_not_change(cut_off):
    days = cut_off["management"]
    day = D(2026, 10, 29)
    for share_class, fee, net_assets, nav_per_share in (("R", 200.00, 3_999_800.00, 99.9950), ("I", 120.00, 5_999_880.00, 999.9800)):
        row = _class(days[day][1], day, share_class)
        assert row["management_fee_charge"] == pytest.approx(fee, abs=CENT)
        assert row["net_assets"] == pytest.approx(net_assets, abs=CENT)
        assert row["nav_per_share"] == nav_per_share
    # after the cut-off the NAV per share is the same either way at 4 decimals (the net assets are not: see below)
    for day, expected in ((D(2026, 11, 2), {"R": 99.9750, "I": 999.9000}), (D(2026, 11, 3), {"R": 99.9700, "I": 999.8800})):
        for share_class, nav_per_share in expected.items():
            assert _class(days[day][1], day, share_class)["nav_per_share"] == nav_per_share, (day, share_class)
    fixed = cut_off["fixed"]
    assert _class(fixed[D(2026, 10, 29)][1], D(2026, 10, 29), "A")["nav_per_share"] == 99.9990  # 9,999,900.00 / 100,000
    assert _class(fixed[D(2026, 11, 2)][1], D(2026, 11, 2), "A")["nav_per_share"] == 99.9950  # 9,999,500.00 / 100,000


def test_the_last_nav_of_a_month_accrues_the_fee_to_the_month_end(cut_off):
    day = D(2026, 10, 30)
    _, result = cut_off["management"][day]
    for share_class, fee, accrued, net_assets, nav_per_share in (("R", 399.98, 599.98, 3_999_400.02, 99.9850),
                                                                  ("I", 239.9952, 359.9952, 5_999_640.00, 999.9400)):
        row = _class(result, day, share_class)
        assert row["management_fee_charge"] == pytest.approx(fee, abs=SIX)  # 2 days: 30 and 31 Oct
        assert row["management_fee_accrued"] == pytest.approx(accrued, abs=SIX)  # October's fee
        assert row["net_assets"] == pytest.approx(net_assets, abs=CENT)
        assert row["nav_per_share"] == nav_per_share
    # October's fee = the charges of 29 and 30 Oct, what is paid on 2 Nov: R 200.00 + 399.98 = 599.98, I 120.00 + 239.9952
    # = 359.9952 (paid 360.00 in cents)
    october = {c: sum(_class(cut_off["management"][d][1], d, c)["management_fee_charge"] for d in (D(2026, 10, 29), day)) for c in "RI"}
    assert october == pytest.approx({"R": 599.98, "I": 359.9952}, abs=SIX)


def test_the_october_fee_paid_leaves_only_novembers_accrual(cut_off):
    day = D(2026, 11, 2)
    _, result = cut_off["management"][day]
    for share_class, paid, accrued, closing, net_assets in (("R", 599.98, 399.940002, 399.940002, 3_999_000.08),
                                                            ("I", 360.00, 239.985600, 239.980800, 5_999_400.02)):
        fee = _fee_row(result, share_class)
        assert fee["paid"] == pytest.approx(paid, abs=1e-9)
        assert fee["accrued"] == pytest.approx(accrued, abs=SIX)  # 1 and 2 Nov on 30 Oct's net assets
        assert fee["closing"] == pytest.approx(closing, abs=SIX)  # November's accrual only (I: less 0.0048 paid over)
        assert _class(result, day, share_class)["net_assets"] == pytest.approx(net_assets, abs=CENT)


def test_the_last_nav_of_a_month_accrues_the_fixed_fee_to_the_month_end(cut_off):
    day = D(2026, 10, 30)
    _, result = cut_off["fixed"][day]
    assert _line(result, day, "fixed_fees_payable") == pytest.approx(-300.00, abs=CENT)  # 29, 30, 31 Oct x 100.00
    row = _class(result, day, "A")
    assert row["net_assets"] == pytest.approx(9_999_700.00, abs=CENT)
    assert row["nav_per_share"] == 99.9970
