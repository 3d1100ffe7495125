"""The custodians' corporate-action messages of the sample world, written in ISO 15022 as SWIFT
delivers them: MT564 notifications (new, replacement), MT566 confirmations of what was paid or
credited, and copies of the MT565 elections the funds sent. One file per message, under
``inbound/<date>/messages/``.

The custodian notifies every account holding the security on the announcement date and confirms
on the pay date what it paid on the holding of record (the same amounts the bank statements
carry). The stories of issue 14 sit around the final date (``ca_stories``): two custodians that
disagree on a dividend rate, a replacement that moves a pay date, an optional dividend whose
election is inside the fund's buffer, a tender offer one fund never answered (the other
instructed "no action"); the short-paid EU dividend and the stock dividend the books miss are the
episodes' (see ``simulate``). The texts are written here, by hand, sharing no code with the
workbench's parser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bo_lib.data.sample_world.conventions import round_half_up_array
from bo_lib.data.sample_world.feeds import apply_quantity_events, quantity_events
from bo_lib.data.sample_world.simulate import WHT_CHARGED_PCT, World, coupon_holder_of_record

#: the management company's BIC: the receiver of the custodians' messages, the sender of elections
COMPANY_BIC = "MHAMUS33XXX"
#: business days before the market deadline the funds want elections in (the funds' parameter)
ELECTION_BUFFER_DAYS = 3  # as written into the funds' parameters (universe)
#: business days before the internal deadline an election shows as due
ELECTION_WARNING_DAYS = 5
#: the MAHF holding kept at both custodians (the rate disagreement): the part at the US custodian
SPLIT_HOLDING_AT_SECOND_CUSTODIAN = 0.25


@dataclass
class Message:
    on: dt.date  # the delivery date
    name: str  # file name under inbound/<date>/messages/
    text: str


@dataclass
class Notified:
    """One event as the custodians notify it (ISO 15022 terms)."""

    corp: str
    caev: str
    camv: str
    security_id: str
    isin: str
    name: str
    currency: str
    announce: dt.date
    ex_date: dt.date | None
    record_date: dt.date | None
    pay_date: dt.date
    options: list[dict] = field(default_factory=list)


def _bic_lt(bic: str) -> str:
    bic = (bic + "XXX")[:11] if len(bic) == 8 else bic
    return f"{bic[:8]}X{bic[8:11]}"


def _num(value: float) -> str:
    """ISO 15022 decimal: comma mark, no thousands separator, at least the comma (``7000,``)."""
    text = f"{float(value):.10f}".rstrip("0")
    return text.replace(".", ",")


def _d(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def _received(sender_bic: str, on: dt.date, sequence: int, body: list[str], message_type: str) -> str:
    """An output message (received by the company) with its basic and application headers."""
    lt = _bic_lt(sender_bic)
    header = (f"{{1:F01{_bic_lt(COMPANY_BIC)}0000{sequence:06d}}}{{2:O{message_type}0930{on:%y%m%d}{lt}0000{sequence:06d}"
              f"{on:%y%m%d}0931N}}{{3:{{108:{message_type}{sequence:012d}}}}}{{4:")
    return header + "\n" + "\n".join(body) + "\n-}\n"


def _sent(receiver_bic: str, body: list[str], message_type: str) -> str:
    """An input message (sent by the company)."""
    return f"{{1:F01{_bic_lt(COMPANY_BIC)}0000000000}}{{2:I{message_type}{_bic_lt(receiver_bic)}N}}{{4:\n" + "\n".join(body) + "\n-}\n"


def _balance(asset_class: str) -> str:
    return "FAMT" if asset_class in ("government_bond", "corporate_bond") else "UNIT"


def mt564(ev: Notified, *, seme: str, function: str, account: str, eligible: float, balance_type: str, prepared: dt.date,
          previous: str | None = None, status: str = "COMP") -> list[str]:
    body = [":16R:GENL", f":20C::CORP//{ev.corp}", f":20C::SEME//{seme}", f":23G:{function}", f":22F::CAEV//{ev.caev}",
            f":22F::CAMV//{ev.camv}", f":98C::PREP//{_d(prepared)}093000", f":25D::PROC//{status}"]
    if previous:
        body += [":16R:LINK", f":20C::PREV//{previous}", ":16S:LINK"]
    body += [":16S:GENL", ":16R:USECU", f":35B:ISIN {ev.isin}", ev.name[:35].upper(), ":16R:ACCTINFO", f":97A::SAFE//{account}",
             f":93B::ELIG//{balance_type}/{_num(eligible)}", ":16S:ACCTINFO", ":16S:USECU", ":16R:CADETL", f":98A::ANOU//{_d(ev.announce)}"]
    if ev.ex_date is not None:
        body.append(f":98A::XDTE//{_d(ev.ex_date)}")
    if ev.record_date is not None:
        body.append(f":98A::RDTE//{_d(ev.record_date)}")
    body.append(":16S:CADETL")
    for option in ev.options:
        body += _option(ev, option)
    return body


def _option(ev: Notified, option: dict) -> list[str]:
    lines = [":16R:CAOPTN", f":13A::CAON//{option['number']}", f":22F::CAOP//{option['type']}", f":11A::OPTN//{ev.currency}",
             f":17B::DFLT//{'Y' if option.get('default') else 'N'}"]
    if option.get("market_deadline"):
        lines.append(f":98A::MKDT//{_d(option['market_deadline'])}")
    if option.get("offer_price") is not None:
        lines.append(f":90B::OFFR//ACTU/{ev.currency}{_num(option['offer_price'])}")
    if option.get("ratio") is not None:
        new, old = option["ratio"]
        # a split's new shares replace the old (new for old); a stock dividend's are additional
        qualifier = "NEWO" if ev.caev in ("SPLF", "SPLR") else "ADEX"
        lines += [":16R:SECMOVE", ":22H::CRDB//CRED", f":35B:ISIN {ev.isin}", f":92D::{qualifier}//{_num(new)}/{_num(old)}",
                  ":22F::DISF//CINL", f":98A::PAYD//{_d(ev.pay_date)}", ":16S:SECMOVE"]
    if option.get("offer_price") is not None:  # the tender's proceeds
        lines += [":16R:CASHMOVE", ":22H::CRDB//CRED", f":98A::PAYD//{_d(ev.pay_date)}", ":16S:CASHMOVE"]
    if option.get("gross_rate") is not None or option.get("redemption_pct") is not None:
        lines += [":16R:CASHMOVE", ":22H::CRDB//CRED", f":98A::PAYD//{_d(ev.pay_date)}"]
        if option.get("gross_rate") is not None:
            lines.append(f":92F::GRSS//{ev.currency}{_num(option['gross_rate'])}")
        if option.get("redemption_pct") is not None:
            lines.append(f":90A::OFFR//PRCT/{_num(option['redemption_pct'])}")
        lines.append(":16S:CASHMOVE")
    lines.append(":16S:CAOPTN")
    return lines


def mt566(ev: Notified, *, seme: str, account: str, confirmed: float, balance_type: str, posted_on: dt.date, option_type: str,
          cash: dict | None = None, credited: float | None = None, related: str | None = None) -> list[str]:
    body = [":16R:GENL", f":20C::CORP//{ev.corp}", f":20C::SEME//{seme}", ":23G:NEWM", f":22F::CAEV//{ev.caev}",
            f":98C::PREP//{_d(posted_on)}180000"]
    if related:
        body += [":16R:LINK", f":20C::RELA//{related}", ":16S:LINK"]
    body += [":16S:GENL", ":16R:USECU", f":97A::SAFE//{account}", f":35B:ISIN {ev.isin}", ev.name[:35].upper(),
             f":93B::CONB//{balance_type}/{_num(confirmed)}", ":16S:USECU", ":16R:CADETL"]
    if ev.ex_date is not None:
        body.append(f":98A::XDTE//{_d(ev.ex_date)}")
    if ev.record_date is not None:
        body.append(f":98A::RDTE//{_d(ev.record_date)}")
    body += [":16S:CADETL", ":16R:CACONF", ":13A::CAON//001", f":22F::CAOP//{option_type}"]
    if credited is not None:
        body += [":16R:SECMOVE", ":22H::CRDB//CRED", f":35B:ISIN {ev.isin}", f":36B::PSTA//UNIT/{_num(credited)}",
                 f":98A::POST//{_d(posted_on)}", f":98A::PAYD//{_d(ev.pay_date)}", ":16S:SECMOVE"]
    if cash is not None:
        c = ev.currency
        body += [":16R:CASHMOVE", ":22H::CRDB//CRED", f":19B::PSTA//{c}{_num(cash['net'])}"]
        if cash.get("gross") is not None:
            body.append(f":19B::GRSS//{c}{_num(cash['gross'])}")
        if cash.get("tax") is not None:
            body.append(f":19B::TAXR//{c}{_num(cash['tax'])}")
        body += [f":19B::NETT//{c}{_num(cash['net'])}", f":98A::POST//{_d(posted_on)}", f":98A::VALU//{_d(posted_on)}",
                 f":98A::PAYD//{_d(ev.pay_date)}"]
        if cash.get("rate") is not None:
            body.append(f":92F::GRSS//{c}{_num(cash['rate'])}")
        if cash.get("tax_pct") is not None:
            body.append(f":92A::TAXR//{_num(cash['tax_pct'])}")
        body.append(":16S:CASHMOVE")
    body.append(":16S:CACONF")
    return body


def mt565(ev: Notified, *, seme: str, account: str, eligible: float, option: dict, quantity: float, prepared: dt.date) -> list[str]:
    return [":16R:GENL", f":20C::CORP//{ev.corp}", f":20C::SEME//{seme}", ":23G:NEWM", f":22F::CAEV//{ev.caev}",
            f":98C::PREP//{_d(prepared)}110000", ":16S:GENL", ":16R:USECU", f":35B:ISIN {ev.isin}", ":16R:ACCTINFO",
            f":97A::SAFE//{account}", f":93B::ELIG//UNIT/{_num(eligible)}", ":16S:ACCTINFO", ":16S:USECU", ":16R:CAINST",
            f":13A::CAON//{option['number']}", f":22F::CAOP//{option['type']}", f":36B::QINS//UNIT/{_num(quantity)}", ":16S:CAINST"]


# ---------------------------------------------------------------------------------------------
# which messages the world sends


class _Accounts:
    """Per fund: its securities accounts, their custodians' BICs, and the settled holdings."""

    def __init__(self, world: World, custody, quantity_events: pd.DataFrame) -> None:
        bic = dict(zip(world.universe.counterparties["counterparty_id"], world.universe.counterparties["bic"]))
        self.custodian_bic = {a["account"]: bic[a["custodian"]] for f in world.universe.funds for a in f["securities_accounts"]}
        self.custody = custody
        self.world = world
        self.sent: dict[tuple[str, str], str] = {}  # (event, account) -> the last notification's reference
        self.quantity_events = quantity_events  # what the custodian applies to its positions on pay date

    def holders(self, security_id: str, on: dt.date, paid_before: dt.date | None = None) -> list[tuple[str, str, float]]:
        """(fund, account, settled quantity) of every custody account holding the security at the close
        of ``on``, with the events the custodian paid by then applied (only those paid before
        ``paid_before`` when given: the holding an event itself is paid on)."""
        day = min(on, self.world.final_date)
        pos = self.custody.positions(day)
        pos = pos[pos["security_id"] == security_id].copy()
        events = self.quantity_events[self.quantity_events["security_id"] == security_id]
        if paid_before is not None:
            events = events[events["pay_date"] < paid_before]
        pos = apply_quantity_events(pos, events, day)
        held = pos[pos["quantity"] > 0]
        return [(r.fund, r.account, float(r.quantity)) for r in held.itertuples()]


def _notified(world: World, ev) -> Notified:
    secs = world.securities()
    sec = secs.loc[ev.security_id]
    kind = ev.event_type
    options: list[dict]
    if kind == "DVCA":
        options = [{"number": "001", "type": "CASH", "default": True, "gross_rate": ev.gross_rate}]
    elif kind == "INTR":  # the coupon per 100 nominal, as the custodians quote it
        options = [{"number": "001", "type": "CASH", "default": True, "gross_rate": ev.gross_rate}]
    elif kind == "REDM":
        options = [{"number": "001", "type": "CASH", "default": True, "redemption_pct": ev.gross_rate}]
    elif kind in ("SPLF", "SPLR"):  # new shares for old
        options = [{"number": "001", "type": "SECU", "default": True, "ratio": (ev.ratio_new, ev.ratio_old)}]
    else:  # DVSE: additional shares per share held
        options = [{"number": "001", "type": "SECU", "default": True, "ratio": (ev.ratio_new - ev.ratio_old, ev.ratio_old)}]
    return Notified(ev.event_id, kind, "MAND", ev.security_id, ev.isin, sec["name"], ev.currency, ev.announcement_date,
                    ev.ex_date, ev.record_date, ev.pay_date, options)


def _seme(prefix: str, number: int) -> str:
    return f"{prefix}{number:08d}"


def corporate_action_messages(world: World, custody, story) -> list[Message]:
    """Every MT564, MT566 and MT565 of the window, and the issue-14 stories told into ``story``."""
    accounts = _Accounts(world, custody, quantity_events(world))
    out: list[Message] = []
    counter = iter(range(1, 1_000_000))
    events = pd.concat([world.corporate_actions, world.unbooked_events], ignore_index=True).sort_values(["announcement_date", "event_id"])
    for ev in events.itertuples():
        notified = _notified(world, ev)
        out += _notify(world, accounts, notified, counter)
        out += _confirm(world, accounts, ev, notified, counter)
    out += ca_stories(world, accounts, story, counter)
    return sorted(out, key=lambda m: (m.on, m.name))


def _notify(world: World, accounts: _Accounts, ev: Notified, counter, *, function: str = "NEWM", on: dt.date | None = None,
            previous: dict | None = None, only: set[str] | None = None) -> list[Message]:
    """A notification to each account holding the security on ``on`` (default: the announcement)."""
    sec = world.securities().loc[ev.security_id]
    out = []
    for fund, account, quantity, day in _recipients(world, accounts, ev, on):
        if only is not None and account not in only:
            continue
        n = next(counter)
        bic = accounts.custodian_bic[account]
        seme = _seme(bic[:4], n)
        body = mt564(ev, seme=seme, function=function, account=account, eligible=quantity, balance_type=_balance(sec["asset_class"]),
                     prepared=day, previous=(previous or {}).get(account))
        out.append(Message(day, f"{seme}.mt564", _received(bic, day, n, body, "564")))
        accounts.sent[(ev.corp, account)] = seme
    return out


def _recipients(world: World, accounts: _Accounts, ev: Notified, on: dt.date | None) -> list[tuple[str, str, float, dt.date]]:
    """Who is notified and when: every account holding the security on ``on`` (a replacement's
    date), or on the announcement; and an account that comes to hold it later, by the record date,
    on the first day it does (fund, account, quantity, date)."""
    if on is not None:
        return [(f, a, q, on) for f, a, q in accounts.holders(ev.security_id, on)]
    out = [(f, a, q, ev.announce) for f, a, q in accounts.holders(ev.security_id, ev.announce)]
    last = min(ev.record_date or ev.pay_date, world.final_date)
    told = {a for _f, a, _q, _d in out}
    for day in (x for x in world.dates if ev.announce < x <= last):
        for f, a, q in accounts.holders(ev.security_id, day):
            if a not in told:
                told.add(a)
                out.append((f, a, q, day))
    return out


def _confirm(world: World, accounts: _Accounts, ev, notified: Notified, counter) -> list[Message]:
    """The MT566 of each account paid or credited on the pay date (and the refund of over-withheld tax)."""
    if ev.pay_date > world.final_date:
        return []
    secs = world.securities()
    sec = secs.loc[ev.security_id]
    funds = {f["fund_code"]: f for f in world.universe.funds}
    out = []
    for fund, account, _quantity in accounts.holders(ev.security_id, ev.record_date, paid_before=ev.pay_date):
        n = next(counter)
        bic = accounts.custodian_bic[account]
        seme = _seme(bic[:4] + "C", n)
        kind = ev.event_type
        if kind in ("SPLF", "DVSE"):
            before = _quantity_before_event(accounts, fund, account, ev)
            credited = float(np.floor(before * ev.ratio_new / ev.ratio_old)) - before
            body = mt566(notified, seme=seme, account=account, confirmed=before, balance_type="UNIT", posted_on=ev.pay_date, option_type="SECU",
                         credited=credited)
        else:
            held = _holding_of_record(world, fund, ev)
            if not held:
                continue
            cash = _cash_paid(world, funds[fund], sec, ev, held)
            body = mt566(notified, seme=seme, account=account, confirmed=held, balance_type=_balance(sec["asset_class"]), posted_on=ev.pay_date,
                         option_type="CASH", cash=cash)
            refund_i = world.wht_refunds.get(ev.event_id)
            if refund_i is not None and cash.get("refund"):
                n2 = next(counter)
                seme2 = _seme(bic[:4] + "C", n2)
                refund_on = world.dates[refund_i]
                body2 = mt566(notified, seme=seme2, account=account, confirmed=held, balance_type="UNIT", posted_on=refund_on, option_type="CASH",
                              cash={"net": cash["refund"], "gross": None, "tax": None, "rate": None, "tax_pct": None}, related=seme)
                out.append(Message(refund_on, f"{seme2}.mt566", _received(bic, refund_on, n2, body2, "566")))
        out.append(Message(ev.pay_date, f"{seme}.mt566", _received(bic, ev.pay_date, n, body, "566")))
    return out


def _quantity_before_event(accounts: _Accounts, fund: str, account: str, ev) -> float:
    """The custodian's position the event is applied to: on its pay date, earlier events applied."""
    held = accounts.holders(ev.security_id, ev.pay_date, paid_before=ev.pay_date)
    return sum(q for f, a, q in held if f == fund and a == account)


def _holding_of_record(world: World, fund: str, ev) -> float:
    """What the custodian pays on, as the bank statements do (``feeds.cash_entries``)."""
    from bo_lib.data.sample_world.feeds import _holding_at, _market_claims

    of_record = coupon_holder_of_record(world, fund, ev)
    held = _holding_at(world, fund, ev.security_id, ev.ex_date) if of_record is None else of_record
    if ev.event_type == "INTR" and of_record is None:
        held -= sum(q for _t, q, _on in _market_claims(world, fund, ev))
    return float(held)


def _cash_paid(world: World, fund: dict, sec, ev, held: float) -> dict:
    if ev.event_type == "DVCA":
        treaty = fund["withholding_tax_pct"].get(sec["country"], 0.0)
        rate = WHT_CHARGED_PCT if ev.security_id == world.universe.roles["dividend_eu_wht"] else treaty
        gross = float(round_half_up_array(held * ev.gross_rate, 2))
        net = float(round_half_up_array(held * ev.gross_rate * (1 - rate / 100), 2))
        expected = float(round_half_up_array(held * ev.gross_rate * (1 - treaty / 100), 2))
        return {"gross": gross, "tax": float(round_half_up_array(gross - net, 2)), "net": net, "rate": ev.gross_rate, "tax_pct": rate,
                "refund": float(round_half_up_array(expected - net, 2)) if rate != treaty else 0.0}
    amount = float(round_half_up_array(held * ev.gross_rate / 100, 2))
    return {"gross": amount, "tax": 0.0, "net": amount, "rate": None, "tax_pct": None}


# ---------------------------------------------------------------------------------------------
# the stories around the final date


def story_roles(world: World) -> dict[str, str]:
    r = world.universe.roles
    return {"ca_pay_date_replaced": r["stale_price"], "ca_election_in_buffer": r["price_jump"], "ca_tender_missed": r["fail_cmon_us"],
            "ca_custodians_disagree": r["fail_partial_sme"]}


def split_holding(world: World) -> pd.DataFrame:
    """The opening book with part of MAHF's holding of the disagreement story's security kept at its
    US custodian (the fund holds it at two custodians)."""
    sid = story_roles(world)["ca_custodians_disagree"]
    positions = world.opening_positions.copy()
    hit = (positions["fund"] == "MAHF") & (positions["security_id"] == sid)
    if not hit.any():
        return positions
    fund = next(f for f in world.universe.funds if f["fund_code"] == "MAHF")
    second = fund["securities_accounts"][0]["account"]
    row = positions[hit].iloc[0]
    moved = float(np.floor(row["quantity"] * SPLIT_HOLDING_AT_SECOND_CUSTODIAN / 100) * 100)
    positions.loc[hit, "quantity"] = row["quantity"] - moved
    extra = row.copy()
    extra["account"], extra["quantity"] = second, moved
    return pd.concat([positions, extra.to_frame().T], ignore_index=True).astype(positions.dtypes.to_dict())


def ca_stories(world: World, accounts: _Accounts, story, counter) -> list[Message]:
    """The issue-14 stories, told once, around the final date (their events pay after it, so no
    earlier episode could tell them without paying and booking them): ``final_episode_only`` in the
    ground truth."""
    d, fin = world.dates, len(world.dates) - 1
    a = fin
    session = world.session
    after = lambda n: session.add_business_days(d[fin], n)  # noqa: E731 (dates past the window, on the date grid)
    roles = story_roles(world)
    secs = world.securities()
    anchor = d[a]
    out: list[Message] = []

    def event(corp, caev, camv, sid, announce, ex, record, pay, options) -> Notified:
        s = secs.loc[sid]
        return Notified(corp, caev, camv, sid, s["isin"], s["name"], s["currency"], announce, ex, record, pay, options)

    px = world.prices.iloc[-1]
    # 1. a replacement notification moves the pay date of a dividend
    sid = roles["ca_pay_date_replaced"]
    rate = float(round_half_up_array(px[sid] * 0.004, 4))
    first = event("CA2026120021", "DVCA", "MAND", sid, d[a - 8], after(4), after(5), after(10),
                  [{"number": "001", "type": "CASH", "default": True, "gross_rate": rate}])
    out += _notify(world, accounts, first, counter)
    moved = event(first.corp, "DVCA", "MAND", sid, d[a - 8], after(4), after(5), after(12), first.options)
    replaced = _notify(world, accounts, moved, counter, function="REPL", on=d[a - 3],
                       previous={acc: seme for (corp, acc), seme in accounts.sent.items() if corp == first.corp})
    out += replaced
    for fund, account, _q in accounts.holders(sid, d[a - 3]):
        story.add("corporate_actions", "ca_terms_replaced", fund, d[a - 3], d[fin], episode=anchor, final_episode_only=True, event_id=first.corp, security_id=sid,
                  field="pay_date", was=first.pay_date, now=moved.pay_date, account=account)
    # 2. an optional dividend (cash by default, or new shares) whose election is inside the buffer
    sid = roles["ca_election_in_buffer"]
    market_deadline = after(2)
    dvop = event("CA2026120022", "DVOP", "CHOS", sid, d[a - 12], after(1), after(2), after(10),
                 [{"number": "001", "type": "CASH", "default": True, "gross_rate": float(round_half_up_array(px[sid] * 0.01, 4)),
                   "market_deadline": market_deadline},
                  {"number": "002", "type": "SECU", "default": False, "ratio": (1.0, 100.0), "market_deadline": market_deadline}])
    out += _notify(world, accounts, dvop, counter)
    internal = session.add_business_days(market_deadline, -ELECTION_BUFFER_DAYS)
    warn_from = session.add_business_days(internal, -ELECTION_WARNING_DAYS)
    for fund, account, _q in accounts.holders(sid, d[a - 12]):
        story.add("corporate_actions", "ca_election_due", fund, max(warn_from, d[a - 12]), min(internal, d[fin]), episode=anchor, final_episode_only=True,
                  event_id=dvop.corp, security_id=sid, account=account, internal_deadline=internal, market_deadline=market_deadline)
        if internal < d[fin]:
            story.add("corporate_actions", "ca_election_overdue", fund, session.add_business_days(internal, 1), d[fin], episode=anchor, final_episode_only=True,
                      event_id=dvop.corp, security_id=sid, account=account, internal_deadline=internal, market_deadline=market_deadline)
    # 3. a tender offer: USEQ instructs "no action" at once, MAHF never answers
    sid = roles["ca_tender_missed"]
    deadline = d[a - 3]
    tend = event("CA2026120023", "TEND", "VOLU", sid, d[a - 15], None, None, after(8),
                 [{"number": "001", "type": "CASH", "default": False, "offer_price": float(round_half_up_array(px[sid] * 1.15, 2)),
                   "market_deadline": deadline},
                  {"number": "002", "type": "NOAC", "default": True, "market_deadline": deadline}])
    out += _notify(world, accounts, tend, counter)
    internal = session.add_business_days(deadline, -ELECTION_BUFFER_DAYS)
    warn_from = session.add_business_days(internal, -ELECTION_WARNING_DAYS)
    for fund, account, quantity in accounts.holders(sid, d[a - 15]):
        if fund == "USEQ":
            n = next(counter)
            seme = _seme("MHAM", n)
            body = mt565(tend, seme=seme, account=account, eligible=quantity, option=tend.options[1], quantity=quantity, prepared=d[a - 14])
            out.append(Message(d[a - 14], f"{seme}.mt565", _sent(accounts.custodian_bic[account], body, "565")))
            continue
        common = {"episode": anchor, "final_episode_only": True, "event_id": tend.corp, "security_id": sid, "account": account, "internal_deadline": internal,
                  "market_deadline": deadline}
        story.add("corporate_actions", "ca_election_due", fund, max(warn_from, d[a - 15]), internal, **common)
        story.add("corporate_actions", "ca_election_overdue", fund, session.add_business_days(internal, 1), deadline, **common)
        story.add("corporate_actions", "ca_election_missed", fund, session.add_business_days(deadline, 1), d[fin], **common)
    # 4. the two custodians of MAHF's split holding notify different dividend rates
    sid = roles["ca_custodians_disagree"]
    rate = float(round_half_up_array(px[sid] * 0.015, 2))
    notified = event("CA2026120024", "DVCA", "MAND", sid, d[a - 5], after(3), after(4), after(8),
                     [{"number": "001", "type": "CASH", "default": True, "gross_rate": rate}])
    holders = accounts.holders(sid, d[a - 5])
    eu = [acc for f, acc, _q in holders if accounts.custodian_bic[acc].startswith("RHDB")]
    us = [acc for f, acc, _q in holders if not accounts.custodian_bic[acc].startswith("RHDB")]
    out += _notify(world, accounts, notified, counter, only=set(eu))
    wrong = event(notified.corp, "DVCA", "MAND", sid, d[a - 5], after(3), after(4), after(8),
                  [{"number": "001", "type": "CASH", "default": True, "gross_rate": float(round_half_up_array(rate * 10, 2))}])
    out += _notify(world, accounts, wrong, counter, on=d[a - 4], only=set(us))
    if eu and us:
        story.add("corporate_actions", "ca_notifications_differ", "MAHF", d[a - 4], d[fin], episode=anchor, final_episode_only=True, event_id=notified.corp,
                  security_id=sid, field="gross_rate", values={eu[0]: rate, us[0]: float(round_half_up_array(rate * 10, 2))})
    return out


def episode_stories(world: World, story) -> None:
    """What the corporate-actions control finds of each episode's stories: the EU dividend the
    paying agent short-paid (over-withheld tax, refunded in earlier episodes), and the stock
    dividend the custodian credited and the books did not book (booked late in earlier episodes)."""
    d, fin = world.dates, len(world.dates) - 1
    r = world.universe.roles
    for ep in world.episodes:
        anchor = d[ep.anchor]
        wht = world.corporate_actions[(world.corporate_actions["security_id"] == r["dividend_eu_wht"])
                                      & (world.corporate_actions["ex_date"] == d[ep.wht_ex])].iloc[0]
        refund = world.wht_refunds.get(wht["event_id"])
        story.add("corporate_actions", "ca_short_payment", "MAHF", wht["pay_date"], d[refund - 1] if refund is not None else d[fin],
                  episode=anchor, event_id=wht["event_id"], security_id=wht["security_id"], withheld_pct=WHT_CHARGED_PCT)
        dvse = world.unbooked_events[world.unbooked_events["ex_date"] == d[ep.dvse_ex]].iloc[0]
        learnt = ep.dvse_learnt
        story.add("corporate_actions", "ca_event_not_booked", "USEQ", dvse["ex_date"], d[learnt - 1] if learnt is not None else d[fin],
                  episode=anchor, event_id=dvse["event_id"], security_id=dvse["security_id"], event_type=dvse["event_type"])
