"""The book of record on the sample world: ingest is idempotent and keeps the trail of corrected
re-deliveries; a correction to a day not yet locked is struck again and recorded as a restatement;
a correction to a locked day is never applied silently (restatement required, with its effect per
class and per share) until the day is reopened; every close and reopen is audited; a gap is filled
forward from the latest state; current books are only read."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from bo_lib.books.periods import PeriodError, audit_trail, close_books, locked_through, reopen_books
from bo_lib.books.roll import forget_books_from, pending_restatements, roll_books, unlocked_restatements
from bo_lib.books.state import load_state, state_index
from bo_lib.data.catalogue import Catalogue
from bo_lib.data.ingest import ingest
from bo_lib.nav.daily import nav_report
from bo_lib.nav.inputs import gather_nav
from tests.conftest import DATA, PARAMETERS
from tests.commands import bo

FINAL = dt.date(2026, 11, 6)
CORRECTED_DAY = dt.date(2026, 10, 30)
SETTLED = dt.date(2026, 11, 2)
TRADES, LEDGER = "inbound/2026-10-30/trades.csv", "inbound/2026-11-02/cash_ledger.csv"
# the OMS re-delivers GLBD's sale of 1,170,000 BD00006 of 2026-10-30 at 101.5842 instead of 101.8842, and the
# accounting system its settlement on 2026-11-02 at the corrected amount
WRONG, RIGHT = "SELL,1170000.0,101.8842,USD,1192045.14,13604.5,0.0,0.0,1205649.64", "SELL,1170000.0,101.5842,USD,1188535.14,13604.5,0.0,0.0,1202139.64"
WRONG_CASH, RIGHT_CASH = "2026-11-02,1205649.64,TRADE_SETTLEMENT,T261030GLBD003", "2026-11-02,1202139.64,TRADE_SETTLEMENT,T261030GLBD003"


def correct_the_trade(data_copy) -> float:
    """Write the corrected trades and cash ledger files; returns the sale's lower proceeds in EUR at
    the trade day's fixing."""
    for name, wrong, right in [(TRADES, WRONG, RIGHT), (LEDGER, WRONG_CASH, RIGHT_CASH)]:
        path = data_copy / name
        text = path.read_text()
        assert text.count(wrong) == 1
        path.write_text(text.replace(wrong, right))
    fx = pd.read_csv(data_copy / "inbound/2026-10-30/fx_rates.csv")
    eur_usd = float(fx.loc[fx["from_currency"].eq("EUR"), "rate"].iloc[0])  # USD per EUR
    return (1202139.64 - 1205649.64) / eur_usd




def test_ingest_is_idempotent(store_copy, funds):
    report = ingest(DATA, store_copy, funds)
    assert report.new == [] and report.superseded == [] and report.unchanged > 450


def test_a_corrected_re_delivery_supersedes_and_keeps_the_trail(store_copy, data_copy, funds):
    correct_the_trade(data_copy)
    report = ingest(data_copy, store_copy, funds, dates=[CORRECTED_DAY, SETTLED])
    assert sorted((s["path"], s["version"]) for s in report.superseded) == [(TRADES, 2), (LEDGER, 2)] and report.new == []
    history = Catalogue(store_copy).delivery_history(TRADES)
    assert history["version"].tolist() == [1, 2] and history["status"].tolist() == ["superseded", "current"]
    assert history["superseded_by"].iloc[0] == history["delivery_id"].iloc[1]
    trades = Catalogue(store_copy).rows("trades", fund="GLBD", on=CORRECTED_DAY).set_index("trade_id")
    assert trades.at["T261030GLBD003", "price"] == 101.5842  # the current version is what every control reads


def test_a_correction_to_an_unlocked_day_is_struck_again_and_recorded(store_copy, data_copy, funds):
    before = load_state(store_copy, "GLBD", CORRECTED_DAY).classes.set_index("share_class")
    effect = correct_the_trade(data_copy)
    ingest(data_copy, store_copy, funds, dates=[CORRECTED_DAY, SETTLED])
    roll = roll_books(store_copy, funds["GLBD"], FINAL)
    assert roll.struck[0] == CORRECTED_DAY and roll.struck[-1] == FINAL and roll.required.empty
    day = roll.restated[roll.restated["business_date"].eq(pd.Timestamp(CORRECTED_DAY))].set_index("share_class")
    assert set(day.index) == {"R", "I"} and (day["difference_per_share"] < 0).all()
    assert day["stored_nav_per_share"].to_dict() == before["nav_per_share"].to_dict()
    # the classes' effects add up to the lower sale proceeds (each NAV per share rounded to 4 decimals, so within rounding)
    assert day["effect_net_assets"].sum() == pytest.approx(effect, abs=0.0001 * before["units"].sum())
    summary = nav_report(gather_nav(store_copy, funds["GLBD"], FINAL)).summary.set_index("check")
    assert summary.at["restatements", "rag"] == "amber"
    assert "12 class NAV(s) restated on 6 day(s), 2026-10-30 to 2026-11-06" in summary.at["restatements", "detail"]
    assert summary.at["restatement required", "rag"] == "green"
    assert len(unlocked_restatements(store_copy, "GLBD")) == len(roll.restated) == 12  # 2 classes on every day from 2026-10-30
    # USEQ read the same (shared) file: struck again, nothing moved, nothing recorded
    useq = roll_books(store_copy, funds["USEQ"], FINAL)
    assert useq.struck and useq.restated.empty


def test_a_correction_to_a_locked_day_is_not_applied_until_reopened(store_copy, data_copy, funds):
    lock = close_books(store_copy, "GLBD", dt.date(2026, 11, 2), "m.ellison", next_business_day=dt.date(2026, 11, 3))
    assert lock.period == "" and locked_through(store_copy, "GLBD") == dt.date(2026, 11, 2)
    locked = state_index(store_copy, "GLBD").set_index("business_date")["digest"]
    effect = correct_the_trade(data_copy)
    ingest(data_copy, store_copy, funds, dates=[CORRECTED_DAY, SETTLED])
    roll = roll_books(store_copy, funds["GLBD"], FINAL)
    assert roll.struck == []  # the locked day is not struck again, and nothing after it changed
    assert state_index(store_copy, "GLBD").set_index("business_date")["digest"].equals(locked)
    # both locked days the corrections touch, per class; the later unlocked days follow the locked books
    assert sorted(set(zip(roll.required["business_date"].dt.date, roll.required["share_class"]))) == [
        (CORRECTED_DAY, "I"), (CORRECTED_DAY, "R"), (SETTLED, "I"), (SETTLED, "R")]
    required = roll.required[roll.required["business_date"].eq(pd.Timestamp(CORRECTED_DAY))]
    assert required["effect_net_assets"].sum() == pytest.approx(effect, abs=0.0001 * required["units"].sum())
    assert roll_books(store_copy, funds["GLBD"], FINAL).required.empty  # checked once, not again every run
    summary = nav_report(gather_nav(store_copy, funds["GLBD"], FINAL)).summary.set_index("check")
    line = summary.loc["restatement required"]
    assert line["rag"] == "red" and "2026-10-30 class R: locked" in line["detail"] and "bo reopen --fund GLBD --date 2026-10-30" in line["detail"]
    # the reopen applies it: the day and every later one struck again, each move recorded
    with pytest.raises(PeriodError, match="needs a reason"):
        reopen_books(store_copy, "GLBD", CORRECTED_DAY, "", "j.doe", dt.date(2026, 10, 29))
    code, out, err = bo("reopen", "--fund", "GLBD", "--date", "2026-10-30", "--reason", "OMS price correction of T261030GLBD003",
                        "--by", "j.doe", "--data", str(DATA), "--parameters", str(PARAMETERS), "--store", str(store_copy))
    assert code == 0, err
    assert "reopened GLBD from 2026-10-30" in out and locked_through(store_copy, "GLBD") == dt.date(2026, 10, 29)
    again = roll_books(store_copy, funds["GLBD"], FINAL)
    assert again.struck[0] == CORRECTED_DAY and pending_restatements(store_copy, "GLBD").empty
    assert set(again.restated["business_date"].dt.date) == set(again.struck) and again.struck[-1] == FINAL
    trail = audit_trail(store_copy, "GLBD")
    assert trail["action"].tolist() == ["close", "reopen"] and trail["by_name"].tolist() == ["m.ellison", "j.doe"]
    assert trail["reason"].iloc[1] == "OMS price correction of T261030GLBD003" and trail["nav_per_share"].iloc[0].startswith('{"I": ')


def test_close_needs_books_a_name_and_current_deliveries(store_copy, data_copy, funds):
    with pytest.raises(PeriodError, match="no books for 2026-12-01"):
        close_books(store_copy, "GLBD", dt.date(2026, 12, 1), "m.ellison")
    with pytest.raises(PeriodError, match="needs the name"):
        close_books(store_copy, "GLBD", FINAL, " ")
    with pytest.raises(PeriodError, match="changed since the books were struck"):
        close_books(store_copy, "GLBD", FINAL, "m.ellison", stale_dates=[CORRECTED_DAY, SETTLED])
    code, out, err = bo("close", "--fund", "GLBD", "--date", "2026-10-30", "--by", "m.ellison", "--data", str(DATA),
                        "--parameters", str(PARAMETERS), "--store", str(store_copy))
    assert code == 0 and "closed GLBD through 2026-10-30 (month 2026-10)" in out, err  # the last business day of October closes the month
    code, _, err = bo("close", "--fund", "GLBD", "--date", "2026-10-29", "--by", "m.ellison", "--data", str(DATA),
                      "--parameters", str(PARAMETERS), "--store", str(store_copy))
    assert code == 2 and "already locked through 2026-10-30" in err and "Traceback" not in err
    code, out, _ = bo("books", "--fund", "GLBD", "--audit", "--data", str(DATA), "--parameters", str(PARAMETERS), "--store", str(store_copy))
    assert "locked through 2026-10-30" in out and "close  2026-10-30 by m.ellison (month 2026-10)" in out


def test_a_gap_is_filled_forward_from_the_latest_state(store_copy, funds):
    with duckdb.connect(str(store_copy)) as con:  # the books were last struck on 2026-10-15
        for table in [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'book_%'").fetchall()]:
            column = "business_date" if table in ("book_states", "book_restatements", "book_period_audit") else "book_date"
            con.execute(f"DELETE FROM {table} WHERE {column} > DATE '2026-10-15' AND {'fund' if column == 'business_date' else 'book_fund'} = 'USEQ'")
    seen = []
    roll = roll_books(store_copy, funds["USEQ"], FINAL, progress=lambda done, total, day: seen.append((done, total, day)))
    assert roll.struck[0] == dt.date(2026, 10, 16) and roll.struck[-1] == FINAL and len(roll.struck) == 16
    assert seen[-1] == (16, 16, FINAL)
    assert load_state(store_copy, "USEQ", FINAL).classes.set_index("share_class")["nav_per_share"].to_dict() == {"A": 24.6048, "I": 26.3653}


def test_current_books_are_only_read(store_copy, funds):
    before = store_copy.stat().st_mtime_ns
    for code in funds:
        assert roll_books(store_copy, funds[code], FINAL).struck == []
    assert store_copy.stat().st_mtime_ns == before


def test_a_scratch_copy_forgets_the_books_from_a_date_and_strikes_them_again_the_same(store_copy, funds):
    """``forget_books_from`` (what ``bo replay`` does to its scratch copy): the states from the date on
    are gone, a lock covering them lifted (earlier days still locked), and the next roll strikes
    each day again from the day before, to the same digests."""
    close_books(store_copy, "GLBD", dt.date(2026, 11, 2), "m.ellison", next_business_day=dt.date(2026, 11, 3))
    held = state_index(store_copy, "GLBD").set_index("business_date")["digest"]
    assert forget_books_from(store_copy, ["GLBD"], SETTLED) == {"GLBD": 5}  # 2026-11-02 .. 2026-11-06
    assert max(state_index(store_copy, "GLBD")["business_date"]) == CORRECTED_DAY
    assert locked_through(store_copy, "GLBD") == CORRECTED_DAY and audit_trail(store_copy, "GLBD")["action"].tolist()[-1] == "replay unlock"
    roll = roll_books(store_copy, funds["GLBD"], FINAL)
    assert roll.struck[0] == SETTLED and roll.struck[-1] == FINAL and len(roll.struck) == 5 and roll.restated.empty
    assert state_index(store_copy, "GLBD").set_index("business_date")["digest"].equals(held)
    assert forget_books_from(store_copy, ["USEQ"], dt.date(2026, 12, 1)) == {"USEQ": 0}  # nothing from then on
