"""Breaks that live across days: stable ids, first-seen date, age, open / resolved, owner and
comment — kept in the workbench's DuckDB store (``bo_lib.store``).

What is stored:

* ``recon_runs``: one row per fund and business date reconciled (a rerun replaces its row).
* ``recon_break_observations``: the breaks each run found (fund, date, recon, break key,
  classification, difference, value). A rerun of a date deletes that date's observations first,
  so nothing is ever duplicated.
* ``recon_break_resolutions``: why a break resolved on a date, where a run knows it (a trade break
  resolves when a matching or corrected confirmation arrives: that confirmation is the reason).
* ``recon_break_notes``: owner and comment per break id as older versions kept them (read, no longer
  written: ``set_break_note`` is an action in the trail now).
* ``recon_break_actions`` (``bo_lib.recon.break_actions``): the append-only trail of every analyst
  action; state, owner, comment, expected date and last action come from it (``with_workflow``).
* ``recon_breaks``: the latest state of every break of the fund (rebuilt from the above after each
  run), for notebooks and SQL, with the workflow columns.

A difference a manual match explains (``workflow.apply_manual_matches``) is still observed, with its
``manual_match`` id: its episode resolves on the first day it was observed matched.

Identity: a break's id is a hash of (fund, recon, break key) — account and ISIN for positions;
account, currency and reference for cash; the trade reference for trades — so the same underlying
difference keeps its id from day to day whatever its amount does. A break that disappears is
resolved on the first reconciled date it is absent (``resolution``: the reason recorded that day,
else that no difference was found); if the same key breaks again later it is a new break (id
suffixed ``-2``, ``-3``...). The recons carry what is open (``bo_lib.recon.carried``), so a cash or
trade break is absent only once its counterpart arrived. Ages are business days on the fund's valuation calendar
from first seen to the as-of date (open) or to the resolution date (resolved).

``break_history`` derives all of this from observations and runs as of any date (pure);
``record_breaks`` / ``load_breaks`` / ``set_break_note`` do the store I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from bo_lib.recon import workflow
from bo_lib.recon.break_actions import BREAKS_TABLE, BreakAction, perform, read_trail
from bo_lib.store import ensure_schema, insert_frame, open_store, register_table, table_exists, transaction

BREAK_COLUMNS = ["recon", "break_key", "account", "item", "classification", "currency", "difference", "value_base", "detail"]
RECON_PREFIX = {"positions": "POS", "cash": "CSH", "trades": "TRD"}
AGE_BUCKETS = (("0-1", 0, 1), ("2-5", 2, 5), ("6-10", 6, 10), (">10", 11, None))

register_table("recon_runs", {"fund": "VARCHAR NOT NULL", "business_date": "DATE NOT NULL", "run_id": "VARCHAR", "recorded_at": "TIMESTAMP"},
               ("fund", "business_date"))
register_table("recon_break_observations", {
    "fund": "VARCHAR NOT NULL", "business_date": "DATE NOT NULL", "recon": "VARCHAR NOT NULL", "break_key": "VARCHAR NOT NULL",
    "account": "VARCHAR", "item": "VARCHAR", "classification": "VARCHAR", "currency": "VARCHAR", "difference": "DOUBLE",
    "value_base": "DOUBLE", "detail": "VARCHAR", "run_id": "VARCHAR", "manual_match": "VARCHAR"}, ("fund", "business_date", "recon", "break_key"))
register_table("recon_break_resolutions", {"fund": "VARCHAR NOT NULL", "business_date": "DATE NOT NULL", "recon": "VARCHAR NOT NULL",
                                           "break_key": "VARCHAR NOT NULL", "reason": "VARCHAR", "run_id": "VARCHAR"},
               ("fund", "business_date", "recon", "break_key"))
register_table("recon_break_notes", {"break_id": "VARCHAR", "owner": "VARCHAR", "comment": "VARCHAR", "updated_at": "TIMESTAMP"}, ("break_id",))
HISTORY_COLUMNS = ["break_id", "fund", "recon", "break_key", "account", "item", "classification", "currency", "first_seen", "last_seen",
                   "status", "resolved_on", "resolution", "age_business_days", "difference", "value_base", "detail", "owner", "comment",
                   "state", "expected_date", "overdue", "last_action", "last_actor", "last_action_at", "proposed_by"]
OBSERVATION_COLUMNS = ["fund", "business_date", *BREAK_COLUMNS, "run_id", "manual_match"]
RESOLUTION_COLUMNS = ["recon", "break_key", "reason"]
#: the resolution of a break no run gave a reason for
NO_DIFFERENCE = "no difference found on the day's recon"


def base_break_id(fund: str, recon: str, break_key: str) -> str:
    digest = hashlib.sha1(f"{fund}|{recon}|{break_key}".encode()).hexdigest()[:10].upper()
    return f"{RECON_PREFIX.get(recon, recon[:3].upper())}-{digest}"


def age_bucket(age: pd.Series) -> pd.Series:
    """Ageing buckets of business days: 0-1, 2-5, 6-10, >10."""
    return pd.Series(np.select([age.le(1), age.le(5), age.le(10)], ["0-1", "2-5", "6-10"], default=">10"), index=age.index)


def break_history(observations: pd.DataFrame, run_dates: list[dt.date], as_of: dt.date, calendar, notes: pd.DataFrame | None = None,
                  resolutions: pd.DataFrame | None = None, trail: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every break of a fund as of ``as_of`` from its observations (fund, business_date, recon,
    break_key, ... one row per break per reconciled date) and the dates reconciled.

    One row per break (HISTORY_COLUMNS): an episode of consecutive reconciled dates on which the
    key broke. The latest observation gives classification, difference and value. ``resolutions``
    (fund, business_date, recon, break_key, reason): why a break resolved on the date it did. An
    episode whose latest observations were explained by a manual match (``manual_match``) is resolved
    on the first of them. ``trail`` (``workflow.TRAIL_COLUMNS``): the analysts' actions, which give
    state, owner, comment, expected date and last action (``with_workflow``).
    """
    runs = sorted({pd.Timestamp(d) for d in run_dates if pd.Timestamp(d) <= pd.Timestamp(as_of)})
    if observations.empty or not runs:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    run_index = {d: i for i, d in enumerate(runs)}
    obs = observations.assign(business_date=pd.to_datetime(observations["business_date"]))
    obs = obs[obs["business_date"].isin(run_index)].copy()
    if obs.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    obs["run_index"] = obs["business_date"].map(run_index)
    obs["manual_match"] = obs["manual_match"].fillna("").astype(str) if "manual_match" in obs else ""
    obs = obs.sort_values(["fund", "recon", "break_key", "run_index"]).reset_index(drop=True)
    same = obs[["fund", "recon", "break_key"]].eq(obs[["fund", "recon", "break_key"]].shift()).all(axis=1)
    gap = obs["run_index"].diff().ne(1)
    obs["episode"] = (~same | gap).astype(int).groupby([obs["fund"], obs["recon"], obs["break_key"]]).cumsum()
    grouped = obs.groupby(["fund", "recon", "break_key", "episode"], sort=False)
    latest = grouped.tail(1).set_index(["fund", "recon", "break_key", "episode"])
    spans = grouped.agg(first_seen=("business_date", "min"), last_seen=("business_date", "max"), last_index=("run_index", "max"))
    table = latest.drop(columns=["business_date", "run_index"]).join(spans).join(_matched_from(obs)).reset_index()
    base = [base_break_id(f, r, k) for f, r, k in zip(table["fund"], table["recon"], table["break_key"])]
    table["break_id"] = [b if e == 1 else f"{b}-{e}" for b, e in zip(base, table["episode"])]
    matched = table["matched_from"].notna()
    is_open = table["last_index"].eq(len(runs) - 1) & ~matched
    table["status"] = np.where(is_open, "open", "resolved")
    next_run = pd.Series(runs + [pd.NaT])
    table["resolved_on"] = table["last_index"].add(1).map(next_run).where(~is_open)
    table["resolution"] = np.where(is_open, "", NO_DIFFERENCE)
    if resolutions is not None and len(resolutions):
        on = ["fund", "recon", "break_key", "resolved_on"]
        why = resolutions.assign(resolved_on=pd.to_datetime(resolutions["business_date"]).astype("datetime64[ns]"))[on + ["reason"]]
        keys = table[on[:3]].assign(resolved_on=pd.to_datetime(table["resolved_on"]).astype("datetime64[ns]"))
        given = keys.merge(why.drop_duplicates(on), on=on, how="left")["reason"].fillna("").astype(str).to_numpy()
        table["resolution"] = np.where(~is_open.to_numpy() & (given != ""), given, table["resolution"])
    table["resolved_on"] = table["matched_from"].where(matched, table["resolved_on"])
    table["resolution"] = np.where(matched, workflow.MANUALLY_MATCHED + " (" + table["manual_match"].astype(str) + ")", table["resolution"])
    until = table["resolved_on"].where(~is_open, pd.Timestamp(as_of))
    table["age_business_days"] = calendar.count_array(table["first_seen"].to_numpy("datetime64[D]"), until.to_numpy("datetime64[D]")).astype(int)
    table = with_workflow(table, notes, trail, as_of)
    return table[HISTORY_COLUMNS].sort_values(["status", "recon", "first_seen", "break_id"], ascending=[True, True, True, True]).reset_index(drop=True)


def _matched_from(obs: pd.DataFrame) -> pd.Series:
    """Per episode explained by a manual match at its end: the first date of that run of matched
    observations."""
    keys = ["fund", "recon", "break_key", "episode"]
    plain = obs["run_index"].where(obs["manual_match"].eq(""), -1)
    last_plain = plain.groupby([obs[k] for k in keys]).transform("max")
    trailing = obs[obs["manual_match"].ne("") & obs["run_index"].gt(last_plain)]
    return trailing.groupby(keys)["business_date"].min().rename("matched_from")


def with_workflow(table: pd.DataFrame, notes: pd.DataFrame | None, trail: pd.DataFrame | None, as_of: dt.date) -> pd.DataFrame:
    """The breaks with their workflow columns: from the trail where it has the break (an older note
    in ``recon_break_notes`` otherwise gives owner and comment), the state as the recon and the
    trail make it (``workflow.break_state``: a closed break the recon contradicts is investigating,
    why first in its ``detail``) and whether the expected date is past ``as_of``."""
    if notes is not None and len(notes):
        table = table.merge(notes[["break_id", "owner", "comment"]], on="break_id", how="left")
    for column in ("owner", "comment"):
        table[column] = table[column].fillna("") if column in table else ""
    current = workflow.current_workflow(trail).set_index("break_id")
    acted = table["break_id"].isin(current.index)
    mine = current.reindex(table["break_id"])
    for column in workflow.WORKFLOW_COLUMNS:
        values = mine[column].to_numpy()
        if column in ("owner", "comment"):
            table[column] = np.where(acted, values, table[column])
        else:
            table[column] = values
    states = [workflow.break_state(w if a else None, r) for w, a, r in
              zip(mine.reset_index().to_dict("records"), acted, table[["status", "resolution", "last_seen", "value_base"]].to_dict("records"))]
    table["state"] = [state for state, _why in states]
    table["detail"] = [f"{why}; {d}" if why and d else (why or d) for (_state, why), d in zip(states, table["detail"].fillna(""))]
    table["expected_date"] = pd.to_datetime(table["expected_date"])
    table["last_action_at"] = pd.to_datetime(table["last_action_at"])
    for column in ("last_action", "last_actor", "proposed_by"):
        table[column] = table[column].fillna("")
    table["overdue"] = workflow.overdue(table, as_of)
    return table


def recorded_dates(store: Path | str, fund: str) -> list[dt.date]:
    """Business dates already reconciled for the fund (empty when the store does not exist yet)."""
    return sorted(recorded_runs(store, fund))


def recorded_runs(store: Path | str, fund: str) -> dict[dt.date, dt.datetime]:
    """Business date -> when its reconciliation was recorded, for the fund."""
    if not Path(store).exists():
        return {}
    with open_store(store, read_only=True) as connection:
        if not table_exists(connection, "recon_runs"):
            return {}
        rows = connection.execute("SELECT business_date, recorded_at FROM recon_runs WHERE fund = ?", [fund]).fetchall()
    return {d: at for d, at in rows}


def _quote(text: str) -> str:
    return str(text).replace("'", "''")


def record_breaks(store: Path | str, fund: str, days: dict[dt.date, pd.DataFrame], run_id: str, calendar, also=None,
                  resolutions: dict[dt.date, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Store the breaks found for each business date in ``days`` (date -> BREAK_COLUMNS frame) and
    the breaks each resolved with their reason (``resolutions``: date -> RESOLUTION_COLUMNS frame),
    replacing whatever an earlier run stored for those dates, then rebuild ``recon_breaks`` for the
    fund as of its latest reconciled date. ``also(connection)`` writes more in the same transaction
    (what the day's recons leave open). Returns that table."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with open_store(store) as connection:
        ensure_schema(connection)
        with transaction(connection):
            for day, breaks in days.items():
                connection.execute("DELETE FROM recon_break_observations WHERE fund = ? AND business_date = ?", [fund, day])
                connection.execute("DELETE FROM recon_runs WHERE fund = ? AND business_date = ?", [fund, day])
                connection.execute("INSERT INTO recon_runs VALUES (?, ?, ?, ?)", [fund, day, run_id, now])
                rows = breaks.reindex(columns=[*BREAK_COLUMNS, "manual_match"]).assign(fund=fund, business_date=pd.Timestamp(day),
                                                                                       run_id=run_id)
                rows["manual_match"] = rows["manual_match"].fillna("")
                insert_frame(connection, "recon_break_observations", rows, OBSERVATION_COLUMNS)
                connection.execute("DELETE FROM recon_break_resolutions WHERE fund = ? AND business_date = ?", [fund, day])
                why = (resolutions or {}).get(day)
                if why is not None and len(why):
                    why = why.reindex(columns=RESOLUTION_COLUMNS).assign(fund=fund, business_date=pd.Timestamp(day), run_id=run_id)
                    connection.register("new_resolutions", why[["fund", "business_date", *RESOLUTION_COLUMNS, "run_id"]])
                    connection.execute("INSERT INTO recon_break_resolutions (fund, business_date, recon, break_key, reason, run_id) "
                                       "SELECT * FROM new_resolutions")
                    connection.unregister("new_resolutions")
            observations, runs, notes, reasons, trail = _read(connection, fund)
            latest = max(runs) if runs else None
            table = break_history(observations, runs, latest, calendar, notes, reasons, trail) if latest else pd.DataFrame(columns=HISTORY_COLUMNS)
            if also is not None:
                also(connection)
            connection.execute(f"DELETE FROM {BREAKS_TABLE} WHERE fund = ?", [fund])
            if len(table):
                connection.register("new_breaks", table.assign(as_of=pd.Timestamp(latest)))
                names = ", ".join(HISTORY_COLUMNS)
                connection.execute(f"INSERT INTO {BREAKS_TABLE} ({names}, as_of) SELECT {names}, as_of FROM new_breaks")
                connection.unregister("new_breaks")
    return table


#: what a recon records per fund and date (``record_breaks``), forgotten from a date on by ``forget_breaks_from``
PER_DATE_TABLES = ("recon_runs", "recon_break_observations", "recon_break_resolutions")


def forget_breaks_from(connection, fund: str, business_date: dt.date) -> None:
    """Delete what the recons of ``fund`` recorded for ``business_date`` and later (its runs,
    observations and resolutions) and the fund's ``recon_breaks`` (derived from them, rebuilt by the
    next ``record_breaks``), inside the caller's transaction: for a scratch copy of the store only
    (``bo replay``). The analysts' trail (``recon_break_actions``: notes, owners, manual matches)
    and older notes are kept: they are no record of a date's recon."""
    for table in PER_DATE_TABLES:
        if table_exists(connection, table):
            connection.execute(f"DELETE FROM {table} WHERE fund = ? AND business_date >= ?", [fund, business_date])
    if table_exists(connection, "recon_breaks"):
        connection.execute("DELETE FROM recon_breaks WHERE fund = ?", [fund])


def _read(connection, fund: str) -> tuple[pd.DataFrame, list[dt.date], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    observations = connection.execute("SELECT * FROM recon_break_observations WHERE fund = ?", [fund]).df()
    runs = [r[0] for r in connection.execute("SELECT business_date FROM recon_runs WHERE fund = ?", [fund]).fetchall()]
    notes = connection.execute("SELECT break_id, owner, comment FROM recon_break_notes").df()
    reasons = connection.execute("SELECT fund, business_date, recon, break_key, reason FROM recon_break_resolutions WHERE fund = ?", [fund]).df() \
        if table_exists(connection, "recon_break_resolutions") else None
    return observations, runs, notes, reasons, read_trail(connection, fund=fund)


def load_breaks(store: Path | str, fund: str, as_of: dt.date, calendar) -> pd.DataFrame:
    """Every break of the fund as of ``as_of`` (open and resolved), with owner and comment."""
    if not Path(store).exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    with open_store(store, read_only=True) as connection:
        if not table_exists(connection, "recon_runs"):
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        observations, runs, notes, reasons, trail = _read(connection, fund)
    return break_history(observations, runs, as_of, calendar, notes, reasons, trail)


def set_break_note(store: Path | str, break_id: str, owner: str | None = None, comment: str | None = None, by: str | None = None) -> None:
    """Set the owner and/or comment of a break: a ``note`` action in its trail (``break_actions``), by
    ``by`` (default: the owner named, else ``unknown``); kept as long as the break id lives."""
    perform(store, BreakAction(break_id, "note", by or owner or "unknown", comment or "", owner), thresholds={})
