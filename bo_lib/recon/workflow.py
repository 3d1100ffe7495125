"""The break workflow's rules, pure: the states a reconciliation break goes through, which action
moves it from which state to which (one table, ``TRANSITIONS``), what each action needs, the
four-eyes rule on write-offs, a break's current state from its trail of actions, and how stored
manual matches explain the day's breaks.

States: ``new`` -> ``assigned`` -> ``investigating`` -> ``resolved`` or ``written_off``; a write-off
above the fund's ``recon.write_off_threshold`` waits as ``write_off_proposed`` until a different
person approves it; ``matched``: an analyst matched the break with another open break of the same
fund and recon, the two netting within the threshold (``check_match``). A resolved,
written-off or matched break may be reopened (unmatched) back to ``investigating`` with a comment.

The recon's own resolution is not an action: a break the recon stops seeing is ``resolved`` by the
system (``effective_state``), with the recon's reason in ``resolution``. The other way round, a
closed break the recon still contradicts is shown ``investigating`` again (``seen_again``): one an
analyst resolved that the recon observes on a business date after the day of the resolve, one
written off whose value has grown beyond the value the write-off covered. The trail is not
rewritten; the break's ``detail`` says why.

People: who acts and who is compared (the four-eyes rule) go through ``bo_lib.people``.

The store I/O (the append-only trail ``recon_break_actions``) is ``bo_lib.recon.break_actions``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from bo_lib.people import check_name, same_person
from bo_lib.recon.trades import MISSING_IN_BOOKS, UNCONFIRMED

NEW, ASSIGNED, INVESTIGATING, RESOLVED, WRITTEN_OFF = "new", "assigned", "investigating", "resolved", "written_off"
WRITE_OFF_PROPOSED, MATCHED = "write_off_proposed", "matched"
STATES = (NEW, ASSIGNED, INVESTIGATING, WRITE_OFF_PROPOSED, RESOLVED, WRITTEN_OFF, MATCHED)
#: states in which nothing is left to do on the break
CLOSED_STATES = frozenset({RESOLVED, WRITTEN_OFF, MATCHED})
_WORKABLE = frozenset({NEW, ASSIGNED, INVESTIGATING})
#: who acts when the recon itself resolves a break
SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    """An action allowed from ``sources`` to ``target`` (``None``: the state does not change)."""

    sources: frozenset[str]
    target: str | None
    needs_comment: bool = False


#: every action an analyst can take, the states it is allowed from and the state it leads to
TRANSITIONS: dict[str, Transition] = {
    "assign": Transition(_WORKABLE, ASSIGNED),
    "investigate": Transition(frozenset({NEW, ASSIGNED}), INVESTIGATING),
    "comment": Transition(frozenset(STATES), None, needs_comment=True),
    "note": Transition(frozenset(STATES), None),  # set_break_note: owner and/or comment, no state change
    "resolve": Transition(_WORKABLE, RESOLVED, needs_comment=True),
    "write_off": Transition(frozenset({ASSIGNED, INVESTIGATING}), WRITTEN_OFF, needs_comment=True),
    "approve": Transition(frozenset({WRITE_OFF_PROPOSED}), WRITTEN_OFF),
    "reject": Transition(frozenset({WRITE_OFF_PROPOSED}), INVESTIGATING, needs_comment=True),
    "match": Transition(_WORKABLE, MATCHED, needs_comment=True),
    "unmatch": Transition(frozenset({MATCHED}), INVESTIGATING, needs_comment=True),
    "reopen": Transition(frozenset({RESOLVED, WRITTEN_OFF}), INVESTIGATING, needs_comment=True),
}
ACTIONS = tuple(TRANSITIONS)
#: the trail's columns (one row per action on one break)
TRAIL_COLUMNS = ["seq", "action_id", "fund", "break_id", "recon", "break_key", "acted_at", "actor", "action", "state_from", "state_to",
                 "owner_from", "owner_to", "expected_from", "expected_to", "comment", "match_id", "value_base"]
#: what the break tables gain from the trail
WORKFLOW_COLUMNS = ["state", "owner", "comment", "expected_date", "last_action", "last_actor", "last_action_at", "proposed_by"]
MATCH_COLUMNS = ["fund", "recon", "break_key", "break_id", "match_id", "matched_by", "matched_at"]


def allowed_actions(state: str) -> list[str]:
    """The actions the table allows from ``state``, in the table's order."""
    return [name for name, rule in TRANSITIONS.items() if state in rule.sources]


def check_transition(break_id: str, state: str, action: str, comment: str = "") -> Transition:
    """The transition of ``action`` from ``state``; refused (ValueError) when the table does not allow
    it, naming the break, its state and the actions allowed, or when the action needs a comment."""
    if action not in TRANSITIONS:
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    rule = TRANSITIONS[action]
    if state not in rule.sources:
        allowed = ", ".join(a for a in allowed_actions(state) if a != "note") or "none"
        raise ValueError(f"break {break_id} is {state}: {action} is not allowed (allowed from {state}: {allowed})")
    if rule.needs_comment and not (comment or "").strip():
        raise ValueError(f"break {break_id}: {action} needs a comment (--comment)")
    return rule


#: how a break's ``resolution`` starts when the recon saw it explained by a manual match
MANUALLY_MATCHED = "manually matched"


def effective_state(trail_state: str | None, recon_status: str, resolution: str = "", seen_again_because: str = "") -> str:
    """A break's state: the trail's, except that a break the recon no longer sees and nobody closed is
    ``resolved`` (by the system; not when only a manual match explained it, which its trail says),
    a closed break the recon contradicts (``seen_again_because`` non-empty, see ``seen_again``) is
    ``investigating``; a break with no action yet is ``new``."""
    state = trail_state or NEW
    if seen_again_because:
        return INVESTIGATING
    if recon_status == "resolved" and state not in CLOSED_STATES and not str(resolution or "").startswith(MANUALLY_MATCHED):
        return RESOLVED
    return state


def resolved_by_recon(trail_state: str | None, recon_status: str, resolution: str = "") -> bool:
    """Whether the break's resolution is the recon's own (no analyst closed it)."""
    return effective_state(trail_state, recon_status, resolution) == RESOLVED and (trail_state or NEW) != RESOLVED


#: a written-off break's value may move by this much (base currency) before it counts as grown
GROWTH_TOLERANCE = 0.01


def seen_again(trail_state: str | None, state_at, state_value, last_seen, value_base) -> str:
    """Why a break an analyst closed is live again ('' when it is not). Rules: a break ``resolved`` by
    an analyst (the trail's state, its resolve at ``state_at``, UTC) that the recon still observed on
    a business date (``last_seen``) after the day of that resolve; a break ``written_off`` whose
    absolute value in base currency now (``value_base``) exceeds the absolute value recorded at the
    action that wrote it off (``state_value``) by more than GROWTH_TOLERANCE (an unknown value now,
    after a known one, counts as grown: the write-off no longer covers a known amount)."""
    if trail_state == RESOLVED and not pd.isna(state_at) and not pd.isna(last_seen):
        seen, resolved = pd.Timestamp(last_seen).normalize(), pd.Timestamp(state_at).normalize()
        if seen > resolved:
            return f"seen again on {seen:%Y-%m-%d} after it was resolved on {resolved:%Y-%m-%d}"
    if trail_state == WRITTEN_OFF and not _unknown(state_value):
        if _unknown(value_base) or abs(float(value_base)) > abs(float(state_value)) + GROWTH_TOLERANCE:
            now = "unknown" if _unknown(value_base) else f"{abs(float(value_base)):,.2f}"
            return f"value now {now}, beyond the {abs(float(state_value)):,.2f} written off"
    return ""


def break_state(workflow_row: Mapping | None, record: Mapping) -> tuple[str, str]:
    """The state of a break (a ``recon_breaks`` / history row: status, resolution, last_seen,
    value_base) given its ``current_workflow`` row (None when it has no trail), and why it is live
    again ('' unless ``seen_again`` while the recon still has the break open). The one place the
    trail and the recon are combined."""
    row = workflow_row or {}
    trail_state = row.get("state") if workflow_row is not None else None
    why = "" if record.get("status") != "open" else \
        seen_again(trail_state, row.get("state_at"), row.get("state_value"), record.get("last_seen"), record.get("value_base"))
    return effective_state(trail_state, record.get("status"), record.get("resolution") or "", why), why


def _unknown(value) -> bool:
    try:
        return value is None or not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def expected_date(value: str | dt.date | None, today: dt.date, break_id: str) -> dt.date | None:
    """The expected resolution date of a break: a date YYYY-MM-DD, not before ``today``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"break {break_id}: expected date {value!r} is not a date YYYY-MM-DD") from None
    if value < today:
        raise ValueError(f"break {break_id}: expected date {value} is in the past (today is {today})")
    return value


def write_off_needs_approval(value_base: float | None, threshold: float) -> bool:
    """Four eyes: a write-off whose absolute value in base currency exceeds the fund's threshold, or
    whose value is unknown (missing, NaN, infinite), needs a second person's approval; at or below
    the threshold one person suffices."""
    return _unknown(value_base) or abs(float(value_base)) > float(threshold)


def actor(break_id: str, name: str | None, missing: str = "say who acts (--as NAME)") -> str:
    """A person the workflow takes (who acts, the owner assigned), as ``people.check_name`` takes
    names (trimmed, whitespace collapsed); refused naming the break when no name is left of it."""
    try:
        return check_name(name or "")
    except ValueError:
        raise ValueError(f"break {break_id}: {missing}") from None


def check_approver(break_id: str, proposed_by: str, approver: str) -> None:
    """Four eyes: whoever approves a write-off is not who proposed it (``people.same_person``)."""
    if same_person(approver, proposed_by or ""):
        raise ValueError(f"break {break_id}: the write-off was proposed by {proposed_by}; {approver} cannot approve it too "
                         "(four eyes: a different person approves)")


def signed_value(record: Mapping) -> float:
    """A break's value in base currency signed "the other side minus the books". How the recons
    record it: ``value_base`` is always the absolute value in base currency; ``difference`` (local)
    is signed custodian - books for positions (quantity, or market value for a price/amount
    difference), bank - books for cash, broker - books for trades present on both sides but books -
    broker for a trade one side lacks (``unconfirmed``, ``missing in books``: the missing side's net
    amount). So the sign is difference's, turned for those two trade classifications; NaN when the
    value is unknown."""
    if _unknown(record.get("value_base")):
        return math.nan
    difference = record.get("difference")
    sign = -1.0 if not _unknown(difference) and float(difference) < 0 else 1.0
    if record.get("recon") == "trades" and record.get("classification") in (UNCONFIRMED, MISSING_IN_BOOKS):
        sign = -sign
    return sign * abs(float(record["value_base"]))


def check_match(first: Mapping, second: Mapping, threshold: float) -> None:
    """A manual match joins two different open breaks of one fund and one recon whose signed values
    (``signed_value``) net within the fund's write-off threshold (absolute net <= threshold); else
    refused, naming the net and the threshold (write the remainder off instead, four eyes above it)."""
    a, b = first["break_id"], second["break_id"]
    if a == b:
        raise ValueError(f"break {a}: a manual match needs a second, different break id")
    for what in ("fund", "recon"):
        if first[what] != second[what]:
            raise ValueError(f"breaks {a} and {b} belong to different {what}s ({first[what]}, {second[what]}): not matched")
    for record in (first, second):  # open, or unmatched and not reconciled again yet
        if record.get("status") != "open" and not str(record.get("resolution") or "").startswith(MANUALLY_MATCHED):
            raise ValueError(f"break {record['break_id']} is not open in the recon ({record.get('status')}): not matched")
    net = signed_value(first) + signed_value(second)
    if _unknown(net) or abs(net) > float(threshold):
        shown = "unknown (a value is missing)" if _unknown(net) else f"{net:,.2f}"
        raise ValueError(f"breaks {a} and {b} net to {shown} in base currency, beyond the fund's write-off threshold {float(threshold):,.2f}: "
                         "not matched (resolve or write off the remainder instead; four eyes above the threshold)")


def current_workflow(trail: pd.DataFrame) -> pd.DataFrame:
    """Per break id, what its trail (TRAIL_COLUMNS, any order) adds up to: state, owner, latest comment,
    expected date, the last action (what, who, when), who proposed a pending write-off, and when the
    state was last changed with the value recorded then (``state_at``, ``state_value``: what
    ``seen_again`` compares)."""
    if trail is None or trail.empty:
        return pd.DataFrame(columns=["break_id", *WORKFLOW_COLUMNS])
    ordered = trail.sort_values("seq")
    last = ordered.groupby("break_id", sort=False).tail(1).set_index("break_id")
    changes = ordered[ordered["state_to"].fillna("").ne("")].groupby("break_id").tail(1).set_index("break_id")
    with_state = changes["state_to"]
    comments = ordered[ordered["comment"].fillna("").ne("")].groupby("break_id").tail(1).set_index("break_id")["comment"]
    proposals = ordered[ordered["action"].eq("write_off") & ordered["state_to"].eq(WRITE_OFF_PROPOSED)]
    proposer = proposals.groupby("break_id").tail(1).set_index("break_id")["actor"]
    table = pd.DataFrame({"state": with_state.reindex(last.index).fillna(NEW), "owner": last["owner_to"].fillna(""),
                          "comment": comments.reindex(last.index).fillna(""), "expected_date": pd.to_datetime(last["expected_to"]),
                          "last_action": last["action"], "last_actor": last["actor"], "last_action_at": pd.to_datetime(last["acted_at"])})
    table["proposed_by"] = proposer.reindex(last.index).where(table["state"].eq(WRITE_OFF_PROPOSED)).fillna("")
    table["state_at"] = pd.to_datetime(changes["acted_at"].reindex(last.index))
    table["state_value"] = changes["value_base"].reindex(last.index) if "value_base" in changes else float("nan")
    return table.rename_axis("break_id").reset_index()


def active_matches(trail: pd.DataFrame) -> pd.DataFrame:
    """The manual matches in force (MATCH_COLUMNS): every break of a ``match`` action whose match id no
    ``unmatch`` has undone."""
    if trail is None or trail.empty:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    undone = set(trail.loc[trail["action"].eq("unmatch"), "match_id"])
    made = trail[trail["action"].eq("match") & ~trail["match_id"].isin(undone)]
    return made.rename(columns={"actor": "matched_by", "acted_at": "matched_at"})[MATCH_COLUMNS].reset_index(drop=True)


def apply_manual_matches(found: pd.DataFrame, matches: pd.DataFrame | None) -> pd.DataFrame:
    """The day's differences (``breaks.BREAK_COLUMNS``) with ``manual_match``: the id of the manual
    match in force for the same recon and break key ('' when none); a matched difference says who
    matched it and when in its detail. The one place stored manual matches enter the recons."""
    out = found.copy()
    out["manual_match"] = ""
    if matches is None or matches.empty or out.empty:
        return out
    by_key = matches.drop_duplicates(["recon", "break_key"], keep="last").set_index(["recon", "break_key"])
    keys = pd.MultiIndex.from_frame(out[["recon", "break_key"]])
    hit = by_key.reindex(keys)
    matched = hit["match_id"].notna().to_numpy()
    out.loc[matched, "manual_match"] = hit["match_id"].to_numpy()[matched]
    note = [f"manually matched ({m}) by {who} at {pd.Timestamp(at):%Y-%m-%d %H:%M} UTC" for m, who, at in
            zip(hit["match_id"][matched], hit["matched_by"][matched], hit["matched_at"][matched])]
    out.loc[matched, "detail"] = [f"{d}; {n}" if d else n for d, n in zip(out.loc[matched, "detail"].fillna(""), note)]
    return out


def overdue(history: pd.DataFrame, as_of) -> pd.Series:
    """Breaks still to be worked whose expected resolution date is before ``as_of`` (a business
    date, or one per row: the notebook and ``bo break list`` pass the business date)."""
    expected = pd.to_datetime(history["expected_date"]) if "expected_date" in history else pd.Series(pd.NaT, index=history.index)
    state = history["state"] if "state" in history else pd.Series(NEW, index=history.index)
    return expected.notna() & expected.lt(pd.to_datetime(as_of)) & ~state.isin(CLOSED_STATES)
