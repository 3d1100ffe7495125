"""The book of record across quarters, on a generated world of 66 business days (2026-10-01 to
2027-01-05: two episodes of seeded exceptions, the options' expiry, the note's maturity, the
quarter and year end, the performance fee's crystallisation). The books are struck day by day from
one ingest; on every date each control finds exactly the seeded exceptions live on that date,
the 13F follows the quarter, and the year end's fee and the maturity are booked as the
administrator and the bank book them.

Expected values come from the world's ground truth (``seeded_exceptions.json``, written by the
generator, which imports none of the books' or the controls' code) and from hand-worked figures."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from bo_lib import intake, settlement
from bo_lib.books.periods import locked_through
from bo_lib.books.state import load_state, read_frames, state_index
from bo_lib.cli import main
from bo_lib.data.catalogue import Catalogue
from bo_lib.intake.inputs import gather_fund_day
from bo_lib.nav.controls import shadow_vs_administrator
from bo_lib.nav.daily import nav_report, valued_today
from bo_lib.nav.inputs import gather_nav
from bo_lib.nav.pricing import price_exceptions
from bo_lib.parameters import load_company, load_funds
from bo_lib.prices import ratio_adjustment
from bo_lib.regulatory import control as regulatory
from bo_lib.regulatory.inputs import gather_regulatory
from bo_lib.settlement.inputs import gather_settlement
from bo_lib.store import open_store
from tests.stores import SampleDays, build_store

YEAR_START = dt.date(2027, 1, 5)  # the 66-day world's last date: the first days of a new year
pytestmark = pytest.mark.slow


@dataclass
class Long:
    root: Path
    store: Path
    funds: dict
    truth: dict
    days: SampleDays
    dates: list[dt.date]

    @property
    def final(self) -> dt.date:
        return self.dates[-1]

    def next_statement(self, account: str, after: dt.date) -> dt.date | None:
        """The next date the bank delivers a statement of ``account`` (none on its payment system's holidays)."""
        return next((d for d in self.dates if d > after and any((self.root / "data" / "inbound" / d.isoformat() / "statements").glob(f"{account}.*"))), None)

    def live(self, kind: str, day: dt.date, fund: str | None = None) -> list[dict]:
        return [x for x in self.truth["exceptions"] if x["type"] == kind and x["first_date"] <= day.isoformat() <= x["last_date"]
                and (fund is None or x["fund"] == fund)]

    def edges(self, *kinds: str) -> list[dt.date]:
        """The dates on which the seeded items of ``kinds`` start and end, and the dates either side."""
        out = set()
        for x in self.truth["exceptions"]:
            if x["type"] in kinds:
                i, j = self.dates.index(dt.date.fromisoformat(x["first_date"])), self.dates.index(dt.date.fromisoformat(x["last_date"]))
                out |= {self.dates[k] for k in (i - 1, i, j, j + 1) if 0 <= k < len(self.dates)}
        return sorted(out)

    def bo(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--data", str(self.root / "data"), "--parameters", str(self.root / "parameters"), "--store", str(self.store)])
        return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def world(long_world_root) -> Long:
    """The long world ingested once and struck day by day to its final date (every day's NAV kept)."""
    store = long_world_root / "store" / "workbench.duckdb"
    store.parent.mkdir(exist_ok=True)
    store.unlink(missing_ok=True)  # struck afresh: the checks read what each day struck
    days = SampleDays(store)
    truth = json.loads((long_world_root / "data" / "seeded_exceptions.json").read_text())
    build_store(long_world_root / "data", long_world_root / "parameters", store, dt.date.fromisoformat(truth["final_date"]), days)
    truth = json.loads((long_world_root / "data" / "seeded_exceptions.json").read_text())
    dates = sorted(dt.date.fromisoformat(p.name) for p in (long_world_root / "data" / "inbound").iterdir())
    assert truth["final_date"] >= YEAR_START.isoformat() and dates[-1].isoformat() == truth["final_date"]
    # (BO_TEST_LONG_WORLD may name a longer world: the every-date checks run on it unchanged)
    return Long(long_world_root, store, load_funds(long_world_root / "parameters"), truth, days, dates)


# --- reconciliation ---------------------------------------------------------------------------

RECON_ROWS = {  # seeded type -> (recon, the item's key field, classification)
    "settlement_fail": ("positions", "isin", "timing"),
    "cash_missing_at_bank": ("cash", "trade_id", "timing"),
    "position_quantity_difference": ("positions", "isin", "quantity difference"),
    "corporate_action_not_booked": ("positions", "isin", "event applied by the custodian, not booked"),
    "position_missing_at_custodian": ("positions", "isin", "missing at custodian"),
    "position_missing_in_books": ("positions", "isin", "missing in books"),
    "cash_amount_difference": ("cash", "customer_reference", "price/amount difference"),
    "cash_missing_in_books": ("cash", "bank_reference", "missing in books"),
    "trade_settlement_date_difference": ("trades", "trade_id", "settlement date difference"),
    "trade_price_difference": ("trades", "trade_id", "price/amount difference"),
    "trade_net_amount_difference": ("trades", "trade_id", "price/amount difference"),
    "trade_quantity_difference": ("trades", "trade_id", "quantity difference"),
    "trade_unconfirmed": ("trades", "trade_id", "unconfirmed"),
    "confirm_without_trade": ("trades", "client_reference", "missing in books"),
}


def test_every_recon_break_on_every_date_is_a_seeded_one_live_that_day(world):
    with open_store(world.store, read_only=True) as con:
        found = set(con.execute("SELECT fund, business_date, recon, item, classification FROM recon_break_observations").fetchall())
        runs = con.execute("SELECT fund, count(DISTINCT business_date) FROM recon_runs GROUP BY fund").fetchall()
    assert dict(runs) == {code: len(world.dates) for code in world.funds}  # every fund reconciled on every date
    expected = set()
    for x in world.truth["exceptions"]:
        if x["type"] in RECON_ROWS:
            recon, key, classification = RECON_ROWS[x["type"]]
            expected |= {(x["fund"], d, recon, x[key], classification) for d in world.dates if x["first_date"] <= d.isoformat() <= x["last_date"]}
    assert sorted(found - expected) == [] and sorted(expected - found) == []
    anchors = {dt.date.fromisoformat(x["episode"]) for x in world.truth["exceptions"] if x["type"] in RECON_ROWS}
    assert len(anchors) >= 2 and {d for _, d, *_ in found} >= anchors  # every episode's breaks are found


def test_every_corporate_action_exception_on_every_date_is_a_seeded_one_live_that_day(world):
    """Both episodes: the short-paid dividend until the refund's MT566, the stock dividend until the
    books book it late; the final episode's elections, disputes and replacements; the maturing note's
    last coupon and redemption confirmed as entitled (its holder notified when it bought the note)."""
    from bo_lib.corporate_actions.control import assess
    from bo_lib.corporate_actions.inputs import gather_corporate_actions
    from tests.test_corporate_actions import GROUND_TRUTH_CHECKS

    seeded = [x for x in world.truth["exceptions"] if x["area"] == "corporate_actions"]
    expected = {(x["fund"], d, GROUND_TRUTH_CHECKS[x["type"]], x["event_id"]) for x in seeded for d in world.dates
                if x["first_date"] <= d.isoformat() <= x["last_date"]}
    found, redeemed = set(), None
    for d in world.dates:
        for code in sorted(world.funds):
            result = assess(gather_corporate_actions(world.store, world.funds[code], d))
            found |= {(code, d, item.check, item.event_id) for item in result.items.itertuples()}
            if code == "GLBD" and d == world.final:
                redeemed = result.confirmations[result.confirmations["event_id"].str.startswith("CR")]
    assert sorted(found - expected) == [] and sorted(expected - found) == []
    assert len({x["episode"] for x in seeded}) >= 2
    assert redeemed is not None and redeemed["status"].tolist() == ["agreed"] and redeemed["posted_net"].tolist() == [1_000_000.0]


# --- NAV and pricing --------------------------------------------------------------------------


def test_shadow_nav_agrees_with_the_administrator_on_every_date_except_where_seeded(world):
    seeded = [x for x in world.truth["exceptions"] if x["area"] == "nav"]
    catalogue = Catalogue(world.store)
    for code, fund in world.funds.items():
        history = read_frames(world.store, "class_day", code).rename(columns={"book_date": "nav_date"})
        compared = shadow_vs_administrator(history, catalogue.rows("admin_nav", fund=code), fund.nav_thresholds.materiality_pct,
                                           unit_decimals=fund.unit_decimals)
        assert compared["nav_date"].nunique() == len(world.dates), code  # the administrator's NAV of every date compared
        for row in compared[compared["status"] != "agrees"].itertuples():
            day = row.nav_date.date().isoformat()
            live = [x for x in seeded if x["fund"] == code and x["first_date"] <= day <= x["last_date"] and x["share_class"] in (None, row.share_class)]
            assert live, f"{code} {day} class {row.share_class}: {row.difference_pct:+.4f}% ({row.status}) is not seeded"
            assert row.status == "material" or all(x["status"] == "immaterial" for x in live)
        for x in seeded:
            if x["fund"] == code and x["status"] == "material":
                hit = compared[compared["nav_date"].eq(pd.Timestamp(x["first_date"])) & compared["share_class"].eq(x["share_class"])]
                assert hit["status"].tolist() == ["material"], x["id"]
                assert hit["difference_pct"].iloc[0] == pytest.approx(x["difference_pct"], abs=0.01)


def test_pricing_exceptions_on_every_date_are_the_seeded_ones_live_that_day(world):
    seeded = [x for x in world.truth["exceptions"] if x["area"] == "pricing" and x.get("security_id")]
    securities = Catalogue(world.store).reference()["securities"]
    found = set()
    for (code, day), (inputs, result, _state) in sorted(world.days.nav.items()):
        fund = world.funds[code]
        adjustments = ratio_adjustment(inputs.corporate_actions, result.valuation_dates)
        exceptions = price_exceptions(valued_today(result.valuation, pd.Timestamp(day)), result.chosen_prices, securities, day,
                                      fund.pricing.stale_days, fund.pricing.jump_pct, adjustments)
        for row in exceptions.itertuples():
            live = [x for x in seeded if x["type"] == row.exception and x["security_id"] == row.security_id
                    and x["first_date"] <= day.isoformat() <= x["last_date"]]
            assert live, f"{code} {day}: {row.exception} on {row.security_id} is not seeded"
            found.add(live[0]["id"])
    assert found == {x["id"] for x in seeded}  # and every seeded one is found (both episodes)


def test_the_year_end_crystallises_the_performance_fee_and_the_payment_settles_it(world):
    """MAHF class A is above its high-water mark at the year end: the accrued fee becomes payable
    (the administrator's accrual drops to nil), the mark steps up to the year end's NAV per share,
    and the payment of 2027-01-04 (P2701MAHFA) clears the payable to the cent. Class F is below its
    mark (1,300): nothing crystallises."""
    ledger = Catalogue(world.store).rows("cash_ledger", fund="MAHF", on=dt.date(2027, 1, 4))
    paid = -float(ledger.loc[ledger["reference"].eq("P2701MAHFA"), "amount"].sum())
    admin = Catalogue(world.store).rows("admin_nav", fund="MAHF", on=dt.date(2026, 12, 31)).set_index("share_class")
    before = load_state(world.store, "MAHF", dt.date(2026, 12, 30)).classes.set_index("share_class")
    year_end = load_state(world.store, "MAHF", dt.date(2026, 12, 31)).classes.set_index("share_class")
    after = load_state(world.store, "MAHF", dt.date(2027, 1, 4)).classes.set_index("share_class")
    assert before.at["A", "performance_fee_accrued"] > 1_000_000 and before.at["A", "high_water_mark"] == 1150.0
    assert year_end.at["A", "performance_fee_accrued"] == 0 == admin.at["A", "performance_fee_accrued"]
    assert year_end.at["A", "performance_fee_payable"] == pytest.approx(paid, abs=0.005) and paid > 1_000_000
    assert year_end.at["A", "high_water_mark"] == year_end.at["A", "nav_per_share"] == admin.at["A", "nav_per_share"]
    assert after.at["A", "performance_fee_payable"] == pytest.approx(0.0, abs=0.005)
    assert (year_end.at["F", "high_water_mark"], year_end.at["F", "performance_fee_payable"]) == (1300.0, 0.0)


def test_the_note_is_redeemed_at_maturity_and_weekend_coupons_are_paid_the_next_business_day(world):
    positions = {d: load_state(world.store, "GLBD", d).positions for d in (dt.date(2026, 12, 14), dt.date(2026, 12, 15))}
    held = positions[dt.date(2026, 12, 14)]
    assert held.loc[held["security_id"].eq("BD00009"), "quantity"].tolist() == [1_000_000.0]
    assert "BD00009" not in set(positions[dt.date(2026, 12, 15)]["security_id"])
    ledger = Catalogue(world.store).rows("cash_ledger", fund="GLBD")
    by_reference = ledger.set_index("reference")["amount"].astype(float)
    assert by_reference["CR261215BD00009"] == 1_000_000.00  # redeemed at par
    assert by_reference["CI261215BD00009"] == 16_250.00  # the last half-year's coupon: 1,000,000 x 3.25% / 2
    # the gilt's coupon of Saturday 2026-11-07 is paid on Monday 2026-11-09 to the holder of record at the close of
    # Wed 28 Oct (ex seven UK business days before the coupon, on Thu 29 Oct): 27,250,000 opening nominal and every
    # trade settled by 28 Oct = 24,060,000 (the 890,000 sold on 28 Oct settles on the ex-date: sold ex, the coupon
    # stays with the fund); 24,060,000 x 4.25% / 2 = 511,275.00
    coupon = ledger[ledger["reference"].eq("CI261107BD00004")]
    assert coupon["value_date"].dt.date.tolist() == [dt.date(2026, 11, 9)] and coupon["amount"].tolist() == [511_275.00]
    report = nav_report(gather_nav(world.store, world.funds["GLBD"], world.final)).summary.set_index("check")
    assert report.filter(like="coupon", axis=0)["rag"].eq("green").all()


# --- settlement and intake on the dates the seeded items start and end ----------------------------


def test_settlement_fails_and_unmatched_instructions_are_the_live_ones_on_every_edge_date(world):
    dates = world.edges("settlement_fail", "instruction_unmatched")
    assert len(dates) > 15 and dates[-1] == world.final
    for day in dates:
        for code, fund in world.funds.items():
            result = settlement.assess(gather_settlement(world.store, fund, day))
            assert sorted(result.fails["trade_id"]) == sorted(x["trade_id"] for x in world.live("settlement_fail", day, code)), (code, day)
            unmatched = result.report.loc[result.report["match_status"].eq("NMAT"), "trade_id"]
            assert sorted(unmatched) == sorted(x["trade_id"] for x in world.live("instruction_unmatched", day, code)), (code, day)


def test_intake_flags_the_live_price_and_statement_exceptions_on_every_edge_date(world):
    dates = world.edges("price_missing", "price_stale", "statement_unbalanced")
    dates = sorted(set(dates) | {world.next_statement(x["account"], dt.date.fromisoformat(x["last_date"]))
                                 for x in world.truth["exceptions"] if x["type"] == "statement_unbalanced"} - {None})
    for day in dates:
        for code, fund in world.funds.items():
            result = intake.assess(gather_fund_day(world.store, fund, day))
            flagged = result.prices[result.prices["rag"] != "green"].set_index("security_id")["status"].to_dict()
            expected = {x["security_id"]: "no price today" for x in world.live("price_missing", day, code)}
            # a repeated price is stale once it has been delivered the fund's stale_days times
            repeats = {x["security_id"]: world.dates.index(day) - world.dates.index(dt.date.fromisoformat(x["first_date"])) + 1
                       for x in world.live("price_stale", day, code)}
            expected |= {sid: f"unchanged for {fund.pricing.stale_days}+ deliveries" for sid, n in repeats.items() if n >= fund.pricing.stale_days}
            assert flagged == expected, (code, day)
            red = result.statements[result.statements["rag"].eq("red")].set_index("account")
            unbalanced = [x["account"] for x in world.live("statement_unbalanced", day, code)]
            # the account's next statement after an unbalanced one opens from the true balance: its chain breaks
            chained = [x["account"] for x in world.truth["exceptions"] if x["type"] == "statement_unbalanced" and x["fund"] == code
                       and world.next_statement(x["account"], dt.date.fromisoformat(x["last_date"])) == day]
            assert sorted(red.index) == sorted(unbalanced + chained), (code, day)
            assert not red.loc[unbalanced, "balances"].any() and red.loc[chained, "chain_break"].all() and red.loc[chained, "balances"].all()
            assert len(result.violations) == 0 and result.arrival["status"].isin(["received", "not due"]).all(), (code, day)
            assert result.arrival["rag"].eq("green").all(), (code, day)  # a statement is not due on its payment system's holiday


# --- regulatory: the 13F follows the quarter --------------------------------------------------


@pytest.mark.parametrize("day, period, crossings, still_due", [
    (dt.date(2026, 10, 29), "2026-09-30", 0, 0),
    (dt.date(2026, 10, 30), "2026-09-30", 1, 0),  # the firm crosses 5%: Schedule 13G due 45 days after the quarter
    (dt.date(2026, 12, 31), "2026-09-30", 1, 0),
    (dt.date(2027, 1, 4), "2026-12-31", 0, 1),  # a new quarter: the 13F of 2026-12-31; the 13G still due 2027-02-16
    (YEAR_START, "2026-12-31", 0, 1),
])
def test_the_regulatory_report_follows_the_quarter(world, day, period, crossings, still_due):
    company = load_company(world.root / "parameters")
    inputs = gather_regulatory(world.store, company, world.funds, day)
    result = regulatory.assess(inputs)
    assert result.form13f.period_end.isoformat() == period and inputs.at_quarter_end.date.isoformat() == period
    us = result.monitor.crossings[result.monitor.crossings["regime"].str.startswith("US")]
    assert len(us) == crossings == len(world.live("ownership_threshold_crossing", day))
    assert len(result.monitor.still_due) == still_due == len(world.live("threshold_filing_due", day))
    summary = result.summary.set_index("check")
    if still_due:
        (due,) = world.live("threshold_filing_due", day)
        row = result.monitor.still_due.iloc[0]
        assert (row["filing"], row["due_date"], row["security_id"]) == (due["filing"], pd.Timestamp(due["due_date"]), due["security_id"])
        assert summary.at["Filings still due from the quarter before", "rag"] == "amber"
        assert f"due {due['due_date']}" in summary.at["Filings still due from the quarter before", "detail"]
        assert (result.calendar["due_date"] == pd.Timestamp(due["due_date"])).any()  # and on the filing calendar
    else:
        assert summary.at["Filings still due from the quarter before", "rag"] == "green"
    # the $100M test reads the month ends of the 13F period's calendar year and of this year so far
    # (in the first days of January no month end of the new year has passed yet)
    this_year = {day.year} if day.month > 1 else set()
    assert set(pd.to_datetime(result.filing_test["valuation_date"]).dt.year) == {int(period[:4])} | this_year


def test_form13f_for_every_quarter_end_in_the_data(world, tmp_path):
    code, out, err = world.bo("form13f", "--quarter-end", "2026-12-31", "--out", str(tmp_path))
    assert code == 0, err
    assert "13F 2026-12-31" in out and "(books at the close of 2026-12-31)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["form13f_2026Q4_infotable.xml", "form13f_2026Q4_primary_doc.xml"]
    code, out, err = world.bo("form13f", "--quarter-end", "2026-09-30", "--out", str(tmp_path))
    assert code == 0 and "(books at the close of 2026-09-30)" in out, err
    beyond = (pd.Timestamp(world.final).to_period("Q") + 1).end_time.date()  # a quarter end the books do not reach
    code, _, err = world.bo("form13f", "--quarter-end", beyond.isoformat(), "--out", str(tmp_path))
    assert code == 2 and f"no books for {beyond}" in err and "Traceback" not in err
    code, _, err = world.bo("form13f", "--quarter-end", "2026-12-30", "--out", str(tmp_path))
    assert code == 2 and "not a calendar quarter end" in err


def test_a_quarter_end_close_locks_the_quarter_and_the_next_quarter_starts_from_it(world, tmp_path):
    import shutil

    store = tmp_path / "workbench.duckdb"
    shutil.copy2(world.store, store)
    locked = Long(world.root, store, world.funds, world.truth, world.days, world.dates)
    code, out, err = locked.bo("close", "--fund", "MAHF", "--date", "2026-12-31", "--by", "m.ellison")
    assert code == 0 and "closed MAHF through 2026-12-31 (quarter 2026-Q4)" in out, err
    assert locked_through(store, "MAHF") == dt.date(2026, 12, 31)
    summary = nav_report(gather_nav(store, world.funds["MAHF"], world.final)).summary.set_index("check")
    assert summary.at["books reproduce", "rag"] == "green" and "locked through 2026-12-31" in summary.at["books reproduce", "detail"]
    # the quarter-end state is the next quarter's opening: the first day of 2027 is struck from it
    index = state_index(store, "MAHF").set_index("business_date")
    assert index.at[dt.date(2027, 1, 4), "previous_digest"] == index.at[dt.date(2026, 12, 31), "digest"]


def test_a_generated_world_schedules_every_notebook_for_every_fund(world):
    from bo_lib.controls import NOTEBOOK_PARAMETERS, load_schedule

    schedule = load_schedule(world.root / "parameters" / "schedule.yaml")
    assert {job.notebook for job in schedule.jobs} == set(NOTEBOOK_PARAMETERS)
    assert Path(schedule.data_root) == (world.root / "data").resolve()
