"""The sample world: reproducible to the byte, the shape the design promises, internally consistent,
and its ground truth (seeded_exceptions.json) both complete and not over-seeded.

Most checks read the committed files with plain pandas (not through the loaders under test), so a
bug in bo_lib cannot hide a bug in the data. The world is generated once per session.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bo_lib.data.identifiers import is_valid_cusip, is_valid_isin, is_valid_lei
from bo_lib.data.layout import INBOUND_FILES
from bo_lib.data.loaders import account_fund_map, load_reference, read_dataset, read_statements
from bo_lib.data.sample_world import generate_sample_world
from bo_lib.parameters import load_company, load_funds

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
PARAMS = REPO / "parameters"
GROUND_TRUTH = json.loads((DATA / "seeded_exceptions.json").read_text(encoding="utf-8"))
FINAL = GROUND_TRUTH["final_date"]
DATES = sorted(p.name for p in (DATA / "inbound").iterdir() if p.is_dir())
# the unbooked 5% stock dividend is in no feed (the books never saw it): its ex-date is the
# business day before its pay date (the ground truth's first_date), as the generator sets it
DVSE_EX_DATE = "2026-11-03"


def _seeded(kind: str) -> list[dict]:
    return [x for x in GROUND_TRUTH["exceptions"] if x["type"] == kind]


def _one(kind: str) -> dict:
    items = _seeded(kind)
    assert len(items) == 1, f"expected exactly one seeded {kind}, found {len(items)}"
    return items[0]


def _csv(date: str, name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "inbound" / date / name, dtype=str, keep_default_na=False)


def _all(name: str) -> pd.DataFrame:
    return pd.concat([_csv(d, name) for d in DATES], ignore_index=True)


def _securities() -> pd.DataFrame:
    return pd.read_csv(DATA / "reference" / "securities.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def generated_world(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("sample_world")
    summary = generate_sample_world(root / "data", parameters_dir=root / "parameters")
    return root / "data", root / "parameters", summary


@pytest.fixture(scope="module")
def prices_all() -> pd.DataFrame:
    px = _all("prices.csv")
    px["price"] = px["price"].astype(float)
    return px


# ---------------------------------------------------------------------------------------------
# reproducibility and size


def _files(root: Path, subdirs: tuple[str, ...]) -> set[str]:
    out = set()
    for sub in subdirs:
        base = root / sub
        if base.is_file():
            out.add(sub)
        else:
            out |= {p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()}
    return out


def test_regenerating_with_default_options_is_byte_identical_to_the_committed_world(generated_world):
    data, params, summary = generated_world
    assert summary["final_date"] == FINAL == "2026-11-06"
    subs = ("reference", "opening", "inbound", "seeded_exceptions.json")
    committed, regenerated = _files(DATA, subs), _files(data, subs)
    assert committed == regenerated, (
        f"file sets differ: only committed {sorted(committed - regenerated)[:5]}, only regenerated {sorted(regenerated - committed)[:5]}")
    assert len(committed) > 300
    for rel in sorted(committed):
        assert (DATA / rel).read_bytes() == (data / rel).read_bytes(), f"first differing file: data/{rel}"
    param_files = ["company.yaml"] + sorted(p.relative_to(PARAMS).as_posix() for p in (PARAMS / "funds").glob("*.yaml"))
    assert param_files == ["company.yaml", "funds/GLBD.yaml", "funds/MAHF.yaml", "funds/USEQ.yaml"]
    assert sorted(p.name for p in (params / "funds").glob("*.yaml")) == ["GLBD.yaml", "MAHF.yaml", "USEQ.yaml"]
    for rel in param_files:
        assert (PARAMS / rel).read_bytes() == (params / rel).read_bytes(), f"first differing file: parameters/{rel}"


def test_committed_data_is_under_5_mb():
    world = [DATA / "seeded_exceptions.json"] + [p for sub in ("reference", "opening", "inbound") for p in (DATA / sub).rglob("*")]
    total = sum(p.stat().st_size for p in world if p.is_file())  # not data/store/: the git-ignored workbench database
    assert 100_000 < total < 5 * 1024 * 1024, f"data/ holds {total:,} bytes"


# ---------------------------------------------------------------------------------------------
# shape of the world


def test_one_management_company_with_cik_and_valid_lei():
    company = load_company(PARAMS)
    assert len(company.cik) == 10 and company.cik.isdigit() and company.cik == "0001999123"
    assert is_valid_lei(company.lei)
    assert {f.management_company for f in load_funds(PARAMS).values()} == {company.code}


def test_three_funds_with_their_share_classes_and_currencies():
    funds = load_funds(PARAMS)
    assert sorted(funds) == ["GLBD", "MAHF", "USEQ"]
    useq, glbd, mahf = funds["USEQ"], funds["GLBD"], funds["MAHF"]
    assert useq.base_currency == "USD" and len(useq.share_classes) == 2
    fees = {c.code: c.management_fee_pct for c in useq.share_classes}
    assert fees == {"A": 1.0, "I": 0.5}
    assert glbd.base_currency == "EUR"
    assert mahf.base_currency == "USD" and mahf.dealing == "monthly"
    perf = {c.code: c.performance_fee.rate_pct for c in mahf.share_classes if c.performance_fee}
    assert perf and max(perf.values()) == 20.0


def test_glbd_bonds_span_currencies_and_day_counts():
    sec = _securities()
    bonds = sec[sec["asset_class"].str.endswith("bond")]
    assert len(set(bonds["currency"])) >= 3, sorted(set(bonds["currency"]))
    conventions = set(bonds["day_count"])
    assert {"ACT/ACT ICMA", "ACT/360", "ACT/365F"} <= conventions
    assert any(c.startswith(("30/360", "30E/360")) for c in conventions), conventions
    opening = pd.read_csv(DATA / "opening" / GROUND_TRUTH["opening_date"] / "positions.csv", dtype=str)
    glbd_held = set(opening.loc[opening["fund"] == "GLBD", "security_id"])
    assert set(bonds["security_id"]) <= glbd_held


def test_mahf_investors_and_monthly_dealing_only_on_month_end():
    investors = pd.read_csv(DATA / "reference" / "investors.csv", dtype=str, keep_default_na=False)
    mahf_investors = set(investors.loc[investors["fund"] == "MAHF", "investor_id"])
    assert len(mahf_investors) == 8
    capital = _all("capital_activity.csv")
    mahf = capital[capital["fund"] == "MAHF"]
    assert len(mahf) >= 3
    assert set(mahf["investor_id"]) <= mahf_investors
    dealing_dates = set(mahf["dealing_date"])
    for d in dealing_dates:
        i = DATES.index(d)
        assert i + 1 < len(DATES) and DATES[i + 1][:7] != d[:7], f"MAHF dealt on {d}, not a month-end dealing date"
    assert dealing_dates == {"2026-10-30"}
    # the daily-dealing funds deal on many days
    assert capital.loc[capital["fund"] == "USEQ", "dealing_date"].nunique() > 10


def test_dates_opening_quarter_end_and_enough_business_days():
    opening = dt.date.fromisoformat(GROUND_TRUTH["opening_date"])
    assert [p.name for p in (DATA / "opening").iterdir()] == [opening.isoformat()]
    assert opening.month in (3, 6, 9, 12) and (opening + dt.timedelta(days=1)).day == 1
    assert len(DATES) >= 25
    days = [dt.date.fromisoformat(d) for d in DATES]
    assert all(d.weekday() < 5 for d in days) and days[0] > opening
    assert DATES[0] == GROUND_TRUTH["first_date"] and DATES[-1] == FINAL
    for d in DATES:
        assert sorted(p.name for p in (DATA / "inbound" / d).glob("*.csv")) == sorted(INBOUND_FILES.values()), d


def test_identifiers_in_reference_data_are_valid():
    sec = _securities()
    isins = sec.loc[sec["isin"] != "", "isin"]
    cusips = sec.loc[sec["cusip"] != "", "cusip"]
    assert len(isins) >= 45 and len(cusips) >= 25
    assert [i for i in isins if not is_valid_isin(i)] == []
    assert [c for c in cusips if not is_valid_cusip(c)] == []
    # a US ISIN embeds its CUSIP
    us = sec[(sec["cusip"] != "") & (sec["isin"] != "")]
    assert (us["isin"].str[2:11] == us["cusip"]).all()
    cps = pd.read_csv(DATA / "reference" / "counterparties.csv", dtype=str)
    assert len(cps) >= 5 and [x for x in cps["lei"] if not is_valid_lei(x)] == []


def test_prices_corporate_actions_and_statement_formats(prices_all):
    final = prices_all[prices_all["price_date"] == FINAL]
    assert {"BLOOMBERG", "REFINITIV", "ICE"} <= set(final["source"])
    assert final.groupby("security_id")["source"].nunique().max() == 2
    events = _all("corporate_actions.csv")
    assert {"DVCA", "SPLF"} <= set(events["event_type"])
    split = events[events["event_type"] == "SPLF"].iloc[0]
    assert (float(split["ratio_new"]), float(split["ratio_old"])) == (2.0, 1.0)
    names = [p.name for p in (DATA / "inbound").rglob("statements/*")]
    assert any(n.endswith(".mt940") for n in names) and any(n.endswith(".camt053.xml") for n in names)


# ---------------------------------------------------------------------------------------------
# internal consistency


def test_every_inbound_dataset_on_every_date_loads_without_violations():
    ref = load_reference(DATA)
    account_funds = account_fund_map(load_funds(PARAMS))
    problems, rows = [], Counter()
    for d in DATES:
        for dataset in INBOUND_FILES:
            result = read_dataset(dataset, DATA, dt.date.fromisoformat(d), reference=ref, account_funds=account_funds)
            problems += result.violations[:3]
            rows[dataset] += len(result.frame)
    assert problems == []
    assert rows["trades"] == 386 and rows["prices"] > 2000 and rows["admin_nav"] == 6 * len(DATES)


def test_every_statement_parses_balances_and_chains_except_the_seeded_one():
    funds = load_funds(PARAMS)
    accounts = [a.model_dump() for f in funds.values() for a in f.cash_accounts]
    by_account: dict[str, list] = {a["account"]: [] for a in accounts}
    for d in DATES:
        statements, entries, violations = read_statements(DATA, dt.date.fromisoformat(d), accounts)
        assert violations == [], d
        for st in statements:
            by_account[st.account].append(st)
    assert all(len(v) >= 20 for v in by_account.values()), {k: len(v) for k, v in by_account.items()}
    unbalanced = [(a, st.closing_date.isoformat()) for a, sts in by_account.items() for st in sts if not st.balances()]
    breaks = [(a, prev.closing_date.isoformat(), nxt.closing_date.isoformat())
              for a, sts in by_account.items() for prev, nxt in zip(sts, sts[1:]) if prev.closing_balance != nxt.opening_balance]
    seeded = _one("statement_unbalanced")
    assert unbalanced == [(seeded["account"], seeded["first_date"])]
    after = DATES[DATES.index(seeded["first_date"]) + 1]
    assert breaks == [(seeded["account"], seeded["first_date"], after)]
    st = next(s for s in by_account[seeded["account"]] if s.closing_date.isoformat() == seeded["first_date"])
    assert float(st.opening_balance) == seeded["opening_balance"]
    assert float(st.closing_balance) == seeded["reported_closing"]
    assert float(st.closing_balance - st.opening_balance - st.entries_total()) == seeded["difference"] == 100.0


# ---------------------------------------------------------------------------------------------
# ground truth covers every area


def test_ground_truth_covers_every_area_of_the_foundation_issue():
    types = Counter(x["type"] for x in GROUND_TRUTH["exceptions"])
    required = {
        "position_quantity_difference", "position_missing_at_custodian", "position_missing_in_books", "corporate_action_not_booked",
        "statement_unbalanced", "cash_missing_in_books", "cash_amount_difference",
        "trade_price_difference", "trade_quantity_difference", "trade_net_amount_difference", "trade_settlement_date_difference",
        "trade_unconfirmed", "confirm_without_trade", "settlement_fail",
        "price_missing", "price_stale", "price_jump", "fx_outlier", "admin_nav_difference", "ownership_threshold_crossing",
    }
    assert sorted(required - set(types)) == []
    areas = {x["area"] for x in GROUND_TRUTH["exceptions"]}
    assert {"position", "cash", "trade", "settlement", "pricing", "nav", "regulatory"} <= areas
    assert len({x["id"] for x in GROUND_TRUTH["exceptions"]}) == len(GROUND_TRUTH["exceptions"])
    fails = _seeded("settlement_fail")
    assert len({f["reason_code"] for f in fails}) >= 4
    assert len({f["age_business_days_at_final_date"] for f in fails}) >= 4
    assert [f["partial"] for f in fails].count(True) == 1
    partial = next(f for f in fails if f["partial"])
    assert 0 < partial["settled_quantity"] < partial["quantity"]


def test_seeded_settlement_fails_are_in_the_custodian_status_report():
    status = _csv(FINAL, "settlement_status.csv").set_index("client_reference")
    final = np.datetime64(FINAL)
    for f in _seeded("settlement_fail"):
        row = status.loc[f["trade_id"]]
        assert row["reason_code"] == f["reason_code"], f["trade_id"]
        assert row["intended_settlement_date"] == f["first_date"], f["trade_id"]
        assert row["match_status"] == "MACH"
        if f["partial"]:
            assert row["settlement_status"] == "PART" and float(row["settled_quantity"]) == f["settled_quantity"] > 0
        else:
            assert row["settlement_status"] == "PENF" and float(row["settled_quantity"]) == 0.0
        # no market holidays in the window: business-day age is a weekday count
        assert np.busday_count(np.datetime64(f["first_date"]), final) == f["age_business_days_at_final_date"], f["trade_id"]
    failing = status[status["settlement_status"].isin(["PENF", "PART"])]
    assert sorted(failing.index) == sorted(f["trade_id"] for f in _seeded("settlement_fail"))
    unmatched = status[status["match_status"] == "NMAT"]
    assert list(unmatched.index) == [_one("instruction_unmatched")["trade_id"]]
    assert unmatched["reason_code"].iloc[0] == "CMIS"


def test_missing_price_has_no_final_row_but_rows_the_day_before(prices_all):
    sid = _one("price_missing")["security_id"]
    assert prices_all[(prices_all["price_date"] == FINAL) & (prices_all["security_id"] == sid)].empty
    prev = prices_all[(prices_all["price_date"] == DATES[-2]) & (prices_all["security_id"] == sid)]
    assert sorted(prev["source"]) == ["BLOOMBERG", "REFINITIV"]


def _px(prices_all, sid, source, date) -> float:
    hit = prices_all[(prices_all["security_id"] == sid) & (prices_all["source"] == source) & (prices_all["price_date"] == date)]
    assert len(hit) == 1, (sid, source, date)
    return float(hit["price"].iloc[0])


def test_price_jump_is_on_the_primary_vendor_only(prices_all):
    jump = _one("price_jump")
    sid = jump["security_id"]
    bbg = _px(prices_all, sid, "BLOOMBERG", FINAL) / _px(prices_all, sid, "BLOOMBERG", DATES[-2]) - 1
    ref = _px(prices_all, sid, "REFINITIV", FINAL) / _px(prices_all, sid, "REFINITIV", DATES[-2]) - 1
    assert 0.08 < bbg < 0.16, f"BLOOMBERG move {bbg:.2%}"
    assert abs(ref) < 0.05, f"REFINITIV move {ref:.2%}"
    assert abs(bbg - ref - 0.12) < 0.01


def test_stale_price_repeats_for_exactly_five_dates_on_both_vendors(prices_all):
    stale = _one("price_stale")
    sid = stale["security_id"]
    assert stale["unchanged_days"] == 5 and stale["first_date"] == DATES[-5]
    last5 = prices_all[(prices_all["security_id"] == sid) & prices_all["price_date"].isin(DATES[-5:])]
    assert len(last5) == 10 and last5["price"].nunique() == 1
    assert _px(prices_all, sid, "BLOOMBERG", DATES[-6]) != last5["price"].iloc[0]


def test_fx_outlier_is_chf_only():
    fx = _all("fx_rates.csv")
    fx["rate"] = fx["rate"].astype(float)
    wide = fx.pivot(index="rate_date", columns="from_currency", values="rate").sort_index()
    assert set(fx["to_currency"]) == {"USD"} and len(wide) == len(DATES)
    moves = wide.pct_change().iloc[1:]
    assert _one("fx_outlier")["currency"] == "CHF"
    assert 0.07 < moves.at[FINAL, "CHF"] < 0.11, moves.at[FINAL, "CHF"]
    others = moves.drop(columns="CHF")
    assert (others.loc[FINAL].abs() < 0.02).all(), others.loc[FINAL]
    not_seeded = moves.drop(index=FINAL)
    assert (not_seeded.abs() < 0.05).all().all() and (others.abs() < 0.05).all().all()


def test_admin_nav_error_is_glbd_class_i_on_the_final_date_only():
    seeded = _one("admin_nav_difference")
    assert (seeded["fund"], seeded["share_class"], seeded["first_date"]) == ("GLBD", "I", FINAL)
    nav = _all("admin_nav.csv")
    opening = pd.read_csv(DATA / "opening" / GROUND_TRUTH["opening_date"] / "share_classes.csv", dtype=str)
    nav = pd.concat([opening.assign(nav_date=GROUND_TRUTH["opening_date"])[["nav_date", "fund", "share_class", "nav_per_share"]],
                     nav[["nav_date", "fund", "share_class", "nav_per_share"]]])
    nav["nav_per_share"] = nav["nav_per_share"].astype(float)
    wide = nav.pivot(index="nav_date", columns=["fund", "share_class"], values="nav_per_share").sort_index()
    assert wide.shape == (len(DATES) + 1, 6) and not wide.isna().any().any()
    moves = wide.pct_change().iloc[1:]
    assert moves.at[FINAL, ("GLBD", "I")] > 0.005
    assert abs(moves.at[FINAL, ("GLBD", "R")]) < 0.005
    others = moves.copy()
    others.loc[FINAL, ("GLBD", "I")] = 0.0
    big = others.abs().stack([0, 1])
    assert big[big >= 0.015].empty, big[big >= 0.015]


def test_unconfirmed_trade_and_confirm_without_trade():
    trades = _all("trades.csv")
    confirms = _all("broker_confirms.csv")
    unconfirmed = _one("trade_unconfirmed")["trade_id"]
    assert unconfirmed in set(trades.loc[trades["trade_date"] == FINAL, "trade_id"])
    assert unconfirmed not in set(confirms["client_reference"])
    orphan = _one("confirm_without_trade")
    row = confirms[confirms["confirm_id"] == orphan["confirm_id"]]
    assert len(row) == 1 and row["client_reference"].iloc[0] == orphan["client_reference"]
    assert orphan["client_reference"] not in set(trades["trade_id"])
    # nothing else is unconfirmed or orphaned
    assert set(trades["trade_id"]) - set(confirms["client_reference"]) == {unconfirmed}
    assert set(confirms["client_reference"]) - set(trades["trade_id"]) == {orphan["client_reference"]}


def test_trade_breaks_are_exactly_the_seeded_ones():
    trades = _all("trades.csv").set_index("trade_id")
    confirms = _all("broker_confirms.csv")
    confirms = confirms[confirms["client_reference"].isin(trades.index)].set_index("client_reference")
    pair = trades.loc[confirms.index]
    found = set()
    for col in ("quantity", "price", "net_amount"):
        diff = confirms[col].astype(float) - pair[col].astype(float)
        for tid, d in diff[diff.abs() > 1e-9].items():
            found.add((tid, col, round(d, 4)))
    sd = confirms["settlement_date"] != pair["settlement_date"]
    found |= {(tid, "settlement_date", None) for tid in confirms.index[sd]}
    price = _one("trade_price_difference")
    qty = _one("trade_quantity_difference")
    net = _one("trade_net_amount_difference")
    settle = _one("trade_settlement_date_difference")
    by_field = {(t, f) for t, f, _ in found}
    assert (price["trade_id"], "price", 0.05) in found
    assert (qty["trade_id"], "quantity", -100.0) in found
    assert (net["trade_id"], "net_amount", net["difference"]) in found
    assert (settle["trade_id"], "settlement_date") in by_field
    # the price and quantity breaks drag the net amount with them; nothing else differs
    assert {t for t, _ in by_field} == {price["trade_id"], qty["trade_id"], net["trade_id"], settle["trade_id"]}


def test_ownership_crossing_happens_exactly_on_the_seeded_date():
    seeded = _one("ownership_threshold_crossing")
    sid = seeded["security_id"]
    sec = _securities().set_index("security_id")
    outstanding = float(sec.at[sid, "shares_outstanding"])
    opening = pd.read_csv(DATA / "opening" / GROUND_TRUTH["opening_date"] / "positions.csv", dtype=str)
    held = opening[(opening["security_id"] == sid)]
    assert set(held["fund"]) == {"USEQ", "MAHF"}
    qty = held["quantity"].astype(float).sum()
    trades = _all("trades.csv")
    trades = trades[trades["security_id"] == sid]
    signed = trades["quantity"].astype(float) * np.where(trades["side"] == "BUY", 1, -1)
    pct = {}
    for d in DATES:
        pct[d] = 100 * (qty + signed[trades["trade_date"] <= d].sum()) / outstanding
    crossing = [d for d in DATES if pct[d] > 5.0]
    assert crossing and crossing[0] == seeded["first_date"]
    assert all(pct[d] < 5.0 for d in DATES if d < seeded["first_date"])
    assert all(pct[d] > 5.0 for d in DATES if d >= seeded["first_date"])
    assert round(pct[DATES[0]], 1) == seeded["before_pct"] and round(pct[FINAL], 1) == seeded["after_pct"]


def test_custodian_positions_differ_from_settled_books_only_where_seeded():
    """USEQ's custody account: opening + settled trades (fails excluded, split applied) vs the
    custodian, every date. The only differences are the seeded ones."""
    acct = "0012345678"
    opening = pd.read_csv(DATA / "opening" / GROUND_TRUTH["opening_date"] / "positions.csv", dtype=str)
    opening = opening[opening["account"] == acct]
    trades = _all("trades.csv")
    trades = trades[trades["account"] == acct]
    failing = {f["trade_id"]: f["settled_quantity"] for f in _seeded("settlement_fail")}
    qty = trades["quantity"].astype(float)
    settled = np.where(trades["trade_id"].isin(list(failing)), trades["trade_id"].map(failing).fillna(0.0), qty)
    trades = trades.assign(delta=settled * np.where(trades["side"] == "BUY", 1, -1))
    events = _all("corporate_actions.csv").drop_duplicates("event_id")
    splits = events[events["event_type"] == "SPLF"]
    sec = _securities().set_index("security_id")
    isin_to_sid = {v: k for k, v in sec["isin"].items() if v}
    differences = set()
    for d in DATES:
        books = opening.set_index("security_id")["quantity"].astype(float)
        moves = trades[trades["settlement_date"] <= d].groupby("security_id")["delta"].sum()
        books = books.add(moves, fill_value=0.0)
        for s in splits[splits["pay_date"] <= d].itertuples():
            books[s.security_id] = np.floor(books[s.security_id] * float(s.ratio_new) / float(s.ratio_old))
        cust = _csv(d, "custodian_positions.csv")
        cust = cust[cust["account"] == acct]
        cust = pd.Series(cust["quantity"].astype(float).to_numpy(), index=cust["isin"].map(isin_to_sid))
        diff = cust.sub(books[books != 0], fill_value=0.0)
        for sid, q in diff[diff.abs() > 1e-6].items():
            differences.add((d, sid, q))
    qb, rb = [x for x in _seeded("position_quantity_difference")]
    ca = _one("corporate_action_not_booked")
    expected_keys = ({(d, qb["security_id"]) for d in DATES if qb["first_date"] <= d}
                     | {(d, rb["security_id"]) for d in DATES if rb["first_date"] <= d <= rb["last_date"]}
                     | {(d, ca["security_id"]) for d in DATES if ca["first_date"] <= d})
    assert {(d, s) for d, s, _ in differences} == expected_keys
    for d, s, q in differences:
        if s == qb["security_id"]:
            assert q == qb["difference"] == -250.0
        elif s == rb["security_id"]:
            assert q == rb["difference"] == 1000.0
    # the stock dividend: the custodian holds 5% more than the books, rounded down
    on_pay = {s: q for d, s, q in differences if d == ca["first_date"] and s == ca["security_id"]}
    held = float(opening.loc[opening["security_id"] == ca["security_id"], "quantity"].astype(float).sum())
    assert ca["ratio"] == "105:100" and on_pay[ca["security_id"]] == np.floor(held * 1.05) - held
    all_events = set(events["event_id"])
    assert ca["event_id"] not in all_events


def test_positions_missing_at_custodian_and_in_books():
    missing = _one("position_missing_at_custodian")
    final = _csv(FINAL, "custodian_positions.csv")
    before = _csv(DATES[-2], "custodian_positions.csv")
    at = lambda df, x: df[(df["account"] == x["account"]) & (df["isin"] == x["isin"])]  # noqa: E731
    assert at(final, missing).empty and len(at(before, missing)) == 1
    extra = _one("position_missing_in_books")
    row = at(final, extra)
    assert len(row) == 1 and float(row["quantity"].iloc[0]) == extra["quantity"] == 5000.0
    assert at(before, extra).empty
    opening = pd.read_csv(DATA / "opening" / GROUND_TRUTH["opening_date"] / "positions.csv", dtype=str)
    trades = _all("trades.csv")
    assert opening[(opening["fund"] == "GLBD") & (opening["security_id"] == extra["security_id"])].empty
    assert trades[(trades["fund"] == "GLBD") & (trades["security_id"] == extra["security_id"])].empty


# ---------------------------------------------------------------------------------------------
# not over-seeded


def test_no_unseeded_price_jumps(prices_all):
    sec = _securities().set_index("security_id")
    primary = {"equity": "BLOOMBERG", "government_bond": "ICE", "corporate_bond": "ICE", "option": "OPRA"}
    limit = {"equity": 0.05, "government_bond": 0.01, "corporate_bond": 0.01, "option": 0.25}
    px = prices_all[prices_all["source"] == prices_all["security_id"].map(sec["asset_class"]).map(primary)]
    wide = px.pivot(index="price_date", columns="security_id", values="price").sort_index()
    assert wide.shape[1] == len(sec)
    ratio = wide / wide.shift(1)
    events = _all("corporate_actions.csv").drop_duplicates("event_id")
    adjustments = [(e.ex_date, e.security_id, float(e.ratio_new) / float(e.ratio_old))
                   for e in events[events["event_type"] == "SPLF"].itertuples()]
    ca = _one("corporate_action_not_booked")
    adjustments.append((DVSE_EX_DATE, ca["security_id"], 105 / 100))
    for ex, sid, factor in adjustments:
        assert ratio.at[ex, sid] * factor == pytest.approx(1.0, abs=0.04), (ex, sid, ratio.at[ex, sid])
        ratio.at[ex, sid] *= factor
    move = (ratio - 1).abs().iloc[1:]
    seeded = {_one("price_jump")["security_id"]}
    classes = sec["asset_class"]
    offenders = []
    for sid in move.columns:
        if sid in seeded:
            assert move.at[FINAL, sid] > 0.05
            move.at[FINAL, sid] = 0.0
        over = move[sid][move[sid] > limit[classes[sid]]]
        offenders += [(d, sid, round(m, 4)) for d, m in over.items()]
    assert offenders == []
    # the stale security is the only one ever unchanged day over day (raw vendor prices)
    raw_move = (wide / wide.shift(1) - 1).iloc[1:]
    unchanged = {sid for sid in raw_move.columns if (raw_move[sid].dropna() == 0).any()}
    assert unchanged == {_one("price_stale")["security_id"]}
    # the missing price is the only gap on the final date
    assert set(wide.columns[wide.loc[FINAL].isna()]) == {_one("price_missing")["security_id"]}


# ---------------------------------------------------------------------------------------------
# scale options


def _check_scaled_world(root: Path, n_funds: int, n_days: int) -> None:
    assert len(list((root / "parameters" / "funds").glob("*.yaml"))) == n_funds
    funds = load_funds(root / "parameters")
    assert len(funds) == n_funds
    sec = pd.read_csv(root / "data" / "reference" / "securities.csv", dtype=str)
    assert len(sec) >= 80
    dates = sorted(p.name for p in (root / "data" / "inbound").iterdir())
    assert dates == DATES[:n_days]
    big = pd.read_csv(root / "data" / "inbound" / dates[0] / "trades.csv", dtype=str)
    assert len(big) > len(_csv(dates[0], "trades.csv")), "more trades per day than the default world"
    ref = load_reference(root / "data")
    result = read_dataset("trades", root / "data", dt.date.fromisoformat(dates[0]), reference=ref, account_funds=account_fund_map(funds))
    assert result.violations == []


def test_scale_options_give_a_bigger_world(tmp_path):
    """The benchmark scale-up: more funds (copies of the templates), securities and trades."""
    summary = generate_sample_world(tmp_path / "data", funds=4, securities=80, trades_per_day=10, days=20,
                                    parameters_dir=tmp_path / "parameters")
    assert summary["funds"] == 4 and summary["days"] == 20
    assert set(load_funds(tmp_path / "parameters")) == {"USEQ", "GLBD", "MAHF", "USEQ01"}
    _check_scaled_world(tmp_path, 4, 20)


def test_too_short_a_world_is_refused_with_the_reason(tmp_path):
    with pytest.raises(ValueError, match="at least 20 business days for its seeded stories"):
        generate_sample_world(tmp_path / "data", days=5, parameters_dir=tmp_path / "parameters")


def test_scale_options_more_securities_and_trades(tmp_path):
    """More securities and trades per day on the default funds (a scale that generates today)."""
    summary = generate_sample_world(tmp_path / "data", securities=80, trades_per_day=10, days=22, parameters_dir=tmp_path / "parameters")
    assert summary["securities"] >= 80 and summary["days"] == 22
    _check_scaled_world(tmp_path, 3, 22)
