"""CSDR cash penalties: the issue's worked figures, rate tables as effective-dated data, and the
penalties the sample world's EU fails accrue (paid and received, month by month)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from bo_lib.settlement.inputs import gather_settlement
from bo_lib.settlement import assess, csdr

FINAL = dt.date(2026, 11, 6)


def test_scalar_lack_of_securities_sme_growth_two_days():
    first = csdr.csdr_daily_penalty("securities", "SME_GROWTH", 5_000, 25, on=FINAL)
    second = csdr.csdr_daily_penalty("securities", "SME_GROWTH", 5_000, 27, on=FINAL)
    assert (first, second, first + second) == (Decimal("3.13"), Decimal("3.38"), Decimal("6.51"))


def test_scalar_lack_of_cash_at_a_quarter_percent():
    assert csdr.csdr_daily_penalty("cash", None, 5_000, 25, cash_rate=0.0025) == Decimal("0.87")
    assert csdr.csdr_daily_penalty("MONY", None, 5_000, 27, cash_rate=0.0025) == Decimal("0.94")
    assert csdr.csdr_daily_penalty("cash", None, 5_000, 27, cash_rate=-0.005) == Decimal("0.00")  # floor at zero
    with pytest.raises(ValueError, match="decimal fraction"):
        csdr.csdr_daily_penalty("cash", None, 5_000, 27, cash_rate=2.4)  # 2.4 % passed as a percentage


def test_vectorised_matches_scalar_and_rounds_each_day():
    days = pd.DataFrame({
        "penalty_date": pd.to_datetime(["2026-11-05", "2026-11-06", "2026-11-05", "2026-11-06"]),
        "reason_code": ["LACK", "LACK", "CMON", "CMON"], "csdr_category": "SME_GROWTH", "failing_quantity": 5_000.0,
        "reference_price": [25.0, 27.0, 25.0, 27.0], "cash_rate": [None, None, 0.0025, 0.0025], "counterparty": "BRK-X",
        "trade_id": ["T1", "T1", "T2", "T2"], "currency": "EUR",
    })
    out = csdr.csdr_penalties(days)
    assert list(out["penalty"]) == [3.13, 3.38, 0.87, 0.94]
    assert list(out["direction"]) == ["pay", "pay", "receive", "receive"]
    assert list(out["signed_penalty"]) == [-3.13, -3.38, 0.87, 0.94]
    month = csdr.monthly_penalties(out)
    assert (month["paid"].iat[0], month["received"].iat[0], month["net"].iat[0]) == (6.51, 1.81, -4.70)


def test_rates_are_effective_dated_data():
    rates = csdr.penalty_rates().set_index("instrument_category")["daily_rate_bp"].to_dict()
    assert rates == {"LIQUID_SHARE": 1.0, "ILLIQUID_SHARE": 0.5, "SME_GROWTH": 0.25, "SOVEREIGN_DEBT": 0.10, "OTHER_DEBT": 0.20,
                     "SME_DEBT": 0.15, "OTHER": 0.5}
    with pytest.raises(ValueError, match="no CSDR penalty rate"):
        csdr.csdr_daily_penalty("securities", "LIQUID_SHARE", 100, 10, on=dt.date(2021, 6, 1))  # before the regime applied
    # the ECB marginal lending rate in force on a date decides the lack-of-cash rate
    assert csdr.csdr_daily_penalty("cash", None, 1_000_000, 1, on=dt.date(2024, 10, 1)) == Decimal("108.33")  # 3.90 % / 360 (from 2024-09-18)
    assert csdr.csdr_daily_penalty("cash", None, 1_000_000, 1, on=dt.date(2023, 9, 20)) == Decimal("131.94")  # 4.75 % / 360


@pytest.fixture(scope="module")
def mahf(funds, sample_store):
    return assess(gather_settlement(sample_store, funds["MAHF"], FINAL))


def test_sample_world_penalties_accrue_on_eu_fails_only(mahf, funds, ground_truth):
    in_scope = {e["trade_id"] for e in ground_truth["exceptions"] if e["type"] == "settlement_fail" and e["csdr_in_scope"]}
    assert set(mahf.penalties["trade_id"]) == {t for t in in_scope if t.startswith("T") and "MAHF" in t}
    per_trade = mahf.penalties.groupby("trade_id")["penalty_date"].size().to_dict()
    # one penalty per business day from the intended settlement date to the business date: age + 1
    assert per_trade == {"T261023MAHF902": 9, "T261028MAHF903": 6, "T261103MAHF906": 2}
    assert mahf.penalties["penalty"].notna().all()
    clac = mahf.penalties[mahf.penalties["trade_id"].eq("T261023MAHF902")]
    assert set(clac["direction"]) == {"receive"} and set(clac["daily_rate_bp"]) == {1.0}
    mony = mahf.penalties[mahf.penalties["trade_id"].eq("T261028MAHF903")]
    assert set(mony["direction"]) == {"pay"} and set(mony["cash_rate_pct"]) == {2.4}  # ECB MLF since 2025-06-11
    partial = mahf.penalties[mahf.penalties["trade_id"].eq("T261103MAHF906")]
    assert set(partial["failing_quantity"]) == {4_000.0} and set(partial["daily_rate_bp"]) == {0.25}
    # each day's own reference price, rounded on its own
    first = partial.iloc[0]
    assert first["penalty"] == float(csdr.csdr_daily_penalty("LACK", "SME_GROWTH", 4_000, first["reference_price"], on=FINAL))


def test_sample_world_monthly_view(mahf, funds, sample_store):
    month = mahf.monthly_penalties.set_index("month")
    assert month.loc["2026-11", "paid"] == pytest.approx(mahf.penalties.query("penalty_date >= '2026-11-01' and direction == 'pay'")["penalty"].sum())
    assert mahf.key_figures()["csdr_penalties_net_month"] == pytest.approx(month.loc["2026-11", "net"])
    glbd = assess(gather_settlement(sample_store, funds["GLBD"], FINAL))
    bond = glbd.penalties  # sovereign debt, 0.10 bp on 500,000 nominal at ~94: about EUR 4.70 a day, four days
    assert list(bond["daily_rate_bp"].unique()) == [0.1] and len(bond) == 4
    assert glbd.key_figures()["csdr_penalties_paid_month"] == pytest.approx(bond["penalty"].sum())
    assert 18 < bond["penalty"].sum() < 19.5
