"""Confirmations (MT566) against entitlements: what the custodian paid or credited, per event and
account, against what the fund is entitled to on its holding of record.

Rules:

* every MT566 of an event and account counts (a later one, e.g. the refund of over-withheld tax,
  adds to the first); cash is compared on the net amount posted, securities on the quantity
  credited;
* a net amount short of the entitlement by more than ``CASH_TOLERANCE`` is a **short payment**
  (red, with the difference); more than the entitlement is an **over-payment** (amber: it is
  owed back); a credited quantity that differs is red;
* an entitlement whose pay date has passed with no confirmation is **not confirmed** (red);
* a confirmation of an event no notification (MT564) announced is **not notified** (amber): what
  was paid cannot be checked until the event's terms are known;
* the confirmed balance, the rate, the tax rate and the pay date are shown beside ours, and named
  in the detail when they differ (they explain the difference).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

CASH_TOLERANCE = 0.01
AGREED, SHORT, OVER, QUANTITY, NOT_CONFIRMED = "agreed", "short payment", "over-payment", "quantity differs", "not confirmed"
NOT_NOTIFIED = "not notified"
CONFIRMATION_COLUMNS = ["event_id", "event_type", "account", "currency", "entitled_quantity", "confirmed_balance", "entitled_net", "posted_net",
                        "net_difference", "entitled_new_quantity", "posted_quantity", "quantity_difference", "rate", "confirmed_rate",
                        "withholding_pct", "confirmed_tax_pct", "pay_date", "confirmed_pay_date", "messages", "confirmed_on", "status", "detail"]


def confirmed(messages: pd.DataFrame) -> pd.DataFrame:
    """The MT566 rows summed per event and account (net posted, quantity credited), with the first
    message's confirmed balance, rate, tax rate and pay date."""
    rows = messages[messages["message_type"].eq("566")]
    columns = ["event_id", "account", "posted_net", "posted_quantity", "confirmed_balance", "confirmed_rate", "confirmed_tax_pct",
               "confirmed_pay_date", "messages", "confirmed_on"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    net = rows["net_amount"].where(rows["net_amount"].notna(), rows["posted_amount"])
    rows = rows.assign(net=net)
    grouped = rows.groupby(["corporate_reference", "account"], sort=False)
    first = grouped.first()
    out = pd.DataFrame({
        "posted_net": grouped["net"].sum(min_count=1), "posted_quantity": grouped["posted_quantity"].sum(min_count=1),
        "confirmed_balance": first["eligible_balance"], "confirmed_rate": first["gross_rate"], "confirmed_tax_pct": first["withholding_pct"],
        "confirmed_pay_date": first["pay_date"], "messages": grouped.size(), "confirmed_on": grouped["delivery_date"].max(),
    }).reset_index().rename(columns={"corporate_reference": "event_id"})
    return out[columns]


def compare(entitled: pd.DataFrame, confirmations: pd.DataFrame, golden_events: pd.DataFrame, business_date: dt.date) -> pd.DataFrame:
    """Each entitlement on the holding of record against its confirmations (``CONFIRMATION_COLUMNS``).
    ``entitled``: per event and account, eligible_quantity, currency, cash_net, withholding_pct,
    new_quantity; ``golden_events``: event_id, event_type, pay_date, gross_rate."""
    if entitled.empty and confirmations.empty:
        return pd.DataFrame(columns=CONFIRMATION_COLUMNS)
    keys = ["event_id", "account"]
    merged = entitled.merge(confirmations, on=keys, how="outer")
    terms = golden_events.drop_duplicates("event_id").set_index("event_id")
    merged["event_type"] = merged["event_id"].map(terms["event_type"])
    merged["pay_date"] = merged["event_id"].map(terms["pay_date"])
    merged["rate"] = merged["event_id"].map(terms["gross_rate"])
    merged = merged.rename(columns={"eligible_quantity": "entitled_quantity", "cash_net": "entitled_net", "new_quantity": "entitled_new_quantity"})
    merged["net_difference"] = (merged["posted_net"].fillna(0.0) - merged["entitled_net"].fillna(0.0)).round(2)
    merged["quantity_difference"] = merged["posted_quantity"].fillna(0.0) - merged["entitled_new_quantity"].fillna(0.0)
    today = pd.Timestamp(business_date)
    status = np.select(
        [merged["messages"].notna() & merged["event_type"].isna(),
         merged["messages"].isna() & (merged["pay_date"] < today),
         merged["messages"].isna(),
         merged["net_difference"] < -CASH_TOLERANCE,
         merged["net_difference"] > CASH_TOLERANCE,
         merged["quantity_difference"].abs() > 0],
        [NOT_NOTIFIED, NOT_CONFIRMED, "awaiting", SHORT, OVER, QUANTITY], default=AGREED)
    merged["status"] = status
    merged["detail"] = [_detail(r) for r in merged.itertuples()]
    return merged.reindex(columns=CONFIRMATION_COLUMNS).sort_values(["pay_date", "event_id", "account"]).reset_index(drop=True)


def _detail(row) -> str:
    parts = []
    if row.status == NOT_NOTIFIED:
        paid = f"{row.posted_net:,.2f} paid" if pd.notna(row.posted_net) else f"{row.posted_quantity:,.0f} credited"
        parts.append(f"{paid} on {row.confirmed_balance:,.0f} held for an event no MT564 notified")
    if row.status in (SHORT, OVER):
        parts.append(f"{row.currency} {row.posted_net:,.2f} posted against {row.entitled_net:,.2f} entitled ({row.net_difference:+,.2f})")
    if row.status == QUANTITY:
        parts.append(f"{row.posted_quantity:,.0f} credited against {row.entitled_new_quantity:,.0f} entitled")
    if row.status == NOT_CONFIRMED:
        parts.append(f"pay date {row.pay_date:%Y-%m-%d} passed, no MT566 received")
    if pd.notna(row.confirmed_tax_pct) and pd.notna(row.withholding_pct) and abs(row.confirmed_tax_pct - row.withholding_pct) > 1e-9:
        parts.append(f"tax withheld at {row.confirmed_tax_pct:g}%, the fund's treaty rate is {row.withholding_pct:g}%")
    if pd.notna(row.confirmed_balance) and pd.notna(row.entitled_quantity) and abs(row.confirmed_balance - row.entitled_quantity) > 1e-6:
        parts.append(f"confirmed balance {row.confirmed_balance:,.0f}, our holding of record {row.entitled_quantity:,.0f}")
    if pd.notna(row.confirmed_rate) and pd.notna(row.rate) and abs(row.confirmed_rate - row.rate) > 1e-9:
        parts.append(f"rate {row.confirmed_rate:g} confirmed, {row.rate:g} notified")
    if pd.notna(row.confirmed_pay_date) and pd.notna(row.pay_date) and row.confirmed_pay_date != row.pay_date:
        parts.append(f"paid for {row.confirmed_pay_date:%Y-%m-%d}, notified {row.pay_date:%Y-%m-%d}")
    return "; ".join(parts)
