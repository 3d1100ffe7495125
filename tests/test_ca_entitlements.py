"""The entitlements of corporate actions worked by hand, one event type at a time: every expected
figure is written out in a comment as the arithmetic a corporate-actions clerk does, and the test
compares with that literal, never with a figure the code under test computed.

Common terms: ex-date 10 March 2026, record date 11 March, pay date 25 March; the fund's treaty
rate of withholding tax on US dividends is 15%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bo_lib.books.entitlements import ENTITLEMENT_COLUMNS, booking_movements, entitlements

T = pd.Timestamp
EX, RECORD, PAY = T("2026-03-10"), T("2026-03-11"), T("2026-03-25")
NAN = np.nan
CENT = 0.005
TREATY = {"US": 15.0, "GB": 0.0}

SECURITIES = pd.DataFrame([
    {"security_id": "USEQ", "country": "US", "ex_coupon_days": 0, "price_multiplier": 1.0},
    {"security_id": "TGT", "country": "US", "ex_coupon_days": 0, "price_multiplier": 1.0},
    {"security_id": "ACQ", "country": "US", "ex_coupon_days": 0, "price_multiplier": 1.0},
    {"security_id": "PARENT", "country": "US", "ex_coupon_days": 0, "price_multiplier": 1.0},
    {"security_id": "SPIN", "country": "US", "ex_coupon_days": 0, "price_multiplier": 1.0},
    {"security_id": "USBOND", "country": "US", "ex_coupon_days": 0, "price_multiplier": 0.01},
    {"security_id": "GILT", "country": "GB", "ex_coupon_days": 7, "price_multiplier": 0.01},
])
PRICES = pd.DataFrame({"security_id": ["USEQ", "ACQ", "PARENT", "SPIN", "USBOND"], "price": [20.00, 50.00, 45.00, 25.00, 99.50]})


def event(event_id: str, event_type: str, security_id: str, mandatory_voluntary: str = "MAND", status: str = "CONF") -> dict:
    return {"event_id": event_id, "event_type": event_type, "mandatory_voluntary": mandatory_voluntary, "security_id": security_id,
            "isin": "", "currency": "USD", "ex_date": EX, "record_date": RECORD, "pay_date": PAY, "event_status": status}


def option(event_id: str, number: str = "001", option_type: str = "CASH", default: bool = True, **terms) -> dict:
    row = {"event_id": event_id, "option_number": number, "option_type": option_type, "is_default": default, "currency": "USD",
           "gross_rate": NAN, "ratio_new": NAN, "ratio_old": NAN, "new_security_id": None, "price": NAN, "cash_in_lieu_price": NAN,
           "cost_allocation_pct": NAN}
    return {**row, **terms}


def holding(security_id: str, quantity: float, cost: float, account: str = "A1") -> dict:
    return {"fund": "F1", "account": account, "security_id": security_id, "quantity": quantity, "cost": cost}


def trade(trade_id: str, security_id: str, side: str, quantity: float, counterparty: str = "BRK1") -> dict:
    return {"trade_id": trade_id, "fund": "F1", "account": "A1", "security_id": security_id, "side": side, "quantity": quantity,
            "counterparty": counterparty}


def elect(event_id: str, number: str, quantity: float, account: str = "A1") -> dict:
    return {"fund": "F1", "account": account, "event_id": event_id, "option_number": number, "quantity": quantity}


def run(events, options, holdings, pending=(), elections=(), prices=PRICES) -> pd.DataFrame:
    pending = pd.DataFrame(list(pending), columns=["trade_id", "fund", "account", "security_id", "side", "quantity", "counterparty"])
    elections = pd.DataFrame(list(elections), columns=["fund", "account", "event_id", "option_number", "quantity"])
    out = entitlements(pd.DataFrame(events), pd.DataFrame(options), pd.DataFrame(holdings), pending, elections, SECURITIES, prices, TREATY)
    assert list(out.columns) == ENTITLEMENT_COLUMNS
    return out


def one(out: pd.DataFrame, **where) -> pd.Series:
    rows = out
    for column, value in where.items():
        rows = rows[rows[column].eq(value)]
    assert len(rows) == 1, f"{len(rows)} rows for {where}:\n{out}"
    return rows.iloc[0]


def check(row: pd.Series, **expected):
    for column, value in expected.items():
        if isinstance(value, float):
            assert row[column] == pytest.approx(value, abs=1e-9), f"{column}: {row[column]} != {value}"
        else:
            assert row[column] == value, f"{column}: {row[column]!r} != {value!r}"


NOTHING = {"new_quantity": 0.0, "fraction": 0.0, "cash_in_lieu": 0.0, "subscription_cost": 0.0, "old_quantity_removed": 0.0,
           "cost_removed": 0.0, "cost_to_new": 0.0}


# ---------------------------------------------------------------------------------------------
# cash dividends


def test_cash_dividend_net_of_treaty_withholding_with_market_claims():
    out = run([event("DV1", "DVCA", "USEQ")], [option("DV1", gross_rate=0.50)], [holding("USEQ", 1_000, 20_000.00)],
              pending=[trade("T1", "USEQ", "BUY", 200), trade("T2", "USEQ", "SELL", 100, counterparty="BRK2")])
    assert len(out) == 3
    # the holding of record: 1,000 x 0.50 = 500.00 gross; 15% of 500.00 = 75.00 tax; 500.00 - 75.00 = 425.00 net
    check(one(out, kind="holding"), eligible_quantity=1_000.0, cash_gross=500.00, withholding_pct=15.0, withholding_tax=75.00,
          cash_net=425.00, option_type="CASH", trade_id="", pay_date=PAY, **NOTHING)
    # a cum buy of 200 settling after the record date: claimed from BRK1: 200 x 0.50 = 100.00; 15% = 15.00; net 85.00
    check(one(out, trade_id="T1"), kind="market claim", counterparty="BRK1", eligible_quantity=200.0, cash_gross=100.00,
          withholding_tax=15.00, cash_net=85.00)
    # a cum sale of 100 not yet delivered: we are paid as holder of record and owe BRK2: -(100 x 0.50) = -50.00; -7.50; -42.50
    check(one(out, trade_id="T2"), counterparty="BRK2", eligible_quantity=-100.0, cash_gross=-50.00, withholding_tax=-7.50, cash_net=-42.50)

    book = booking_movements(out)
    held = book[book["kind"].eq("holding")]
    # income of 425.00 receivable on the ex-date, received in cash on the pay date
    check(one(held, movement="income receivable"), on=EX, income_receivable=425.00, cash=0.0, currency="USD")
    check(one(held, movement="income received"), on=PAY, income_receivable=-425.00, cash=425.00)
    assert set(book["movement"]) == {"income receivable", "income received"}  # no position moves on a cash dividend


def test_dividend_option_part_elected_into_stock_the_rest_defaulting_to_cash():
    # 1,010 held; 60% of them (606) elected into stock at 1 new per 25, the rest take the default cash
    out = run([event("DO1", "DVOP", "USEQ", "CHOS")],
              [option("DO1", "001", "CASH", True, gross_rate=0.50),
               option("DO1", "002", "SECU", False, ratio_new=1, ratio_old=25, new_security_id="USEQ", price=12.50)],
              [holding("USEQ", 1_010, 20_200.00)], elections=[elect("DO1", "002", 606)])
    # stock: 606 / 25 = 24.24 -> 24 new shares, fraction 0.24 paid at the given price: 0.24 x 12.50 = 3.00; no tax, no cost
    check(one(out, option_number="002"), eligible_quantity=606.0, new_security_id="USEQ", new_quantity=24.0, fraction=0.24,
          cash_in_lieu=3.00, cash_gross=0.0, withholding_tax=0.0, cost_to_new=0.0, old_quantity_removed=0.0)
    # cash: 1,010 - 606 = 404 units x 0.50 = 202.00 gross; 15% = 30.30 tax; 202.00 - 30.30 = 171.70 net
    check(one(out, option_number="001"), eligible_quantity=404.0, cash_gross=202.00, withholding_tax=30.30, cash_net=171.70,
          new_quantity=0.0, new_security_id="")


def test_dividend_reinvestment_buys_whole_units_with_the_net_dividend():
    out = run([event("DR1", "DRIP", "USEQ", "CHOS")],
              [option("DR1", "001", "CASH", True, gross_rate=0.80),
               option("DR1", "002", "SECU", False, gross_rate=0.80, new_security_id="USEQ", price=25.00)],
              [holding("USEQ", 1_000, 20_000.00), holding("USEQ", 500, 10_000.00, account="A2")], elections=[elect("DR1", "002", 1_000)])
    # reinvested: 1,000 x 0.80 = 800.00 gross; 15% = 120.00; net 680.00; 680.00 / 25.00 = 27.2 -> 27 units, fraction 0.2;
    # paid 27 x 25.00 = 675.00, their cost; 680.00 - 675.00 = 5.00 stays as cash
    check(one(out, account="A1"), option_number="002", cash_gross=800.00, withholding_tax=120.00, cash_net=680.00, new_quantity=27.0,
          fraction=0.2, subscription_cost=675.00, cost_to_new=675.00, cash_in_lieu=0.0)
    # not elected: 500 x 0.80 = 400.00 gross; 15% = 60.00; net 340.00
    check(one(out, account="A2"), option_number="001", cash_gross=400.00, withholding_tax=60.00, cash_net=340.00, new_quantity=0.0)

    book = booking_movements(out)
    a1 = book[book["account"].eq("A1")]
    check(one(a1, movement="income receivable"), on=EX, income_receivable=680.00)
    check(one(a1, movement="income received"), on=PAY, cash=680.00, income_receivable=-680.00)
    check(one(a1, movement="cash"), on=PAY, cash=-675.00)  # the reinvestment paid: 0 + 0 - 675.00
    check(one(a1, movement="units credited"), on=PAY, security_id="USEQ", quantity=27.0, cost=675.00)


# ---------------------------------------------------------------------------------------------
# splits, bonus issues


def test_forward_split_replaces_the_holding_and_its_claim():
    out = run([event("SP1", "SPLF", "USEQ")], [option("SP1", "001", "SECU", ratio_new=2, ratio_old=1, new_security_id="USEQ")],
              [holding("USEQ", 1_000, 40_000.00)], pending=[trade("T1", "USEQ", "BUY", 200)])
    # 1,000 x 2 / 1 = 2,000 new for the 1,000 old, which leave with their cost 40,000.00, all carried to the new
    check(one(out, kind="holding"), new_quantity=2_000.0, fraction=0.0, cash_in_lieu=0.0, old_quantity_removed=1_000.0,
          cost_removed=40_000.00, cost_to_new=40_000.00, cash_gross=0.0)
    # the cum buy of 200: 200 x 2 = 400 new claimed for the 200 (no cost given with the trade: 0)
    check(one(out, kind="market claim"), eligible_quantity=200.0, new_quantity=400.0, old_quantity_removed=200.0, cost_to_new=0.0)

    book = booking_movements(out)
    held = book[book["kind"].eq("holding")]
    # on the ex-date (trade basis): -1,000 units and -40,000.00 cost, +2,000 units and +40,000.00 cost: +1,000 units, cost unchanged
    check(one(held, movement="units given up"), on=EX, security_id="USEQ", quantity=-1_000.0, cost=-40_000.00)
    check(one(held, movement="units credited"), on=EX, security_id="USEQ", quantity=2_000.0, cost=40_000.00)


def test_reverse_split_pays_the_fraction_in_cash_and_realises_its_cost():
    out = run([event("SR1", "SPLR", "USEQ")],
              [option("SR1", "001", "SECU", ratio_new=1, ratio_old=10, new_security_id="USEQ", cash_in_lieu_price=105.00)],
              [holding("USEQ", 1_005, 10_050.00)])
    # 1,005 x 1 / 10 = 100.5 -> 100 new shares and a fraction of 0.5; cash in lieu 0.5 x 105.00 = 52.50;
    # cost 10,050.00 over the 100.5 entitled: the whole 100 carry 10,050.00 x 100 / 100.5 = 10,000.00, the fraction's 50.00 is realised
    check(one(out), new_quantity=100.0, fraction=0.5, cash_in_lieu=52.50, old_quantity_removed=1_005.0, cost_removed=10_050.00,
          cost_to_new=10_000.00)
    book = booking_movements(out)
    check(one(book, movement="cash"), on=PAY, cash=52.50)


def test_bonus_issue_adds_one_per_ten_at_no_cost_fraction_at_the_market_price():
    out = run([event("BO1", "BONU", "USEQ")], [option("BO1", "001", "SECU", ratio_new=1, ratio_old=10, new_security_id="USEQ")],
              [holding("USEQ", 1_005, 20_100.00)])
    # 1,005 x 1 / 10 = 100.5 -> 100 bonus shares added, fraction 0.5; no price on the option: USEQ's 20.00 -> 0.5 x 20.00 = 10.00
    check(one(out), new_quantity=100.0, fraction=0.5, cash_in_lieu=10.00, old_quantity_removed=0.0, cost_removed=0.0, cost_to_new=0.0)
    book = booking_movements(out)
    check(one(book, movement="units credited"), on=EX, quantity=100.0, cost=0.0)
    assert not (book["movement"] == "units given up").any()


# ---------------------------------------------------------------------------------------------
# rights, mergers, spin-offs, tenders


def test_rights_exercise_sell_and_lapse():
    out = run([event("RH1", "RHTS", "USEQ", "CHOS")],
              [option("RH1", "001", "EXER", False, ratio_new=1, ratio_old=4, new_security_id="USEQ", price=8.00),
               option("RH1", "002", "SLLE", False, gross_rate=0.35),
               option("RH1", "003", "LAPS", True)],
              [holding("USEQ", 1_000, 10_000.00)], elections=[elect("RH1", "001", 610), elect("RH1", "002", 200)])
    # exercise: 610 / 4 = 152.5 -> 152 new subscribed at 8.00 = 1,216.00 paid, their cost; the 0.5 is not subscribed, no cash for it
    check(one(out, option_type="EXER"), eligible_quantity=610.0, new_quantity=152.0, fraction=0.5, cash_in_lieu=0.0,
          subscription_cost=1_216.00, cost_to_new=1_216.00, cash_gross=0.0, old_quantity_removed=0.0)
    # sell: 200 x 0.35 = 70.00 proceeds, no withholding tax
    check(one(out, option_type="SLLE"), eligible_quantity=200.0, cash_gross=70.00, withholding_tax=0.0, cash_net=70.00, new_quantity=0.0)
    # lapse: the other 1,000 - 610 - 200 = 190 give nothing
    check(one(out, option_type="LAPS"), eligible_quantity=190.0, cash_gross=0.0, cash_net=0.0, **NOTHING)

    book = booking_movements(out)
    check(one(book, movement="units credited"), on=PAY, quantity=152.0, cost=1_216.00)
    # the event's cash in one booking: 70.00 from the rights sold - 1,216.00 subscribed = -1,146.00
    check(one(book, movement="cash"), on=PAY, cash=-1_146.00)


def _merger(pct: float) -> pd.DataFrame:
    # 1,001 TGT held at cost 30,030.00 (30.00 a share): 0.5 ACQ + USD 10.00 cash per share, fractions at 50.00
    return run([event("MG1", "MRGR", "TGT")],
               [option("MG1", "001", "CASE", ratio_new=0.5, ratio_old=1, gross_rate=10.00, new_security_id="ACQ", cash_in_lieu_price=50.00,
                       cost_allocation_pct=pct)],
               [holding("TGT", 1_001, 30_030.00)])


def test_merger_stock_and_cash_cost_by_the_stated_percentage():
    out = _merger(60.0)
    # 1,001 x 0.5 = 500.5 -> 500 ACQ, fraction 0.5 x 50.00 = 25.00; cash 1,001 x 10.00 = 10,010.00, no withholding tax;
    # 60% of 30,030.00 = 18,018.00 carried to the 500.5 ACQ entitled, 18,018.00 x 500 / 500.5 = 18,000.00 on the whole 500
    check(one(out), new_security_id="ACQ", new_quantity=500.0, fraction=0.5, cash_in_lieu=25.00, cash_gross=10_010.00, withholding_tax=0.0,
          cash_net=10_010.00, old_quantity_removed=1_001.0, cost_removed=30_030.00, cost_to_new=18_000.00)
    book = booking_movements(out)
    check(one(book, movement="units given up"), on=EX, security_id="TGT", quantity=-1_001.0, cost=-30_030.00)
    check(one(book, movement="units credited"), on=EX, security_id="ACQ", quantity=500.0, cost=18_000.00)
    check(one(book, movement="cash"), on=PAY, cash=10_035.00)  # 10,010.00 + 25.00 cash in lieu


def test_merger_stock_and_cash_cost_by_relative_market_value():
    out = _merger(NAN)
    # ACQ at 50.00: the shares are worth 500.5 x 50.00 = 25,025.00, the cash 10,010.00; share 25,025 / 35,035 = 5/7;
    # 30,030.00 x 5/7 = 21,450.00 to the 500.5 entitled; x 500 / 500.5 = 21,428.5714... -> 21,428.57 on the whole 500
    check(one(out), new_quantity=500.0, cash_gross=10_010.00, cost_removed=30_030.00, cost_to_new=21_428.57)


def test_spin_off_one_new_per_five_cost_split_by_relative_value():
    out = run([event("SO1", "SOFF", "PARENT")], [option("SO1", "001", "SECU", ratio_new=1, ratio_old=5, new_security_id="SPIN")],
              [holding("PARENT", 1_003, 50_150.00)])
    # 1,003 / 5 = 200.6 -> 200 SPIN, fraction 0.6 at SPIN's 25.00 = 15.00;
    # value kept 1,003 x 45.00 = 45,135.00, value new 200.6 x 25.00 = 5,015.00: share 5,015 / 50,150 = 10%;
    # 10% of 50,150.00 = 5,015.00 moves off PARENT; 5,015.00 x 200 / 200.6 = 5,000.00 on the whole 200 SPIN, 15.00 realised
    check(one(out), new_security_id="SPIN", new_quantity=200.0, fraction=0.6, cash_in_lieu=15.00, old_quantity_removed=0.0,
          cost_removed=5_015.00, cost_to_new=5_000.00)
    book = booking_movements(out)
    check(one(book, movement="units given up"), on=EX, security_id="PARENT", quantity=0.0, cost=-5_015.00)
    check(one(book, movement="units credited"), on=EX, security_id="SPIN", quantity=200.0, cost=5_000.00)


def test_spin_off_cost_by_the_stated_percentage_and_a_claim_with_its_trade_cost():
    pending = pd.DataFrame([{**trade("T1", "PARENT", "BUY", 500), "cost": 22_500.00, "settlement_date": T("2026-03-27")}])
    out = entitlements(pd.DataFrame([event("SO2", "SOFF", "PARENT")]),
                       pd.DataFrame([option("SO2", "001", "SECU", ratio_new=1, ratio_old=5, new_security_id="SPIN", cost_allocation_pct=12.0)]),
                       pd.DataFrame([holding("PARENT", 1_003, 50_150.00)]), pending, None, SECURITIES, PRICES, TREATY)
    # 12% of 50,150.00 = 6,018.00 moves off PARENT; 6,018.00 x 200 / 200.6 = 6,000.00 on the whole 200 SPIN
    check(one(out, kind="holding"), new_quantity=200.0, cost_removed=6_018.00, cost_to_new=6_000.00, pay_date=PAY)
    # the cum buy of 500 at 22,500.00: 500 / 5 = 100 SPIN, no fraction; 12% of 22,500.00 = 2,700.00 carried, all on the 100;
    # paid when the trade settles on 27 March, after the pay date
    check(one(out, kind="market claim"), new_quantity=100.0, fraction=0.0, cost_removed=2_700.00, cost_to_new=2_700.00,
          pay_date=T("2026-03-27"))


def test_voluntary_tender_of_part_of_the_holding_and_no_claim():
    out = run([event("TE1", "TEND", "USEQ", "VOLU")],
              [option("TE1", "001", "CASH", False, price=27.50), option("TE1", "002", "NOAC", True)],
              [holding("USEQ", 1_000, 20_000.00)], pending=[trade("T1", "USEQ", "BUY", 100)], elections=[elect("TE1", "001", 400)])
    assert set(out["kind"]) == {"holding"}  # voluntary: the pending buy gives no claim
    # 400 tendered x 27.50 = 11,000.00; they leave with 20,000.00 x 400 / 1,000 = 8,000.00 of cost
    check(one(out, option_number="001"), eligible_quantity=400.0, cash_gross=11_000.00, cash_net=11_000.00, withholding_tax=0.0,
          old_quantity_removed=400.0, cost_removed=8_000.00, new_quantity=0.0)
    check(one(out, option_number="002"), option_type="NOAC", eligible_quantity=600.0, cash_gross=0.0, **NOTHING)
    book = booking_movements(out)
    check(one(book, movement="units given up"), on=PAY, quantity=-400.0, cost=-8_000.00)
    check(one(book, movement="cash"), on=PAY, cash=11_000.00)


# ---------------------------------------------------------------------------------------------
# bonds


def test_coupon_per_100_nominal_gross_with_a_claim_but_none_on_a_bond_ex_by_settlement():
    out = run([event("IN1", "INTR", "USBOND"), event("IN2", "INTR", "GILT")],
              [option("IN1", gross_rate=2.125), option("IN2", gross_rate=2.125)],
              [holding("USBOND", 500_000, 497_500.00), holding("GILT", 500_000, 501_000.00)],
              pending=[trade("T1", "USBOND", "BUY", 100_000), trade("T2", "GILT", "BUY", 100_000)])
    # 500,000 nominal x 2.125 / 100 = 10,625.00, paid gross (the US treaty rate is for dividends, not coupons)
    check(one(out, event_id="IN1", kind="holding"), cash_gross=10_625.00, withholding_pct=0.0, withholding_tax=0.0, cash_net=10_625.00)
    # the cum buy of 100,000 nominal: 100,000 x 2.125 / 100 = 2,125.00 claimed from BRK1
    check(one(out, event_id="IN1", kind="market claim"), trade_id="T1", cash_gross=2_125.00, cash_net=2_125.00)
    # the gilt trades ex by settlement (7 ex-coupon days): the holder of record has the coupon, no claim
    check(one(out, event_id="IN2"), kind="holding", cash_gross=10_625.00)
    book = booking_movements(out)
    check(one(book, event_id="IN1", kind="holding", movement="income receivable"), on=EX, income_receivable=10_625.00)


@pytest.mark.parametrize("event_type, price, cash", [
    ("REDM", 100.0, 250_000.00),  # 250,000 nominal x 100 / 100 = 250,000.00
    ("MCAL", 101.5, 253_750.00),  # 250,000 nominal x 101.5 / 100 = 253,750.00
])
def test_redemption_and_call_per_100_nominal(event_type, price, cash):
    out = run([event("RD1", event_type, "USBOND")], [option("RD1", gross_rate=price)], [holding("USBOND", 250_000, 248_750.00)])
    # the whole 250,000 nominal leaves with its cost 248,750.00; no withholding tax on a redemption
    check(one(out), cash_gross=cash, withholding_tax=0.0, cash_net=cash, old_quantity_removed=250_000.0, cost_removed=248_750.00,
          new_quantity=0.0)
    book = booking_movements(out)
    check(one(book, movement="units given up"), on=PAY, security_id="USBOND", quantity=-250_000.0, cost=-248_750.00)
    check(one(book, movement="cash"), on=PAY, cash=cash)
    assert not (book["income_receivable"] != 0).any()  # capital, not income


# ---------------------------------------------------------------------------------------------
# what gives nothing, and what is refused


def test_a_cancelled_event_gives_nothing():
    out = run([event("DV9", "DVCA", "USEQ", status="CANC")], [option("DV9", gross_rate=0.50)], [holding("USEQ", 1_000, 20_000.00)],
              pending=[trade("T1", "USEQ", "BUY", 200)])
    assert out.empty
    assert booking_movements(out).empty


def test_an_unknown_event_type_is_refused_naming_the_event():
    with pytest.raises(ValueError, match=r"EX1 \(EXOF\)"):
        run([event("EX1", "EXOF", "USEQ")], [option("EX1", gross_rate=1.0)], [holding("USEQ", 1_000, 20_000.00)])


def test_an_option_type_without_a_rule_and_an_over_election_are_refused():
    with pytest.raises(ValueError, match="RH2 option 002: option type BUYA"):
        run([event("RH2", "RHTS", "USEQ", "CHOS")],
            [option("RH2", "001", "LAPS", True), option("RH2", "002", "BUYA", False)],
            [holding("USEQ", 1_000, 10_000.00)], elections=[elect("RH2", "002", 10)])
    with pytest.raises(ValueError, match="more units than are held.*F1/A1/TE2"):
        run([event("TE2", "TEND", "USEQ", "VOLU")], [option("TE2", "001", "CASH", False, price=27.50), option("TE2", "002", "NOAC", True)],
            [holding("USEQ", 1_000, 20_000.00)], elections=[elect("TE2", "001", 1_200)])
    with pytest.raises(ValueError, match="without options.*DV3"):
        run([event("DV3", "DVCA", "USEQ")], [option("DV1", gross_rate=0.50)], [holding("USEQ", 1_000, 20_000.00)])
