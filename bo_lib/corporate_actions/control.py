"""The corporate-actions control for one fund and business date: the golden record of the events
the custodians notified, the fund's eligible holdings and entitlements (with market claims), the
elections due, the confirmations against the entitlements, the events the books have not booked,
and the diary of what is coming; summarised red / amber / green, exceptions first, with the key
figures the archive index shows.

What is an exception (one row of ``items`` each, counted in ``summary``):

* **notifications disagree** (red): two custodians' (or accounts') live notifications of an event
  differ on a term (``events.notification_differences``), until one is corrected; while the event
  is not paid;
* **terms changed by a replacement** (amber): a REPL changed a term of an event not paid yet
  (``events.term_changes``): the books and the diary must follow;
* **election missed** / **overdue** (red), **due** (amber): ``elections``; **election after
  booking** (red): an MT565 sent after the books booked its event (they took the elections of
  the booking day);
* **short payment**, **quantity credited differs**, **payment not confirmed** (red),
  **over-payment**, **confirmation of an event not notified** (amber): ``confirmations``;
* **event not booked** (red): an event of the golden record the fund is entitled to, due in the
  books (ex-date passed; pay date for events without one), that the books have not booked;
* **message files held out** (red): a notification or confirmation file that broke a rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from bo_lib import calendars
from bo_lib.corporate_actions import confirmations as confirm_mod
from bo_lib.corporate_actions import elections as election_mod
from bo_lib.books import entitlements as entitle_mod
from bo_lib.books import events as event_mod
from bo_lib.books import notified
from bo_lib.controls import CorporateActionParameters
from bo_lib.rag import AMBER, GREEN, RED, worst_first

_DEFAULTS = CorporateActionParameters.model_fields  # the notebook's parameters: the defaults are theirs
#: business days of the fund's calendar the diary looks ahead
DIARY_BUSINESS_DAYS = _DEFAULTS["diary_days"].default
#: business days before an internal deadline an election shows as due
ELECTION_WARNING_DAYS = _DEFAULTS["election_warning_days"].default
#: business days before an event's first date a preliminary notification shows as not completed
PRELIMINARY_WARNING_DAYS = _DEFAULTS["preliminary_warning_days"].default
ITEM_COLUMNS = ["check", "rag", "event_id", "event_type", "security_id", "account", "detail"]
CHECKS = (  # check, rag when found, what the check means (shown when nothing is found)
    ("Notifications disagree", RED, "every custodian notifies the same terms"),
    ("Elections missed", RED, "no market deadline passed without an election"),
    ("Elections overdue", RED, "no election past the fund's internal deadline"),
    ("Elections after booking", RED, "no election sent after the books booked its event"),
    ("Short payments", RED, "every confirmation pays the entitlement"),
    ("Quantity credited differs", RED, "every credit of new securities is the entitlement"),
    ("Payments not confirmed", RED, "every payment due is confirmed"),
    ("Events not booked", RED, "the books booked every event due"),
    ("Message files held out", RED, "every message file read"),
    ("Elections due", AMBER, "no election due within the warning days"),
    ("Terms changed by a replacement", AMBER, "no live event's terms changed"),
    ("Preliminary notifications not completed", AMBER, "every event due soon is notified complete (COMP)"),
    ("Over-payments", AMBER, "no confirmation pays more than the entitlement"),
    ("Confirmations of events not notified", AMBER, "every confirmation is of an event notified"),
)


@dataclass
class CorporateActionResult:
    fund: str
    business_date: dt.date
    base_currency: str
    golden: pd.DataFrame  # per event and option: the agreed terms
    events: pd.DataFrame  # per event the fund was notified of
    differences: pd.DataFrame
    changes: pd.DataFrame
    eligible: pd.DataFrame  # per event and account: the settled holding of record (projected before the record date)
    entitlements: pd.DataFrame  # per event, account, option and kind (holding, market claim)
    elections: pd.DataFrame
    confirmations: pd.DataFrame
    not_booked: pd.DataFrame
    diary: pd.DataFrame  # event, date kind, date: what falls in the next DIARY_BUSINESS_DAYS
    items: pd.DataFrame  # one row per exception (ITEM_COLUMNS)
    violations: pd.DataFrame
    summary: pd.DataFrame  # check, rag, count, detail

    def key_figures(self) -> dict:
        count = dict(zip(self.summary["check"], self.summary["count"]))
        live = self.events[self.events["status"].ne("cancelled")]
        short = self.confirmations[self.confirmations["status"].eq(confirm_mod.SHORT)]
        return {
            "events_live": int(len(live)),
            "notification_differences": int(count.get("Notifications disagree", 0)),
            "elections_missed_or_overdue": int(count.get("Elections missed", 0) + count.get("Elections overdue", 0)),
            "elections_due": int(count.get("Elections due", 0)),
            "short_payments": int(count.get("Short payments", 0)),
            "short_payment_value": float(-short["net_difference"].astype("float64").sum().round(2)),
            "short_payment_currency": ", ".join(sorted(short["currency"].dropna().unique())) or self.base_currency,
            "events_not_booked": int(count.get("Events not booked", 0)),
            "diary_events": int(self.diary["event_id"].nunique()) if len(self.diary) else 0,
        }


def assess(inputs, diary_days: int = DIARY_BUSINESS_DAYS, election_warning_days: int = ELECTION_WARNING_DAYS,
           preliminary_warning_days: int = PRELIMINARY_WARNING_DAYS) -> CorporateActionResult:
    """Run the corporate-actions control on gathered ``bo_lib.corporate_actions.inputs.CorporateActionInputs``."""
    fund, bd = inputs.fund, inputs.business_date
    notified = event_mod.notifications(inputs.messages)
    live = event_mod.live_notifications(notified)
    golden = event_mod.golden_record(live, inputs.securities)
    per_event = event_mod.events_of(golden)
    differences = event_mod.notification_differences(live)
    changes = event_mod.term_changes(notified)
    eligible = eligible_holdings(per_event, live, inputs)
    instructed = event_mod.instructions(inputs.messages)
    entitled = entitlements(golden, eligible, instructed, inputs)
    closures = inputs.closures
    mic = inputs.securities.set_index("security_id")["mic"] if "mic" in inputs.securities else pd.Series(dtype="str")
    elections = election_mod.elections(golden, eligible, instructed, bd, fund.corporate_actions.election_buffer_days, election_warning_days,
                                       lambda sid: calendars.trading_calendar(mic.get(sid, fund.calendar), closures))
    confirmed = confirm_mod.confirmed(inputs.messages)
    on_holding = entitled[entitled["kind"].eq(entitle_mod.HOLDING)] if len(entitled) else entitled
    confirmations = confirm_mod.compare(_per_account(on_holding), confirmed, _event_terms(golden), bd)
    booked = inputs.state.applied_events if inputs.state is not None else pd.DataFrame(columns=["event_id", "applied_on"])
    first_booked = booked.groupby("event_id")["applied_on"].min().to_dict() if len(booked) else {}
    per_event = per_event.assign(booked_on=pd.to_datetime(pd.Series([first_booked.get(e) for e in per_event["event_id"]], index=per_event.index,
                                                                    dtype="object")).astype("datetime64[ns]"))
    not_booked = events_not_booked(per_event, eligible, booked, bd, inputs.opened_on)
    calendar = calendars.trading_calendar(fund.calendar, closures)
    diary = event_diary(per_event, elections, bd, pd.Timestamp(calendar.add_business_days(bd, diary_days)))
    preliminary = preliminary_events(per_event, elections, bd, calendar, preliminary_warning_days)
    late = elections_after_booking(per_event, instructed)
    items = exception_items(per_event, differences, changes, elections, confirmations, not_booked, inputs.violations_table, bd, preliminary, late)
    result = CorporateActionResult(fund.fund_code, bd, fund.base_currency, golden, per_event, differences, changes, eligible, entitled, elections,
                                   confirmations, not_booked, diary, items, inputs.violations_table, pd.DataFrame())
    result.summary = summarise(items)
    return result


# ---------------------------------------------------------------------------------------------
# holdings and entitlements


def eligible_holdings(per_event: pd.DataFrame, live: pd.DataFrame, inputs) -> pd.DataFrame:
    """Per event and notified account: the books' settled holding of record (``holding_of_record``)."""
    columns = ["event_id", "account", "security_id", "record_date", "quantity"]
    if per_event.empty or inputs.state is None:
        return pd.DataFrame(columns=columns)
    accounts = live[~live["function"].isin(event_mod.CANCELLING)][["corporate_reference", "account"]].drop_duplicates()
    rows = []
    for ev in per_event.itertuples():
        settled = holding_of_record(ev, inputs.state, inputs.record_states)
        for account in accounts.loc[accounts["corporate_reference"].eq(ev.event_id), "account"]:
            held = settled[settled["account"].eq(account) & settled["security_id"].eq(ev.security_id)]["quantity"].sum()
            rows.append({"event_id": ev.event_id, "account": account, "security_id": ev.security_id, "record_date": ev.record_date,
                         "quantity": float(held)})
    return pd.DataFrame(rows, columns=columns)


def holding_of_record(event, state, record_states: dict) -> pd.DataFrame:
    """Settled quantities per account and security the event is paid on. The books apply an event
    from its ex-date (a split, a stock dividend, a redemption's sale of the holding), so the holding
    of record is taken from the close before the ex-date with the open trades settling by the
    record date; an event without an ex-date (a tender): the close of its record date once passed;
    before a date has come, today's settled holding with the trades settling by it."""
    record = event.record_date.date() if pd.notna(event.record_date) else None
    if pd.notna(event.ex_date):
        before = _close_before(record_states, event.ex_date.date())
        if before is not None:
            return notified.settled_by(before.settled_positions, before.open_trades, record)
    if record is not None and record in record_states:
        return record_states[record].settled_positions
    return notified.settled_by(state.settled_positions, state.open_trades, record)


def _close_before(record_states: dict, day: dt.date):
    earlier = [d for d in record_states if d < day]
    return record_states[max(earlier)] if earlier else None


def _event_terms(golden: pd.DataFrame) -> pd.DataFrame:
    return golden.sort_values("option_number").drop_duplicates("event_id")[["event_id", "event_type", "pay_date", "gross_rate"]]


def entitlements(golden: pd.DataFrame, eligible: pd.DataFrame, instructed: pd.DataFrame, inputs) -> pd.DataFrame:
    """The fund's entitlements on its holding of record and its market claims (``notified.event_entitlements``)."""
    if golden.empty or eligible.empty or inputs.state is None:
        return pd.DataFrame(columns=entitle_mod.ENTITLEMENT_COLUMNS)
    events, options = notified.entitlement_terms(golden, inputs.securities)
    return notified.event_entitlements(events, options, eligible, pending_across_record(events, inputs), instructed, inputs.state.cost_basis,
                                       inputs.state.prices, inputs.securities, inputs.fund.withholding_tax_pct, inputs.fund.fund_code)


def pending_across_record(events: pd.DataFrame, inputs) -> pd.DataFrame:
    """The books' open trades made before an event's ex-date and settling after its record date,
    at the close of the record date (today's close before it has come)."""
    columns = ["event_id", "trade_id", "fund", "account", "security_id", "side", "quantity", "counterparty", "settlement_date"]
    frames = []
    for ev in events.itertuples():
        if pd.isna(ev.ex_date) or pd.isna(ev.record_date):
            continue
        state = inputs.record_states.get(ev.record_date.date(), inputs.state)
        cross = notified.trades_across_record(state.open_trades, ev)
        if len(cross):
            frames.append(cross.assign(event_id=ev.event_id, counterparty=cross.get("counterparty", cross.get("broker_id", "")))
                          .reindex(columns=columns))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _per_account(entitled: pd.DataFrame) -> pd.DataFrame:
    """Entitlements on the holding of record summed per event and account (what one MT566 confirms)."""
    columns = ["event_id", "account", "eligible_quantity", "currency", "cash_net", "withholding_pct", "new_quantity"]
    if entitled.empty:
        return pd.DataFrame(columns=columns)
    credited = entitled["new_quantity"].fillna(0.0) - entitled["old_quantity_removed"].fillna(0.0).where(
        entitled["new_security_id"].eq(entitled["security_id"]), 0.0)
    rows = entitled.assign(new_quantity=credited)
    grouped = rows.groupby(["event_id", "account"], as_index=False, sort=False).agg(
        eligible_quantity=("eligible_quantity", "sum"), currency=("currency", "first"), cash_net=("cash_net", "sum"),
        withholding_pct=("withholding_pct", "max"), new_quantity=("new_quantity", "sum"))
    return grouped[columns]


# ---------------------------------------------------------------------------------------------
# the books, the diary


def events_not_booked(per_event: pd.DataFrame, eligible: pd.DataFrame, booked: pd.DataFrame, business_date: dt.date,
                      opened_on: dt.date | None) -> pd.DataFrame:
    """Events the fund is entitled to, due in the books by ``business_date``, that the books have
    not booked: event_id, event_type, security_id, accounts, due_on."""
    columns = ["event_id", "event_type", "security_id", "accounts", "quantity", "due_on"]
    if per_event.empty:
        return pd.DataFrame(columns=columns)
    live = per_event[per_event["status"].ne("cancelled")]
    due_on = notified.due_on(live)
    today = pd.Timestamp(business_date)
    held = eligible[eligible["quantity"].gt(0)].groupby("event_id").agg(accounts=("account", ", ".join), quantity=("quantity", "sum"))
    due = live.assign(due_on=due_on)
    due = due[due["due_on"].le(today) & due["event_id"].isin(held.index) & ~due["event_id"].isin(set(booked["event_id"]))]
    if opened_on is not None:
        due = due[due["due_on"] > pd.Timestamp(opened_on)]
    due = due.drop(columns=["accounts"]).join(held, on="event_id")
    return due.reindex(columns=columns).reset_index(drop=True)


DIARY_COLUMNS = ["event_id", "event_type", "security_id", "what", "date"]


def event_diary(per_event: pd.DataFrame, elections: pd.DataFrame, business_date: dt.date, horizon: pd.Timestamp) -> pd.DataFrame:
    """Every date of the live events from today to ``horizon``: ex, record, pay, the market's and
    the fund's election deadlines."""
    live = per_event[per_event["status"].ne("cancelled")]
    parts = [live.assign(what=what, date=live[column])[DIARY_COLUMNS]
             for what, column in (("ex-date", "ex_date"), ("record date", "record_date"), ("pay date", "pay_date"))]
    if len(elections):
        for what, column in (("market deadline", "market_deadline"), ("internal deadline", "internal_deadline")):
            parts.append(elections.drop_duplicates("event_id").assign(what=what, date=elections[column])[DIARY_COLUMNS])
    diary = pd.concat(parts, ignore_index=True)
    diary = diary[diary["date"].between(pd.Timestamp(business_date), horizon)]
    return diary.sort_values(["date", "event_id", "what"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# exceptions


def preliminary_events(per_event: pd.DataFrame, elections: pd.DataFrame, business_date: dt.date, calendar, warning_days: int) -> pd.DataFrame:
    """Live events still notified preliminary (``:25D::PROC//PREU``: terms not final) within
    ``warning_days`` business days of their first date (ex-date, market deadline, pay date) or past
    it: event_id, first_date, what. The books wait for the complete notification."""
    columns = ["event_id", "first_date", "what"]
    if per_event.empty or "processing_status" not in per_event:
        return pd.DataFrame(columns=columns)
    live = per_event[per_event["status"].ne("cancelled") & per_event["processing_status"].eq("PREU")]
    deadline = elections.groupby("event_id")["market_deadline"].min() if len(elections) else pd.Series(dtype="datetime64[ns]")
    rows = []
    for ev in live.itertuples():
        dates = {"ex-date": ev.ex_date, "market deadline": deadline.get(ev.event_id, pd.NaT), "pay date": ev.pay_date}
        known = {what: pd.Timestamp(day) for what, day in dates.items() if pd.notna(day)}
        if not known:
            continue
        what, first = min(known.items(), key=lambda item: item[1])
        if pd.Timestamp(calendar.add_business_days(business_date, warning_days)) >= first:
            rows.append({"event_id": ev.event_id, "first_date": first, "what": what})
    return pd.DataFrame(rows, columns=columns)


def elections_after_booking(per_event: pd.DataFrame, instructed: pd.DataFrame) -> pd.DataFrame:
    """Instructions (MT565) delivered after the books booked their event from the notifications:
    the books took the elections known on the booking day (``books.notified``), so the booking
    must be redone by hand. event_id, account, option_number, instructed_quantity, sent_on, booked_on."""
    columns = ["event_id", "account", "option_number", "instructed_quantity", "sent_on", "booked_on"]
    if instructed.empty or per_event.empty or "booked_on" not in per_event:
        return pd.DataFrame(columns=columns)
    booked = per_event.set_index("event_id")["booked_on"]
    rows = instructed.assign(event_id=instructed["corporate_reference"], sent_on=pd.to_datetime(instructed["delivery_date"]))
    rows = rows.assign(booked_on=rows["event_id"].map(booked))
    return rows[rows["booked_on"].notna() & (rows["sent_on"] > rows["booked_on"])].reindex(columns=columns).reset_index(drop=True)


def exception_items(per_event, differences, changes, elections, confirmations, not_booked, violations, business_date: dt.date,
                    preliminary: pd.DataFrame | None = None, after_booking: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per exception (``ITEM_COLUMNS``), the check it counts under."""
    today = pd.Timestamp(business_date)
    terms = per_event.set_index("event_id") if len(per_event) else pd.DataFrame(columns=["event_type", "security_id", "pay_date"])
    unpaid = set(per_event.loc[per_event["pay_date"].isna() | per_event["pay_date"].ge(today), "event_id"])
    rows = []

    def add(check, event, account, detail):
        rag = next(r for c, r, _m in CHECKS if c == check)
        rows.append({"check": check, "rag": rag, "event_id": event, "event_type": terms["event_type"].get(event, ""),
                     "security_id": terms["security_id"].get(event, ""), "account": account, "detail": detail})

    for event, group in differences[differences["event_id"].isin(unpaid)].groupby("event_id", sort=False):
        add("Notifications disagree", event, "", "; ".join(f"{r.term} (option {r.option_number}): {r.values}" for r in group.itertuples()))
    for event, group in changes[changes["event_id"].isin(unpaid)].groupby("event_id", sort=False):
        add("Terms changed by a replacement", event, ", ".join(sorted(group["account"].unique())),
            "; ".join(f"{r.term} {event_mod._shown(r.was)} → {event_mod._shown(r.now)} ({r.sender}, {r.changed_on:%Y-%m-%d})"
                      for r in group.drop_duplicates(["term", "option_number"]).itertuples()))
    for r in elections[elections["event_id"].isin(unpaid)].itertuples():
        label = {election_mod.MISSED: "Elections missed", election_mod.OVERDUE: "Elections overdue", election_mod.DUE: "Elections due"}.get(r.status)
        if label:
            add(label, r.event_id, r.account, f"{r.eligible:,.0f} eligible, {r.instructed:,.0f} instructed; internal deadline "
                f"{r.internal_deadline:%Y-%m-%d}, market deadline {r.market_deadline:%Y-%m-%d}; default option {r.default_option}")
    labels = {confirm_mod.SHORT: "Short payments", confirm_mod.OVER: "Over-payments", confirm_mod.QUANTITY: "Quantity credited differs",
              confirm_mod.NOT_CONFIRMED: "Payments not confirmed", confirm_mod.NOT_NOTIFIED: "Confirmations of events not notified"}
    for r in confirmations.itertuples():
        if r.status in labels:
            add(labels[r.status], r.event_id, r.account, r.detail)
    for r in not_booked.itertuples():
        add("Events not booked", r.event_id, r.accounts, f"event applied by the custodian, not booked: {r.event_type} {r.event_id} on "
            f"{r.security_id}, due {r.due_on:%Y-%m-%d}, {r.quantity:,.0f} held at the record date")
    for r in (after_booking if after_booking is not None else pd.DataFrame(columns=["event_id"])).itertuples():
        add("Elections after booking", r.event_id, r.account, f"option {r.option_number}, {r.instructed_quantity:,.0f} instructed on "
            f"{r.sent_on:%Y-%m-%d}, after the books booked the event on {r.booked_on:%Y-%m-%d} with the elections then: re-book it")
    for r in (preliminary if preliminary is not None else pd.DataFrame(columns=["event_id"])).itertuples():
        add("Preliminary notifications not completed", r.event_id, "", f"still preliminary (PREU), {r.what} {r.first_date:%Y-%m-%d}: "
            "the terms are not final; the books wait for the complete notification (COMP)")
    for v in violations.itertuples():
        add("Message files held out", "", "", f"{v.file} line {v.line}: {v.column or ''} {v.rule}".replace("  ", " "))
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def summarise(items: pd.DataFrame) -> pd.DataFrame:
    """One row per check: rag (its colour when anything is found, else green), count, detail."""
    rows = []
    for check, rag, meaning in CHECKS:
        found = items[items["check"].eq(check)]
        detail = "; ".join(f"{r.event_id} {r.account}: {r.detail}".replace(" :", ":") for r in found.itertuples()) if len(found) else meaning
        rows.append((check, rag if len(found) else GREEN, len(found), detail))
    return worst_first(pd.DataFrame(rows, columns=["check", "rag", "count", "detail"]))


__all__ = ["CorporateActionResult", "assess", "summarise"]
