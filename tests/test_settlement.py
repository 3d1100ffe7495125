"""Settlement status, fails and ageing on the sample world: every seeded fail is found with its
reason, age, market, currency and partial flag, the unmatched instruction is reported, and
nothing else is."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bo_lib import settlement
from bo_lib.settlement.inputs import gather_settlement
from bo_lib.settlement import status

FINAL = dt.date(2026, 11, 6)
FUNDS = ("USEQ", "GLBD", "MAHF")


@pytest.fixture(scope="module")
def results(funds, sample_store):
    return {code: settlement.assess(gather_settlement(sample_store, funds[code], FINAL)) for code in FUNDS}


def _seeded(ground_truth, kind, fund=None):
    return [e for e in ground_truth["exceptions"] if e["type"] == kind and (fund is None or e["fund"] == fund)]


@pytest.mark.parametrize("fund_code", FUNDS)
def test_seeded_fails_found_with_reason_age_market_and_nothing_else(results, ground_truth, fund_code):
    fails = results[fund_code].fails.set_index("trade_id")
    seeded = {e["trade_id"]: e for e in _seeded(ground_truth, "settlement_fail", fund_code)}
    assert set(fails.index) == set(seeded)
    for trade_id, e in seeded.items():
        row = fails.loc[trade_id]
        assert row["reason_code"] == e["reason_code"]
        assert row["age_business_days"] == e["age_business_days_at_final_date"]
        assert (row["market"], row["currency"], row["side"]) == (e["market"], e["currency"], e["side"])
        assert bool(row["partial"]) == e["partial"]
        assert row["settled_quantity"] == e["settled_quantity"]
        assert row["quantity"] - row["settled_quantity"] == e["quantity"] - e["settled_quantity"]
        assert bool(row["csdr_in_scope"]) == e["csdr_in_scope"]
        assert row["csdr_category"] == e["csdr_instrument_category"]


def test_age_buckets_and_oldest_fail(results):
    useq = results["USEQ"]
    assert useq.ages.set_index("age_bucket")["fails"].to_dict() == {"0": 0, "1": 0, "2-3": 1, "4-5": 0, "6-10": 0, ">10": 1}
    mahf = results["MAHF"]
    assert mahf.ages.set_index("age_bucket")["fails"].to_dict() == {"0": 0, "1": 1, "2-3": 0, "4-5": 1, "6-10": 1, ">10": 0}
    assert useq.key_figures()["oldest_fail_business_days"] == 12
    # the partial: 6,000 of 10,000 settled, the rest fails; its value is the unsettled cash only
    partial = mahf.fails.set_index("trade_id").loc["T261103MAHF906"]
    assert partial["unsettled_quantity"] == 4_000
    assert partial["unsettled_amount"] == pytest.approx(2_846_565.92 - 1_707_939.55)
    assert mahf.summary.set_index("check").at["Settlement fails", "rag"] == "red"  # the CLAC fail is 8 business days old


def test_fails_by_reason_counterparty_market_currency(results):
    mahf = results["MAHF"]
    assert mahf.by_reason.set_index("reason_code")["fails"].to_dict() == {"LACK": 1, "CLAC": 1, "MONY": 1}
    assert mahf.by_market.set_index("market")["fails"].to_dict() == {"XAMS": 1, "XETR": 1, "XPAR": 1}
    assert mahf.by_currency.set_index("currency")["fails"].to_dict() == {"EUR": 3}
    # base-currency value: EUR unsettled cash at the business date's EUR/USD fixing
    assert mahf.by_currency["unsettled_amount_base"].iat[0] == pytest.approx((99_492.03 + 63_278.77 + 1_138_626.37) * 1.102284, abs=0.05)
    assert list(results["USEQ"].by_counterparty["counterparty"]) == ["BRK-GSX", "BRK-NOR"]


def test_unmatched_instruction_reported_and_nothing_else_is_an_exception(results, ground_truth):
    seeded = _seeded(ground_truth, "instruction_unmatched")[0]
    glbd = results["GLBD"]
    unmatched = glbd.report[glbd.report["match_status"].eq("NMAT")]
    assert list(unmatched["trade_id"]) == [seeded["trade_id"]]
    row = unmatched.iloc[0]
    assert row["reason_code"] == seeded["reason_code"] and row["state"] == status.PENDING
    assert row["intended_settlement_date"] == pd.Timestamp(seeded["intended_settlement_date"])
    assert glbd.summary.set_index("check").at["Unmatched instructions", "rag"] == "amber"
    for code, result in results.items():
        assert result.report["state"].isin([status.NOT_REPORTED, status.NOT_IN_BOOKS]).sum() == 0, code
        if code != "GLBD":
            assert result.report["match_status"].eq("NMAT").sum() == 0


def test_instruction_missing_from_the_custodian_feed_is_an_exception(results, funds, sample_store):
    inputs = gather_settlement(sample_store, funds["USEQ"], FINAL)
    inputs.status_history = inputs.status_history[inputs.status_history["client_reference"].ne("T261106USEQ001")]
    result = settlement.assess(inputs)
    missing = result.report[result.report["state"].eq(status.NOT_REPORTED)]
    assert list(missing["trade_id"]) == ["T261106USEQ001"]
    assert result.summary.set_index("check").at["Custodian reporting", "rag"] == "red"


def test_on_an_earlier_date_only_the_fails_open_then_are_found(funds, ground_truth, sample_store):
    day = dt.date(2026, 10, 30)
    result = settlement.assess(gather_settlement(sample_store, funds["MAHF"], day))
    ages = result.fails.set_index("trade_id")["age_business_days"].to_dict()
    # CLAC failing since 2026-10-27 (3 XETR days), MONY due today and failing (age 0)
    assert ages == {"T261023MAHF902": 3, "T261028MAHF903": 0}


def test_counterparty_fail_rates(results):
    rates = results["USEQ"].fail_rates.set_index("counterparty")
    assert rates.loc["BRK-GSX", "failed_on_due_date"] == 1 and rates.loc["BRK-NOR", "failed_on_due_date"] == 1
    assert rates.loc["BRK-GSX", "fail_rate_pct"] == pytest.approx(round(100 / rates.loc["BRK-GSX", "instructions_due"], 1))
    eu = results["MAHF"].fail_rates.set_index("counterparty")
    assert eu.loc["BRK-EUX", "failed_on_due_date"] == 3
    assert eu.drop(index="BRK-EUX")["failed_on_due_date"].sum() == 0


def test_key_figures_for_the_sample_date(results):
    useq, glbd, mahf = (results[c].key_figures() for c in FUNDS)
    assert (useq["fails"], useq["fails_value_base"]) == (2, pytest.approx(509_534.53 + 501_769.12))
    assert (glbd["fails"], glbd["unmatched_instructions"], glbd["oldest_fail_business_days"]) == (1, 1, 3)
    assert (mahf["fails"], mahf["partial_settlements"]) == (3, 1)
    assert [results[c].key_figures()["projected_overdrafts"] for c in FUNDS] == [0, 0, 0]
