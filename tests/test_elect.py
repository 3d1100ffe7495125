"""Elections out: ``bo elect`` checks an election against the golden record, the deadlines and the
fund's eligible balance, writes the MT565 under outbound/<date>/messages/ and ingests it, so the
corporate-actions control counts it at once. On the committed sample world at its final date
2026-11-06 (the seeded stories, written out in the ground truth):

* USEQ's optional dividend CA2026120022 (DVOP, options 001 CASH by default and 002 SECU) is
  overdue: internal deadline 2026-11-05, market deadline 2026-11-10, 130,700 shares eligible at
  account 0012345678 (USEQ's US custodian, ATLTUS33);
* MAHF never answered the tender CA2026120023, whose market deadline has passed (missed);
* CA2026120021 is a mandatory cash dividend (DVCA): nothing to elect.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from bo_lib.corporate_actions.control import assess
from bo_lib.corporate_actions.inputs import gather_corporate_actions
from bo_lib.data.formats.ca_messages import read_ca_messages

REPO = Path(__file__).resolve().parents[1]
FINAL = dt.date(2026, 11, 6)


def _bo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bo_lib.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.fixture
def sent(data_copy, store_copy):
    common = ["--data", str(data_copy), "--store", str(store_copy), "--parameters", str(REPO / "parameters")]
    return data_copy, store_copy, common


def _status(store, funds, code: str, event: str) -> list[tuple[str, float, float]]:
    result = assess(gather_corporate_actions(store, funds[code], FINAL))
    rows = result.elections[result.elections["event_id"].eq(event)]
    return list(zip(rows["status"], rows["instructed"], rows["eligible"]))


def test_an_overdue_election_sent_is_written_ingested_and_counted(sent, funds):
    data, store, common = sent
    assert _status(store, funds, "USEQ", "CA2026120022") == [("overdue", 0.0, 130_700.0)]
    done = _bo("elect", "--fund", "USEQ", "--event", "CA2026120022", "--option", "2", "--date", "2026-11-06", "--by", "ops.analyst", *common)
    assert done.returncode == 0, done.stderr
    assert "warning: late: past the fund's internal deadline 2026-11-05 (market deadline 2026-11-10)" in done.stdout
    files = sorted((data / "outbound" / "2026-11-06" / "messages").glob("*.mt565"))
    assert [f.name for f in files] == ["E261106001.mt565"]
    rows, violations = read_ca_messages(files[0], data)
    assert violations == []
    row = rows.iloc[0]
    assert (row["message_type"], row["corporate_reference"], row["event_type"], row["account"], row["option_number"], row["option_type"],
            row["instructed_quantity"], row["receiver"][:8]) == ("565", "CA2026120022", "DVOP", "0012345678", "002", "SECU", 130_700.0, "ATLTUS33")
    assert _status(store, funds, "USEQ", "CA2026120022") == [("instructed", 130_700.0, 130_700.0)]
    # a second election on the same event: nothing left to elect
    again = _bo("elect", "--fund", "USEQ", "--event", "CA2026120022", "--option", "001", "--date", "2026-11-06", *common)
    assert again.returncode == 2 and "nothing left to elect (130,700 of 130,700 eligible already instructed)" in again.stderr


@pytest.mark.parametrize("args, rule", [
    (["--fund", "USEQ", "--event", "CA2026120022", "--option", "009"], "no option 009 (offered: 001 CASH, 002 SECU)"),
    (["--fund", "USEQ", "--event", "CA2026120022", "--option", "002", "--quantity", "200000"], "200,000 is more than the 130,700 eligible"),
    (["--fund", "MAHF", "--event", "CA2026120023", "--option", "001"], "the market deadline 2026-11-03 has passed"),
    (["--fund", "USEQ", "--event", "CA2026120021", "--option", "001"], "is mandatory (MAND): nothing to elect"),
    (["--fund", "GLBD", "--event", "CA2026120022", "--option", "001"], "not notified to GLBD"),
])
def test_an_election_that_breaks_a_rule_is_refused_and_nothing_is_written(sent, args, rule):
    data, _store, common = sent
    done = _bo("elect", *args, "--date", "2026-11-06", *common)
    assert done.returncode == 2
    assert "election refused" in done.stderr and rule in done.stderr
    assert not (data / "outbound").exists()


def test_a_dry_run_prints_the_message_and_writes_nothing(sent):
    data, _store, common = sent
    done = _bo("elect", "--fund", "USEQ", "--event", "CA2026120022", "--option", "001", "--quantity", "700", "--date", "2026-11-06",
               "--dry-run", *common)
    assert done.returncode == 0, done.stderr
    assert ":20C::CORP//CA2026120022" in done.stdout and ":36B::QINS//UNIT/700" in done.stdout and "dry run: nothing written" in done.stdout
    assert not (data / "outbound").exists()


def test_an_election_is_never_backdated(sent):
    data, _store, common = sent
    done = _bo("elect", "--fund", "USEQ", "--event", "CA2026120022", "--option", "002", "--date", "2026-11-05", *common)
    assert done.returncode == 2 and "never backdated" in done.stderr and "2026-11-06" in done.stderr
    assert not (data / "outbound").exists()
