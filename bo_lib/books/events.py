"""The golden record of corporate-action events, built from every notification (MT564) received:
what the custodians say the events are. The book of record's own layer, as the books, the
reconciliations and the corporate-actions control all read it.

Rules:

* a custodian's notifications of an event for one safekeeping account form a chain of versions:
  ``NEWM`` starts it, ``REPL`` replaces the terms, ``CANC`` / ``WITH`` cancel or withdraw them;
  the latest version of each account's chain is the live one (``live_notifications``);
* every replacement that changes a term is recorded field by field (``term_changes``): an
  analyst must see that a pay date moved, not find it moved;
* the golden record (``golden_record``) holds, per event and option, each term on which every
  live notification agrees; a term on which two custodians (or two accounts) disagree is left
  empty and listed in ``notification_differences`` (an exception until the custodians agree);
* an event whose every notification is cancelled is cancelled.

Terms compared: ``EVENT_TERMS`` (per event) and ``OPTION_TERMS`` (per option).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bo_lib.codes import ADDING_EVENTS, REPLACING_EVENTS

#: the event's terms every notification must agree on
EVENT_TERMS = ("event_type", "mandatory_voluntary", "isin", "ex_date", "record_date")
#: each option's terms
OPTION_TERMS = ("option_type", "is_default", "currency", "pay_date", "gross_rate", "withholding_pct", "ratio_new", "ratio_old", "price",
                "new_isin",                 "market_deadline")
CANCELLING = ("CANC", "WITH")
#: one row per event (``events_of``)
EVENT_COLUMNS = ["event_id", "security_id", *EVENT_TERMS, "pay_date", "processing_status", "status", "custodians", "accounts", "notified_on"]
GOLDEN_COLUMNS = ["event_id", "option_number", "security_id", *EVENT_TERMS, *[t for t in OPTION_TERMS], "processing_status", "custodians",
                  "accounts", "notified_on", "status"]


def notifications(messages: pd.DataFrame) -> pd.DataFrame:
    """The MT564 rows of ``messages`` (one per option), in the order received."""
    rows = messages[messages["message_type"].eq("564")].copy()
    return rows.sort_values(["delivery_date", "file", "source_line", "option_number"], kind="stable").reset_index(drop=True)


def instructions(messages: pd.DataFrame) -> pd.DataFrame:
    """The fund's elections sent (MT565, the live instruction per event, account and option): what
    the entitlements and the books take as elected."""
    sent = messages[messages["message_type"].eq("565")]
    live = sent.drop_duplicates(["corporate_reference", "account", "option_number"], keep="last")
    return live[~live["function"].eq("CANC")][["corporate_reference", "account", "option_number", "option_type", "instructed_quantity",
                                                "delivery_date"]].reset_index(drop=True)


def live_notifications(notified: pd.DataFrame) -> pd.DataFrame:
    """Each account's latest version of each event (its options), cancelled chains included
    (``function`` tells)."""
    if notified.empty:
        return notified
    last = notified.drop_duplicates(["corporate_reference", "account"], keep="last")[["corporate_reference", "account", "sender_reference"]]
    return notified.merge(last, on=["corporate_reference", "account", "sender_reference"]).reset_index(drop=True)


def _same(a, b) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return a == b


def term_changes(notified: pd.DataFrame) -> pd.DataFrame:
    """Every term a replacement changed: event, account, option, term, was, now, the date and the
    replacing message."""
    columns = ["event_id", "account", "sender", "option_number", "term", "was", "now", "changed_on", "sender_reference"]
    out = []
    if notified.empty:
        return pd.DataFrame(columns=columns)
    for (event, account), chain in notified.groupby(["corporate_reference", "account"], sort=False):
        versions = list(chain.groupby("sender_reference", sort=False))
        for (_ref_old, old), (ref_new, new) in zip(versions, versions[1:]):
            if new["function"].iloc[0] != "REPL":
                continue
            merged = old.merge(new, on="option_number", how="outer", suffixes=("_was", "_now"))
            for row in merged.itertuples():
                for term in (*EVENT_TERMS, *OPTION_TERMS):
                    was, now = getattr(row, f"{term}_was"), getattr(row, f"{term}_now")
                    if not _same(was, now):
                        out.append({"event_id": event, "account": account, "sender": new["sender"].iloc[0], "option_number": row.option_number,
                                    "term": term, "was": was, "now": now, "changed_on": new["delivery_date"].iloc[0], "sender_reference": ref_new})
    return pd.DataFrame(out, columns=columns)


def notification_differences(live: pd.DataFrame) -> pd.DataFrame:
    """Terms on which the live notifications of an event disagree: event, option, term, and each
    account's value (``values``: "account (sender): value; ...")."""
    columns = ["event_id", "option_number", "term", "values", "accounts"]
    active = live[~live["function"].isin(CANCELLING)]
    out = []
    for (event, option), group in active.groupby(["corporate_reference", "option_number"], sort=False):
        if group["account"].nunique() < 2:
            continue
        for term in (*EVENT_TERMS, *OPTION_TERMS):
            values = group[term]
            distinct = values.dropna().unique()
            if len(distinct) > 1 or (len(distinct) == 1 and values.isna().any()):
                shown = "; ".join(f"{r.account} ({r.sender}): {_shown(getattr(r, term))}" for r in group.itertuples())
                out.append({"event_id": event, "option_number": option, "term": term, "values": shown, "accounts": group["account"].nunique()})
    return pd.DataFrame(out, columns=columns)


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "-"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _security_ids(securities: pd.DataFrame) -> pd.Series:
    """ISIN -> the securities master's id (securities without an ISIN, e.g. listed options, left out)."""
    if "isin" not in securities:
        return pd.Series(dtype="str")
    known = securities[securities["isin"].fillna("").ne("")].drop_duplicates("isin")
    return known.set_index("isin")["security_id"]


def golden_record(live: pd.DataFrame, securities: pd.DataFrame) -> pd.DataFrame:
    """One row per event and option: the agreed terms (a disputed term left empty), the security,
    who notified (``custodians``, ``accounts``), first notified on, and ``status``: ``agreed``,
    ``disputed`` (a term differs between notifications) or ``cancelled``."""
    if live.empty:
        return pd.DataFrame(columns=GOLDEN_COLUMNS)
    disputed = notification_differences(live)
    by_isin = _security_ids(securities)
    rows = []
    for (event, option), group in live.groupby(["corporate_reference", "option_number"], sort=False):
        active = group[~group["function"].isin(CANCELLING)]
        source = active if len(active) else group
        row = {"event_id": event, "option_number": option}
        for term in (*EVENT_TERMS, *OPTION_TERMS):
            distinct = source[term].dropna().unique()
            row[term] = distinct[0] if len(distinct) == 1 else None
        row["processing_status"] = "COMP" if source["processing_status"].eq("COMP").all() else "PREU"
        row["custodians"] = ", ".join(sorted(source["sender"].unique()))
        row["accounts"] = ", ".join(sorted(source["account"].unique()))
        row["notified_on"] = group["delivery_date"].min()
        row["status"] = "cancelled" if active.empty else "agreed"
        rows.append(row)
    golden = pd.DataFrame(rows)
    hit = set(disputed["event_id"])
    golden.loc[golden["event_id"].isin(hit) & golden["status"].eq("agreed"), "status"] = "disputed"
    for term, values in disputed.groupby("term"):
        keys = set(zip(values["event_id"], values["option_number"]))
        mask = [(e, o) in keys for e, o in zip(golden["event_id"], golden["option_number"])]
        golden.loc[mask, term] = None
    golden["security_id"] = golden["isin"].map(by_isin).fillna("")
    for column in ("ex_date", "record_date", "pay_date", "market_deadline", "notified_on"):
        golden[column] = pd.to_datetime(golden[column]).astype("datetime64[ns]")
    for column in ("gross_rate", "withholding_pct", "ratio_new", "ratio_old", "price"):
        golden[column] = pd.to_numeric(golden[column]).astype("float64")
    return golden.reindex(columns=GOLDEN_COLUMNS).reset_index(drop=True)


def events_of(golden: pd.DataFrame) -> pd.DataFrame:
    """One row per event (the first option's event terms, the earliest pay date of its options)."""
    if golden.empty:
        return golden.reindex(columns=EVENT_COLUMNS)
    first = golden.drop_duplicates("event_id")
    pay = golden.groupby("event_id")["pay_date"].min()
    complete = golden.groupby("event_id")["processing_status"].agg(lambda status: "COMP" if status.eq("COMP").all() else "PREU")
    return first.assign(pay_date=first["event_id"].map(pay), processing_status=first["event_id"].map(complete)).reindex(
        columns=EVENT_COLUMNS).reset_index(drop=True)


def quantity_factor(event_type: pd.Series, ratio_new: pd.Series, ratio_old: pd.Series) -> pd.Series:
    """What an event does to a holding: the new holding per unit held. Replacing events (NEWO,
    splits: 2 for 1 gives 2) are new / old; adding ones (ADEX, stock dividends and bonus issues:
    5 per 100 gives 1.05) are 1 + new / old; any other event leaves the holding (NaN)."""
    ratio = ratio_new.astype("float64") / ratio_old.astype("float64")
    return pd.Series(np.where(event_type.isin(REPLACING_EVENTS), ratio, np.where(event_type.isin(ADDING_EVENTS), 1 + ratio, np.nan)),
                     index=event_type.index)


def custodian_quantity_events(messages: pd.DataFrame, business_date) -> pd.DataFrame:
    """The events the custodians notified that change a holding and are paid by ``business_date``,
    per account: account, isin, event_id, event_type, factor (``quantity_factor``), pay_date. What
    a custodian's position already reflects."""
    columns = ["account", "isin", "event_id", "event_type", "factor", "pay_date"]
    live = live_notifications(notifications(messages))
    if live.empty:
        return pd.DataFrame(columns=columns)
    same_security = live["new_isin"].eq("") | live["new_isin"].eq(live["isin"])  # a spin-off's or rights' new line is another security
    live = live[~live["function"].isin(CANCELLING) & live["ratio_new"].notna() & live["ratio_old"].notna() & same_security]
    live = live[pd.to_datetime(live["pay_date"]) <= pd.Timestamp(business_date)]
    out = live.assign(event_id=live["corporate_reference"], factor=quantity_factor(live["event_type"], live["ratio_new"], live["ratio_old"]))
    return out[out["factor"].notna()].drop_duplicates(["account", "event_id"])[columns].reset_index(drop=True)
