"""The cash ladder on the sample world: it opens at the bank statement's closing balance, carries
the pending trades, capital activity and expected coupons, balances day by day, and flags
overdrafts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bo_lib.settlement.inputs import gather_settlement
from bo_lib.settlement import assess, cash_ladder

FINAL = dt.date(2026, 11, 6)


@pytest.fixture(scope="module")
def glbd(funds, sample_store):
    inputs = gather_settlement(sample_store, funds["GLBD"], FINAL)
    return inputs, assess(inputs)


def test_ladder_balances_and_opens_at_the_statement(glbd):
    inputs, result = glbd
    ladder = result.ladder
    assert cash_ladder.ladder_breaks(ladder).empty
    assert ((ladder["opening_balance"] + ladder["inflows"] + ladder["outflows"] - ladder["projected_balance"]).abs() < 0.005).all()
    day0 = ladder[ladder["day"].eq(0)].set_index("account")["opening_balance"]
    assert day0.to_dict() == pytest.approx(inputs.statements.set_index("account")["closing_balance"].to_dict())
    # per account, the last projected balance = statement closing + every flow over the ladder
    flows = result.flows.groupby("account")["amount"].sum()
    last = ladder.groupby("account")["projected_balance"].last()
    assert (last - day0).to_dict() == pytest.approx(flows.reindex(last.index, fill_value=0).to_dict(), abs=0.01)


def test_ladder_days_follow_the_payment_calendar(glbd):
    _inputs, result = glbd
    usd = result.ladder[result.ladder["currency"].eq("USD")]["date"].tolist()
    eur = result.ladder[result.ladder["currency"].eq("EUR")]["date"].tolist()
    assert dt.date(2026, 11, 11) not in usd and dt.date(2026, 11, 11) in eur  # Veterans Day: Fed closed, TARGET2 open
    assert len(usd) == len(eur) == 6


def test_flows_trades_capital_and_coupon(glbd):
    _inputs, result = glbd
    flows = result.flows.set_index("reference")
    assert flows.loc["O261105GLBD001", "amount"] == 4_241_000.0  # subscription settling 2026-11-09
    assert flows.loc["T261106GLBD003", "amount"] == -763_787.62  # purchase settling 2026-11-10
    coupon = flows.loc["CI261107BD00004"]  # the gilt's coupon on 2026-11-09: 2.125 per 100 nominal
    assert coupon["flow_type"] == "coupon" and coupon["account"] == "GB29NWBK60161331926819"
    # paid to the holder of record at the close of Wed 28 Oct (the gilt goes ex seven UK business days before
    # its Sat 7 Nov coupon, on Thu 29 Oct): 10,900,000 settled nominal; the 1,150,000 sold on 28 Oct settles on
    # the ex-date, so it was sold ex and the coupon stays with the fund: 10,900,000 x 2.125% = 231,625.00
    assert coupon["amount"] == pytest.approx(10_900_000 * 2.125 / 100)
    assert "T261030GLBD904" not in flows.index  # the failing sale is cash at risk, not a projected flow
    risk = result.at_risk.set_index("reference")
    assert risk.loc["T261030GLBD904", "amount"] == 477_612.86
    assert result.ladder.set_index(["account", "day"]).loc[("DE89370400440532013000", 0), "at_risk_in"] == 477_612.86


def test_overdraft_is_flagged(glbd):
    inputs, _ = glbd
    balances = inputs.statements.assign(closing_balance=lambda f: f["closing_balance"].where(f["currency"].ne("GBP"), 1_000_000.0))
    cash_accounts = pd.DataFrame([a.model_dump() for a in inputs.fund.cash_accounts])
    result = assess(inputs)
    ladder = cash_ladder.cash_ladder(balances, result.flows, cash_ladder.at_risk(result.report, cash_accounts), FINAL, 5)
    gbp = ladder[ladder["currency"].eq("GBP")].set_index("day")
    assert not gbp.loc[0, "overdraft"] and gbp.loc[1, "overdraft"]  # two gilt purchases exceed cash + coupon on 2026-11-09
    assert gbp.loc[1, "projected_balance"] == pytest.approx(1_000_000 + 231_625.00 - 1_145_333.08 - 884_845.84)
    assert cash_ladder.ladder_breaks(ladder).empty
