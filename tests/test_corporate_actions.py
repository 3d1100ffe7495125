"""Corporate actions: the golden record from the custodians' MT564s, elections and their deadlines,
MT566 confirmations against entitlements, events the books did not book; on hand-made messages with
every figure written out, on the two real MT564 samples, and on the sample world's seeded stories on
every date they live."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from bo_lib.books import events as ev
from bo_lib.corporate_actions import confirmations as cf
from bo_lib.corporate_actions import control as ctl
from bo_lib.corporate_actions import elections as el
from bo_lib.data.ingest import CA_MESSAGE_COLUMNS
from bo_lib.rag import AMBER, GREEN, RED

REPO = Path(__file__).resolve().parent.parent
FINAL = dt.date(2026, 11, 6)
_TEXT = {c for c, t in CA_MESSAGE_COLUMNS.items() if t == "VARCHAR"}
_DATES = {c for c, t in CA_MESSAGE_COLUMNS.items() if t == "DATE"}


def _messages(*rows: dict) -> pd.DataFrame:
    """Message rows as the catalogue gives them: every column, text '' and numbers NaN when not given."""
    out = []
    for n, row in enumerate(rows, start=1):
        full = {c: ("" if c in _TEXT else pd.NaT if c in _DATES else float("nan")) for c in CA_MESSAGE_COLUMNS}
        full.update({"file": f"m{n}.mt564", "source_line": 1, "is_default": False, "delivery_date": pd.Timestamp("2026-11-02")})
        full.update({k: (pd.Timestamp(v) if k in _DATES | {"delivery_date"} and v is not None else v) for k, v in row.items()})
        out.append(full)
    frame = pd.DataFrame(out, columns=[*CA_MESSAGE_COLUMNS, "delivery_date"])
    frame["is_default"] = frame["is_default"].astype(bool)
    return frame


def _dividend(account: str, sender: str, rate: float, seme: str, **more) -> dict:
    return {"message_type": "564", "function": "NEWM", "processing_status": "COMP", "corporate_reference": "CA1", "sender_reference": seme,
            "event_type": "DVCA", "mandatory_voluntary": "MAND", "isin": "NL2997928951", "account": account, "sender": sender,
            "eligible_balance": 1000.0, "ex_date": "2026-11-11", "record_date": "2026-11-12", "pay_date": "2026-11-18", "option_number": "001",
            "option_type": "CASH", "is_default": True, "currency": "EUR", "gross_rate": rate} | more


SECURITIES = pd.DataFrame({"security_id": ["EQ38", "OPT1"], "isin": ["NL2997928951", ""], "mic": ["XAMS", "XCBO"]})


# =================================================================================================
# the golden record


def test_two_custodians_disagreeing_on_the_rate_leave_it_open_and_name_both_values():
    messages = _messages(_dividend("0000456789", "RHDBDEFF", 4.25, "R1"), _dividend("0009876543", "ATLTUS33", 42.5, "A1"))
    live = ev.live_notifications(ev.notifications(messages))
    golden = ev.golden_record(live, SECURITIES)
    assert len(golden) == 1
    row = golden.iloc[0]
    assert (row["event_id"], row["security_id"], row["status"]) == ("CA1", "EQ38", "disputed")
    assert pd.isna(row["gross_rate"])  # the disputed term is not taken from either side
    assert row["pay_date"] == pd.Timestamp("2026-11-18") and row["custodians"] == "ATLTUS33, RHDBDEFF"
    differences = ev.notification_differences(live)
    assert differences[["event_id", "option_number", "term"]].values.tolist() == [["CA1", "001", "gross_rate"]]
    assert differences.iloc[0]["values"] == "0000456789 (RHDBDEFF): 4.25; 0009876543 (ATLTUS33): 42.5"


def test_a_replacement_moves_the_pay_date_and_the_change_is_kept():
    first = _dividend("0012345678", "ATLTUS33", 0.75, "A20", pay_date="2026-11-20", delivery_date="2026-10-27")
    moved = _dividend("0012345678", "ATLTUS33", 0.75, "A21", pay_date="2026-11-24", function="REPL", previous_reference="A20",
                      delivery_date="2026-11-03")
    notified = ev.notifications(_messages(first, moved))
    golden = ev.golden_record(ev.live_notifications(notified), SECURITIES)
    assert golden.iloc[0]["pay_date"] == pd.Timestamp("2026-11-24") and golden.iloc[0]["status"] == "agreed"
    changes = ev.term_changes(notified)
    assert changes[["event_id", "term", "was", "now", "sender_reference"]].values.tolist() == [
        ["CA1", "pay_date", pd.Timestamp("2026-11-20"), pd.Timestamp("2026-11-24"), "A21"]]
    assert changes.iloc[0]["changed_on"] == pd.Timestamp("2026-11-03")


def test_a_cancellation_cancels_the_event():
    notified = ev.notifications(_messages(_dividend("A1", "ATLTUS33", 0.5, "S1"),
                                          _dividend("A1", "ATLTUS33", 0.5, "S2", function="CANC", delivery_date="2026-11-04")))
    golden = ev.golden_record(ev.live_notifications(notified), SECURITIES)
    assert golden["status"].tolist() == ["cancelled"]


def test_a_split_replaces_a_stock_dividend_adds():
    factor = ev.quantity_factor(pd.Series(["SPLF", "DVSE", "DVCA"]), pd.Series([2.0, 5.0, float("nan")]), pd.Series([1.0, 100.0, float("nan")]))
    assert factor.iloc[0] == 2.0 and factor.iloc[1] == pytest.approx(1.05) and pd.isna(factor.iloc[2])


def _reference(name: str) -> Path:
    root = os.environ.get("BO_REFERENCE_DIR")
    assert root, "export BO_REFERENCE_DIR (the folder holding swift-mt564/): .ci/run does"
    return Path(root) / "swift-mt564" / name


def test_the_real_mt564_samples_give_their_event_security_dates_rate_and_balance():
    from bo_lib.data.formats.ca_messages import read_ca_messages

    securities = pd.DataFrame({"security_id": ["ZURN"], "isin": ["CH0011075394"]})
    rows, violations = read_ca_messages(_reference("prowide_dvca_isin_withholding.fin"))
    assert violations == []
    live = ev.live_notifications(ev.notifications(rows.assign(delivery_date=pd.Timestamp("2011-11-01"), file="zurich.fin")))
    golden = ev.golden_record(live, securities).iloc[0]
    # read off the file: CORP D455103, ISIN CH0011075394, XDTE/RDTE/PAYD 20111111, GRSS 0,000001000, WITF 35,, ELIG UNIT/7000,
    assert (golden["event_id"], golden["event_type"], golden["security_id"], golden["isin"]) == ("D455103", "DVCA", "ZURN", "CH0011075394")
    assert golden["ex_date"] == golden["record_date"] == golden["pay_date"] == pd.Timestamp("2011-11-11")
    assert golden["gross_rate"] == pytest.approx(0.000001) and golden["withholding_pct"] == 35.0 and golden["currency"] == "CHF"
    assert live["eligible_balance"].tolist() == [7000.0] and live["account"].tolist() == ["760043140"]
    rows, violations = read_ca_messages(_reference("prowide_dvca_cusip.fin"))
    assert violations == []
    golden = ev.golden_record(ev.live_notifications(ev.notifications(rows.assign(delivery_date=pd.Timestamp("2020-10-29"), file="c.fin"))),
                              securities).iloc[0]
    # CORP DV200000168730, CUSIP 12345B68 (no ISIN: not in the master), XDTE 20001127, RDTE 20201130, PAYD 20201231, 92H GRSS USD0,12345657
    assert (golden["event_id"], golden["isin"], golden["security_id"]) == ("DV200000168730", "", "")
    assert (golden["ex_date"], golden["record_date"], golden["pay_date"]) == (pd.Timestamp("2000-11-27"), pd.Timestamp("2020-11-30"),
                                                                              pd.Timestamp("2020-12-31"))
    assert golden["gross_rate"] == pytest.approx(0.12345657) and golden["currency"] == "USD" and bool(golden["is_default"])


# =================================================================================================
# elections


def test_election_status_by_the_deadlines_of_the_market():
    from bo_lib import calendars

    golden = pd.DataFrame({"event_id": ["CA22", "CA22"], "option_number": ["001", "002"], "option_type": ["CASH", "SECU"],
                           "is_default": [True, False], "event_type": "DVOP", "mandatory_voluntary": "CHOS", "security_id": "EQ14",
                           "market_deadline": pd.Timestamp("2026-11-10"), "status": "agreed"})
    eligible = pd.DataFrame({"event_id": ["CA22"], "account": ["0012345678"], "quantity": [130700.0]})
    none = pd.DataFrame(columns=["corporate_reference", "account", "option_number", "option_type", "instructed_quantity", "delivery_date"])

    def status(day: str, instructed=none) -> tuple:
        out = el.elections(golden, eligible, instructed, dt.date.fromisoformat(day), 3, 5, lambda _sid: calendars.trading_calendar("XNYS"))
        return out.iloc[0]["status"], out.iloc[0]["internal_deadline"], out.iloc[0]["warn_from"]

    # market deadline Tue 10 Nov; 3 NYSE sessions back (9, 6, 5 Nov): internal deadline Thu 5 Nov; 5 more back (4, 3, 2 Nov, 30, 29 Oct): 29 Oct
    assert status("2026-10-28") == ("open", pd.Timestamp("2026-11-05"), pd.Timestamp("2026-10-29"))
    assert status("2026-10-29")[0] == status("2026-11-05")[0] == "due"
    assert status("2026-11-06")[0] == status("2026-11-10")[0] == "overdue"
    assert status("2026-11-11")[0] == "missed"
    sent = pd.DataFrame({"corporate_reference": ["CA22"], "account": ["0012345678"], "option_number": ["002"], "option_type": ["SECU"],
                         "instructed_quantity": [130700.0], "delivery_date": [pd.Timestamp("2026-11-02")]})
    assert status("2026-11-11", sent)[0] == "instructed"


# =================================================================================================
# confirmations


ENTITLED = pd.DataFrame({"event_id": ["CA3", "CA4", "CA5", "CA6"], "account": "0000456789", "eligible_quantity": [109300.0, 1000.0, 1000.0, 98000.0],
                         "currency": "EUR", "cash_net": [123972.43, 425.00, 100.00, 0.0], "withholding_pct": [15.0, 15.0, 0.0, 0.0],
                         "new_quantity": [0.0, 0.0, 0.0, 98000.0]})
TERMS = pd.DataFrame({"event_id": ["CA3", "CA4", "CA5", "CA6"], "event_type": ["DVCA", "DVCA", "INTR", "SPLF"], "gross_rate": [1.3344, 0.5, 2.0, float("nan")],
                      "pay_date": pd.to_datetime(["2026-11-04", "2026-11-04", "2026-11-04", "2026-11-04"])})


def _mt566(event: str, net: float | None, *, quantity: float | None = None, tax_pct: float | None = None, seme: str = "C1", on: str = "2026-11-04"):
    return {"message_type": "566", "function": "NEWM", "corporate_reference": event, "sender_reference": seme, "account": "0000456789",
            "eligible_balance": 109300.0 if event == "CA3" else 1000.0, "net_amount": net, "posted_amount": net, "posted_quantity": quantity,
            "withholding_pct": tax_pct, "gross_rate": 1.3344 if event == "CA3" else None, "pay_date": "2026-11-04", "delivery_date": on}


def test_a_short_payment_is_red_with_its_difference_and_a_refund_settles_it():
    # 109,300 x 1.3344 = 145,849.92 gross; at the 15% treaty rate net 123,972.43; the paying agent withheld 26.375%: 107,382.00 posted
    short = _messages(_mt566("CA3", 107382.00, tax_pct=26.375), _mt566("CA4", 426.00), _mt566("CA6", None, quantity=97000.0),
                      _mt566("CA9", 50.00))
    out = cf.compare(ENTITLED, cf.confirmed(short), TERMS, dt.date(2026, 11, 5)).set_index("event_id")
    assert out.at["CA3", "status"] == "short payment" and out.at["CA3", "net_difference"] == -16590.43
    assert out.at["CA3", "detail"] == ("EUR 107,382.00 posted against 123,972.43 entitled (-16,590.43); "
                                       "tax withheld at 26.375%, the fund's treaty rate is 15%")
    assert (out.at["CA4", "status"], out.at["CA4", "net_difference"]) == ("over-payment", 1.0)
    assert (out.at["CA6", "status"], out.at["CA6", "quantity_difference"]) == ("quantity differs", -1000.0)
    assert out.at["CA5", "status"] == "not confirmed"  # the coupon's pay date passed, no MT566
    assert (out.at["CA9", "status"], out.at["CA9", "detail"]) == ("not notified", "50.00 paid on 1,000 held for an event no MT564 notified")
    refunded = _messages(_mt566("CA3", 107382.00, tax_pct=26.375), _mt566("CA3", 16590.43, seme="C2", on="2026-11-11"))
    out = cf.compare(ENTITLED.iloc[:1], cf.confirmed(refunded), TERMS, dt.date(2026, 11, 11)).set_index("event_id")
    assert out.at["CA3", "status"] == "agreed" and out.at["CA3", "net_difference"] == 0.0 and out.at["CA3", "messages"] == 2
    waiting = cf.compare(ENTITLED.iloc[2:3], cf.confirmed(_messages()), TERMS, dt.date(2026, 11, 4))
    assert waiting["status"].tolist() == ["awaiting"]  # on the pay date itself the MT566 may still come


# =================================================================================================
# the books, and every check firing


def test_an_event_due_in_the_books_and_not_booked_is_found():
    per_event = pd.DataFrame({"event_id": ["CA5", "CA7", "CA8"], "event_type": ["DVSE", "DVCA", "DVSE"], "security_id": ["EQ6", "EQ2", "EQ9"],
                              "ex_date": pd.to_datetime(["2026-11-03", "2026-11-03", "2026-09-29"]),
                              "pay_date": pd.to_datetime(["2026-11-04", "2026-11-09", "2026-09-30"]), "status": "agreed", "accounts": "A"})
    eligible = pd.DataFrame({"event_id": ["CA5", "CA7", "CA8"], "account": "0012345678", "quantity": [109300.0, 500.0, 10.0]})
    booked = pd.DataFrame({"event_id": ["CA7"]})
    out = ctl.events_not_booked(per_event, eligible, booked, dt.date(2026, 11, 4), dt.date(2026, 9, 30))
    # CA7 booked; CA8 went ex before the books opened (in the opening book): only CA5
    assert out[["event_id", "accounts", "quantity"]].values.tolist() == [["CA5", "0012345678", 109300.0]]
    assert ctl.events_not_booked(per_event, eligible, booked, dt.date(2026, 11, 2), dt.date(2026, 9, 30)).empty  # not ex yet


def test_a_preliminary_notification_not_completed_by_its_first_date_is_amber():
    from bo_lib import calendars

    calendar = calendars.trading_calendar("XNYS", pd.DataFrame(columns=["mic", "date", "reason"]))
    per_event = pd.DataFrame({"event_id": ["P1", "P2", "P3"], "status": "agreed", "processing_status": ["PREU", "PREU", "COMP"],
                              "ex_date": pd.to_datetime(["2026-11-12", "2026-11-30", "2026-11-09"]),
                              "pay_date": pd.to_datetime(["2026-11-20", "2026-12-10", "2026-11-20"])})
    elections = pd.DataFrame({"event_id": ["P2"], "market_deadline": [pd.Timestamp("2026-11-11")]})
    # on Friday 6 Nov 2026, 5 NYSE business days ahead is Friday 13 Nov (Veterans Day, 11 Nov, is a trading day):
    # P1's ex-date (12 Nov) and P2's market deadline (11 Nov) are within it; P3 is complete
    out = ctl.preliminary_events(per_event, elections, dt.date(2026, 11, 6), calendar, 5)
    assert out[["event_id", "what"]].values.tolist() == [["P1", "ex-date"], ["P2", "market deadline"]]
    # with 3 days' warning (to Wednesday 11 Nov) only P2's deadline is near
    assert ctl.preliminary_events(per_event, elections, dt.date(2026, 11, 6), calendar, 3)["event_id"].tolist() == ["P2"]


def test_an_election_sent_after_the_books_booked_its_event_is_red():
    per_event = pd.DataFrame({"event_id": ["D1", "D2"], "booked_on": pd.to_datetime(["2026-11-04", None])})
    instructed = pd.DataFrame({"corporate_reference": ["D1", "D1", "D2"], "account": "A", "option_number": ["002", "001", "002"],
                               "option_type": ["SECU", "CASH", "SECU"], "instructed_quantity": [300.0, 700.0, 50.0],
                               "delivery_date": pd.to_datetime(["2026-11-03", "2026-11-05", "2026-11-05"])})
    out = ctl.elections_after_booking(per_event, instructed)
    # D1's 002 came before the booking (taken), its 001 after; D2 is not booked yet
    assert out[["event_id", "option_number", "instructed_quantity"]].values.tolist() == [["D1", "001", 700.0]]


def test_every_corporate_action_check_fires():
    per_event = pd.DataFrame({"event_id": ["E1", "E2", "E3"], "event_type": ["DVCA", "DVOP", "TEND"], "security_id": ["S1", "S2", "S3"],
                              "pay_date": pd.to_datetime(["2026-11-20", "2026-11-20", "2026-11-20"])})
    differences = pd.DataFrame({"event_id": ["E1"], "option_number": ["001"], "term": ["gross_rate"], "values": ["A: 4.25; B: 42.5"], "accounts": [2]})
    changes = pd.DataFrame({"event_id": ["E1"], "account": ["A"], "sender": ["X"], "option_number": ["001"], "term": ["pay_date"],
                            "was": [pd.Timestamp("2026-11-18")], "now": [pd.Timestamp("2026-11-20")], "changed_on": [pd.Timestamp("2026-11-03")],
                            "sender_reference": ["R2"]})
    deadlines = {"market_deadline": pd.Timestamp("2026-11-10"), "internal_deadline": pd.Timestamp("2026-11-05"), "eligible": 100.0, "instructed": 0.0,
                 "default_option": "001"}
    elections = pd.DataFrame([{"event_id": "E2", "account": "A", "status": s, **deadlines} for s in ("due", "overdue", "missed", "instructed")])
    confirmations = pd.DataFrame({"event_id": ["E1"] * 5, "account": "A", "detail": "d",
                                  "status": ["short payment", "over-payment", "quantity differs", "not confirmed", "not notified"]})
    not_booked = pd.DataFrame({"event_id": ["E3"], "event_type": ["TEND"], "security_id": ["S3"], "accounts": ["A"], "quantity": [5.0],
                               "due_on": [pd.Timestamp("2026-11-04")]})
    violations = pd.DataFrame({"file": ["inbound/2026-11-06/messages/BAD.mt564"], "line": [9], "column": [":92F::GRSS"],
                               "rule": ["decimal comma required"], "value": ["0.12"], "fund": ["MAHF"]})
    preliminary = pd.DataFrame({"event_id": ["E2"], "first_date": [pd.Timestamp("2026-11-10")], "what": ["market deadline"]})
    after = pd.DataFrame({"event_id": ["E2"], "account": ["A"], "option_number": ["002"], "instructed_quantity": [100.0],
                          "sent_on": [pd.Timestamp("2026-11-05")], "booked_on": [pd.Timestamp("2026-11-04")]})
    items = ctl.exception_items(per_event, differences, changes, elections, confirmations, not_booked, violations, dt.date(2026, 11, 6),
                                preliminary, after)
    summary = ctl.summarise(items).set_index("check")
    assert summary["count"].to_dict() == {check: 1 for check, _rag, _meaning in ctl.CHECKS}
    assert summary["rag"].to_dict() == {check: rag for check, rag, _meaning in ctl.CHECKS}
    assert set(summary["rag"]) == {RED, AMBER}
    assert "event applied by the custodian, not booked: TEND E3 on S3" in summary.at["Events not booked", "detail"]
    quiet = ctl.summarise(items.iloc[0:0])
    assert set(quiet["rag"]) == {GREEN} and quiet["count"].sum() == 0


# =================================================================================================
# the sample world


GROUND_TRUTH_CHECKS = {"ca_notifications_differ": "Notifications disagree", "ca_terms_replaced": "Terms changed by a replacement",
                       "ca_election_due": "Elections due", "ca_election_overdue": "Elections overdue", "ca_election_missed": "Elections missed",
                       "ca_short_payment": "Short payments", "ca_event_not_booked": "Events not booked"}


@pytest.fixture(scope="module")
def daily(sample_store, funds):
    from bo_lib.corporate_actions.inputs import gather_corporate_actions
    from bo_lib.data.catalogue import Catalogue

    return {(code, day): ctl.assess(gather_corporate_actions(sample_store, funds[code], day))
            for day in Catalogue(sample_store).business_dates() for code in sorted(funds)}


def test_every_seeded_corporate_action_exception_is_found_on_every_date_it_lives_and_nothing_else(daily, ground_truth):
    seeded = [e for e in ground_truth["exceptions"] if e["area"] == "corporate_actions"]
    assert {e["type"] for e in seeded} == set(GROUND_TRUTH_CHECKS)
    expected = {(day, code, GROUND_TRUTH_CHECKS[e["type"]], e["event_id"]) for (code, day) in daily for e in seeded
                if e["fund"] == code and e["first_date"] <= day.isoformat() <= e["last_date"]}
    found = {(day, code, item.check, item.event_id) for (code, day), result in daily.items() for item in result.items.itertuples()}
    assert found - expected == set(), "reported but not seeded"
    assert expected - found == set(), "seeded but not found"
    assert len(expected) == 35  # 9 stories, each on every date it lives (written out in the ground truth)


def test_the_final_date_exceptions_per_fund(daily):
    counts = {code: dict(zip(daily[(code, FINAL)].summary["check"], daily[(code, FINAL)].summary["count"])) for code in ("USEQ", "GLBD", "MAHF")}
    assert {c: {k: n for k, n in v.items() if n} for c, v in counts.items()} == {
        "USEQ": {"Elections overdue": 1, "Events not booked": 1, "Terms changed by a replacement": 1},
        "GLBD": {},
        "MAHF": {"Notifications disagree": 1, "Elections missed": 1, "Short payments": 1},
    }
    mahf = daily[("MAHF", FINAL)]
    short = mahf.confirmations.set_index("event_id").loc["CA2026100003"]
    # 109,300 x EUR 1.3344 = 145,849.92; net at the 15% treaty rate 123,972.43; withheld at 26.375%: 107,382.00 paid
    assert (short["entitled_net"], short["posted_net"], short["net_difference"]) == (123972.43, 107382.00, -16590.43)
    assert mahf.key_figures()["short_payment_value"] == 16590.43 and mahf.key_figures()["short_payment_currency"] == "EUR"
    # the books booked the dividend on its ex-date (22 Oct); the events still to come are not booked
    booked = mahf.events.set_index("event_id")["booked_on"]
    assert booked["CA2026100003"] == pd.Timestamp("2026-10-22") and booked[["CA2026120023", "CA2026120024"]].isna().all()
    disputed = mahf.differences.iloc[0]
    assert (disputed["event_id"], disputed["term"]) == ("CA2026120024", "gross_rate") and "4.25" in disputed["values"] and "42.5" in disputed["values"]
    useq = daily[("USEQ", FINAL)]
    overdue = useq.elections.set_index("event_id").loc["CA2026120022"]
    assert (overdue["status"], overdue["internal_deadline"], overdue["market_deadline"], overdue["eligible"]) == (
        "overdue", pd.Timestamp("2026-11-05"), pd.Timestamp("2026-11-10"), 130700.0)
    tender = useq.elections.set_index("event_id").loc["CA2026120023"]
    assert tender["status"] == "instructed"  # USEQ answered the tender (no action) at once
    assert useq.not_booked["event_id"].tolist() == ["CA2026100005"]
    assert useq.changes[["event_id", "term"]].values.tolist() == [["CA2026120021", "pay_date"]]
    assert set(useq.diary["event_id"]) >= {"CA2026120021", "CA2026120022"}


def test_the_bond_fund_s_coupons_are_confirmed_as_entitled(daily):
    glbd = pd.concat([daily[(code, day)].confirmations for (code, day) in daily if code == "GLBD" and day == FINAL])
    # the three coupons of the window: two paid and confirmed as entitled, the third pays on 9 November
    assert glbd.sort_values("pay_date")["status"].tolist() == ["agreed", "agreed", "awaiting"]


def test_a_malformed_message_file_is_held_out_named_and_counted_and_the_rest_is_read(data_copy, funds, tmp_path):
    from bo_lib.corporate_actions.inputs import gather_corporate_actions
    from bo_lib.data.catalogue import Catalogue
    from bo_lib.data.ingest import ingest

    day = dt.date(2026, 11, 3)
    folder = data_copy / "inbound" / day.isoformat() / "messages"
    good = (folder / "ATLT00000021.mt564").read_text()
    assert ":92F::GRSS//USD0,7501" in good
    (folder / "BAD00000001.mt564").write_text(good.replace("ATLT00000021", "BAD00000001").replace("USD0,7501", "USD0.7501"))
    (folder / "BAD00000002.mt564").write_text(good.replace("ATLT00000021", "BAD00000002").replace("SAFE//0012345678", "SAFE//9999999999"))
    store = tmp_path / "workbench.duckdb"
    report = ingest(data_copy, store, funds, dates=[day])
    catalogue = Catalogue(store)
    violations = catalogue.violations(on=day, datasets=("ca_messages",))
    named = sorted((v.file, v.line, v.column, v.rule) for v in violations)
    assert named[0][0] == "inbound/2026-11-03/messages/BAD00000001.mt564" and named[0][2] == ":92F::GRSS" and "comma" in named[0][3]
    assert named[1] == ("inbound/2026-11-03/messages/BAD00000002.mt564", 1, ":97A::SAFE", "safekeeping account belongs to no fund in the parameters")
    assert report.violations >= 2
    held = {r["path"].rsplit("/", 1)[-1]: (r["rows"], r["held_out_rows"]) for r in report.new if r["dataset"] == "ca_messages"}
    assert held == {"ATLT00000021.mt564": (1, 0), "BAD00000001.mt564": (1, 1), "BAD00000002.mt564": (1, 1)}
    read = catalogue.ca_messages(fund="USEQ", on=day)
    assert read["sender_reference"].tolist() == ["ATLT00000021"]  # the good message is read, the broken ones are not
    result = ctl.assess(gather_corporate_actions(store, funds["USEQ"], day))
    line = result.summary.set_index("check").loc["Message files held out"]
    # the dot decimal is USEQ's (its account); the account of no fund is everybody's to see
    assert (line["rag"], line["count"]) == (RED, 2) and "BAD00000001.mt564" in line["detail"] and "BAD00000002.mt564" in line["detail"]
