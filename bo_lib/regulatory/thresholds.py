"""Ownership thresholds of the management company (every fund's holding aggregated per issuer):
US beneficial ownership (Schedules 13D / 13G at 5% and 10% of the class) and EU net short
positions (Regulation (EU) No 236/2012), with every crossing since a date, the filing it
triggers and its due date. Pure functions over DataFrames.

Decisions:

* **Beneficial ownership** (Rule 13d-3) counts long shares of every fund and the shares
  underlying long calls (a right to acquire within 60 days; listed US options are American-style
  and exercisable at any time). Puts, bonds and short positions do not count.
* **Shares outstanding** come from the securities master and are split-adjusted: holdings and the
  share count both move by the ratio of a split (or stock dividend) from its ex-date, so a split
  alone never crosses a threshold.
* **Which schedule**: the company files Form ADV, so it is a registered investment adviser, a
  qualified institution under Rule 13d-1(b)(1)(ii)(E), and files Schedule 13G for positions held
  in the ordinary course without intent to change or influence control. Deadlines (SEC release
  33-11253, in force 2024-09-30): initial 13G 45 days after the end of the calendar quarter in
  which 5% is crossed; above 10%, 5 business days after the end of the month; a decrease below 5%
  is reported by amendment 45 days after the quarter end. Without qualified-institution status:
  Schedule 13D within 5 business days of the crossing, amendments within 2 business days.
  Calendar-day deadlines falling on a weekend or federal holiday roll to the next business day
  (Exchange Act Rule 0-3); business days are those of the US payment system (FED calendar).
* **EU net short positions**: firm-wide net position in shares admitted on an EU venue; a net
  short of 0.1% of issued share capital and each 0.1% step above or below is notified to the
  competent authority, from 0.5% also published (Art. 5, 6 and 9 as amended; 0.1% since Delegated
  Regulation (EU) 2022/27), by 15:30 on the next trading day of the issuer's market. Only shares
  are counted here (no derivatives on EU issuers are held).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bo_lib import calendars
from bo_lib.codes import RATIO_EVENTS

US_THRESHOLDS_PCT = (5.0, 10.0)
EU_NOTIFY_PCT = 0.1
EU_PUBLISH_PCT = 0.5
EU_STEP_PCT = 0.1
SEC_BUSINESS_DAYS = ("XOFF", "USD")  # the US payment-system calendar: federal holidays

CROSSING_COLUMNS = ["crossing_date", "regime", "security_id", "issuer_name", "direction", "threshold_pct", "before_pct", "after_pct",
                    "shares", "shares_outstanding", "filing", "due_date", "rule"]


def split_factor(securities: pd.DataFrame, corporate_actions: pd.DataFrame | None, dates: pd.Series) -> pd.Series:
    """Cumulative ratio of the split-type events of each row's security with ex-date on or
    before the row's date (1.0 where none): multiplies the master's share count."""
    frame = pd.DataFrame({"security_id": securities.to_numpy(), "date": pd.to_datetime(dates).to_numpy()})
    factor = pd.Series(1.0, index=frame.index)
    if corporate_actions is None or corporate_actions.empty:
        return factor
    events = corporate_actions[corporate_actions["event_type"].isin(RATIO_EVENTS) & corporate_actions["event_status"].ne("CANC")]
    for event in events.itertuples():  # a handful of events
        hit = frame["security_id"].eq(event.security_id) & (frame["date"] >= pd.Timestamp(event.ex_date))
        factor[hit] *= event.ratio_new / event.ratio_old
    return factor


def beneficial_ownership(positions: pd.DataFrame, securities: pd.DataFrame, corporate_actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Firm-wide beneficial ownership per equity security and date: long shares plus shares under
    long calls, against split-adjusted shares outstanding. Columns: date, security_id, issuer_name,
    shares, shares_outstanding, ownership_pct."""
    master = securities.set_index("security_id")
    held = positions[positions["quantity"] > 0].merge(
        securities[["security_id", "asset_class", "underlying_id", "put_call", "price_multiplier"]], on="security_id", how="left")
    calls = held["asset_class"].eq("option") & held["put_call"].eq("Call")
    held["owned_security_id"] = held["underlying_id"].where(calls, held["security_id"])
    held["shares"] = np.where(calls, held["quantity"] * held["price_multiplier"], held["quantity"])
    held = held[held["asset_class"].eq("equity") | calls]
    owned = held.groupby(["date", "owned_security_id"], as_index=False)["shares"].sum().rename(columns={"owned_security_id": "security_id"})
    owned["issuer_name"] = owned["security_id"].map(master["issuer_name"])
    outstanding = owned["security_id"].map(master["shares_outstanding"]).astype("float64")
    owned["shares_outstanding"] = outstanding * split_factor(owned["security_id"], corporate_actions, owned["date"])
    owned["ownership_pct"] = owned["shares"] / owned["shares_outstanding"] * 100
    return owned.dropna(subset=["ownership_pct"]).sort_values(["security_id", "date"]).reset_index(drop=True)


def _quarter_end(days: pd.Series) -> pd.Series:
    return pd.to_datetime(days).dt.to_period("Q").dt.end_time.dt.normalize()


def _month_end(days: pd.Series) -> pd.Series:
    return pd.to_datetime(days).dt.to_period("M").dt.end_time.dt.normalize()


def _roll_following(days: pd.Series, calendar) -> pd.Series:
    rolled = calendar.offset_array(pd.to_datetime(days).to_numpy().astype("datetime64[D]"), 0)
    return pd.Series(pd.to_datetime(rolled), index=days.index)


def _add_business_days(days: pd.Series, n: int, calendar) -> pd.Series:
    """``n`` business days after each date, counting only business days after it (a Saturday
    month end + 5 is the fifth business day of the next week, not of the one after)."""
    moved = np.busday_offset(pd.to_datetime(days).to_numpy().astype("datetime64[D]"), n, roll="backward",
                             weekmask="1111100", holidays=calendar.holidays)
    return pd.Series(pd.to_datetime(moved), index=days.index)


def _crossings(levels: pd.DataFrame, value: str, thresholds: list[float]) -> pd.DataFrame:
    """Each date a level moves across a threshold: up (before < T <= after) or down (after < T <= before)."""
    ordered = levels.sort_values(["security_id", "date"])
    before = ordered.groupby("security_id")[value].shift(1)
    rows = []
    for threshold in thresholds:
        up = (before < threshold - 1e-12) & (ordered[value] >= threshold - 1e-12)
        down = (before >= threshold - 1e-12) & (ordered[value] < threshold - 1e-12)
        for mask, direction in ((up, "up"), (down, "down")):
            if mask.any():
                rows.append(ordered[mask].assign(direction=direction, threshold_pct=threshold, before_pct=before[mask]))
    if not rows:
        return ordered.iloc[0:0].assign(direction="", threshold_pct=np.nan, before_pct=np.nan)
    return pd.concat(rows, ignore_index=True)


def us_ownership_crossings(ownership: pd.DataFrame, qualified_institution: bool = True,
                           thresholds: tuple[float, ...] = US_THRESHOLDS_PCT, closures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Crossings of 5% / 10% of a class between consecutive dates of ``ownership``
    (``beneficial_ownership``), with the schedule each triggers and its due date. The first date
    is the baseline (the last report)."""
    found = _crossings(ownership, "ownership_pct", list(thresholds))
    if found.empty:
        return pd.DataFrame(columns=CROSSING_COLUMNS)
    calendar = calendars.calendar_for(*SEC_BUSINESS_DAYS, closures=closures)
    day = pd.to_datetime(found["date"])
    up, ten = found["direction"].eq("up"), found["threshold_pct"].ge(10)
    after_quarter = _roll_following(_quarter_end(day) + pd.Timedelta(days=45), calendar)
    after_month = _add_business_days(_month_end(day), 5, calendar)
    if qualified_institution:
        conditions = [up & ~ten, up & ten, ~up]
        filing = np.select(conditions, ["Schedule 13G (initial)", "Schedule 13G amendment (above 10%)", "Schedule 13G amendment (decrease)"], "")
        due = np.select(conditions, [after_quarter.to_numpy(), after_month.to_numpy(), after_quarter.to_numpy()], np.datetime64("NaT"))
        rule = np.select(conditions, ["Rule 13d-1(b)(2): 45 days after the calendar quarter end (Rule 0-3 roll)",
                                      "Rule 13d-1(b)(2)/13d-2(c): 5 business days after the month end",
                                      "Rule 13d-2(b): 45 days after the calendar quarter end"], "")
    else:
        filing = np.where(up & ~ten, "Schedule 13D (initial)", "Schedule 13D amendment")
        due = np.where(up & ~ten, _add_business_days(day, 5, calendar).to_numpy(), _add_business_days(day, 2, calendar).to_numpy())
        rule = np.where(up & ~ten, "Rule 13d-1(a): 5 business days after the acquisition", "Rule 13d-2(a): 2 business days after the material change")
    out = found.assign(crossing_date=day, regime="US beneficial ownership (13D/13G)", filing=filing,
                       due_date=pd.to_datetime(pd.Series(due, index=found.index)), rule=rule,
                       before_pct=found["before_pct"].round(3), after_pct=found["ownership_pct"].round(3))
    return out[CROSSING_COLUMNS].sort_values(["crossing_date", "security_id"]).reset_index(drop=True)


def eu_net_short_positions(positions: pd.DataFrame, securities: pd.DataFrame, corporate_actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Firm-wide net short position per share admitted on an EU venue and date, as % of issued
    share capital (0 when the firm is net long). Columns: date, security_id, issuer_name, mic,
    net_position, net_short_shares, shares_outstanding, net_short_pct."""
    eu_markets = calendars.markets().query("region == 'EU'").index
    eu_shares = securities[securities["asset_class"].eq("equity") & securities["mic"].isin(eu_markets)]
    held = positions[positions["security_id"].isin(eu_shares["security_id"])]
    net = held.groupby(["date", "security_id"], as_index=False)["quantity"].sum().rename(columns={"quantity": "net_position"})
    master = eu_shares.set_index("security_id")
    net["issuer_name"] = net["security_id"].map(master["issuer_name"])
    net["mic"] = net["security_id"].map(master["mic"])
    net["net_short_shares"] = (-net["net_position"]).clip(lower=0)
    outstanding = net["security_id"].map(master["shares_outstanding"]).astype("float64")
    net["shares_outstanding"] = outstanding * split_factor(net["security_id"], corporate_actions, net["date"])
    net["net_short_pct"] = net["net_short_shares"] / net["shares_outstanding"] * 100
    return net.sort_values(["security_id", "date"]).reset_index(drop=True)


def eu_short_crossings(net_short: pd.DataFrame, closures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every date a net short position moves across a 0.1% step at or above 0.1%: notify the
    competent authority (and publish at 0.5% or more) by the next trading day of the issuer's market."""
    frame = net_short.copy()
    # the step reached: 0.1% -> 1, 0.2% -> 2 ... (0 below 0.1%), with a tolerance for float noise
    frame["step"] = np.floor(frame["net_short_pct"] / EU_STEP_PCT + 1e-9)
    ordered = frame.sort_values(["security_id", "date"])
    before = ordered.groupby("security_id")["step"].shift(1)
    before_pct = ordered.groupby("security_id")["net_short_pct"].shift(1)
    moved = before.notna() & ordered["step"].ne(before)
    found = ordered[moved].assign(before_step=before[moved], before_pct=before_pct[moved])
    if found.empty:
        return pd.DataFrame(columns=CROSSING_COLUMNS)
    up = found["step"] > found["before_step"]
    threshold = np.where(up, found["step"], found["before_step"]) * EU_STEP_PCT
    level = np.maximum(found["net_short_pct"], found["before_pct"])
    publish = level >= EU_PUBLISH_PCT - 1e-12
    due = [calendars.trading_calendar(mic, closures).add_business_days(day, 1) for mic, day in zip(found["mic"], found["date"])]
    out = found.assign(
        crossing_date=pd.to_datetime(found["date"]), regime="EU net short position (SSR)", direction=np.where(up, "up", "down"),
        threshold_pct=np.round(threshold, 1), before_pct=found["before_pct"].round(3), after_pct=found["net_short_pct"].round(3),
        shares=found["net_short_shares"],
        filing=np.where(publish, "Notify the competent authority and publish", "Notify the competent authority"),
        due_date=pd.to_datetime(due), rule="SSR Art. 5/6/9: by 15:30 on the next trading day")
    return out[CROSSING_COLUMNS].sort_values(["crossing_date", "security_id"]).reset_index(drop=True)


def crossings_status(crossings: pd.DataFrame, as_of: dt.date, closures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Crossings with business days until due (SEC business days; negative: overdue) and a RAG:
    red when overdue or due today, amber while a filing is pending."""
    out = crossings.copy()
    if out.empty:
        return out.assign(business_days_to_due=pd.Series(dtype="float64"), rag=pd.Series(dtype="str"))
    calendar = calendars.calendar_for(*SEC_BUSINESS_DAYS, closures=closures)
    start = np.full(len(out), np.datetime64(as_of, "D"))
    out["business_days_to_due"] = calendar.count_array(start, out["due_date"].to_numpy().astype("datetime64[D]"))
    out["rag"] = np.where(out["business_days_to_due"] <= 0, "red", "amber")
    return out
