"""Income rules a fund accountant checks by hand: entitlement on the holding at the ex-date, paid to
the holder of record with market claims for the trades crossing the record date, coupons that
follow the bond's day count, and the control that compares each coupon with its accrual. Every
expected figure is worked out in the comments."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bo_lib.books.accruals import INCOME, MARKET_CLAIM, income_entitlements
from bo_lib.books.fees import accrual_days, accrued_through
from bo_lib.nav.income import coupon_check, market_claims_open
from bo_lib.rag import GREEN, RED

D = dt.date
T = pd.Timestamp

SECURITIES = pd.DataFrame([
    {"security_id": "GILT", "asset_class": "government_bond", "country": "GB", "currency": "GBP", "coupon_rate": 4.25, "coupon_frequency": 2,
     "day_count": "ACT/ACT ICMA", "maturity_date": "2032-11-07", "ex_coupon_days": 7},
    {"security_id": "NOEX", "asset_class": "corporate_bond", "country": "GB", "currency": "GBP", "coupon_rate": 4.25, "coupon_frequency": 2,
     "day_count": "ACT/ACT ICMA", "maturity_date": "2032-11-07", "ex_coupon_days": 0},
    {"security_id": "FRN360", "asset_class": "corporate_bond", "country": "NO", "currency": "EUR", "coupon_rate": 4.10, "coupon_frequency": 4,
     "day_count": "ACT/360", "maturity_date": "2029-01-20", "ex_coupon_days": 0},
    {"security_id": "DEEQ", "asset_class": "equity", "country": "DE", "currency": "EUR", "coupon_rate": None, "coupon_frequency": None,
     "day_count": None, "maturity_date": None, "ex_coupon_days": None},
])


def _trade(trade_id, security, side, quantity, trade_date, settlement_date, broker="BRK-LMB"):
    return {"trade_id": trade_id, "security_id": security, "side": side, "quantity": quantity, "trade_date": T(trade_date),
            "settlement_date": T(settlement_date), "broker_id": broker}


def _movements(opening: dict[str, float], trades: list[dict]) -> pd.DataFrame:
    rows = [{"fund": "F", "security_id": s, "quantity": q, "effective_date": pd.NaT} for s, q in opening.items()]
    rows += [{"fund": "F", "security_id": t["security_id"], "quantity": t["quantity"] if t["side"] == "BUY" else -t["quantity"],
              "effective_date": t["trade_date"]} for t in trades]
    return pd.DataFrame(rows)


GILT_COUPON = pd.DataFrame([{"event_id": "CI261107GILT", "event_type": "INTR", "security_id": "GILT", "currency": "GBP",
                             "ex_date": T("2026-10-29"), "record_date": T("2026-10-28"), "pay_date": T("2026-11-09"),
                             "gross_rate": 2.125, "event_status": "CONF"}])


def test_a_coupon_is_paid_on_the_holding_of_record_with_market_claims_for_the_trades_crossing_it():
    # A bond without an ex-coupon period whose coupon the agent announces ex Thu 29 Oct, record Wed 28 Oct
    # (trades are cum or ex by trade date, as for shares).
    # Opening 10,240,000 nominal. Three trades:
    #  S1 sells 1,000,000 on Wed 28 Oct (cum), settles Thu 29 Oct: after the record date, so the fund is still
    #     on the register for it and owes the buyer the coupon: a market claim of -1,000,000 x 2.125% = -21,250.00
    #  B1 buys 500,000 on Tue 27 Oct (cum), settles Thu 29 Oct: the fund is entitled but not on the register:
    #     it claims 500,000 x 2.125% = +10,625.00 from the seller
    #  S2 sells 1,230,000 on Fri 30 Oct (ex), settles Mon 2 Nov: sold ex-coupon, the fund keeps the coupon, no claim
    trades = [_trade("S1", "NOEX", "SELL", 1_000_000, "2026-10-28", "2026-10-29"),
              _trade("B1", "NOEX", "BUY", 500_000, "2026-10-27", "2026-10-29", "BRK-NOR"),
              _trade("S2", "NOEX", "SELL", 1_230_000, "2026-10-30", "2026-11-02")]
    out = income_entitlements(GILT_COUPON.assign(security_id="NOEX"), _movements({"NOEX": 10_240_000}, trades), "F", SECURITIES, {}, [D(2026, 10, 29)],
                              pending_trades=pd.DataFrame(trades)).set_index(["kind", "trade_id"])
    # entitled (trade-date holding at the close of 28 Oct): 10,240,000 - 1,000,000 + 500,000 = 9,740,000
    # holder of record (settled at the close of 28 Oct): 10,240,000 -> the custodian pays 10,240,000 x 2.125% = 217,600.00
    assert out.loc[(INCOME, ""), "holding"] == 10_240_000
    assert out.loc[(INCOME, ""), "net_amount"] == pytest.approx(217_600.00)
    assert out.loc[(MARKET_CLAIM, "S1"), "holding"] == -1_000_000
    assert out.loc[(MARKET_CLAIM, "S1"), "net_amount"] == pytest.approx(-21_250.00)
    assert out.loc[(MARKET_CLAIM, "S1"), "counterparty"] == "BRK-LMB"
    assert out.loc[(MARKET_CLAIM, "B1"), "net_amount"] == pytest.approx(10_625.00)
    assert "S2" not in out.index.get_level_values("trade_id")
    # together: 217,600.00 - 21,250.00 + 10,625.00 = 206,975.00 = 9,740,000 x 2.125%
    assert out["net_amount"].sum() == pytest.approx(206_975.00)
    assert out["recognised_on"].eq(T("2026-10-29")).all()
    claims = market_claims_open(out.reset_index())
    assert sorted(claims["trade_id"]) == ["B1", "S1"]


def test_a_gilt_sold_after_the_ex_date_keeps_the_whole_coupon():
    # 10,240,000 of the gilt held; 1,230,000 sold ex-coupon on 30 Oct (settling 2 Nov, after the 28 Oct
    # record date): entitled on all 10,240,000 = GBP 217,600.00, no claim.
    trades = [_trade("S2", "GILT", "SELL", 1_230_000, "2026-10-30", "2026-11-02")]
    out = income_entitlements(GILT_COUPON, _movements({"GILT": 10_240_000}, []), "F", SECURITIES, {}, [D(2026, 10, 29)],
                              pending_trades=pd.DataFrame(trades))
    assert list(out["kind"]) == [INCOME]
    assert out["net_amount"].iloc[0] == pytest.approx(217_600.00)


def test_dividend_bought_ex_and_settled_by_the_record_date_is_owed_to_the_seller():
    # A German dividend of EUR 0.80 going ex Wed 4 Nov, record date Thu 5 Nov, treaty rate 15%.
    # Holding 2,000 shares at the close of 3 Nov. A purchase of 1,000 on the ex-date settling the same day
    # (before the record date) puts the fund on the register for 3,000, but the seller is entitled:
    # the custodian pays 3,000 x 0.80 x 0.85 = 2,040.00, the fund owes 1,000 x 0.80 x 0.85 = 680.00.
    event = pd.DataFrame([{"event_id": "DV1", "event_type": "DVCA", "security_id": "DEEQ", "currency": "EUR", "ex_date": T("2026-11-04"),
                           "record_date": T("2026-11-05"), "pay_date": T("2026-11-06"), "gross_rate": 0.80, "event_status": "CONF"}])
    trades = [_trade("B9", "DEEQ", "BUY", 1_000, "2026-11-04", "2026-11-04", "BRK-EUX")]
    out = income_entitlements(event, _movements({"DEEQ": 2_000}, trades), "F", SECURITIES, {"DE": 15.0}, [D(2026, 11, 4)],
                              pending_trades=pd.DataFrame(trades)).set_index("kind")
    assert out.loc[INCOME, "holding"] == 3_000
    assert out.loc[INCOME, "gross_amount"] == pytest.approx(2_400.00)
    assert out.loc[INCOME, "net_amount"] == pytest.approx(2_040.00)
    assert out.loc[MARKET_CLAIM, "net_amount"] == pytest.approx(-680.00)
    assert out["net_amount"].sum() == pytest.approx(1_360.00)  # 2,000 x 0.80 x 0.85


def _coupon_rows(gross_rate: float, nominal: float = 1_000_000.0) -> pd.DataFrame:
    event = pd.DataFrame([{"event_id": "CI261020FRN360", "event_type": "INTR", "security_id": "FRN360", "currency": "EUR",
                           "ex_date": T("2026-10-20"), "record_date": T("2026-10-20"), "pay_date": T("2026-10-20"),
                           "gross_rate": gross_rate, "event_status": "CONF"}])
    return income_entitlements(event, _movements({"FRN360": nominal}, []), "F", SECURITIES, {}, [D(2026, 10, 20)])


def test_an_act_360_coupon_paid_at_rate_over_frequency_is_red():
    # 4.10% ACT/360 quarterly, period 20 Jul -> 20 Oct 2026 = 92 days: 1,000,000 x 4.10% x 92/360 = 10,477.78 accrued.
    # Booked at 4.10 / 4 = 1.025 per 100: 10,250.00, 227.78 short of the accrual (the NAV drops on the coupon date).
    ledger = pd.DataFrame([{"movement_type": "COUPON", "reference": "CI261020FRN360", "amount": 10_250.00}])
    out = coupon_check(_coupon_rows(1.025), SECURITIES, ledger, D(2026, 10, 20))
    row = out.iloc[0]
    assert row["accrued_entitlement"] == pytest.approx(10_477.78)
    assert row["booked"] == pytest.approx(10_250.00)
    assert row["difference"] == pytest.approx(-227.78)
    assert row["rag"] == RED
    assert "ACT/360" in row["detail"] and "-227.78" in row["detail"]


def test_an_act_360_coupon_by_its_day_count_agrees_and_a_short_payment_is_red():
    rate = 4.10 * 92 / 360  # 1.047777... per 100
    paid_in_full = pd.DataFrame([{"movement_type": "COUPON", "reference": "CI261020FRN360", "amount": 10_477.78}])
    ok = coupon_check(_coupon_rows(rate), SECURITIES, paid_in_full, D(2026, 10, 20)).iloc[0]
    assert (ok["booked"], ok["received"], ok["rag"]) == (pytest.approx(10_477.78), pytest.approx(10_477.78), GREEN)
    short = pd.DataFrame([{"movement_type": "COUPON", "reference": "CI261020FRN360", "amount": 10_400.00}])
    bad = coupon_check(_coupon_rows(rate), SECURITIES, short, D(2026, 10, 20)).iloc[0]
    assert bad["received_difference"] == pytest.approx(-77.78)
    assert bad["rag"] == RED


def test_month_end_fee_accrual_holds_every_day_of_the_month():
    # Last NAV of October 2026 is Fri 30 Oct, the next Mon 2 Nov: 30 Oct accrues 30 and 31 Oct (2 days),
    # 2 Nov accrues 1 and 2 Nov (2 days), not 1 and 3.
    assert accrued_through(D(2026, 10, 30), D(2026, 11, 2)) == D(2026, 10, 31)
    assert accrual_days(D(2026, 10, 29), D(2026, 10, 30), D(2026, 11, 2)) == 2
    assert accrual_days(D(2026, 10, 30), D(2026, 11, 2), D(2026, 11, 3)) == 2
    # an ordinary weekend inside a month: Fri 6 -> Mon 9 Nov accrues 7, 8, 9 Nov
    assert accrual_days(D(2026, 11, 6), D(2026, 11, 9), D(2026, 11, 10)) == 3
    # February 2027 ends on a Sunday: Fri 26 Feb accrues 26, 27, 28 Feb; Mon 1 Mar only 1 Mar
    assert accrual_days(D(2027, 2, 25), D(2027, 2, 26), D(2027, 3, 1)) == 3
    assert accrual_days(D(2027, 2, 26), D(2027, 3, 1), D(2027, 3, 2)) == 1
    # October's days are 31 in all: 1..29 Oct by daily NAVs plus 2 on the 30th
    days = [D(2026, 9, 30)] + [D(2026, 10, x) for x in (1, 2, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30)] + [D(2026, 11, 2)]
    october = sum(accrual_days(p, d, n) for p, d, n in zip(days, days[1:], days[2:]))
    assert october == 31


def test_a_gilt_sold_cum_settling_on_the_ex_date_is_still_the_sellers_coupon():
    # The sample world's GLBD: 10,900,000 nominal settled at the close of Tue 27 Oct; it sells 1,150,000
    # on Wed 28 Oct (the record date) for settlement Thu 29 Oct, the ex-date: a gilt trade settling on or
    # after the ex-dividend date is ex (the sale was priced with negative accrued interest), so GLBD stays on
    # the register and keeps the coupon on all 10,900,000 (10,900,000 x 2.125% = GBP 231,625.00), no claim.
    # It also sells 1,230,000 on Fri 30 Oct (settling 2 Nov) and buys 490,000 on Thu 29 Oct: both after the record date.
    trades = [_trade("S28", "GILT", "SELL", 1_150_000, "2026-10-28", "2026-10-29"),
              _trade("B29", "GILT", "BUY", 490_000, "2026-10-29", "2026-10-30"),
              _trade("S30", "GILT", "SELL", 1_230_000, "2026-10-30", "2026-11-02")]
    pending = pd.DataFrame(trades[:1])  # what is unsettled at the close of 28 Oct (the NAV of 29 Oct recognises the coupon)
    out = income_entitlements(GILT_COUPON, _movements({"GILT": 10_900_000}, trades), "F", SECURITIES, {}, [D(2026, 10, 29)],
                              pending_trades=pending)
    assert list(out["kind"]) == [INCOME]
    assert out["holding"].iloc[0] == 10_900_000
    assert out["net_amount"].iloc[0] == pytest.approx(231_625.00)
