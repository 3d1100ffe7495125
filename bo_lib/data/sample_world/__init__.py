"""The sample back-office world: a deterministic (seeded) generator of reference data, opening
positions and daily inbound files for one management company and its funds, with known
exceptions seeded in every area and written down in ``seeded_exceptions.json``.

``generate_sample_world(out_dir)`` is what ``bo sample-data`` runs. The same seed and options
always produce byte-identical files. The stories come in episodes (see ``simulate``): one on the
final date and, in longer windows, one every 27 business days before it, each resolved after its
anchor, so a world of a year of business days stays internally consistent.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import yaml

from bo_lib.data.layout import INBOUND_FILES, MESSAGES_DIR, OPENING_FILES, REFERENCE_FILES, statement_path
from bo_lib.data.sample_world import conventions, feeds, messages, simulate
from bo_lib.data.sample_world.universe import MATURING_BOND_ID, build_universe, business_dates_from
from bo_lib.data.sample_world.conventions import round_half_up_array

DEFAULT_SEED = 20260930
DEFAULT_OPENING_DATE = dt.date(2026, 9, 30)  # a quarter end
DEFAULT_DAYS = 27
MIN_DAYS = 20
DEFAULT_TRADES_PER_DAY = {"USEQ": 6, "GLBD": 3, "MAHF": 5}

_FUND_YAML_HEADER = """\
# Fund parameters for {code}: validated by bo_lib.parameters.FundParameters before any job runs.
# Written by `bo sample-data` for the sample world; for a real fund copy this file, rename it to
# <FUND_CODE>.yaml and edit. Identifiers (accounts, codes) are strings: quote nothing, YAML here
# keeps 0012 and NO as text.
"""


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "true", False: "false"})
        elif out[col].dtype == object and len(out) and isinstance(out[col].dropna().iloc[0] if out[col].notna().any() else None, dt.date):
            out[col] = out[col].map(lambda v: v.isoformat() if isinstance(v, dt.date) else "")
    out.to_csv(path, index=False, lineterminator="\n")


def _fund_yaml(fund: dict) -> str:
    keep = {k: v for k, v in fund.items() if k not in ("universe", "opening_net_assets", "class_split")}
    return _FUND_YAML_HEADER.format(code=fund["fund_code"]) + yaml.safe_dump(keep, sort_keys=False, allow_unicode=True, width=120)


def generate_sample_world(out_dir: Path | str = "data", *, seed: int = DEFAULT_SEED, funds: int = 3, securities: int | None = None,
                          trades_per_day: int | None = None, days: int = DEFAULT_DAYS, parameters_dir: Path | str | None = None,
                          opening_date: dt.date = DEFAULT_OPENING_DATE) -> dict:
    """Write the sample world under ``out_dir`` (reference/, opening/, inbound/, seeded_exceptions.json)
    and the company and fund parameter files under ``parameters_dir`` (default: ``out_dir/../parameters``).

    Scale-up options for benchmarks: ``funds`` (copies of the three templates), ``securities``
    (more US equities), ``trades_per_day`` (per fund), ``days``.
    """
    if days < MIN_DAYS:
        raise ValueError(f"the sample world needs at least {MIN_DAYS} business days for its seeded stories (fails up to 12 days old, "
                         f"corporate actions, a break that resolves); got {days}")
    if funds < 1:
        raise ValueError(f"the sample world needs at least one fund; got {funds}")
    out_dir = Path(out_dir)
    parameters_dir = Path(parameters_dir) if parameters_dir is not None else out_dir.resolve().parent / "parameters"
    rng = np.random.default_rng(seed)
    universe = build_universe(rng, n_funds=funds, n_securities=securities)
    simulate.assign_roles(universe)
    cal = conventions.exchange_sessions("XNYS", universe.closures)
    dates = business_dates_from(opening_date, days, cal)
    all_dates = [opening_date] + dates
    # the maturing note's prices come from a stream of their own: the main stream is untouched by it
    drawn = universe.securities[universe.securities["security_id"] != MATURING_BOND_ID]
    prices = simulate.simulate_prices(rng, drawn, all_dates)
    fx = simulate.simulate_fx(rng, all_dates)
    maturity = dt.date.fromisoformat(universe.securities.set_index("security_id").at[MATURING_BOND_ID, "maturity_date"])
    prices[MATURING_BOND_ID] = simulate.maturing_bond_prices(np.random.default_rng(seed + 11), all_dates, maturity).to_numpy()
    world = simulate.World(universe, opening_date, dates, prices, fx, *[pd.DataFrame()] * 3, session=cal)
    world.episodes = simulate.plan_episodes(world)
    simulate.build_corporate_actions(world)
    simulate.seed_price_stories(world)
    world.opening_positions, world.opening_cash, world.opening_classes = simulate.build_opening(rng, universe, opening_date, world.prices, fx)
    world.opening_positions = messages.split_holding(world)
    universe.roles.update(messages.story_roles(world))
    simulate.prime_settlement_dates(dates, universe.securities, universe.closures)
    simulate.plan_seeded_trades(world)
    per_day = {k: (trades_per_day if trades_per_day is not None else v) for k, v in DEFAULT_TRADES_PER_DAY.items()}
    random_trades = simulate.simulate_trades(rng, world, per_day)
    world.trades = pd.concat([random_trades, world.seeded_trades], ignore_index=True).sort_values(["trade_date", "trade_id"]).reset_index(drop=True)
    simulate.simulate_nav(rng, world)
    feeds.plan_bank_charges(world)

    story = feeds.SeededExceptions()
    _tell_static_stories(world, story)

    # wipe what a previous generation left, so removed files do not linger
    for sub in ("reference", "opening", "inbound"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    secs = universe.securities.copy()
    _write_csv(secs, out_dir / "reference" / REFERENCE_FILES["securities"])
    _write_csv(universe.counterparties, out_dir / "reference" / REFERENCE_FILES["counterparties"])
    _write_csv(universe.closures, out_dir / "reference" / REFERENCE_FILES["market_closures"])
    investors = pd.concat([universe.investors, pd.DataFrame(
        [{"investor_id": p, "fund": f, "name": f"{p.replace('NOM-', '').replace('-', ' ').title()} nominee account", "investor_type": "nominee",
          "domicile": "US" if f == "USEQ" else "LU", "share_class": ""} for f, ps in simulate.PLATFORMS.items() for p in ps
         if any(fd["fund_code"] == f for fd in universe.funds)])], ignore_index=True)
    _write_csv(investors, out_dir / "reference" / REFERENCE_FILES["investors"])
    opening = out_dir / "opening" / opening_date.isoformat()
    _write_csv(world.opening_positions, opening / OPENING_FILES["opening_positions"])
    _write_csv(world.opening_cash, opening / OPENING_FILES["opening_cash"])
    _write_csv(world.opening_classes.assign(nav_date=opening_date), opening / OPENING_FILES["opening_share_classes"])
    _write_csv(feeds.prices(world, opening_date, np.random.default_rng(seed + 2), np.random.default_rng(seed + 12)),
               opening / OPENING_FILES["opening_prices"])
    _write_csv(feeds.fx_rates(world, opening_date), opening / OPENING_FILES["opening_fx_rates"])

    settlements = feeds._effective_settlements(world)
    entries = feeds.cash_entries(world, settlements)
    book_entries = feeds.cash_entries(world, settlements, view="books")
    statements = feeds.bank_statements(world, entries, story)
    _check_books(world, settlements, book_entries)
    custody = feeds.CustodyBook(world, feeds.settlement_moves(settlements))
    quantity_events = feeds.quantity_events(world)
    ca_messages = messages.corporate_action_messages(world, custody, story)
    messages.episode_stories(world, story)
    bic = dict(zip(universe.counterparties["counterparty_id"], universe.counterparties["bic"]))
    bank_of = {a["account"]: a["bank"] for f in universe.funds for a in f["cash_accounts"]}
    anchors = set(world.anchors)
    price_rng = np.random.default_rng(seed + 1)
    side_rng = np.random.default_rng(seed + 13)
    for i, d in enumerate(dates):
        day = out_dir / "inbound" / d.isoformat()
        _write_csv(world.trades.loc[world.trades["trade_date"] == d, feeds.TRADE_COLUMNS], day / INBOUND_FILES["trades"])
        _write_csv(feeds.broker_confirms(world, d, story), day / INBOUND_FILES["broker_confirms"])
        _write_csv(feeds.custodian_positions(world, d, custody, quantity_events), day / INBOUND_FILES["custodian_positions"])
        _write_csv(feeds.settlement_status(world, d, settlements), day / INBOUND_FILES["settlement_status"])
        _write_csv(feeds.prices(world, d, price_rng, side_rng), day / INBOUND_FILES["prices"])
        _write_csv(feeds.fx_rates(world, d), day / INBOUND_FILES["fx_rates"])
        _write_csv(feeds.cash_ledger(book_entries, d), day / INBOUND_FILES["cash_ledger"])
        _write_csv(feeds.books_corporate_actions(world, d), day / INBOUND_FILES["corporate_actions"])
        _write_csv(world.capital_activity[world.capital_activity["dealing_date"] == d].reset_index(drop=True), day / INBOUND_FILES["capital_activity"])
        admin = world.nav[world.nav["nav_date"] == d].copy()
        admin["administrator_id"] = "ADM-KEY"
        if i in anchors:  # the administrator's NAV error of the episode
            hit = (admin["fund"] == "GLBD") & (admin["share_class"] == "I")
            if hit.any():
                true_nps = float(admin.loc[hit, "nav_per_share"].iloc[0])
                admin.loc[hit, "nav_per_share"] = round(true_nps * 1.008, 4)
                admin.loc[hit, "net_assets"] = round(float(admin.loc[hit, "net_assets"].iloc[0]) * 1.008, 2)
        _write_csv(admin.reset_index(drop=True), day / INBOUND_FILES["admin_nav"])
        for message in (m for m in ca_messages if m.on == d):
            path = day / MESSAGES_DIR / message.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(message.text, encoding="ascii", newline="\n")
        for (account, sd), (fmt, statement) in statements.items():
            if sd == d:
                path = statement_path(out_dir, d, account, fmt)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(feeds.statement_bytes(fmt, statement, bic.get(bank_of[account], "")))
    _tell_nav_stories(world, story)

    ground_truth = {
        "description": "Exceptions seeded in the sample world: every control is tested to find each of these and nothing else.",
        "seed": seed, "opening_date": opening_date.isoformat(), "first_date": dates[0].isoformat(), "final_date": dates[-1].isoformat(),
        "episodes": [dates[a].isoformat() for a in world.anchors],
        "funds": [f["fund_code"] for f in universe.funds], "roles": dict(sorted(universe.roles.items())),
        "exceptions": story.numbered(),
    }
    (out_dir / "seeded_exceptions.json").write_text(json.dumps(ground_truth, indent=2, sort_keys=False) + "\n", encoding="utf-8")

    parameters_dir.mkdir(parents=True, exist_ok=True)
    (parameters_dir / "funds").mkdir(exist_ok=True)
    company = {k: v for k, v in universe.company.items()}
    (parameters_dir / "company.yaml").write_text(
        "# The management company: files 13F and other regulatory returns for all its funds together.\n"
        + yaml.safe_dump(company, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    for fund in universe.funds:
        (parameters_dir / "funds" / f"{fund['fund_code']}.yaml").write_text(_fund_yaml(fund), encoding="utf-8")
    if not (parameters_dir / "schedule.yaml").exists():
        (parameters_dir / "schedule.yaml").write_text(_schedule_yaml(out_dir), encoding="utf-8")

    world_files = [out_dir / "seeded_exceptions.json"] + [p for sub in ("reference", "opening", "inbound") for p in (out_dir / sub).rglob("*")]
    total_bytes = sum(p.stat().st_size for p in world_files if p.is_file())
    return {"out_dir": str(out_dir), "funds": len(universe.funds), "securities": len(universe.securities), "days": len(dates),
            "first_date": dates[0].isoformat(), "final_date": dates[-1].isoformat(), "episodes": len(world.episodes),
            "trades": len(world.trades), "seeded_exceptions": len(story.items), "bytes": total_bytes}


def _schedule_yaml(out_dir: Path) -> str:
    """The daily schedule of a generated world: every notebook, as the bundled world's."""
    from bo_lib.controls import CONTROLS

    jobs = "".join(f"  - notebook: {name}\n    scope: fund\n    funds: all\n" if control.scope == "fund" else f"  - notebook: {name}\n    scope: company\n"
                   for name, control in CONTROLS.items())
    return (f"# The daily schedule of the generated world (every notebook, every fund).\n"
            f"data_root: {out_dir.resolve()}\nreport_root: {out_dir.resolve().parent / 'reports'}\nstore: store/workbench.duckdb\n"
            f"calendar: XNYS\njobs:\n{jobs}")


def _check_books(world: simulate.World, settlements: pd.DataFrame, book_entries: pd.DataFrame) -> None:
    """The books' view must never be overdrawn or short: opening cash + the cash ledger by value
    date, and opening positions + trades by contractual settlement date (the banks' and the
    custodians' views are checked where they are cut). Events that change a quantity must come
    after the last trade in the security (the custodian feed applies them to settled totals)."""
    fin = world.final_date
    opening = world.opening_cash.set_index("account")["balance"]
    flows = book_entries[book_entries["value_date"] <= fin].groupby(["account", "value_date"])["amount"].sum().sort_index()
    for account, path in flows.groupby(level=0):
        balance = float(opening.get(account, 0.0)) + path.cumsum()
        if (balance < -0.005).any():
            day = balance[balance < -0.005].index[0][1]
            raise RuntimeError(f"sample world: the books' cash on {account} is overdrawn on {day}: {float(balance[balance < -0.005].iloc[0]):,.2f}")
    sign = np.where(settlements["side"] == "BUY", 1.0, -1.0)
    moves = settlements.assign(delta=sign * settlements["quantity"]).sort_values("settlement_date", kind="stable")
    held = {(r.fund, r.account, r.security_id): r.quantity for r in world.opening_positions.itertuples()}
    for t in moves.itertuples():
        key = (t.fund, t.account, t.security_id)
        held[key] = held.get(key, 0.0) + t.delta
        if held[key] < 0:
            raise RuntimeError(f"sample world: the books' settled position {key} is negative on {t.settlement_date}: {held[key]:,.0f}")
    events = feeds.quantity_events(world)
    for ev in events.itertuples():
        later = settlements[(settlements["security_id"] == ev.security_id) & (settlements["settlement_date"] > ev.pay_date)]
        if len(later):
            raise RuntimeError(f"sample world: {ev.security_id} trades after its {ev.event_type} event {ev.event_id}: {list(later['trade_id'])}")


def _sec_filing_due(quarter_last_session: dt.date) -> dt.date:
    """45 calendar days after the calendar quarter end, rolled to the next day the SEC is open
    (weekends and US federal holidays closed: Rule 0-3)."""
    quarter_end = (pd.Timestamp(quarter_last_session) + pd.offsets.QuarterEnd(0)).date()
    due = quarter_end + dt.timedelta(days=45)
    federal = holidays.US(years=range(due.year - 1, due.year + 2))
    while due.weekday() >= 5 or due in federal:
        due += dt.timedelta(days=1)
    return due


def _quarter_last_session(world: simulate.World, d: dt.date) -> dt.date:
    """Last session of ``d``'s calendar quarter (a crossing is reported until the quarter is over)."""
    month = ((d.month - 1) // 3 + 1) * 3
    quarter_end = dt.date(d.year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return world.session.previous_business_day(quarter_end + dt.timedelta(days=1))


def _tell_static_stories(world: simulate.World, story: feeds.SeededExceptions) -> None:
    """Ground truth of the exceptions planted in the simulation itself (fails, prices, positions...),
    episode by episode."""
    r = world.universe.roles
    secs = world.securities()
    d = world.dates
    fin_i = len(d) - 1
    fin = d[-1]
    funds = {f["fund_code"]: f for f in world.universe.funds}
    trades = world.trades.set_index("trade_id")
    fails = world.fails if len(world.fails) else pd.DataFrame(columns=["episode"])
    for ep in world.episodes:
        a, anchor = ep.anchor, d[ep.anchor]
        for f in fails[fails["episode"] == a].itertuples():
            t = trades.loc[f.trade_id]
            sec = secs.loc[t["security_id"]]
            settled_on = f.settled_on if isinstance(f.settled_on, dt.date) else None
            last = fin if settled_on is None else d[world.index(settled_on) - 1]
            details = {"trade_id": f.trade_id, "isin": t["isin"], "reason_code": f.reason_code}
            if ep.final:
                details["age_business_days_at_final_date"] = int(f.age_business_days)
            details.update(market=t["market"], currency=t["currency"], side=t["side"], quantity=float(t["quantity"]),
                           settled_quantity=float(f.settled_quantity), partial=bool(f.settled_quantity > 0),
                           csdr_in_scope=sec["currency"] == "EUR", csdr_instrument_category=sec["csdr_category"],
                           intended_settlement_date=f.intended_settlement_date, settled_on=settled_on,
                           age_business_days_at_anchor=int(f.age_business_days))
            story.add("settlement", "settlement_fail", t["fund"], f.intended_settlement_date, last, episode=anchor, **details)
            settled_cash = float(round_half_up_array(float(t["net_amount"]) * float(f.settled_quantity) / float(t["quantity"]), 2))
            unsettled = float(t["net_amount"]) - settled_cash
            note = ("the books expect the trade's cash on its settlement date; the trade is failing, so the bank has not moved it"
                    + (" (partial: the settled part did move)" if f.settled_quantity else ""))
            if settled_on is not None:
                note += f"; the bank moves it when the trade settles on {settled_on.isoformat()}"
            story.add("cash", "cash_missing_at_bank", t["fund"], f.intended_settlement_date, last, episode=anchor, trade_id=f.trade_id,
                      currency=t["currency"], amount=round(unsettled if t["side"] == "SELL" else -unsettled, 2), cause="settlement_fail",
                      note=note, settled_on=settled_on)
        unmatched = world.trades[world.trades["trade_id"].str.endswith("GLBD960") & (world.trades["trade_date"] == anchor)]
        for t in unmatched.itertuples():
            details = {} if ep.final else {"matched_on": d[a + 1]}
            story.add("settlement", "instruction_unmatched", "GLBD", t.trade_date, t.trade_date, episode=anchor, trade_id=t.trade_id,
                      reason_code="CMIS", intended_settlement_date=t.settlement_date, **details)
        if "USEQ" in funds:
            acct = funds["USEQ"]["securities_accounts"][0]["account"]
            details = {} if ep.final else {"resolved_on": d[a + 3]}
            story.add("position", "position_quantity_difference", "USEQ", d[a - 3], fin if ep.final else d[a + 2], episode=anchor, account=acct,
                      isin=secs.at[r["position_quantity_break"], "isin"], security_id=r["position_quantity_break"], difference=-250.0,
                      note="custodian holds 250 fewer shares than the books" + ("" if ep.final else "; corrected three days after the anchor"),
                      **details)
            story.add("position", "position_quantity_difference", "USEQ", d[a - 6], d[a - 4], episode=anchor, account=acct,
                      isin=secs.at[r["position_resolved_break"], "isin"], security_id=r["position_resolved_break"], difference=1000.0,
                      resolved_on=d[a - 3], note="custodian over-reported for three days, then corrected")
            ev = world.unbooked_events[world.unbooked_events["ex_date"] == d[ep.dvse_ex]].iloc[0]
            if ep.final:
                last, note, details = fin, "the custodian credited a 5% stock dividend the books never booked (not in the corporate actions feed)", {}
            else:
                last = d[a + 1]
                note = "the custodian credited a 5% stock dividend on its pay date; the books only receive the event four days later and book it then"
                details = {"booked_on": d[ep.dvse_learnt]}
            story.add("position", "corporate_action_not_booked", "USEQ", ev["pay_date"], last, episode=anchor, account=acct, isin=ev["isin"],
                      security_id=ev["security_id"], event_id=ev["event_id"], event_type=ev["event_type"], ex_date=ev["ex_date"],
                      ratio=f"{ev['ratio_new']:g}:{ev['ratio_old']:g}", note=note, **details)
        if "MAHF" in funds:
            story.add("position", "position_missing_at_custodian", "MAHF", anchor, episode=anchor, account=funds["MAHF"]["securities_accounts"][0]["account"],
                      isin=secs.at[r["missing_at_custodian"], "isin"], security_id=r["missing_at_custodian"])
        if "GLBD" in funds:
            story.add("position", "position_missing_in_books", "GLBD", anchor, episode=anchor, account=funds["GLBD"]["securities_accounts"][0]["account"],
                      isin=secs.at[r["missing_in_books"], "isin"], security_id=r["missing_in_books"], quantity=5000.0)
        holders = [f for f in funds if f in ("USEQ", "MAHF")]
        holder = holders[0] if holders else None
        story.add("pricing", "price_missing", holder, anchor, episode=anchor, security_id=r["missing_price"], isin=secs.at[r["missing_price"], "isin"])
        story.add("pricing", "price_stale", holder, d[a - 4], anchor, episode=anchor, security_id=r["stale_price"], isin=secs.at[r["stale_price"], "isin"],
                  unchanged_days=5, note="both vendors repeat the same close for the last five business days")
        # a one-day error in a feed: the next day's value is right again, so a move measured against
        # the previous (wrong) value is the error reverting, not a new exception
        reverts = {} if ep.final else {"reverts_on": d[a + 1]}
        story.add("pricing", "price_jump", holder, anchor, episode=anchor, security_id=r["price_jump"], isin=secs.at[r["price_jump"], "isin"],
                  source="BLOOMBERG", move_pct=12.0, note="primary vendor 12% above its previous close; the secondary vendor did not move", **reverts)
        story.add("pricing", "fx_outlier", None, anchor, episode=anchor, currency="CHF", move_pct=9.0, note="CHF/USD fixing 9% off; no fund holds CHF",
                  **reverts)
        if "GLBD" in funds:
            story.add("nav", "admin_nav_difference", "GLBD", anchor, episode=anchor, share_class="I", difference_pct=0.8,
                      materiality_pct=funds["GLBD"]["nav_thresholds"]["materiality_pct"],
                      note="the administrator's NAV per share is 0.8% above the true NAV", status="material", **reverts)
        ev = world.corporate_actions[(world.corporate_actions["security_id"] == r["dividend_eu_wht"]) & (world.corporate_actions["ex_date"] == d[ep.wht_ex])].iloc[0]
        if "MAHF" in funds:
            if ep.final or ep.wht_refund is None:
                story.add("cash", "cash_amount_difference", "MAHF", ev["pay_date"], fin, episode=anchor, customer_reference=ev["event_id"], isin=ev["isin"],
                          note="dividend paid net of 26.375% German withholding; the books expect the 15% treaty rate "
                               "(stays open: nothing reclaims or books the difference in the window)")
            else:
                story.add("cash", "cash_amount_difference", "MAHF", ev["pay_date"], d[ep.wht_refund - 1], episode=anchor, customer_reference=ev["event_id"],
                          isin=ev["isin"], note="dividend paid net of 26.375% German withholding; the books expect the 15% treaty rate; "
                          "the bank refunds the difference (same reference) three days after the anchor", refunded_on=d[ep.wht_refund])
        if "USEQ" in funds:
            settle_cal = conventions.settlement_calendar(funds["USEQ"]["calendar"], funds["USEQ"]["base_currency"], world.universe.closures)
            settles = world.roll_to_session(settle_cal.add_business_days(d[a - 1], simulate.SETTLEMENT_DAYS_CAPITAL["USEQ"]), settle_cal)
            story.add("cash", "legitimate_identical_entries", "USEQ", settles if settles <= fin else anchor, episode=anchor,
                      note="two identical 250,000.00 subscriptions from NOM-PLATFORM-02 settle the same day: two entries, not a duplicate (not an exception)",
                      expected_exception=False)
    if "USEQ" in funds:
        crossing = r["threshold_crossing"]
        for i, (before, after, direction, note) in ((simulate.CROSSING_UP_INDEX, (4.8, 5.3, "up", "USEQ buys 0.5% of shares outstanding; with MAHF's holding the firm crosses 5%")),
                                                    (simulate.CROSSING_DOWN_INDEX, (5.3, 4.8, "down", "USEQ sells 0.5% of shares outstanding; the firm falls back below 5%"))):
            if i > fin_i:
                continue
            story.add("regulatory", "ownership_threshold_crossing", None, d[i], min(_quarter_last_session(world, d[i]), fin),
                      episode=d[world.episode_of(i).anchor], security_id=crossing, isin=secs.at[crossing, "isin"],
                      issuer_id=secs.at[crossing, "issuer_id"], threshold_pct=5.0, before_pct=before, after_pct=after, note=note,
                      direction=direction, reported_until=_quarter_last_session(world, d[i]))
            # the Schedule 13G it calls for is due after the quarter: reported on every later date until due
            quarter_over = _quarter_last_session(world, d[i])
            due = _sec_filing_due(quarter_over)
            if quarter_over < fin:
                story.add("regulatory", "threshold_filing_due", None, next(x for x in d if x > quarter_over), min(due, fin),
                          episode=d[world.episode_of(i).anchor], security_id=crossing, issuer_id=secs.at[crossing, "issuer_id"],
                          crossing_date=d[i], direction=direction, due_date=due,
                          filing="Schedule 13G (initial)" if direction == "up" else "Schedule 13G amendment (decrease)",
                          note="a qualified institution files within 45 days after the calendar quarter end (next SEC business day)")


def _tell_nav_stories(world: simulate.World, story: feeds.SeededExceptions) -> None:
    """The differences between an independent shadow NAV (the books' positions, the primary
    vendor's prices) and the administrator's that the other stories cause, below materiality."""
    r = world.universe.roles
    d = world.dates
    fin = d[-1]
    funds = {f["fund_code"]: f for f in world.universe.funds}
    if "USEQ" not in funds:
        return
    for ep in world.episodes:
        anchor = d[ep.anchor]
        ev = world.unbooked_events[world.unbooked_events["ex_date"] == d[ep.dvse_ex]].iloc[0]
        story.add("nav", "admin_nav_difference", "USEQ", ev["ex_date"], fin if ep.final else d[ep.anchor + 1], episode=anchor, share_class=None,
                  status="immaterial", cause="corporate_action_not_booked", event_id=ev["event_id"], security_id=ev["security_id"],
                  note="the administrator holds the 5% stock dividend from its ex-date, the books do not until they book it: "
                       "the shadow NAV is lower in every share class")
        story.add("nav", "admin_nav_difference", "USEQ", anchor, episode=anchor, share_class=None, status="immaterial", cause="price_jump",
                  security_id=r["price_jump"], source="BLOOMBERG",
                  note="the shadow NAV takes the primary vendor's price 12% too high; the administrator values at the true close")
