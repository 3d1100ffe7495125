"""Elections on voluntary and choice events: what the fund must instruct, by when, and whether it did.

Rules:

* an event needs an election when it is voluntary (``VOLU``) or offers a choice (``CHOS``) and
  the fund holds the security at an account the custodian notified;
* the **market deadline** is the earliest deadline of the event's options (``MKDT``); the
  fund's **internal deadline** is the market deadline less the fund's buffer
  (``corporate_actions.election_buffer_days``) in business days of the security's market;
* the fund has elected when MT565 instructions cover the eligible balance (units not instructed
  take the default option);
* status, against the business date: ``instructed``; ``due`` (amber) from ``warning_days``
  business days before the internal deadline to it; ``overdue`` (red) after the internal
  deadline and up to the market deadline: inside the buffer, still possible but late;
  ``missed`` (red) after the market deadline: the default option applies; otherwise ``open``.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pandas as pd

ELECTION_TYPES = ("VOLU", "CHOS")
INSTRUCTED, DUE, OVERDUE, MISSED, OPEN = "instructed", "due", "overdue", "missed", "open"
ELECTION_COLUMNS = ["event_id", "event_type", "security_id", "account", "eligible", "instructed", "default_option", "options", "market_deadline",
                    "internal_deadline", "warn_from", "status"]


def elections(golden: pd.DataFrame, eligible: pd.DataFrame, instructed: pd.DataFrame, business_date: dt.date, buffer_days: int,
              warning_days: int, calendar_of: Callable[[str], object]) -> pd.DataFrame:
    """One row per event needing an election and account: eligible units, units instructed, the
    default option, deadlines and status (``ELECTION_COLUMNS``). ``eligible``: event_id, account,
    quantity; ``calendar_of(security_id)``: the business calendar of the security's market."""
    if golden.empty:
        return pd.DataFrame(columns=ELECTION_COLUMNS)
    choice = golden[golden["mandatory_voluntary"].isin(ELECTION_TYPES) & golden["status"].ne("cancelled")]
    rows = []
    today = pd.Timestamp(business_date)
    for event, options in choice.groupby("event_id", sort=False):
        deadline = options["market_deadline"].min()
        if pd.isna(deadline):
            continue
        default = options.loc[options["is_default"].fillna(False).astype(bool), "option_number"]
        calendar = calendar_of(options["security_id"].iloc[0])
        internal = pd.Timestamp(calendar.add_business_days(deadline.date(), -buffer_days))
        warn_from = pd.Timestamp(calendar.add_business_days(internal.date(), -warning_days))
        held = eligible[eligible["event_id"].eq(event) & eligible["quantity"].gt(0)]
        for account, quantity in zip(held["account"], held["quantity"]):
            done = instructed[instructed["corporate_reference"].eq(event) & instructed["account"].eq(account)]["instructed_quantity"].sum()
            rows.append({"event_id": event, "event_type": options["event_type"].iloc[0], "security_id": options["security_id"].iloc[0],
                         "account": account, "eligible": float(quantity), "instructed": float(done),
                         "default_option": ", ".join(default) or "none", "options": ", ".join(f"{n} {t}" for n, t in zip(options["option_number"], options["option_type"])),
                         "market_deadline": deadline, "internal_deadline": internal, "warn_from": warn_from,
                         "status": election_status(float(done), float(quantity), today, warn_from, internal, deadline)})
    out = pd.DataFrame(rows, columns=ELECTION_COLUMNS)
    for column in ("market_deadline", "internal_deadline", "warn_from"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    return out


def election_status(instructed: float, eligible: float, today: pd.Timestamp, warn_from: pd.Timestamp, internal: pd.Timestamp,
                    market: pd.Timestamp) -> str:
    """The status of one account's election on ``today`` (see the module's rules)."""
    if instructed >= eligible:
        return INSTRUCTED
    if today > market:
        return MISSED
    if today > internal:
        return OVERDUE
    if today >= warn_from:
        return DUE
    return OPEN
