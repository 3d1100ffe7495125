"""Breaks across days, in a real DuckDB store: USEQ reconciled on three consecutive business dates
(2026-10-30, 11-02, 11-03). Ids stay stable and ages grow; the custodian's +1,000 over-report of
EQ00016 (seeded SX015) resolves on 11-03; the -250 difference of EQ00004 (SX014) is new that day;
owner and comment carry forward; a rerun of a date duplicates nothing."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from bo_lib.recon import breaks
from bo_lib.recon.control import valuation_calendar
from bo_lib.recon.daily import reconcile_day

DAYS = [dt.date(2026, 10, 30), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]


def without_recons(store):
    """The store with its books but none of its recons (what a first run finds)."""
    with duckdb.connect(str(store)) as connection:
        for table in ("recon_runs", "recon_break_observations", "recon_break_notes", "recon_breaks", "recon_cash_open_items",
                      "recon_statement_chain", "recon_trade_open_items", "recon_break_resolutions"):
            connection.execute(f"DELETE FROM {table}")
    return store


@pytest.fixture(scope="module")
def lifecycle(funds, sample_store, tmp_path_factory):
    """The daily run on the three dates one after the other (the first brings the empty recons up
    to date from the opening); returns the store and each date's breaks as of that date."""
    store = tmp_path_factory.mktemp("store") / "workbench.duckdb"
    shutil.copy2(sample_store, store)
    without_recons(store)
    calendar = valuation_calendar(funds["USEQ"])
    seen = {}
    for day in DAYS:
        seen[day] = reconcile_day(store, funds["USEQ"], day, f"run-{day}")[2].set_index("item")
        if day == DAYS[0]:
            first = seen[day].loc["US6593801094", "break_id"]
            breaks.set_break_note(store, first, owner="j.doe", comment="custodian asked to confirm the holding")
            seen[day] = breaks.load_breaks(store, "USEQ", day, calendar).set_index("item")
    return store, calendar, seen


def test_ids_are_stable_and_ages_grow(lifecycle):
    _, _, seen = lifecycle
    fail = [seen[d].loc["US5443731030"] for d in DAYS]  # the LACK fail of T261020USEQ901, open since 10-21
    assert len({r["break_id"] for r in fail}) == 1
    assert [r["age_business_days"] for r in fail] == [7, 8, 9]
    assert all(r["first_seen"] == pd.Timestamp("2026-10-21") and r["status"] == "open" for r in fail)
    cash = [seen[d].loc["T261020USEQ901"] for d in DAYS]
    assert len({r["break_id"] for r in cash}) == 1 and cash[0]["break_id"].startswith("CSH-")


def test_a_fixed_break_resolves_and_keeps_its_note(lifecycle):
    _, _, seen = lifecycle
    before, after = seen[DAYS[1]].loc["US6593801094"], seen[DAYS[2]].loc["US6593801094"]
    assert before["status"] == "open" and before["classification"] == "quantity difference" and before["difference"] == 1000.0
    assert before["first_seen"] == pd.Timestamp("2026-10-29") and before["age_business_days"] == 2
    assert after["break_id"] == before["break_id"] and after["status"] == "resolved"
    assert after["resolved_on"] == pd.Timestamp("2026-11-03") and after["last_seen"] == pd.Timestamp("2026-11-02")
    assert (after["owner"], after["comment"]) == ("j.doe", "custodian asked to confirm the holding")


def test_a_new_break_appears_with_age_zero(lifecycle):
    _, _, seen = lifecycle
    assert "US2095851083" not in seen[DAYS[1]].index
    new = seen[DAYS[2]].loc["US2095851083"]
    assert (new["status"], new["first_seen"], new["age_business_days"], new["difference"]) == ("open", pd.Timestamp(DAYS[2]), 0, -250.0)


def test_rerunning_a_date_duplicates_nothing_and_history_is_queryable(lifecycle, funds):
    store, calendar, seen = lifecycle
    again = reconcile_day(store, funds["USEQ"], DAYS[2], "rerun")[2]
    assert sorted(again["break_id"]) == sorted(seen[DAYS[2]]["break_id"])
    with duckdb.connect(str(store), read_only=True) as connection:
        per_day = dict(connection.sql("SELECT business_date, count(*) FROM recon_break_observations GROUP BY 1 ORDER BY 1").fetchall())
        runs = connection.sql("SELECT count(*) FROM recon_runs").fetchall()[0][0]
        keys = connection.sql("SELECT count(*), count(DISTINCT (business_date, recon, break_key)) FROM recon_break_observations").fetchall()[0]
        open_ = connection.sql("SELECT count(*) FROM recon_breaks WHERE status = 'open'").fetchall()[0][0]
    assert keys[0] == keys[1] and max(per_day) == DAYS[2] and runs == 24  # 2026-10-01 .. 11-03: one run each, no observation twice
    assert open_ == int((seen[DAYS[2]]["status"] == "open").sum())


def test_a_fresh_store_is_brought_up_to_date(lifecycle, funds, sample_store, tmp_path):
    """The daily run on an empty store records every earlier date first: the same history as
    running day by day."""
    store = tmp_path / "workbench.duckdb"
    shutil.copy2(sample_store, store)
    without_recons(store)
    history = reconcile_day(store, funds["USEQ"], DAYS[-1], "first-run")[2]
    assert breaks.recorded_dates(store, "USEQ")[-1] == DAYS[-1] and len(breaks.recorded_dates(store, "USEQ")) == 24
    day_by_day = lifecycle[2][DAYS[-1]].reset_index()
    columns = ["break_id", "item", "first_seen", "status", "resolved_on", "age_business_days"]
    assert history[columns].sort_values("break_id").reset_index(drop=True).equals(day_by_day[columns].sort_values("break_id").reset_index(drop=True))


def test_a_break_that_comes_back_is_a_new_break():
    observations = pd.DataFrame({"fund": "F", "recon": "positions", "break_key": "A|X", "account": "A", "item": "X",
                                 "classification": "quantity difference", "currency": "USD", "difference": 5.0, "value_base": 50.0,
                                 "detail": "", "business_date": pd.to_datetime(["2026-11-02", "2026-11-04"])})
    from bo_lib import calendars

    history = breaks.break_history(observations, [dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)],
                                   dt.date(2026, 11, 4), calendars.trading_calendar("XNYS")).set_index("break_id")
    base = breaks.base_break_id("F", "positions", "A|X")
    assert history.loc[base, "status"] == "resolved" and history.loc[base, "resolved_on"] == pd.Timestamp("2026-11-03")
    assert history.loc[f"{base}-2", "status"] == "open" and history.loc[f"{base}-2", "age_business_days"] == 0


def _trade(tid: str, day: str, **changes) -> dict:
    row = {"trade_id": tid, "broker_id": "BRK-A", "account": "0012345678", "isin": "US5443731030", "side": "BUY", "quantity": 100.0,
           "price": 50.0, "currency": "USD", "gross_amount": 5000.0, "commission": 5.0, "fees": 0.0, "net_amount": 5005.0,
           "trade_date": pd.Timestamp(day), "settlement_date": pd.Timestamp(day) + pd.Timedelta(days=1), "delivery_date": pd.Timestamp(day)}
    return row | changes


def _confirm(tid: str, day: str, delivered: str | None = None, **changes) -> dict:
    row = _trade(tid, day, **changes)
    row = {"confirm_id": f"C{tid}", "client_reference": row.pop("trade_id"), **row}
    return row | {"delivery_date": pd.Timestamp(delivered or day)}


def test_a_trade_break_stays_open_until_a_matching_confirmation_arrives():
    """Hand-made: on 11-02 T1 has no confirmation and T2's differs in price; on 11-03 nothing comes
    for either (both stay breaks, a day older); on 11-04 T2's corrected confirmation arrives
    (resolved, that being the reason) and T1's confirmation arrives late but with the wrong
    quantity (still a break, now a quantity difference); on 11-05 T1's corrected one matches."""
    from types import SimpleNamespace

    from bo_lib import calendars
    from bo_lib.recon.trades import reconcile_trades

    tolerances = SimpleNamespace(position_quantity=0.0, trade_price_rel=0.0001, trade_net_amount=0.01)
    fx = pd.DataFrame({"from_currency": pd.Series(dtype="str"), "to_currency": pd.Series(dtype="str"), "rate": pd.Series(dtype="float64")})
    feeds = {  # date -> (the OMS's trades of the day, the confirmations delivered that day)
        "2026-11-02": ([_trade("T1", "2026-11-02"), _trade("T2", "2026-11-02")], [_confirm("T2", "2026-11-02", price=50.5, net_amount=5055.0)]),
        "2026-11-03": ([], []),
        "2026-11-04": ([], [_confirm("T2", "2026-11-02", "2026-11-04"), _confirm("T1", "2026-11-02", "2026-11-04", quantity=90.0)]),
        "2026-11-05": ([], [_confirm("T1", "2026-11-02", "2026-11-05")]),
    }
    carried_trades = carried_confirms = None
    observations, resolutions, seen = [], [], {}
    for day, (trades, confirms) in feeds.items():
        recon = reconcile_trades(pd.DataFrame(trades, columns=list(_trade("x", day))), pd.DataFrame(confirms, columns=list(_confirm("x", day))),
                                 fx, business_date=dt.date.fromisoformat(day), base_currency="USD", tolerances=tolerances,
                                 carried_trades=carried_trades, carried_confirms=carried_confirms)
        carried_trades, carried_confirms = recon.open_items()
        seen[day] = recon
        b = recon.breaks
        observations.append(pd.DataFrame({"fund": "F", "business_date": pd.Timestamp(day), "recon": "trades", "break_key": b["reference"],
                                          "account": b["account"], "item": b["reference"], "classification": b["classification"],
                                          "currency": b["currency"], "difference": b["net_amount_diff"], "value_base": b["break_value_base"],
                                          "detail": b["detail"]}))
        done = recon.resolved
        resolutions.append(pd.DataFrame({"fund": "F", "business_date": pd.Timestamp(day), "recon": "trades", "break_key": done["reference"],
                                         "reason": done["resolution"]}))
    by_day = {d: r.breaks.set_index("reference") for d, r in seen.items()}
    assert by_day["2026-11-02"]["classification"].to_dict() == {"T1": "unconfirmed", "T2": "price/amount difference"}
    assert by_day["2026-11-03"]["classification"].to_dict() == {"T1": "unconfirmed", "T2": "price/amount difference"}  # nothing came
    assert by_day["2026-11-03"]["carried"].all() and by_day["2026-11-03"].loc["T1", "detail"].endswith("(traded 2026-11-02, still open)")
    assert by_day["2026-11-04"]["classification"].to_dict() == {"T1": "quantity difference"}  # the late confirmation differs
    assert seen["2026-11-04"].resolved[["reference", "resolution"]].values.tolist() == [
        ["T2", "corrected confirmation CT2 delivered 2026-11-04 matches the books"]]
    assert by_day["2026-11-05"].empty
    assert seen["2026-11-05"].resolved["resolution"].tolist() == ["corrected confirmation CT1 delivered 2026-11-05 matches the books"]

    runs = [dt.date.fromisoformat(d) for d in feeds]
    history = breaks.break_history(pd.concat(observations, ignore_index=True), runs, runs[-1], calendars.trading_calendar("XNYS"),
                                   resolutions=pd.concat(resolutions, ignore_index=True)).set_index("item")
    t1, t2 = history.loc["T1"], history.loc["T2"]
    assert (t2["status"], t2["first_seen"], t2["last_seen"], t2["resolved_on"], t2["age_business_days"]) == (
        "resolved", pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-03"), pd.Timestamp("2026-11-04"), 2)
    assert t2["resolution"] == "corrected confirmation CT2 delivered 2026-11-04 matches the books"
    assert (t1["status"], t1["resolved_on"], t1["age_business_days"], t1["classification"]) == (
        "resolved", pd.Timestamp("2026-11-05"), 3, "quantity difference")
    # as of 11-03 both were open, one business day old
    then = breaks.break_history(pd.concat(observations, ignore_index=True), runs, runs[1], calendars.trading_calendar("XNYS"))
    assert then["status"].tolist() == ["open", "open"] and then["age_business_days"].tolist() == [1, 1]
    assert then["resolution"].tolist() == ["", ""]


def test_a_resolution_without_a_recorded_reason_says_no_difference_was_found():
    observations = pd.DataFrame({"fund": "F", "recon": "positions", "break_key": "A|X", "account": "A", "item": "X",
                                 "classification": "quantity difference", "currency": "USD", "difference": 5.0, "value_base": 50.0,
                                 "detail": "", "business_date": pd.to_datetime(["2026-11-02"])})
    from bo_lib import calendars

    history = breaks.break_history(observations, [dt.date(2026, 11, 2), dt.date(2026, 11, 3)], dt.date(2026, 11, 3), calendars.trading_calendar("XNYS"))
    assert history["resolution"].tolist() == [breaks.NO_DIFFERENCE] == ["no difference found on the day's recon"]
