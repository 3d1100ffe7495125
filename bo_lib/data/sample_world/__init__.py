"""The sample back-office world: a deterministic (seeded) generator of reference data, opening
positions and daily inbound files for one management company and its funds, with known
exceptions seeded in every area and written down in ``seeded_exceptions.json``.

``generate_sample_world(out_dir)`` is what ``bo sample-data`` runs. The same seed and options
always produce byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bo_lib import calendars
from bo_lib.data.layout import INBOUND_FILES, OPENING_FILES, REFERENCE_FILES, statement_path
from bo_lib.data.sample_world import feeds, simulate
from bo_lib.data.sample_world.universe import build_universe, business_dates_from
from bo_lib.money import round_half_up_array

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
    cal = calendars.trading_calendar("XNYS", universe.closures)
    dates = business_dates_from(opening_date, days, cal)
    all_dates = [opening_date] + dates
    prices = simulate.simulate_prices(rng, universe.securities, all_dates)
    fx = simulate.simulate_fx(rng, all_dates)
    world = simulate.World(universe, opening_date, dates, prices, fx, *[pd.DataFrame()] * 3)
    simulate.build_corporate_actions(world)
    simulate.seed_price_stories(world)
    world.opening_positions, world.opening_cash, world.opening_classes = simulate.build_opening(rng, universe, opening_date, world.prices, fx)
    per_day = {k: (trades_per_day if trades_per_day is not None else v) for k, v in DEFAULT_TRADES_PER_DAY.items()}
    world.trades = simulate.simulate_trades(rng, world, per_day)
    simulate.seed_trades(world)
    simulate.simulate_nav(rng, world)

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
    _write_csv(feeds.prices(world, opening_date, np.random.default_rng(seed + 2)), opening / OPENING_FILES["opening_prices"])
    _write_csv(feeds.fx_rates(world, opening_date), opening / OPENING_FILES["opening_fx_rates"])

    settlements = feeds._effective_settlements(world)
    entries = feeds.cash_entries(world, settlements)
    book_entries = feeds.cash_entries(world, settlements, view="books")
    statements = feeds.bank_statements(world, entries, story)
    bic = dict(zip(universe.counterparties["counterparty_id"], universe.counterparties["bic"]))
    bank_of = {a["account"]: a["bank"] for f in universe.funds for a in f["cash_accounts"]}
    events_all = world.corporate_actions
    price_rng = np.random.default_rng(seed + 1)
    for d in dates:
        day = out_dir / "inbound" / d.isoformat()
        _write_csv(world.trades.loc[world.trades["trade_date"] == d, feeds.TRADE_COLUMNS], day / INBOUND_FILES["trades"])
        _write_csv(feeds.broker_confirms(world, d, story), day / INBOUND_FILES["broker_confirms"])
        _write_csv(feeds.custodian_positions(world, d, settlements, story), day / INBOUND_FILES["custodian_positions"])
        _write_csv(feeds.settlement_status(world, d, settlements), day / INBOUND_FILES["settlement_status"])
        _write_csv(feeds.prices(world, d, price_rng), day / INBOUND_FILES["prices"])
        _write_csv(feeds.fx_rates(world, d), day / INBOUND_FILES["fx_rates"])
        _write_csv(feeds.cash_ledger(book_entries, d), day / INBOUND_FILES["cash_ledger"])
        active = events_all[(events_all["announcement_date"] <= d) & (events_all["pay_date"] >= d)]
        _write_csv(active.reset_index(drop=True), day / INBOUND_FILES["corporate_actions"])
        _write_csv(world.capital_activity[world.capital_activity["dealing_date"] == d].reset_index(drop=True), day / INBOUND_FILES["capital_activity"])
        admin = world.nav[world.nav["nav_date"] == d].copy()
        admin["administrator_id"] = "ADM-KEY"
        if d == dates[-1]:
            hit = (admin["fund"] == "GLBD") & (admin["share_class"] == "I")
            if hit.any():
                true_nps = float(admin.loc[hit, "nav_per_share"].iloc[0])
                admin.loc[hit, "nav_per_share"] = round(true_nps * 1.008, 4)
                admin.loc[hit, "net_assets"] = round(float(admin.loc[hit, "net_assets"].iloc[0]) * 1.008, 2)
        _write_csv(admin.reset_index(drop=True), day / INBOUND_FILES["admin_nav"])
        for (account, sd), (fmt, statement) in statements.items():
            if sd == d:
                path = statement_path(out_dir, d, account, fmt)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(feeds.statement_bytes(fmt, statement, bic.get(bank_of[account], "")))

    ground_truth = {
        "description": "Exceptions seeded in the sample world: every control is tested to find each of these and nothing else.",
        "seed": seed, "opening_date": opening_date.isoformat(), "first_date": dates[0].isoformat(), "final_date": dates[-1].isoformat(),
        "funds": [f["fund_code"] for f in universe.funds], "roles": dict(sorted(universe.roles.items())),
        "exceptions": story.items,
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
        (parameters_dir / "schedule.yaml").write_text(
            f"data_root: {out_dir.resolve()}\nreport_root: {(out_dir.resolve().parent / 'reports')}\njobs:\n  - notebook: intake\n    funds: all\n", encoding="utf-8")

    world_files = [out_dir / "seeded_exceptions.json"] + [p for sub in ("reference", "opening", "inbound") for p in (out_dir / sub).rglob("*")]
    total_bytes = sum(p.stat().st_size for p in world_files if p.is_file())
    return {"out_dir": str(out_dir), "funds": len(universe.funds), "securities": len(universe.securities), "days": len(dates),
            "first_date": dates[0].isoformat(), "final_date": dates[-1].isoformat(), "trades": len(world.trades),
            "seeded_exceptions": len(story.items), "bytes": total_bytes}


def _tell_static_stories(world: simulate.World, story: feeds.SeededExceptions) -> None:
    """Ground truth of the exceptions planted in the simulation itself (fails, prices, positions...)."""
    r = world.universe.roles
    secs = world.securities()
    d = world.dates
    fin = d[-1]
    funds = {f["fund_code"]: f for f in world.universe.funds}
    trades = world.trades.set_index("trade_id")
    for f in world.fails.itertuples():
        t = trades.loc[f.trade_id]
        sec = secs.loc[t["security_id"]]
        story.add("settlement", "settlement_fail", t["fund"], f.intended_settlement_date, fin, trade_id=f.trade_id, isin=t["isin"],
                  reason_code=f.reason_code, age_business_days_at_final_date=int(f.age_business_days), market=t["market"],
                  currency=t["currency"], side=t["side"], quantity=float(t["quantity"]), settled_quantity=float(f.settled_quantity),
                  partial=bool(f.settled_quantity > 0), csdr_in_scope=sec["currency"] == "EUR", csdr_instrument_category=sec["csdr_category"])
        settled_cash = float(round_half_up_array(float(t["net_amount"]) * float(f.settled_quantity) / float(t["quantity"]), 2))
        unsettled = float(t["net_amount"]) - settled_cash
        story.add("cash", "cash_missing_at_bank", t["fund"], f.intended_settlement_date, fin, trade_id=f.trade_id, currency=t["currency"],
                  amount=round(unsettled if t["side"] == "SELL" else -unsettled, 2), cause="settlement_fail",
                  note="the books expect the trade's cash on its settlement date; the trade is failing, so the bank has not moved it"
                  + (" (partial: the settled part did move)" if f.settled_quantity else ""))
    unmatched = world.trades[world.trades["trade_id"].str.endswith("GLBD960")]
    for t in unmatched.itertuples():
        story.add("settlement", "instruction_unmatched", "GLBD", t.trade_date, fin, trade_id=t.trade_id, reason_code="CMIS",
                  intended_settlement_date=t.settlement_date)
    if "USEQ" in funds:
        acct = funds["USEQ"]["securities_accounts"][0]["account"]
        story.add("position", "position_quantity_difference", "USEQ", d[-4], fin, account=acct, isin=secs.at[r["position_quantity_break"], "isin"],
                  security_id=r["position_quantity_break"], difference=-250.0, note="custodian holds 250 fewer shares than the books")
        story.add("position", "position_quantity_difference", "USEQ", d[-7], d[-5], account=acct, isin=secs.at[r["position_resolved_break"], "isin"],
                  security_id=r["position_resolved_break"], difference=1000.0, resolved_on=d[-4], note="custodian over-reported for three days, then corrected")
        ev = world.unbooked_events.iloc[0]
        story.add("position", "corporate_action_not_booked", "USEQ", ev["pay_date"], fin, account=acct, isin=ev["isin"], security_id=ev["security_id"],
                  event_id=ev["event_id"], event_type=ev["event_type"], ex_date=ev["ex_date"], ratio=f"{ev['ratio_new']:g}:{ev['ratio_old']:g}",
                  note="the custodian credited a 5% stock dividend the books never booked (not in the corporate actions feed)")
    if "MAHF" in funds:
        story.add("position", "position_missing_at_custodian", "MAHF", fin, account=funds["MAHF"]["securities_accounts"][0]["account"],
                  isin=secs.at[r["missing_at_custodian"], "isin"], security_id=r["missing_at_custodian"])
    if "GLBD" in funds:
        story.add("position", "position_missing_in_books", "GLBD", fin, account=funds["GLBD"]["securities_accounts"][0]["account"],
                  isin=secs.at[r["missing_in_books"], "isin"], security_id=r["missing_in_books"], quantity=5000.0)
    holders = [f for f in funds if f in ("USEQ", "MAHF")]
    story.add("pricing", "price_missing", holders[0] if holders else None, fin, security_id=r["missing_price"], isin=secs.at[r["missing_price"], "isin"])
    story.add("pricing", "price_stale", holders[0] if holders else None, d[-5], fin, security_id=r["stale_price"], isin=secs.at[r["stale_price"], "isin"],
              unchanged_days=5, note="both vendors repeat the same close for the last five business days")
    story.add("pricing", "price_jump", holders[0] if holders else None, fin, security_id=r["price_jump"], isin=secs.at[r["price_jump"], "isin"],
              source="BLOOMBERG", move_pct=12.0, note="primary vendor 12% above its previous close; the secondary vendor did not move")
    story.add("pricing", "fx_outlier", None, fin, currency="CHF", move_pct=9.0, note="CHF/USD fixing 9% off; no fund holds CHF")
    if "GLBD" in funds:
        story.add("nav", "admin_nav_difference", "GLBD", fin, share_class="I", difference_pct=0.8, materiality_pct=funds["GLBD"]["nav_thresholds"]["materiality_pct"],
                  note="the administrator's NAV per share is 0.8% above the true NAV")
    ev = world.corporate_actions[world.corporate_actions["security_id"] == r["dividend_eu_wht"]].iloc[0]
    if "MAHF" in funds:
        story.add("cash", "cash_amount_difference", "MAHF", ev["pay_date"], fin, customer_reference=ev["event_id"], isin=ev["isin"],
                  note="dividend paid net of 26.375% German withholding; the books expect the 15% treaty rate "
                       "(stays open: nothing reclaims or books the difference in the window)")
    if "USEQ" in funds:
        story.add("cash", "legitimate_identical_entries", "USEQ", d[-1], note="two identical 250,000.00 subscriptions from NOM-PLATFORM-02 "
                  "settle the same day: two entries, not a duplicate (not an exception)", expected_exception=False)
        crossing = r["threshold_crossing"]
        story.add("regulatory", "ownership_threshold_crossing", None, d[-6], security_id=crossing, isin=secs.at[crossing, "isin"],
                  issuer_id=secs.at[crossing, "issuer_id"], threshold_pct=5.0, before_pct=4.8, after_pct=5.3,
                  note="USEQ buys 0.5% of shares outstanding; with MAHF's holding the firm crosses 5%")
