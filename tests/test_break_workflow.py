"""The break workflow: the rules (bo_lib.recon.workflow), the append-only trail and its actions
(bo_lib.recon.break_actions), manual matches in the recons, ``bo break`` and the Lab's panel, on
copies of the sample store as of 2026-11-06.

USEQ's breaks used, read off the store tests/stores.py builds (values in USD, USEQ's write-off
threshold is 10,000.00 in parameters/funds/USEQ.yaml):

* POS-D971FBA85F: US2095851083, custodian -250 vs the books, 68,526.92 — above the threshold: four eyes;
* TRD-BB46BBE2FD: T261106USEQ003, price/amount difference, 25.00 — below: one person writes it off;
* CSH-6702E79BE3 (the cash of T261020USEQ901, a LACK fail) and POS-FDEDA21967 (its position,
  US5443731030): both open from 2026-10-21 through 11-06, matched manually;
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
RECON_TABLES = ("recon_runs", "recon_break_observations", "recon_break_resolutions", "recon_cash_open_items", "recon_trade_open_items",
                "recon_statement_chain")


def act(store, break_id, action, actor, today=TODAY, **fields) -> pd.DataFrame:
    return perform(store, BreakAction(break_id, action, actor, **fields), THRESHOLDS, today=today)


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
    assert before.loc[[CASH, POSITION], "status"].tolist() == ["open", "open"]
    rows = act(store_copy, CASH, "match", "j.doe", other=POSITION, comment="the cash and the position of the failed sale T261020USEQ901")
    match_id = rows["match_id"].iloc[0]
    assert rows["break_id"].tolist() == [CASH, POSITION] and rows["state_to"].tolist() == ["matched", "matched"]
    for when in (day, next_day):  # a rerun of the day (the match came after it was recorded), then the next day
        _, today, breaks = reconcile_day(store_copy, funds["USEQ"], when, f"after-match-{when}")
        assert not today.breaks()["item"].isin(["T261020USEQ901", "US5443731030"]).any()
        matched = today.manually_matched().set_index("item")
        assert sorted(matched.index) == ["T261020USEQ901", "US5443731030"] and set(matched["manual_match"]) == {match_id}
        assert all(f"manually matched ({match_id}) by j.doe at " in d for d in matched["detail"])
        mine = breaks.set_index("break_id").loc[[CASH, POSITION]]
        assert mine["status"].tolist() == ["resolved", "resolved"] and mine["state"].tolist() == ["matched", "matched"]
        assert mine["resolved_on"].tolist() == [pd.Timestamp(day)] * 2 and set(mine["resolution"]) == {f"manually matched ({match_id})"}
    act(store_copy, POSITION, "unmatch", "m.smith", comment="the position settles on its own; match undone")
    assert load_trail(store_copy)["action"].tolist() == ["match", "match", "unmatch", "unmatch"]
    _, today, breaks = reconcile_day(store_copy, funds["USEQ"], next_day, "after-unmatch")
    assert today.breaks()["item"].isin(["T261020USEQ901", "US5443731030"]).sum() == 2 and today.manually_matched().empty
    back = breaks.set_index("break_id").loc[[CASH, POSITION]]
    assert back["status"].tolist() == ["open", "open"] and back["state"].tolist() == ["investigating", "investigating"]
    assert back["first_seen"].tolist() == [pd.Timestamp("2026-10-21")] * 2  # the same breaks, not new ones


def test_matching_a_break_of_another_fund_is_refused(store_copy):
    assert refused(store_copy, CASH, "match", "j.doe", other="TRD-600A965EA2", comment="x") == (
        f"breaks {CASH} and TRD-600A965EA2 belong to different funds (USEQ, MAHF): not matched")


# --------------------------------------------------------------------------------------------
# bo break




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
    assert brk(store_copy, "list", "--overdue") == (0, "no breaks match\n", "")
    assert brk(store_copy, "list", "--fund", "XXXX")[2].startswith("bo: error: --fund: unknown fund 'XXXX'")


def test_bo_break_match_and_unmatch(store_copy):
    code, out, _ = brk(store_copy, "match", CASH, POSITION, "--as", "j.doe", "--comment", "same failed sale")
    assert code == 0 and out.splitlines()[0].startswith(f"{CASH}: match by j.doe, new -> matched [M-")
    code, out, _ = brk(store_copy, "list", "--fund", "USEQ", "--state", "matched")
    assert code == 0 and CASH in out and POSITION in out
    code, out, _ = brk(store_copy, "unmatch", CASH, "--as", "j.doe", "--comment", "wrong pair")
    assert code == 0 and [line.split(":")[0] for line in out.splitlines()] == [CASH, POSITION]


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
