"""The break workflow's store I/O: the append-only trail ``recon_break_actions`` (one row per action
on one break: who, when in UTC, what, the state / owner / expected date before and after, the
comment, the manual match it belongs to) and the thin transactional functions that add to it.

Rule: the trail is only ever appended to (no UPDATE, no DELETE here or anywhere); a break's state,
owner, comment and expected date are derived from it (``workflow.current_workflow``). The cached
break table ``recon_breaks`` is updated in the same transaction so it stays consistent; it is
rebuilt from observations and the trail after every recon (``breaks.record_breaks``).

The rules (which transition, which comment, four eyes) are ``bo_lib.recon.workflow``'s.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from bo_lib.parameters import FundParameters
from bo_lib.recon import workflow
from bo_lib.store import actions_target, ensure_schema, insert_frame, open_store, register_table, table_exists, transaction

TRAIL_TABLE = register_table("recon_break_actions", {
    "seq": "BIGINT NOT NULL", "action_id": "VARCHAR NOT NULL", "fund": "VARCHAR", "break_id": "VARCHAR NOT NULL", "recon": "VARCHAR",
    "break_key": "VARCHAR", "acted_at": "TIMESTAMP", "actor": "VARCHAR", "action": "VARCHAR", "state_from": "VARCHAR", "state_to": "VARCHAR",
    "owner_from": "VARCHAR", "owner_to": "VARCHAR", "expected_from": "DATE", "expected_to": "DATE", "comment": "VARCHAR",
    "match_id": "VARCHAR", "value_base": "DOUBLE"}, ("action_id", "break_id"))
#: the latest state of every break (``breaks.record_breaks`` rebuilds it after each run; an action
#: updates its workflow columns): registered here, where every writer of it imports it, so a store
#: written before a column existed gains it (``store.ensure_schema``) before ``bo break`` acts
BREAKS_TABLE = register_table("recon_breaks", {
    "break_id": "VARCHAR", "fund": "VARCHAR", "recon": "VARCHAR", "break_key": "VARCHAR", "account": "VARCHAR", "item": "VARCHAR",
    "classification": "VARCHAR", "currency": "VARCHAR", "first_seen": "DATE", "last_seen": "DATE", "status": "VARCHAR", "resolved_on": "DATE",
    "age_business_days": "INTEGER", "difference": "DOUBLE", "value_base": "DOUBLE", "detail": "VARCHAR", "owner": "VARCHAR",
    "comment": "VARCHAR", "as_of": "DATE", "resolution": "VARCHAR", "state": "VARCHAR", "expected_date": "DATE", "overdue": "BOOLEAN",
    "last_action": "VARCHAR", "last_actor": "VARCHAR", "last_action_at": "TIMESTAMP", "proposed_by": "VARCHAR"}, ("break_id",))


@dataclass(frozen=True)
class BreakAction:
    """What an analyst asks for: ``action`` (``workflow.ACTIONS``) on ``break_id`` by ``actor``;
    ``owner`` for assign, ``expected`` (YYYY-MM-DD) optional, ``other`` the second break of a match."""

    break_id: str
    action: str
    actor: str
    comment: str = ""
    owner: str | None = None
    expected: str | dt.date | None = None
    other: str | None = None


def write_off_thresholds(funds: Mapping[str, FundParameters]) -> dict[str, float]:
    """Fund code -> its write-off threshold in base currency (``recon.write_off_threshold``)."""
    return {code: fund.recon.write_off_threshold for code, fund in funds.items()}


def read_trail(connection, fund: str | None = None, break_id: str | None = None) -> pd.DataFrame:
    """The trail (TRAIL_COLUMNS) in order, of one fund or one break; empty when the store has none yet."""
    if not table_exists(connection, TRAIL_TABLE):
        return pd.DataFrame(columns=workflow.TRAIL_COLUMNS)
    where, params = [], []
    for column, value in (("fund", fund), ("break_id", break_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {', '.join(workflow.TRAIL_COLUMNS)} FROM {TRAIL_TABLE}" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq"
    return connection.execute(sql, params).df()


def load_trail(store: Path | str, break_id: str | None = None, fund: str | None = None) -> pd.DataFrame:
    """The trail of one break (or fund, or every break), oldest first."""
    if not Path(store).exists():
        return pd.DataFrame(columns=workflow.TRAIL_COLUMNS)
    with open_store(store, read_only=True) as connection:
        return read_trail(connection, fund=fund, break_id=break_id)


def manual_matches(connection, fund: str) -> pd.DataFrame:
    """The fund's manual matches in force (``workflow.MATCH_COLUMNS``): what the recons apply."""
    return workflow.active_matches(read_trail(connection, fund=fund))


def latest_match_change(store: Path | str, fund: str) -> dt.datetime | None:
    """When the fund's manual matches last changed (a match or an unmatch), or None: a day recorded
    before it is reconciled again."""
    if not Path(store).exists():
        return None
    with open_store(store, read_only=True) as connection:
        if not table_exists(connection, TRAIL_TABLE):
            return None
        return connection.execute(f"SELECT max(acted_at) FROM {TRAIL_TABLE} WHERE fund = ? AND action IN ('match', 'unmatch')",
                                  [fund]).fetchall()[0][0]


def find_break(connection, break_id: str) -> dict:
    """The latest row of ``break_id`` in ``recon_breaks``; refused when there is none, saying how to list."""
    row = connection.execute("SELECT * FROM recon_breaks WHERE break_id = ?", [break_id]).df() if table_exists(connection, "recon_breaks") \
        else pd.DataFrame()
    if row.empty:
        raise ValueError(f"unknown break {break_id!r}: `bo break list [--fund F]` lists the breaks and their ids")
    return row.iloc[0].to_dict()


def _state_of(record: dict, trail: pd.DataFrame) -> dict:
    """The break's workflow columns now (state as the recon and the trail make it: ``workflow.break_state``)."""
    current = workflow.current_workflow(trail)
    mine = current[current["break_id"].eq(record["break_id"])]
    found = mine.iloc[0].to_dict() if len(mine) else {"state": workflow.NEW, "owner": record.get("owner") or "", "expected_date": pd.NaT,
                                                       "proposed_by": ""}
    trail_state = found["state"] if len(mine) else None
    found["state"], found["seen_again"] = workflow.break_state(found if len(mine) else None, record)
    found["by_recon"] = not found["seen_again"] and workflow.resolved_by_recon(trail_state, record["status"], record.get("resolution") or "")
    return found


def _row(record: dict, now: dt.datetime, action_id: str, request: BreakAction, before: dict, state_to: str | None,
         owner_to: str, expected_to, match_id: str = "") -> dict:
    expected_from = before.get("expected_date")
    return {"action_id": action_id, "fund": record["fund"], "break_id": record["break_id"], "recon": record["recon"],
            "break_key": record["break_key"], "acted_at": now, "actor": request.actor, "action": request.action,
            "state_from": before["state"], "state_to": state_to or "", "owner_from": before.get("owner") or "", "owner_to": owner_to,
            "expected_from": None if pd.isna(expected_from) else pd.Timestamp(expected_from).date(), "expected_to": expected_to,
            "comment": request.comment or "", "match_id": match_id, "value_base": _value(record.get("value_base"))}


def _value(value) -> float:
    """The break's value in base currency as the trail records it: NaN when unknown."""
    return float("nan") if value is None or pd.isna(value) else float(value)


def _target_state(request: BreakAction, rule: workflow.Transition, record: dict, before: dict, threshold: float) -> str | None:
    """Where the action leads: a write-off above the threshold is only proposed; an approval is
    checked against its proposer (four eyes)."""
    if request.action == "write_off" and workflow.write_off_needs_approval(record.get("value_base"), threshold):
        return workflow.WRITE_OFF_PROPOSED
    if request.action == "approve":
        workflow.check_approver(request.break_id, before.get("proposed_by", ""), request.actor)
    return rule.target


def _acted_on(connection, request: BreakAction) -> list[str]:
    """The breaks an action concerns: the break; for a match also the other; for an unmatch every break
    of the break's match in force."""
    if request.action == "match":
        if not (request.other or "").strip():
            raise ValueError(f"break {request.break_id}: a manual match needs a second, different break id")
        return [request.break_id, request.other]
    if request.action == "unmatch":
        record = find_break(connection, request.break_id)
        matches = manual_matches(connection, record["fund"])
        mine = matches.loc[matches["break_id"].eq(request.break_id), "match_id"]
        if mine.empty:
            raise ValueError(f"break {request.break_id} is not manually matched: nothing to unmatch")
        return [request.break_id] + [b for b in matches.loc[matches["match_id"].eq(mine.iloc[-1]), "break_id"] if b != request.break_id]
    return [request.break_id]


def _refuse_reopen_of_recon_resolution(record: dict, before: dict, action: str) -> None:
    if action == "reopen" and before.get("by_recon"):
        raise ValueError(f"break {record['break_id']} was resolved by the recon itself ({record.get('resolution')}): nothing to reopen; "
                         "it opens again when the recon sees the difference again")


def plan_rows(connection, request: BreakAction, thresholds: Mapping[str, float], today: dt.date, now: dt.datetime) -> list[dict]:
    """The trail rows ``request`` adds (one per break it acts on), every rule checked: who acts (and
    the owner named: ``workflow.actor``), the break exists, the transition is allowed, a comment
    where one is needed, a valid expected date, four eyes on a write-off above the fund's threshold,
    a match of two open breaks of one fund and recon that net within it (``workflow.check_match``)."""
    request = replace(request, actor=workflow.actor(request.break_id, request.actor))
    if request.action == "assign":
        request = replace(request, owner=workflow.actor(request.break_id, request.owner, "assign needs the owner (--to NAME)"))
    records = [find_break(connection, b) for b in _acted_on(connection, request)]
    if request.action == "match":
        workflow.check_match(records[0], records[1], thresholds.get(records[0]["fund"], 0.0))
    action_id = f"A-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8].upper()}"
    match_id = f"M-{action_id[2:]}" if request.action == "match" else ""
    rows = []
    for record in records:
        trail = read_trail(connection, break_id=record["break_id"])
        before = _state_of(record, trail)
        rule = workflow.check_transition(record["break_id"], before["state"], request.action, request.comment)
        _refuse_reopen_of_recon_resolution(record, before, request.action)
        if request.action == "unmatch":
            match_id = trail.loc[trail["action"].eq("match"), "match_id"].iloc[-1]
        state_to = _target_state(request, rule, record, before, thresholds.get(record["fund"], 0.0))
        owner_to = request.owner if request.owner is not None else (before.get("owner") or "")
        expected = workflow.expected_date(request.expected, today, record["break_id"])
        old = before.get("expected_date")
        kept = None if old is None or pd.isna(old) else pd.Timestamp(old).date()
        rows.append(_row(record, now, action_id, request, before, state_to, owner_to, expected or kept, match_id))
    return rows


def _append(connection, rows: list[dict]) -> None:
    """Append ``rows`` to the trail, numbered after its last row (the store's one writer holds the lock)."""
    start = connection.execute(f"SELECT coalesce(max(seq), 0) FROM {TRAIL_TABLE}").fetchall()[0][0]
    frame = pd.DataFrame(rows).assign(seq=range(start + 1, start + 1 + len(rows)))
    insert_frame(connection, TRAIL_TABLE, frame, workflow.TRAIL_COLUMNS)
    for row in rows:  # keep the cached break table consistent with the trail (the state as with_workflow makes it)
        current = workflow.current_workflow(read_trail(connection, break_id=row["break_id"])).iloc[0].to_dict()
        current["state"] = workflow.break_state(current, find_break(connection, row["break_id"]))[0]
        connection.execute(f"UPDATE {BREAKS_TABLE} SET state = ?, owner = ?, comment = ?, expected_date = ?, last_action = ?, last_actor = ?, "
                           "last_action_at = ?, proposed_by = ? WHERE break_id = ?",
                           [current["state"], current["owner"], current["comment"], None if pd.isna(current["expected_date"])
                            else current["expected_date"].date(), current["last_action"], current["last_actor"],
                            current["last_action_at"].to_pydatetime(), current["proposed_by"], row["break_id"]])


def _write(store: Path | str, rows: list[dict]) -> None:
    with open_store(store) as connection:
        ensure_schema(connection)
        with transaction(connection):
            _append(connection, rows)


def perform(store: Path | str, request: BreakAction, thresholds: Mapping[str, float], today: dt.date | None = None) -> pd.DataFrame:
    """Check ``request`` against the rules and append it to the trail of the book of record, in one
    transaction; in a Lab session the action goes to the production store and is mirrored into the
    session's scratch copy (``store.actions_target``). ``thresholds``: fund -> write-off threshold in
    base currency. Returns the rows appended (raises ValueError with the refusal otherwise)."""
    target, mirror = actions_target(store)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    today = today or now.date()
    with open_store(target) as connection:
        ensure_schema(connection)
        with transaction(connection):
            rows = plan_rows(connection, request, thresholds, today, now)
            _append(connection, rows)
    if mirror is not None:
        _write(mirror, rows)
    return pd.DataFrame(rows)


def describe(rows: pd.DataFrame) -> str:
    """One line per row appended: break, action, state before and after, who."""
    lines = []
    for r in rows.itertuples():
        change = f"{r.state_from} -> {r.state_to}" if r.state_to else f"stays {r.state_from}"
        extra = " (proposed: a different person approves with `bo break approve`)" if r.state_to == workflow.WRITE_OFF_PROPOSED else ""
        lines.append(f"{r.break_id}: {r.action} by {r.actor}, {change}{extra}" + (f" [{r.match_id}]" if r.match_id else ""))
    return "\n".join(lines)
