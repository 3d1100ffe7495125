"""The break workflow: the rules (bo_lib.recon.workflow), the append-only trail and its actions
(bo_lib.recon.break_actions), manual matches in the recons, ``bo break`` and the Lab's panel, on
copies of the sample store as of 2026-11-06.

USEQ's breaks used, read off the store tests/stores.py builds (values in USD, USEQ's write-off
threshold is 10,000.00 in parameters/funds/USEQ.yaml):

* POS-D971FBA85F: US2095851083, custodian -250 vs the books, 68,526.92 — above the threshold: four eyes;
* TRD-BB46BBE2FD: T261106USEQ003, price/amount difference, 25.00 — below: one person writes it off;
* CSH-6702E79BE3 (the cash of T261020USEQ901, a LACK fail: bank - books -509,534.53) and
  POS-FDEDA21967 (its position, US5443731030: custodian +2,000, 518,670.00): both open from
  2026-10-21 through 11-06, of two recons: never matched with each other;
* CSH-84016D7009 (the cash of T261103USEQ905, -501,769.12, open 11-04 through 11-06): with
  CSH-6702E79BE3 it nets to -509,534.53 - 501,769.12 = -1,011,303.65;
* TRD-475E78B26E (T261106USEQ001, broker - books +1,185.00) and TRD-913BC23D5B (T261106USEQ002,
  -8,985.88): they net to 1,185.00 - 8,985.88 = -7,800.88, within 10,000.00;
* TRD-527E90808F: T261105USEQ004, settlement date difference, 1,165,504.66, open 11-05 and 11-06;
* POS-A90351D28C: US6593801094, resolved by the recon itself on 11-03.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bo_lib.recon import workflow
from bo_lib.recon.break_actions import BreakAction, load_trail, perform
from bo_lib.recon.breaks import load_breaks, set_break_note
from bo_lib.recon.control import valuation_calendar
from bo_lib.recon.daily import reconcile_day
from tests.commands import bo

REPO = Path(__file__).resolve().parent.parent
DATA, PARAMETERS = REPO / "data", REPO / "parameters"
FINAL = dt.date(2026, 11, 6)
TODAY = dt.date(2026, 11, 6)  # what expected dates are checked against in these tests
THRESHOLDS = {"USEQ": 10000.0, "GLBD": 10000.0, "MAHF": 10000.0}  # recon.write_off_threshold of parameters/funds/*.yaml
ABOVE, BELOW, CASH, POSITION, BY_RECON = "POS-D971FBA85F", "TRD-BB46BBE2FD", "CSH-6702E79BE3", "POS-FDEDA21967", "POS-A90351D28C"
CASH_2, TRADE_PLUS, TRADE_MINUS, LIVE_TRADE = "CSH-84016D7009", "TRD-475E78B26E", "TRD-913BC23D5B", "TRD-527E90808F"
RECON_TABLES = ("recon_runs", "recon_break_observations", "recon_break_resolutions", "recon_cash_open_items", "recon_trade_open_items",
                "recon_statement_chain")


def act(store, break_id, action, actor, today=TODAY, thresholds=THRESHOLDS, **fields) -> pd.DataFrame:
    return perform(store, BreakAction(break_id, action, actor, **fields), thresholds, today=today)


def refused(store, break_id, action, actor, **fields) -> str:
    with pytest.raises(ValueError) as info:
        act(store, break_id, action, actor, **fields)
    return str(info.value)


def history(store, funds, day=FINAL) -> pd.DataFrame:
    return load_breaks(store, "USEQ", day, valuation_calendar(funds["USEQ"])).set_index("break_id")


def rerun(store, funds, day):
    """Reconcile USEQ on ``day`` again and record it (as a rerun after a corrected delivery would)."""
    with duckdb.connect(str(store)) as connection:
        connection.execute("DELETE FROM recon_runs WHERE fund = 'USEQ' AND business_date = ?", [day])
    return reconcile_day(store, funds["USEQ"], day, f"rerun-{day}")


def recons_back_to(store, day):
    """USEQ's recons as they stood at the close of ``day`` (later days not reconciled yet)."""
    with duckdb.connect(str(store)) as connection:
        for table in RECON_TABLES:
            connection.execute(f"DELETE FROM {table} WHERE fund = 'USEQ' AND business_date > ?", [day])


# --------------------------------------------------------------------------------------------
# the rules, pure


def test_the_transition_table_says_what_is_allowed_from_each_state():
    assert workflow.allowed_actions("new") == ["assign", "investigate", "comment", "note", "resolve", "match"]
    assert workflow.allowed_actions("write_off_proposed") == ["comment", "note", "approve", "reject"]
    assert workflow.allowed_actions("written_off") == ["comment", "note", "reopen"]
    assert workflow.allowed_actions("matched") == ["comment", "note", "unmatch"]
    with pytest.raises(ValueError) as info:
        workflow.check_transition("POS-1", "resolved", "investigate")
    assert str(info.value) == "break POS-1 is resolved: investigate is not allowed (allowed from resolved: comment, reopen)"
    with pytest.raises(ValueError, match=r"^break POS-1: resolve needs a comment \(--comment\)$"):
        workflow.check_transition("POS-1", "investigating", "resolve", "  ")
    with pytest.raises(ValueError, match="unknown action 'close'"):
        workflow.check_transition("POS-1", "new", "close")


def test_four_eyes_above_the_threshold_only_and_never_the_proposer():
    assert not workflow.write_off_needs_approval(10000.0, 10000.0)  # at the threshold: one person
    assert workflow.write_off_needs_approval(-10000.01, 10000.0)  # the absolute value counts
    assert workflow.write_off_needs_approval(0.01, 0.0)
    with pytest.raises(ValueError) as info:
        workflow.check_approver("POS-1", "j.doe", "J.Doe ")
    assert str(info.value) == ("break POS-1: the write-off was proposed by j.doe; J.Doe  cannot approve it too "
                               "(four eyes: a different person approves)")
    workflow.check_approver("POS-1", "j.doe", "m.smith")


def test_an_expected_date_is_a_date_not_in_the_past():
    assert workflow.expected_date("2026-11-20", TODAY, "POS-1") == dt.date(2026, 11, 20)
    assert workflow.expected_date("", TODAY, "POS-1") is None
    with pytest.raises(ValueError, match=r"^break POS-1: expected date '2026-11-31' is not a date YYYY-MM-DD$"):
        workflow.expected_date("2026-11-31", TODAY, "POS-1")
    with pytest.raises(ValueError, match=r"^break POS-1: expected date 2026-11-05 is in the past \(today is 2026-11-06\)$"):
        workflow.expected_date("2026-11-05", TODAY, "POS-1")


def test_the_state_is_the_trails_unless_the_recon_resolved_the_break():
    assert workflow.effective_state(None, "open") == "new"
    assert workflow.effective_state("investigating", "resolved", "no difference found on the day's recon") == "resolved"
    assert workflow.effective_state("written_off", "resolved") == "written_off"
    assert workflow.effective_state("matched", "resolved", "manually matched (M-1)") == "matched"
    assert workflow.effective_state("investigating", "resolved", "manually matched (M-1)") == "investigating"  # unmatched, not rerun yet


def test_the_current_workflow_of_a_hand_made_trail():
    at = [pd.Timestamp("2026-11-06 09:00"), pd.Timestamp("2026-11-06 10:00"), pd.Timestamp("2026-11-06 11:00")]
    trail = pd.DataFrame({"seq": [3, 1, 2], "break_id": "POS-1", "action": ["write_off", "assign", "comment"],
                          "actor": ["j.doe", "a.lead", "j.doe"], "acted_at": [at[2], at[0], at[1]],
                          "state_to": ["write_off_proposed", "assigned", ""], "owner_to": ["j.doe", "j.doe", "j.doe"],
                          "expected_to": [dt.date(2026, 11, 20)] * 3, "comment": ["accepted", "", "asked"]})
    row = workflow.current_workflow(trail).set_index("break_id").loc["POS-1"]
    assert (row["state"], row["owner"], row["comment"], row["last_action"], row["last_actor"], row["proposed_by"]) == \
        ("write_off_proposed", "j.doe", "accepted", "write_off", "j.doe", "j.doe")
    assert row["expected_date"] == pd.Timestamp("2026-11-20") and row["last_action_at"] == at[2]


def test_a_manual_match_explains_the_difference_of_its_key_only():
    found = pd.DataFrame({"recon": ["cash", "cash"], "break_key": ["A|USD|R1", "A|USD|R2"], "detail": ["bank charge", ""]})
    matches = pd.DataFrame({"recon": ["cash"], "break_key": ["A|USD|R1"], "match_id": ["M-1"], "matched_by": ["j.doe"],
                            "matched_at": [pd.Timestamp("2026-11-06 09:30")]})
    out = workflow.apply_manual_matches(found, matches)
    assert out["manual_match"].tolist() == ["M-1", ""]
    assert out["detail"].tolist() == ["bank charge; manually matched (M-1) by j.doe at 2026-11-06 09:30 UTC", ""]


# --------------------------------------------------------------------------------------------
# the trail in the store


def test_every_action_is_kept_in_order_with_who_when_from_and_to_and_survives_a_rerun(store_copy, funds):
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    act(store_copy, ABOVE, "assign", "a.lead", owner="j.doe", expected="2026-11-20")
    act(store_copy, ABOVE, "investigate", "j.doe")
    act(store_copy, ABOVE, "comment", "j.doe", comment="asked the custodian for its trade list")
    act(store_copy, ABOVE, "resolve", "j.doe", comment="custodian booked the sale twice; corrected")
    trail = load_trail(store_copy, ABOVE)
    assert trail["seq"].tolist() == [1, 2, 3, 4]
    assert trail["action"].tolist() == ["assign", "investigate", "comment", "resolve"]
    assert trail["actor"].tolist() == ["a.lead", "j.doe", "j.doe", "j.doe"]
    assert trail["state_from"].tolist() == ["new", "assigned", "investigating", "investigating"]
    assert trail["state_to"].tolist() == ["assigned", "investigating", "", "resolved"]
    assert trail["owner_from"].tolist() == ["", "j.doe", "j.doe", "j.doe"] and set(trail["owner_to"]) == {"j.doe"}
    assert set(pd.to_datetime(trail["expected_to"])) == {pd.Timestamp("2026-11-20")}
    assert trail["acted_at"].is_monotonic_increasing and trail["acted_at"].iloc[0] >= pd.Timestamp(started)  # UTC
    assert (trail["fund"].unique().tolist(), trail["recon"].unique().tolist()) == (["USEQ"], ["positions"])
    rerun(store_copy, funds, FINAL)  # record_breaks rebuilds recon_breaks: the workflow comes back from the trail
    row = history(store_copy, funds).loc[ABOVE]
    assert (row["status"], row["state"], row["owner"], row["last_action"], row["last_actor"]) == ("open", "resolved", "j.doe", "resolve", "j.doe")
    assert row["expected_date"] == pd.Timestamp("2026-11-20") and row["comment"] == "custodian booked the sale twice; corrected"
    with duckdb.connect(str(store_copy), read_only=True) as connection:
        cached = connection.execute("SELECT state, owner, last_action FROM recon_breaks WHERE break_id = ?", [ABOVE]).fetchall()
    assert cached == [("resolved", "j.doe", "resolve")]
    assert load_trail(store_copy, ABOVE).equals(trail)


def test_invalid_actions_are_refused_and_nothing_is_written(store_copy):
    assert refused(store_copy, ABOVE, "approve", "m.smith") == (
        f"break {ABOVE} is new: approve is not allowed (allowed from new: assign, investigate, comment, resolve, match)")
    assert refused(store_copy, ABOVE, "write_off", "j.doe", comment="x").startswith(f"break {ABOVE} is new: write_off is not allowed")
    assert refused(store_copy, ABOVE, "resolve", "j.doe") == f"break {ABOVE}: resolve needs a comment (--comment)"
    assert refused(store_copy, ABOVE, "assign", "a.lead") == f"break {ABOVE}: assign needs the owner (--to NAME)"
    assert refused(store_copy, ABOVE, "investigate", " ") == f"break {ABOVE}: say who acts (--as NAME)"
    assert refused(store_copy, ABOVE, "assign", "a.lead", owner="j.doe", expected="2026-11-05") == (
        f"break {ABOVE}: expected date 2026-11-05 is in the past (today is 2026-11-06)")
    assert refused(store_copy, "POS-NOPE", "investigate", "j.doe") == (
        "unknown break 'POS-NOPE': `bo break list [--fund F]` lists the breaks and their ids")
    assert refused(store_copy, CASH, "match", "j.doe", comment="x", other=CASH) == (
        f"break {CASH}: a manual match needs a second, different break id")
    assert refused(store_copy, CASH, "unmatch", "j.doe", comment="x") == f"break {CASH} is not manually matched: nothing to unmatch"
    assert refused(store_copy, BY_RECON, "reopen", "j.doe", comment="x").startswith(
        f"break {BY_RECON} was resolved by the recon itself (no difference found on the day's recon): nothing to reopen")
    assert refused(store_copy, BY_RECON, "investigate", "j.doe") == (
        f"break {BY_RECON} is resolved: investigate is not allowed (allowed from resolved: comment, reopen)")
    assert load_trail(store_copy).empty


def test_a_write_off_above_the_threshold_takes_a_second_person(store_copy, funds):
    assert round(history(store_copy, funds).loc[ABOVE, "value_base"], 2) == 68526.92  # above 10,000.00
    act(store_copy, ABOVE, "investigate", "j.doe")
    proposed = act(store_copy, ABOVE, "write_off", "j.doe", comment="custodian error accepted by the desk")
    assert proposed[["state_from", "state_to"]].values.tolist() == [["investigating", "write_off_proposed"]]
    row = history(store_copy, funds).loc[ABOVE]
    assert (row["state"], row["proposed_by"]) == ("write_off_proposed", "j.doe")
    assert refused(store_copy, ABOVE, "approve", "j.doe") == (
        f"break {ABOVE}: the write-off was proposed by j.doe; j.doe cannot approve it too (four eyes: a different person approves)")
    act(store_copy, ABOVE, "approve", "m.smith", comment="checked the desk's email")
    trail = load_trail(store_copy, ABOVE)
    assert trail[["action", "actor", "state_to"]].values.tolist() == [
        ["investigate", "j.doe", "investigating"], ["write_off", "j.doe", "write_off_proposed"], ["approve", "m.smith", "written_off"]]
    assert history(store_copy, funds).loc[ABOVE, "state"] == "written_off"
    assert refused(store_copy, ABOVE, "approve", "a.lead").startswith(f"break {ABOVE} is written_off: approve is not allowed")


def test_a_proposed_write_off_can_be_rejected_back_to_investigating(store_copy, funds):
    act(store_copy, ABOVE, "investigate", "j.doe")
    act(store_copy, ABOVE, "write_off", "j.doe", comment="accepted")
    act(store_copy, ABOVE, "reject", "m.smith", comment="the custodian must correct it")
    assert history(store_copy, funds).loc[ABOVE, ["state", "proposed_by"]].tolist() == ["investigating", ""]


def test_a_write_off_below_the_threshold_takes_one_person(store_copy, funds):
    assert round(history(store_copy, funds).loc[BELOW, "value_base"], 2) == 25.00
    act(store_copy, BELOW, "investigate", "j.doe")
    done = act(store_copy, BELOW, "write_off", "j.doe", comment="broker rounding, below the threshold")
    assert done[["state_from", "state_to"]].values.tolist() == [["investigating", "written_off"]]
    assert history(store_copy, funds).loc[BELOW, "state"] == "written_off"
    act(store_copy, BELOW, "reopen", "m.smith", comment="the broker disputes it")
    assert history(store_copy, funds).loc[BELOW, "state"] == "investigating"


def test_an_expected_date_past_is_overdue(store_copy, funds):
    act(store_copy, ABOVE, "assign", "a.lead", owner="j.doe", expected="2026-11-04", today=dt.date(2026, 11, 2))
    breaks = history(store_copy, funds)
    assert bool(breaks.loc[ABOVE, "overdue"]) and not breaks.drop(index=ABOVE)["overdue"].any()
    assert not history(store_copy, funds, dt.date(2026, 11, 4)).loc[ABOVE, "overdue"]  # due that day, not past it


def test_set_break_note_is_a_note_in_the_trail(store_copy, funds):
    set_break_note(store_copy, ABOVE, owner="j.doe", comment="custodian asked to confirm the holding")
    set_break_note(store_copy, ABOVE, comment="custodian confirms -250")
    row = history(store_copy, funds).loc[ABOVE]
    assert (row["owner"], row["comment"], row["state"]) == ("j.doe", "custodian confirms -250", "new")
    assert load_trail(store_copy, ABOVE)[["action", "actor", "owner_to"]].values.tolist() == [
        ["note", "j.doe", "j.doe"], ["note", "unknown", "j.doe"]]


def test_nothing_updates_or_deletes_the_trail():
    import re

    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "bo_lib").rglob("*.py"))
    assert not re.search(r"(UPDATE|DELETE FROM)\s+(recon_break_actions|\{TRAIL_TABLE\})", sources)


# --------------------------------------------------------------------------------------------
# manual matches in the recons


def test_a_manual_match_persists_into_a_rerun_and_the_next_days_recon(store_copy, funds):
    recons_back_to(store_copy, dt.date(2026, 11, 4))
    day, next_day = dt.date(2026, 11, 5), FINAL
    reconcile_day(store_copy, funds["USEQ"], day, "day")  # recon_breaks as of 11-05: both open since 10-21
    before = history(store_copy, funds, day)
    assert before.loc[[CASH, CASH_2], "status"].tolist() == ["open", "open"]
    wide = {"USEQ": 1_100_000.0}  # a fund whose threshold covers the pair's net, -1,011,303.65 (not USEQ's 10,000.00)
    rows = act(store_copy, CASH, "match", "j.doe", thresholds=wide, other=CASH_2, comment="the two sales' cash, one bank item each")
    match_id = rows["match_id"].iloc[0]
    assert rows["break_id"].tolist() == [CASH, CASH_2] and rows["state_to"].tolist() == ["matched", "matched"]
    for when in (day, next_day):  # a rerun of the day (the match came after it was recorded), then the next day
        _, today, breaks = reconcile_day(store_copy, funds["USEQ"], when, f"after-match-{when}")
        assert not today.breaks()["item"].isin(["T261020USEQ901", "T261103USEQ905"]).any()
        matched = today.manually_matched().set_index("item")
        assert sorted(matched.index) == ["T261020USEQ901", "T261103USEQ905"] and set(matched["manual_match"]) == {match_id}
        assert all(f"manually matched ({match_id}) by j.doe at " in d for d in matched["detail"])
        mine = breaks.set_index("break_id").loc[[CASH, CASH_2]]
        assert mine["status"].tolist() == ["resolved", "resolved"] and mine["state"].tolist() == ["matched", "matched"]
        assert mine["resolved_on"].tolist() == [pd.Timestamp(day)] * 2 and set(mine["resolution"]) == {f"manually matched ({match_id})"}
    act(store_copy, CASH_2, "unmatch", "m.smith", comment="they settle on their own; match undone")
    assert load_trail(store_copy)["action"].tolist() == ["match", "match", "unmatch", "unmatch"]
    _, today, breaks = reconcile_day(store_copy, funds["USEQ"], next_day, "after-unmatch")
    assert today.breaks()["item"].isin(["T261020USEQ901", "T261103USEQ905"]).sum() == 2 and today.manually_matched().empty
    back = breaks.set_index("break_id").loc[[CASH, CASH_2]]
    assert back["status"].tolist() == ["open", "open"] and back["state"].tolist() == ["investigating", "investigating"]
    assert back["first_seen"].tolist() == [pd.Timestamp("2026-10-21"), pd.Timestamp("2026-11-04")]  # the same breaks, not new ones


def test_matching_a_break_of_another_fund_is_refused(store_copy):
    assert refused(store_copy, CASH, "match", "j.doe", other="TRD-600A965EA2", comment="x") == (
        f"breaks {CASH} and TRD-600A965EA2 belong to different funds (USEQ, MAHF): not matched")


# --------------------------------------------------------------------------------------------
# bo break




#: what bo break list says it judges overdue on, by default (every fund's latest reconciled date in the sample store)
AS_OF_LINE = "overdue as of each fund's latest reconciled date: GLBD 2026-11-06, MAHF 2026-11-06, USEQ 2026-11-06 (--as-of DATE for another)\n"


def brk(store, *argv: str) -> tuple[int, str, str]:
    return bo("break", *argv, "--data", str(DATA), "--parameters", str(PARAMETERS), "--store", str(store))


def test_bo_break_works_a_write_off_with_four_eyes(store_copy):
    assert brk(store_copy, "assign", ABOVE, "--to", "j.doe", "--as", "a.lead") == (0, f"{ABOVE}: assign by a.lead, new -> assigned\n", "")
    assert brk(store_copy, "investigate", ABOVE, "--as", "j.doe")[0] == 0
    code, out, _ = brk(store_copy, "write-off", ABOVE, "--as", "j.doe", "--comment", "accepted")
    assert code == 0 and out == (f"{ABOVE}: write_off by j.doe, investigating -> write_off_proposed "
                                 "(proposed: a different person approves with `bo break approve`)\n")
    assert brk(store_copy, "approve", ABOVE, "--as", "j.doe") == (2, "", (
        f"bo: error: break {ABOVE}: the write-off was proposed by j.doe; j.doe cannot approve it too (four eyes: a different person approves)\n"))
    assert brk(store_copy, "approve", ABOVE, "--as", "m.smith") == (0, f"{ABOVE}: approve by m.smith, write_off_proposed -> written_off\n", "")
    code, out, _ = brk(store_copy, "show", ABOVE)
    assert code == 0 and "state: written_off" in out and "trail (4 action(s)):" in out
    assert [line.split()[4] for line in out.splitlines()[-4:]] == ["assign", "investigate", "write_off", "approve"]
    code, out, _ = brk(store_copy, "list", "--fund", "USEQ", "--state", "written_off")
    assert code == 0 and ABOVE in out and out.endswith("1 break(s); `bo break show ID` for one break and its trail\n")


def test_bo_break_refusals_exit_2_with_one_line(store_copy):
    assert brk(store_copy, "show", "POS-NOPE") == (
        2, "", "bo: error: unknown break 'POS-NOPE': `bo break list [--fund F]` lists the breaks and their ids\n")
    assert brk(store_copy, "investigate", "POS-NOPE", "--as", "j.doe")[2].startswith("bo: error: unknown break 'POS-NOPE'")
    assert brk(store_copy, "approve", BELOW, "--as", "j.doe") == (2, "", (
        f"bo: error: break {BELOW} is new: approve is not allowed (allowed from new: assign, investigate, comment, resolve, match)\n"))
    assert brk(store_copy, "list", "--state", "closed")[2].startswith("bo: error: --state: 'closed' is not a state (known: new, assigned")
    assert brk(store_copy, "assign", BELOW, "--to", "j.doe", "--as", "a.lead", "--expected", "2026-02-30")[2] == (
        f"bo: error: break {BELOW}: expected date '2026-02-30' is not a date YYYY-MM-DD\n")
    code, _, err = brk(store_copy, "resolve", BELOW, "--as", "j.doe")  # argparse: --comment is required
    assert code == 2 and "the following arguments are required: --comment" in err
    assert "Traceback" not in err and load_trail(store_copy).empty


def test_bo_break_list_filters_by_owner_and_overdue(store_copy):
    assert brk(store_copy, "assign", ABOVE, "--to", "j.doe", "--as", "a.lead", "--expected", "2099-01-01")[0] == 0
    code, out, _ = brk(store_copy, "list", "--owner", "j.doe")
    assert code == 0 and ABOVE in out and "2099-01-01" in out and out.endswith("1 break(s); `bo break show ID` for one break and its trail\n")
    assert brk(store_copy, "list", "--overdue") == (0, AS_OF_LINE + "no breaks match\n", "")
    assert brk(store_copy, "list", "--fund", "XXXX")[2].startswith("bo: error: --fund: unknown fund 'XXXX'")


def test_bo_break_match_and_unmatch(store_copy):
    code, out, _ = brk(store_copy, "match", TRADE_PLUS, TRADE_MINUS, "--as", "j.doe", "--comment", "one allocation booked on two tickets")
    assert code == 0 and out.splitlines()[0].startswith(f"{TRADE_PLUS}: match by j.doe, new -> matched [M-")
    code, out, _ = brk(store_copy, "list", "--fund", "USEQ", "--state", "matched")
    assert code == 0 and TRADE_PLUS in out and TRADE_MINUS in out
    code, out, _ = brk(store_copy, "unmatch", TRADE_PLUS, "--as", "j.doe", "--comment", "wrong pair")
    assert code == 0 and [line.split(":")[0] for line in out.splitlines()] == [TRADE_PLUS, TRADE_MINUS]
    assert brk(store_copy, "match", CASH, POSITION, "--as", "j.doe", "--comment", "same failed sale") == (2, "", (
        f"bo: error: breaks {CASH} and {POSITION} belong to different recons (cash, positions): not matched\n"))


# --------------------------------------------------------------------------------------------
# the Lab's panel and its channel to the book of record


def test_the_panels_handler_records_or_shows_the_refusal(store_copy):
    from bo_lib.report.break_panel import act_from_panel

    outcome = act_from_panel(store_copy, THRESHOLDS, BELOW, "investigate", "j.doe", comment="looking")
    assert outcome.done and outcome.message == f"{BELOW}: investigate by j.doe, new -> investigating"
    assert outcome.trail[["action", "actor", "comment"]].values.tolist() == [["investigate", "j.doe", "looking"]]
    outcome = act_from_panel(store_copy, THRESHOLDS, BELOW, "approve", "m.smith")
    assert not outcome.done and outcome.message == (
        f"refused: break {BELOW} is investigating: approve is not allowed (allowed from investigating: assign, comment, resolve, "
        "write_off, match)")
    assert len(outcome.trail) == 1


def test_the_panels_button_in_jupyterlab_and_nothing_in_a_scheduled_run(store_copy, funds, capsys):
    from bo_lib.report.break_panel import break_action_panel, break_action_widget

    breaks = history(store_copy, funds).reset_index()
    box = break_action_widget(store_copy, breaks, THRESHOLDS)
    pick, action, name, comment, *_rest, button = box.children[0].children
    pick.value, action.value, name.value, comment.value = ABOVE, "comment", "j.doe", "custodian called back"
    button.click()
    assert load_trail(store_copy, ABOVE)[["action", "actor", "comment"]].values.tolist() == [["comment", "j.doe", "custodian called back"]]
    break_action_panel(store_copy, breaks, THRESHOLDS, interactive=False)
    assert "Break actions: in JupyterLab" in capsys.readouterr().out


def test_in_a_lab_session_an_action_reaches_the_production_store_and_the_scratch_copy(store_copy, tmp_path, monkeypatch):
    from bo_lib.report.break_panel import act_from_panel

    scratch = tmp_path / "scratch" / "workbench.duckdb"
    scratch.parent.mkdir()
    shutil.copy2(store_copy, scratch)
    monkeypatch.setenv("BO_STORE", str(scratch))
    monkeypatch.setenv("BO_ACTIONS_STORE", str(store_copy))
    outcome = act_from_panel(scratch, THRESHOLDS, ABOVE, "assign", "a.lead", owner="j.doe")
    assert outcome.done
    for store in (store_copy, scratch):
        assert load_trail(store, ABOVE)[["action", "owner_to"]].values.tolist() == [["assign", "j.doe"]]


def test_a_read_only_session_or_a_scratch_copy_without_channel_refuses_actions(store_copy, monkeypatch):
    from bo_lib import store as store_mod
    from bo_lib.report.break_panel import act_from_panel

    monkeypatch.setattr(store_mod, "_PROTECTED", {str(store_copy.resolve()): "BO_STORE_MODE=read-only"})
    outcome = act_from_panel(store_copy, THRESHOLDS, ABOVE, "investigate", "j.doe")
    assert not outcome.done and outcome.message.startswith(
        "refused: break actions are refused in a read-only session (BO_STORE_MODE=read-only): they belong in the book of record")
    monkeypatch.setattr(store_mod, "_PROTECTED", {})
    monkeypatch.delenv("BO_ACTIONS_STORE", raising=False)
    monkeypatch.setattr(store_mod, "_SCRATCH", {"production": (store_copy, dt.datetime.now(dt.timezone.utc))})
    outcome = act_from_panel(store_copy, THRESHOLDS, ABOVE, "investigate", "j.doe")
    assert not outcome.done and "with no channel to the production store" in outcome.message
    assert load_trail(store_copy).empty


def test_bo_lab_exports_the_channel_only_for_a_scratch_session(tmp_path):
    from bo_lib.pipeline.lab import ScratchStore, lab_environment, read_only_environment

    scratch = ScratchStore(tmp_path / "s.duckdb", tmp_path / "prod.duckdb", dt.datetime.now(dt.timezone.utc), True)
    assert lab_environment(scratch, tmp_path, base={})["BO_ACTIONS_STORE"] == str(tmp_path / "prod.duckdb")
    assert "BO_ACTIONS_STORE" not in read_only_environment(tmp_path, base={"BO_ACTIONS_STORE": "x"})


# --------------------------------------------------------------------------------------------
# review findings: one person however spelled, matches that net, closed breaks the recon
# contradicts, unknown values, old stores, overdue on the business date


def test_the_same_person_however_the_name_is_spelled_cannot_approve():
    for approver in ("alice  smith", "Alice\u200b Smith", " ALICE SMITH ", "\uff21lice Smith"):  # double space, zero-width, case, fullwidth A
        with pytest.raises(ValueError, match=r"\(four eyes: a different person approves\)$"):
            workflow.check_approver("POS-1", "Alice Smith", approver)
    workflow.check_approver("POS-1", "Alice Smith", "Alice Smyth")
    assert workflow.actor("POS-1", "  Alice   Smith ") == "Alice Smith"
    with pytest.raises(ValueError, match=r"^break POS-1: say who acts \(--as NAME\)$"):
        workflow.actor("POS-1", "\u200b \u200d")


def test_a_write_off_alice_proposed_is_not_approved_by_alice_spelled_otherwise(store_copy):
    act(store_copy, ABOVE, "investigate", "Alice Smith")
    act(store_copy, ABOVE, "write_off", "Alice Smith", comment="custodian error accepted by the desk")  # 68,526.92 > 10,000.00
    assert refused(store_copy, ABOVE, "approve", "alice  smith") == (
        f"break {ABOVE}: the write-off was proposed by Alice Smith; alice smith cannot approve it too (four eyes: a different person approves)")
    assert refused(store_copy, ABOVE, "approve", "Alice\u200b Smith").endswith("(four eyes: a different person approves)")
    assert refused(store_copy, ABOVE, "approve", "\u200b") == f"break {ABOVE}: say who acts (--as NAME)"
    act(store_copy, ABOVE, "approve", "  Bob   Jones ")
    assert load_trail(store_copy, ABOVE)["actor"].tolist() == ["Alice Smith", "Alice Smith", "Bob Jones"]


def test_a_breaks_value_is_signed_the_other_side_minus_the_books():
    assert workflow.signed_value({"recon": "cash", "difference": -509534.53, "value_base": 509534.53}) == -509534.53
    assert workflow.signed_value({"recon": "positions", "classification": "quantity difference", "difference": -250.0,
                                  "value_base": 68526.92}) == -68526.92
    assert workflow.signed_value({"recon": "trades", "classification": "price/amount difference", "difference": 1185.0,
                                  "value_base": 1185.0}) == 1185.0  # broker - books
    assert workflow.signed_value({"recon": "trades", "classification": "missing in books", "difference": -277081.19,
                                  "value_base": 277081.19}) == 277081.19  # recorded books - broker: turned
    assert pd.isna(workflow.signed_value({"recon": "cash", "difference": -1.0, "value_base": float("nan")}))


def test_a_match_nets_within_the_threshold_in_one_recon():
    def cash(break_id, difference):
        return {"break_id": break_id, "fund": "USEQ", "recon": "cash", "status": "open", "difference": difference, "value_base": abs(difference)}

    workflow.check_match(cash("C-1", -15000.00), cash("C-2", 5000.00), 10000.0)  # net -10,000.00: at the threshold
    with pytest.raises(ValueError) as info:
        workflow.check_match(cash("C-1", -15000.00), cash("C-2", 4999.99), 10000.0)
    assert str(info.value) == ("breaks C-1 and C-2 net to -10,000.01 in base currency, beyond the fund's write-off threshold 10,000.00: "
                               "not matched (resolve or write off the remainder instead; four eyes above the threshold)")
    with pytest.raises(ValueError, match=r"^breaks C-1 and C-2 net to unknown \(a value is missing\) in base currency"):
        workflow.check_match(cash("C-1", -15000.00), {**cash("C-2", 1.0), "value_base": None}, 10000.0)
    with pytest.raises(ValueError, match=r"^break C-1: a manual match needs a second, different break id$"):
        workflow.check_match(cash("C-1", -1.0), cash("C-1", 1.0), 10000.0)


def test_matches_across_recons_or_that_do_not_net_are_refused(store_copy, funds):
    assert refused(store_copy, CASH, "match", "j.doe", other=POSITION, comment="the failed sale's cash and position") == (
        f"breaks {CASH} and {POSITION} belong to different recons (cash, positions): not matched")
    assert refused(store_copy, CASH, "match", "j.doe", other=CASH_2, comment="two sales' cash") == (  # -509,534.53 - 501,769.12
        f"breaks {CASH} and {CASH_2} net to -1,011,303.65 in base currency, beyond the fund's write-off threshold 10,000.00: "
        "not matched (resolve or write off the remainder instead; four eyes above the threshold)")
    assert refused(store_copy, BY_RECON, "match", "j.doe", other=ABOVE, comment="x") == (
        f"break {BY_RECON} is not open in the recon (resolved): not matched")
    assert load_trail(store_copy).empty
    rows = act(store_copy, TRADE_PLUS, "match", "j.doe", other=TRADE_MINUS, comment="one allocation on two tickets")  # net -7,800.88
    assert rows["state_to"].tolist() == ["matched", "matched"] and rows["value_base"].round(2).tolist() == [1185.00, 8985.88]


def test_a_resolved_break_the_recon_still_sees_is_investigating_again():
    resolved = {"state": "resolved", "state_at": pd.Timestamp("2026-11-05 16:00"), "state_value": 1165504.66}
    live = {"status": "open", "resolution": "", "last_seen": pd.Timestamp("2026-11-06"), "value_base": 1165504.66}
    assert workflow.break_state(resolved, live) == ("investigating", "seen again on 2026-11-06 after it was resolved on 2026-11-05")
    assert workflow.break_state(resolved, {**live, "last_seen": pd.Timestamp("2026-11-05")}) == ("resolved", "")  # the day it was resolved
    assert workflow.break_state(resolved, {**live, "status": "resolved", "resolution": "no difference found on the day's recon"}) == (
        "resolved", "")
    written = {"state": "written_off", "state_at": pd.Timestamp("2026-11-05 16:00"), "state_value": 67915.87}
    assert workflow.break_state(written, {**live, "value_base": 68526.92}) == (
        "investigating", "value now 68,526.92, beyond the 67,915.87 written off")
    assert workflow.break_state(written, {**live, "value_base": 67915.875}) == ("written_off", "")  # within a cent
    assert workflow.break_state(written, {**live, "value_base": 1000.0}) == ("written_off", "")


def test_the_live_trade_break_an_analyst_resolved_comes_back_when_the_recon_sees_it_again(store_copy, funds):
    from bo_lib.recon.breaks import _read, break_history
    from bo_lib.store import open_store

    act(store_copy, LIVE_TRADE, "resolve", "j.doe", comment="the broker will correct the settlement date")  # 1,165,504.66, from new
    assert history(store_copy, funds).loc[LIVE_TRADE, "state"] == "resolved"  # resolved today: no business date after today yet
    with open_store(store_copy, read_only=True) as connection:
        observations, runs, notes, reasons, trail = _read(connection, "USEQ")
    trail = trail.assign(acted_at=pd.Timestamp("2026-11-05 16:00"))  # as if resolved on 11-05, after that day's recon
    calendar = valuation_calendar(funds["USEQ"])
    row = break_history(observations, runs, FINAL, calendar, notes, reasons, trail).set_index("break_id").loc[LIVE_TRADE]
    assert (row["status"], row["state"], row["last_action"]) == ("open", "investigating", "resolve")  # the trail is not rewritten
    assert row["detail"].startswith("seen again on 2026-11-06 after it was resolved on 2026-11-05; books vs broker: settlement")
    as_of_5th = break_history(observations, runs, dt.date(2026, 11, 5), calendar, notes, reasons, trail).set_index("break_id")
    assert as_of_5th.loc[LIVE_TRADE, "state"] == "resolved"


def test_a_written_off_break_whose_value_grew_is_investigating_again(store_copy, funds):
    recons_back_to(store_copy, dt.date(2026, 11, 4))
    reconcile_day(store_copy, funds["USEQ"], dt.date(2026, 11, 5), "day")  # ABOVE is 67,915.87 on 11-05
    act(store_copy, ABOVE, "investigate", "j.doe")
    act(store_copy, ABOVE, "write_off", "j.doe", comment="custodian error accepted by the desk")
    act(store_copy, ABOVE, "approve", "m.smith")
    assert round(load_trail(store_copy, ABOVE)["value_base"].iloc[-1], 2) == 67915.87
    _, _, breaks = reconcile_day(store_copy, funds["USEQ"], FINAL, "next")  # 68,526.92 on 11-06: more than was written off
    row = breaks.set_index("break_id").loc[ABOVE]
    assert (row["status"], row["state"]) == ("open", "investigating")
    assert row["detail"] == "value now 68,526.92, beyond the 67,915.87 written off; custodian -250 vs books 60,800"
    assert load_trail(store_copy, ABOVE)["state_to"].tolist() == ["investigating", "write_off_proposed", "written_off"]
    assert act(store_copy, ABOVE, "write_off", "j.doe", comment="the rest too")["state_to"].tolist() == ["write_off_proposed"]


def test_an_unknown_value_needs_a_second_person(store_copy):
    assert workflow.write_off_needs_approval(float("nan"), 10000.0) and workflow.write_off_needs_approval(None, 10000.0)
    assert workflow.write_off_needs_approval(float("inf"), 10000.0) and not workflow.write_off_needs_approval(25.0, 10000.0)
    with duckdb.connect(str(store_copy)) as connection:  # a break whose value the recon could not work out
        connection.execute("UPDATE recon_breaks SET value_base = NULL WHERE break_id = ?", [BELOW])
    act(store_copy, BELOW, "investigate", "j.doe")
    rows = act(store_copy, BELOW, "write_off", "j.doe", comment="broker rounding")
    assert rows["state_to"].tolist() == ["write_off_proposed"] and rows["value_base"].isna().all()
    assert refused(store_copy, BELOW, "approve", "J.DOE").endswith("(four eyes: a different person approves)")


def test_bo_break_acts_on_a_store_made_before_the_workflow_columns(store_copy):
    import subprocess
    import sys

    old = ["break_id", "fund", "recon", "break_key", "account", "item", "classification", "currency", "first_seen", "last_seen", "status",
           "resolved_on", "age_business_days", "difference", "value_base", "detail", "owner", "comment", "as_of", "resolution"]
    with duckdb.connect(str(store_copy)) as connection:
        connection.execute(f"CREATE TABLE old_breaks AS SELECT {', '.join(old)} FROM recon_breaks")
        connection.execute("DROP TABLE recon_breaks")
        connection.execute("ALTER TABLE old_breaks RENAME TO recon_breaks")
        connection.execute("DROP TABLE recon_break_actions")
    done = subprocess.run([sys.executable, "-m", "bo_lib.cli", "break", "investigate", BELOW, "--as", "j.doe", "--data", str(DATA),
                           "--parameters", str(PARAMETERS), "--store", str(store_copy)], capture_output=True, text=True, cwd=REPO,
                          env={**__import__("os").environ, "PYTHONPATH": str(REPO)})  # a fresh process: only what bo break imports
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{BELOW}: investigate by j.doe, new -> investigating\n", "")
    with duckdb.connect(str(store_copy), read_only=True) as connection:
        assert connection.execute("SELECT state, last_actor FROM recon_breaks WHERE break_id = ?", [BELOW]).fetchall() == [
            ("investigating", "j.doe")]


def test_bo_break_list_judges_overdue_on_the_business_date(store_copy, funds):
    act(store_copy, ABOVE, "assign", "a.lead", owner="j.doe", expected="2026-11-20")  # after 11-06 (the business date), before today
    assert not history(store_copy, funds).loc[ABOVE, "overdue"]  # what the notebook shows
    assert brk(store_copy, "list", "--overdue") == (0, AS_OF_LINE + "no breaks match\n", "")
    code, out, _ = brk(store_copy, "list", "--overdue", "--as-of", "2026-11-23")
    assert code == 0 and out.startswith("overdue as of 2026-11-23 (--as-of)\n") and ABOVE in out and out.endswith("1 break(s); `bo break show ID` "
                                                                                                           "for one break and its trail\n")
    assert brk(store_copy, "list", "--overdue", "--as-of", "2026-11-20")[1] == "overdue as of 2026-11-20 (--as-of)\nno breaks match\n"
    assert brk(store_copy, "list", "--as-of", "2026-13-01")[2] == "bo: error: --as-of: '2026-13-01' is not a date YYYY-MM-DD\n"
    code, out, _ = brk(store_copy, "list", "--owner", "J.Doe")  # the same person
    assert code == 0 and ABOVE in out
