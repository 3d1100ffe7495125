"""Elections out: the MT565 instruction the fund sends its custodian for an elective event, checked
against the golden record and the fund's holding before it is written. A pure function over the
corporate-actions control's result; writing the file and ingesting it are ``bo elect``'s
(``bo_lib.cli.elect``).

Rules (each refusal names the rule):

* the event is live in the golden record (not cancelled) and elective (``VOLU`` or ``CHOS``);
* the option is one the event offers;
* the account is one the custodian notified the event to, where the fund is eligible; the
  quantity (default: the eligible balance not instructed yet) is positive and, with what is
  already instructed on that account, within the eligible balance (the holding of record);
* the market deadline has not passed (after it the custodian applies the default option); past
  the fund's internal deadline the election is still written, with a warning (it is late);
* the instruction goes from the BIC the custodian notified (the receiver of its MT564) to that
  custodian (its sender), in the notification's balance type (UNIT, or FAMT nominal for bonds);
  its reference is ``E<yymmdd><nnn>``, unique among the day's elections (written and ingested);
* an election on an event the books have already booked is written with a warning: the books took
  the elections of the booking day, and the control shows the election red until re-booked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from bo_lib.books import events as event_mod
from bo_lib.corporate_actions.elections import ELECTION_TYPES
from bo_lib.data.formats.ca_messages import mt565_instruction


class ElectionRefused(ValueError):
    """An election that breaks a rule of the module (the message names the rule)."""


@dataclass
class Election:
    fund: str
    event_id: str
    event_type: str
    security_id: str
    isin: str
    account: str
    option_number: str
    option_type: str
    quantity: float
    eligible: float
    instructed_before: float
    market_deadline: pd.Timestamp
    internal_deadline: pd.Timestamp
    sender: str
    receiver: str
    sender_reference: str
    text: str
    warnings: list[str] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"{self.sender_reference}.mt565"


def election_reference(business_date: dt.date, taken: set[str]) -> str:
    """The next free ``E<yymmdd><nnn>`` reference of the day."""
    for n in range(1, 1000):
        reference = f"E{business_date:%y%m%d}{n:03d}"
        if reference not in taken:
            return reference
    raise ElectionRefused(f"more than 999 elections on {business_date}: no reference left")


def prepare_election(result, messages: pd.DataFrame, *, event_id: str, option_number: str, quantity: float | None = None,
                     account: str | None = None, prepared: dt.datetime, taken_references: set[str] = frozenset()) -> Election:
    """The checked MT565 of one election (the module's rules). ``result``: the control's
    ``CorporateActionResult`` of the fund and day; ``messages``: the fund's messages it was built from."""
    options = result.golden[result.golden["event_id"].eq(event_id)]
    if options.empty:
        raise ElectionRefused(f"event {event_id}: not notified to {result.fund} (no MT564 in the look-back window)")
    first = options.iloc[0]
    if options["status"].eq("cancelled").all():
        raise ElectionRefused(f"event {event_id}: cancelled by the custodian")
    if first["mandatory_voluntary"] not in ELECTION_TYPES:
        raise ElectionRefused(f"event {event_id} ({first['event_type']}) is mandatory ({first['mandatory_voluntary']}): nothing to elect")
    number = f"{int(option_number):03d}" if str(option_number).isdigit() else str(option_number)
    chosen = options[options["option_number"].eq(number)]
    if chosen.empty:
        offered = ", ".join(f"{n} {t}" for n, t in zip(options["option_number"], options["option_type"]))
        raise ElectionRefused(f"event {event_id}: no option {number} (offered: {offered})")
    rows = result.elections[result.elections["event_id"].eq(event_id)]
    if account is not None:
        rows = rows[rows["account"].eq(account)]
    if rows.empty:
        raise ElectionRefused(f"event {event_id}: {result.fund} holds no eligible balance" + (f" at account {account}" if account else ""))
    if len(rows) > 1:
        raise ElectionRefused(f"event {event_id}: eligible at {', '.join(rows['account'])}: name the account (--account)")
    row = rows.iloc[0]
    left = round(float(row["eligible"]) - float(row["instructed"]), 6)
    wanted = left if quantity is None else float(quantity)
    if wanted <= 0:
        raise ElectionRefused(f"event {event_id} account {row['account']}: nothing left to elect ({row['instructed']:,.0f} of "
                              f"{row['eligible']:,.0f} eligible already instructed)" if quantity is None else
                              f"quantity {quantity}: must be positive")
    if wanted > left + 1e-9:
        raise ElectionRefused(f"event {event_id} account {row['account']}: {wanted:,.0f} is more than the {left:,.0f} eligible and not "
                              f"instructed yet ({row['eligible']:,.0f} eligible, {row['instructed']:,.0f} instructed)")
    today = pd.Timestamp(prepared.date())
    if pd.notna(row["market_deadline"]) and today > row["market_deadline"]:
        raise ElectionRefused(f"event {event_id}: the market deadline {row['market_deadline']:%Y-%m-%d} has passed; the custodian "
                              f"applies the default option ({row['default_option']})")
    warnings = []
    if pd.notna(row["internal_deadline"]) and today > row["internal_deadline"]:
        warnings.append(f"late: past the fund's internal deadline {row['internal_deadline']:%Y-%m-%d} (market deadline "
                        f"{row['market_deadline']:%Y-%m-%d})")
    booked = result.events.set_index("event_id")["booked_on"].get(event_id) if "booked_on" in result.events else None
    if booked is not None and pd.notna(booked):
        warnings.append(f"the books booked {event_id} on {booked:%Y-%m-%d} with the elections known then: this election is not "
                        "re-booked by itself (the corporate-actions report shows it red until the booking is corrected)")
    sender, receiver, balance_type = _parties(messages, event_id, row["account"])
    sent = messages.loc[messages["message_type"].eq("565"), "sender_reference"] if "sender_reference" in messages else []
    reference = election_reference(prepared.date(), set(taken_references) | set(sent))
    option_type = str(chosen["option_type"].iloc[0])
    try:
        text = mt565_instruction(sender=sender, receiver=receiver, corporate_reference=event_id, sender_reference=reference,
                                 event_type=str(first["event_type"]), isin=str(first["isin"]), account=row["account"], option_number=number,
                                 option_type=option_type, quantity=_plain(wanted), balance_type=balance_type, prepared=prepared)
    except ValueError as exc:  # what the MT565 cannot carry (a BIC, an ISIN, a quantity of too many digits)
        raise ElectionRefused(f"event {event_id}: the MT565 cannot be written: {exc}") from None
    return Election(result.fund, event_id, str(first["event_type"]), str(first["security_id"]), str(first["isin"]), row["account"], number,
                    option_type, wanted, float(row["eligible"]), float(row["instructed"]), row["market_deadline"], row["internal_deadline"],
                    sender, receiver, reference, text, warnings)


def _parties(messages: pd.DataFrame, event_id: str, account: str) -> tuple[str, str, str]:
    """(us, the custodian, the balance type): the receiver and the sender of the account's live
    notification, and its eligible balance's type (UNIT for shares, FAMT nominal for bonds)."""
    live = event_mod.live_notifications(event_mod.notifications(messages))
    hit = live[live["corporate_reference"].eq(event_id) & live["account"].eq(account)]
    if hit.empty:
        raise ElectionRefused(f"event {event_id}: no notification to account {account}")
    balance = str(hit["balance_type"].iloc[-1]) if "balance_type" in hit else ""
    return str(hit["receiver"].iloc[-1]), str(hit["sender"].iloc[-1]), balance if balance in ("UNIT", "FAMT") else "UNIT"


def _plain(quantity: float) -> Decimal:
    """A quantity as the decimal it stands for (a float's binary noise rounded off at 6 places)."""
    return Decimal(str(round(float(quantity), 6))).normalize()
