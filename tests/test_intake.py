"""The intake control on the sample world: it finds the seeded intake exceptions and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest

from bo_lib import intake
from bo_lib.data.ingest import ingest
from bo_lib.intake.inputs import gather_fund_day

FINAL = dt.date(2026, 11, 6)


@pytest.fixture(autouse=True)
def _store(sample_store):
    global STORE
    STORE = sample_store


def assess(fund_code, funds, date=FINAL, store=None):
    return intake.assess(gather_fund_day(store or STORE, funds[fund_code], date))


def delivered_again(data_copy, store, funds):
    """The changed files of the final date ingested into ``store`` (a corrected re-delivery)."""
    ingest(data_copy, store, funds, dates=[FINAL])
    return store


def _seeded(ground_truth, kind):
    return [e for e in ground_truth["exceptions"] if e["type"] == kind]


def test_useq_final_date_flags_exactly_the_seeded_missing_and_stale_prices(funds, ground_truth):
    result = assess("USEQ", funds)
    flagged = result.prices[result.prices["rag"] != "green"].set_index("security_id")["status"].to_dict()
    missing = _seeded(ground_truth, "price_missing")[0]["security_id"]
    stale = _seeded(ground_truth, "price_stale")[0]["security_id"]
    assert flagged == {missing: "no price today", stale: "unchanged for 3+ deliveries"}
    assert result.prices.set_index("security_id").at[stale, "unchanged_deliveries"] == 4  # five equal closes
    assert result.summary.counts == {"red": 1, "amber": 0, "green": 6}
    assert result.key_figures() == {"files_received": 11, "files_missing": 0, "validation_errors": 0, "prices_not_fresh": 2,
                                    "fx_exceptions": 0, "statements_not_balancing": 0}


@pytest.mark.parametrize("fund_code", ["GLBD", "MAHF"])
def test_other_funds_are_clean_on_the_final_date(funds, fund_code):
    result = assess(fund_code, funds)
    assert result.summary.counts["red"] == 0 and result.summary.counts["amber"] == 0, result.summary.text()
    assert len(result.violations) == 0
    assert set(result.statements["balances"]) == {True}


def test_unbalanced_statement_is_red_with_its_difference_and_breaks_the_chain(funds, ground_truth):
    seeded = _seeded(ground_truth, "statement_unbalanced")[0]
    day = dt.date.fromisoformat(seeded["first_date"])
    result = assess("GLBD", funds, day)
    bad = result.statements[result.statements["rag"] == "red"]
    assert list(bad["account"]) == [seeded["account"]]
    assert bad["difference"].iloc[0] == pytest.approx(seeded["difference"])
    assert "does not balance" in result.summary.table.set_index("check").at["Bank statements", "detail"]
    # the next statement opens from the true balance: the chain from the misreported closing breaks
    nxt = assess("GLBD", funds, dt.date(2026, 11, 2))
    chain = nxt.statements.set_index("account")
    assert bool(chain.at[seeded["account"], "chain_break"]) and bool(chain.at[seeded["account"], "balances"])
    assert (nxt.statements["rag"] == "red").sum() == 1


def test_no_usd_statement_is_due_on_columbus_day(funds):
    result = assess("USEQ", funds, dt.date(2026, 10, 12))  # NYSE open, Federal Reserve closed
    row = result.arrival.set_index("dataset").loc["statement:0012345679"]
    assert not row["due"] and row["status"] == "not due" and row["rag"] == "green"
    assert result.summary.table.set_index("check").at["Files delivered", "rag"] == "green"


def test_missing_and_empty_files_are_red(funds, data_copy, tmp_path):
    (data_copy / "inbound/2026-11-06/prices.csv").unlink()
    (data_copy / "inbound/2026-11-06/statements/0012345679.mt940").write_text("")
    store = tmp_path / "fresh.duckdb"  # a store that never saw the prices of the day
    ingest(data_copy, store, funds, dates=[FINAL])
    result = assess("USEQ", funds, store=store)
    status = result.arrival.set_index("dataset")["status"]
    assert status["prices"] == "missing" and status["statement:0012345679"] == "empty"
    assert result.summary.table.set_index("check").at["Files delivered", "count"] == 2
    assert "expected file was not delivered" in set(result.violations["rule"])


def test_a_bad_row_is_reported_to_its_fund_only(funds, data_copy, store_copy):
    path = data_copy / "inbound/2026-11-06/trades.csv"
    lines = path.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if ",USEQ," in line)
    parts = lines[n].split(",")
    parts[6] = "12O0"  # quantity with a letter O
    lines[n] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    store = delivered_again(data_copy, store_copy, funds)
    useq = assess("USEQ", funds, store=store)
    v = useq.violations.iloc[0]
    assert (len(useq.violations), v["file"], v["line"], v["column"], v["rule"], v["value"]) == (
        1, "inbound/2026-11-06/trades.csv", n + 1, "quantity", "not a number", "12O0")
    assert useq.summary.table.set_index("check").at["Validation", "rag"] == "red"
    for other in ("GLBD", "MAHF"):
        assert len(assess(other, funds, store=store).violations) == 0


def test_row_counts_flag_a_stable_feed_that_shrinks(funds, data_copy, store_copy):
    path = data_copy / "inbound/2026-11-06/custodian_positions.csv"
    lines = path.read_text().splitlines()
    useq_rows = [line for line in lines[1:] if ",0012345678," in line]
    path.write_text("\n".join([lines[0]] + [line for line in lines[1:] if line not in useq_rows[:15]]) + "\n")
    result = assess("USEQ", funds, store=delivered_again(data_copy, store_copy, funds))
    row = result.counts.set_index("dataset").loc["custodian_positions"]
    assert (row["rows"], row["previous_rows"], row["rag"]) == (7, 22, "amber")


def test_an_unreadable_statement_is_red_not_a_silent_gap(funds, data_copy, store_copy):
    path = data_copy / "inbound/2026-11-06/statements/DE89370400440532013000.camt053.xml"
    path.write_text(path.read_text().replace("</Ntry>", "", 1))  # no longer well-formed XML
    result = assess("GLBD", funds, store=delivered_again(data_copy, store_copy, funds))
    row = result.summary.table.set_index("check").loc["Bank statements"]
    assert row["rag"] == "red" and "unreadable: DE89370400440532013000" in row["detail"]
    v = result.violations[result.violations["file"].str.endswith("DE89370400440532013000.camt053.xml")]
    assert len(v) == 1 and "XML" in v["rule"].iloc[0]


def test_the_statement_after_a_bank_holiday_chains_from_the_last_one_sent(funds):
    """No USD statement comes on Columbus Day (2026-10-12): Tuesday's statement chains from Friday's
    closing balance, not from a missing Monday one (the check is never skipped)."""
    friday = assess("USEQ", funds, dt.date(2026, 10, 9)).statements.set_index("account")
    tuesday = assess("USEQ", funds, dt.date(2026, 10, 13)).statements.set_index("account")
    for account in ("0012345679",):
        assert tuesday.at[account, "previous_closing"] == friday.at[account, "closing_balance"]
        assert tuesday.at[account, "opening_balance"] == friday.at[account, "closing_balance"]
        assert not tuesday.at[account, "chain_break"] and tuesday.at[account, "rag"] == "green"


@pytest.mark.parametrize("day", [dt.date(2026, 10, 1), dt.date(2026, 11, 3)])
def test_each_fund_s_arrivals_list_only_the_message_files_for_its_accounts(funds, day):
    """The custodians' message files of a day, read here file by file (the safekeeping account of
    each message, ``:97A::SAFE//``, found in the text), against each fund's accounts: a fund's
    arrival list holds its own files and none of another fund's."""
    import re
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "inbound" / day.isoformat() / "messages"
    owner = {a.account: code for code, fund in funds.items() for a in fund.securities_accounts}
    files = {f"inbound/{day}/messages/{path.name}": {owner.get(acc) for acc in re.findall(r":97A::SAFE//(\S+)", path.read_text())}
             for path in sorted(folder.iterdir())}
    assert files, "the sample world delivers messages that day"
    for code in funds:
        arrival = assess(code, funds, day).arrival
        listed = set(arrival.loc[arrival["path"].str.contains("/messages/"), "path"])
        assert listed == {path for path, owners in files.items() if code in owners}, code
