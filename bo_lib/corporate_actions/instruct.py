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
  custodian (its sender); its reference is ``E<yymmdd><nnn>``, unique among the day's elections.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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
    left = float(row["eligible"]) - float(row["instructed"])
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
    sender, receiver = _parties(messages, event_id, row["account"])
    reference = election_reference(prepared.date(), set(taken_references))
    option_type = str(chosen["option_type"].iloc[0])
    text = mt565_instruction(sender=sender, receiver=receiver, corporate_reference=event_id, sender_reference=reference,
                             event_type=str(first["event_type"]), isin=str(first["isin"]), account=row["account"], option_number=number,
                             option_type=option_type, quantity=_plain(wanted), prepared=prepared)
    return Election(result.fund, event_id, str(first["event_type"]), str(first["security_id"]), str(first["isin"]), row["account"], number,
                    option_type, wanted, float(row["eligible"]), float(row["instructed"]), row["market_deadline"], row["internal_deadline"],
                    sender, receiver, reference, text, warnings)


def _parties(messages: pd.DataFrame, event_id: str, account: str) -> tuple[str, str]:
    """(us, the custodian): the receiver and the sender of the account's live notification."""
    live = event_mod.live_notifications(event_mod.notifications(messages))
    hit = live[live["corporate_reference"].eq(event_id) & live["account"].eq(account)]
    if hit.empty:
        raise ElectionRefused(f"event {event_id}: no notification to account {account}")
    return str(hit["receiver"].iloc[-1]), str(hit["sender"].iloc[-1])


def _plain(quantity: float) -> int | float:
    return int(quantity) if float(quantity).is_integer() else quantity
