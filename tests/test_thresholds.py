"""Ownership thresholds: the seeded 5% crossing is found with its filing and due date, and nothing
else crosses; 10%, 13D, splits, calls and EU net short positions on constructed cases."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bo_lib.regulatory.inputs import gather_regulatory
from bo_lib.parameters import load_company, load_funds
from bo_lib.regulatory import control, thresholds
from tests.conftest import DATA, PARAMETERS

SAMPLE_DATE = dt.date(2026, 11, 6)


@pytest.fixture(scope="module")
def inputs(sample_store):
    return gather_regulatory(sample_store, load_company(PARAMETERS), load_funds(PARAMETERS), SAMPLE_DATE)


@pytest.fixture(scope="module")
def result(inputs):
    return control.assess(inputs)


def test_seeded_crossing_found_with_its_filing_and_due_date_and_nothing_else(result, ground_truth):
    seeded = [e for e in ground_truth["exceptions"] if e["type"] == "ownership_threshold_crossing"]
    assert len(seeded) == 1
    seed = seeded[0]
    crossings = result.monitor.crossings
    assert len(crossings) == 1, crossings
    found = crossings.iloc[0]
    assert found["security_id"] == seed["security_id"] == ground_truth["roles"]["threshold_crossing"]
    assert found["crossing_date"].date().isoformat() == seed["first_date"]
    assert (found["threshold_pct"], found["before_pct"], found["after_pct"]) == (seed["threshold_pct"], seed["before_pct"], seed["after_pct"])
    assert found["direction"] == "up"
    assert found["shares"] == 318_000 and found["shares_outstanding"] == 6_000_000
    # a registered adviser is a qualified institution: Schedule 13G, 45 days after the quarter end
    # (2026-12-31 + 45 = Sun 2027-02-14, Mon 2027-02-15 is Presidents' Day -> Tue 2027-02-16)
    assert found["filing"] == "Schedule 13G (initial)"
    assert found["due_date"].date() == dt.date(2027, 2, 16)
    assert found["rag"] == "amber" and found["business_days_to_due"] > 0
    line = result.summary.set_index("check").loc["Ownership thresholds (13D/13G)"]
    assert line["rag"] == "amber" and "Oakhurst Retail Inc up through 5% on 2026-10-30" in line["detail"]


def test_without_qualified_institution_status_it_is_a_13d_due_five_business_days_later(inputs):
    monitor = control.threshold_monitor(inputs, qualified_institution=False)
    found = monitor.crossings.iloc[0]
    assert found["filing"] == "Schedule 13D (initial)"
    assert found["due_date"].date() == dt.date(2026, 11, 6)  # Fri 10-30 + 5 business days
    assert found["rag"] == "red"  # due on the sample date


def test_a_split_moves_holding_and_shares_outstanding_together(result):
    cobalt = result.monitor.ownership[result.monitor.ownership["security_id"].eq("EQ00003")].set_index("date")
    before, after = cobalt.loc[pd.Timestamp("2026-10-14")], cobalt.loc[pd.Timestamp("2026-10-15")]  # 2-for-1, ex 2026-10-15
    assert after["shares"] == 2 * before["shares"] and after["shares_outstanding"] == 2 * before["shares_outstanding"]
    assert after["ownership_pct"] == pytest.approx(before["ownership_pct"])


def _securities() -> pd.DataFrame:
    return pd.DataFrame([
        {"security_id": "US1", "issuer_name": "Tenfold Inc", "asset_class": "equity", "mic": "XNYS", "shares_outstanding": 1_000_000.0,
         "underlying_id": None, "put_call": None, "price_multiplier": 1.0},
        {"security_id": "C1", "issuer_name": "Tenfold Inc", "asset_class": "option", "mic": "XCBO", "shares_outstanding": None,
         "underlying_id": "US1", "put_call": "Call", "price_multiplier": 100.0},
        {"security_id": "P1", "issuer_name": "Tenfold Inc", "asset_class": "option", "mic": "XCBO", "shares_outstanding": None,
         "underlying_id": "US1", "put_call": "Put", "price_multiplier": 100.0},
        {"security_id": "EU1", "issuer_name": "Kurz AG", "asset_class": "equity", "mic": "XETR", "shares_outstanding": 10_000_000.0,
         "underlying_id": None, "put_call": None, "price_multiplier": 1.0},
    ])


def _positions(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "fund", "account", "security_id", "quantity"])
    return frame.assign(date=pd.to_datetime(frame["date"]))


def test_ten_percent_and_calls_count_puts_do_not():
    positions = _positions([
        ("2026-10-13", "F1", "A", "US1", 90_000.0), ("2026-10-13", "F2", "B", "P1", 500.0),
        ("2026-10-14", "F1", "A", "US1", 90_000.0), ("2026-10-14", "F2", "B", "C1", 150.0),  # + 15,000 under calls
    ])
    ownership = thresholds.beneficial_ownership(positions, _securities())
    assert ownership["ownership_pct"].round(3).tolist() == [9.0, 10.5]
    crossings = thresholds.us_ownership_crossings(ownership)
    assert crossings[["threshold_pct", "filing"]].values.tolist() == [[10.0, "Schedule 13G amendment (above 10%)"]]
    # 5 business days after the month end: Mon 2026-11-02 ... Fri 2026-11-06
    assert crossings["due_date"].dt.date.tolist() == [dt.date(2026, 11, 6)]


def test_eu_net_short_notification_steps_and_publication():
    positions = _positions([
        ("2026-10-12", "F1", "A", "EU1", -5_000.0),    # 0.05%: below 0.1%
        ("2026-10-13", "F1", "A", "EU1", -12_000.0),   # 0.12%: notify
        ("2026-10-13", "F2", "B", "EU1", 1_000.0),     # ... net of the other fund's long: 0.11%
        ("2026-10-14", "F1", "A", "EU1", -52_000.0),   # 0.52%: notify and publish
        ("2026-10-15", "F1", "A", "EU1", -51_000.0),   # 0.51%: same step, nothing
    ])
    net = thresholds.eu_net_short_positions(positions, _securities())
    assert net["net_short_pct"].round(3).tolist() == [0.05, 0.11, 0.52, 0.51]
    crossings = thresholds.eu_short_crossings(net)
    assert crossings[["crossing_date", "threshold_pct", "filing"]].astype(str).values.tolist() == [
        ["2026-10-13", "0.1", "Notify the competent authority"],
        ["2026-10-14", "0.5", "Notify the competent authority and publish"]]
    # by 15:30 on the next Xetra trading day
    assert crossings["due_date"].dt.date.tolist() == [dt.date(2026, 10, 14), dt.date(2026, 10, 15)]


def test_sample_funds_hold_no_eu_net_short_position(result):
    assert result.monitor.net_short["net_short_pct"].eq(0).all()
    assert not result.monitor.crossings["regime"].str.startswith("EU").any()
