"""Positions rolled forward from the opening book, checked against the custodian's own file: on a
settlement basis the only differences are the seeded failing trades and seeded position breaks. And
the books' closing states, struck day by day, hold exactly what a replay of every trade and event
from the opening gives on every date (incremental equals replay)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pytest

from bo_lib.books.positions import roll_positions
from bo_lib.books.state import read_frames
from bo_lib.data import loaders
from bo_lib.data.catalogue import Catalogue
from tests.conftest import DATA

FINAL = dt.date(2026, 11, 6)


@dataclass
class Replay:
    """Every delivery of the sample world, as a replay from the opening would read it."""

    opening_positions: pd.DataFrame
    trades: pd.DataFrame
    corporate_actions: pd.DataFrame  # the latest version of each event
    reference: dict
    violations: list


@pytest.fixture(scope="module")
def books(sample_store):
    catalogue = Catalogue(sample_store)
    with catalogue.session():
        events = catalogue.rows("corporate_actions").sort_values(["event_id", "delivery_date"]).drop_duplicates("event_id", keep="last")
        violations = [v for d in catalogue.business_dates() for v in catalogue.violations(on=d)]
        return Replay(catalogue.opening()["opening_positions"], catalogue.rows("trades"), events.reset_index(drop=True),
                      catalogue.reference(), violations)


def test_books_load_clean_across_all_dates(books):
    assert books.violations == []
    assert len(books.trades) == 386 and books.trades["trade_date"].max() == pd.Timestamp(FINAL)
    assert set(books.corporate_actions["event_type"]) >= {"DVCA", "SPLF", "INTR"}
    assert "DVSE" not in set(books.corporate_actions["event_type"])  # the books never received the stock dividend


def test_settled_positions_differ_from_the_custodian_only_where_seeded(books, ground_truth, funds):
    positions, _ = roll_positions(books.opening_positions, books.trades, books.corporate_actions, FINAL, "settlement")
    custodian = loaders.load_dataset("custodian_positions", DATA, FINAL, reference=books.reference, account_funds=loaders.account_fund_map(funds))
    securities = books.reference["securities"]
    by_isin = securities[securities["isin"] != ""].set_index("isin")["security_id"]
    custodian = custodian.assign(security_id=custodian["isin"].map(by_isin))
    held = positions[~positions["account"].str.endswith("-OPT")]
    both = held.merge(custodian[["account", "security_id", "quantity"]], on=["account", "security_id"], how="outer", suffixes=("_books", "_custodian"))
    both["difference"] = both["quantity_custodian"].fillna(0) - both["quantity_books"].fillna(0)
    found = {(r.account, r.security_id): r.difference for r in both[both["difference"] != 0].itertuples()}

    expected = {}
    trades = books.trades.set_index("trade_id")
    for item in ground_truth["exceptions"]:
        if item["type"] == "settlement_fail":
            t = trades.loc[item["trade_id"]]
            unsettled = item["quantity"] - item["settled_quantity"]
            expected[(t["account"], t["security_id"])] = unsettled if t["side"] == "SELL" else -unsettled
        elif item["type"] == "position_quantity_difference" and item["last_date"] == str(FINAL):
            expected[(item["account"], item["security_id"])] = item["difference"]
        elif item["type"] == "position_missing_at_custodian":
            qty = held.set_index(["account", "security_id"]).at[(item["account"], item["security_id"]), "quantity"]
            expected[(item["account"], item["security_id"])] = -qty
        elif item["type"] == "position_missing_in_books":
            expected[(item["account"], item["security_id"])] = item["quantity"]
        elif item["type"] == "corporate_action_not_booked":
            qty = held.set_index(["account", "security_id"]).at[(item["account"], item["security_id"]), "quantity"]
            expected[(item["account"], item["security_id"])] = float(int(qty * 105 / 100)) - qty
    assert found == pytest.approx(expected)


def test_split_doubles_the_holding_on_its_ex_date_on_trade_basis(books):
    split = books.corporate_actions[books.corporate_actions["event_type"] == "SPLF"].iloc[0]
    ex = split["ex_date"].date()
    before, _ = roll_positions(books.opening_positions, books.trades, books.corporate_actions, ex - dt.timedelta(days=1), "trade")
    after, movements = roll_positions(books.opening_positions, books.trades, books.corporate_actions, ex, "trade")
    q = lambda p: p[p["security_id"] == split["security_id"]].set_index("fund")["quantity"]  # noqa: E731
    assert (q(after) == 2 * q(before)).all() and set(q(after).index) == {"USEQ", "MAHF"}
    ca = movements[movements["source"] == "corporate_action:SPLF"]
    assert len(ca) == 2 and (ca["reference"] == split["event_id"]).all()


def test_unknown_basis_is_refused(books):
    with pytest.raises(ValueError, match="basis must be"):
        roll_positions(books.opening_positions, books.trades, books.corporate_actions, FINAL, "value")


@pytest.mark.parametrize("basis, frame", [("trade", "positions"), ("settlement", "settled_positions")])
def test_the_books_states_equal_a_replay_from_the_opening_on_every_date(books, sample_store, basis, frame):
    states = read_frames(sample_store, frame)
    for day in sorted(states["book_date"].unique())[1:]:
        day = pd.Timestamp(day).date()
        replay, _ = roll_positions(books.opening_positions, books.trades, books.corporate_actions[books.corporate_actions["delivery_date"]
                                                                                                     <= pd.Timestamp(day)], day, basis)
        state = states[states["book_date"].eq(pd.Timestamp(day))].rename(columns={"book_fund": "fund"})
        keys = ["fund", "account", "security_id"]
        both = replay.merge(state[keys + ["quantity"]], on=keys, how="outer", suffixes=("_replay", "_books")).fillna(0.0)
        assert (both["quantity_replay"] - both["quantity_books"]).abs().max() < 1e-9, (day, basis)
