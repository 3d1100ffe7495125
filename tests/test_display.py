"""What a report table says: its rows, or its all-clear text when it has none (never both), and
the note that reads it in either case."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from bo_lib.report import display


@pytest.fixture
def shown(monkeypatch) -> list[tuple[str, str]]:
    """Every (html, plain text) a report cell would display."""
    out: list[tuple[str, str]] = []
    monkeypatch.setattr(display, "_display", lambda html_text, plain: out.append((html_text, plain)))
    return out


BREAKS = pd.DataFrame({"isin": ["US2095851083", "US4201171034"], "quantity_diff": [-250.0, 12.0], "rag": ["red", "red"]})


def test_a_table_with_rows_shows_them_and_never_its_all_clear_text(shown):
    display.show_table(BREAKS, "Position breaks", note="custodian minus books", empty="every position agrees")
    html_text, plain = shown[-1]
    assert "every position agrees" not in html_text and "every position agrees" not in plain
    assert "US2095851083" in html_text and "US4201171034" in plain and "-250.00" in html_text
    assert "custodian minus books" in html_text and plain.endswith("custodian minus books")  # the note reads the rows
    assert "<table" in html_text and ">none<" not in html_text


def test_an_empty_table_says_its_all_clear_text_and_the_note(shown):
    display.show_table(BREAKS.iloc[0:0], "Position breaks", note="custodian minus books", empty="every position agrees")
    html_text, plain = shown[-1]
    assert "<table" not in html_text
    assert '<div class="bo-note">every position agrees</div>' in html_text and "custodian minus books" in html_text
    assert plain == "Position breaks: every position agrees\ncustodian minus books"


def test_an_empty_table_without_its_own_text_says_none(shown):
    display.show_table(BREAKS.iloc[0:0], "Fails by reason")
    html_text, plain = shown[-1]
    assert plain == "Fails by reason: none" and '<div class="bo-note">none</div>' in html_text


def test_no_notebook_puts_an_all_clear_text_in_the_always_shown_note():
    """Every all-clear text of the notebooks goes to ``empty=``: a ``note=`` is shown under rows too."""
    import ast
    from pathlib import Path

    clear = ("no ", "none", "every ", "empty", "nothing")
    for path in sorted((Path(__file__).resolve().parents[1] / "tools" / "notebooks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "show_table(" in node.value:
                for call in ast.walk(ast.parse(node.value)):
                    if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "show_table":
                        for kw in call.keywords:
                            if kw.arg == "note" and isinstance(kw.value, ast.Constant):
                                assert not str(kw.value.value).lower().startswith(clear), (path.name, kw.value.value)


@pytest.mark.parametrize(("value", "places", "text"), [(-0.0, 2, "0.00"), (-0.0001, 2, "0.00"), (-0.004, 2, "0.00"),
                                                     (np.float64(-0.0), 2, "0.00"), (-0.4, 0, "0"), (-0.0001, 4, "-0.0001")])
def test_no_negative_zero(value, places, text):
    assert display._format_value(value, "amount", {"amount": places}) == (text, True)


def test_negative_numbers_keep_their_sign():
    assert display._format_value(-1234.5, "amount", {}) == ("-1,234.50", True)
    assert display._format_value(-0.006, "amount", {}) == ("-0.01", True)


WIDE = pd.DataFrame({"security_id": ["S1"], "name": ["Acme"], "quantity": [10.0], "price": [1.5], "previous_price": [1.4],
                     "move_pct": [7.1], "rag": ["amber"], "detail": ["price moved more than 5%"]})


def test_a_wide_table_shows_its_explaining_column_after_the_identifying_ones(shown):
    assert list(display.explaining_first(WIDE).columns) == ["security_id", "name", "rag", "detail", "quantity", "price",
                                                            "previous_price", "move_pct"]
    display.show_table(WIDE, "Price moves")
    html_text, plain = shown[-1]
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", html_text)
    assert heads[:4] == ["security_id", "name", "rag", "detail"]
    assert plain.splitlines()[1].split()[-1] == "detail"  # the plain twin keeps the frame's order
    assert '<div class="bo-table-wrap">' in html_text  # a wide table scrolls in its own box; text cells wrap
    assert ".bo-table-wrap{overflow-x:auto" in display._TABLE_CSS and "white-space:normal;max-width:32em" in display._TABLE_CSS


def test_a_narrow_table_keeps_its_order():
    frame = pd.DataFrame({"check": ["x"], "rag": ["red"], "count": [1], "detail": ["y"]})
    assert list(display.explaining_first(frame).columns) == ["check", "rag", "count", "detail"]


def test_long_tables_are_marked_interactive_with_raw_sort_values(shown):
    long = pd.DataFrame({"isin": [f"X{i:02d}" for i in range(16)], "amount": [-1000.5 * i for i in range(16)],
                         "rag": ["red", "green"] * 8})
    display.show_table(long.head(15), "Fifteen")
    assert "bo-interactive" not in shown[-1][0]  # a small table stays plain
    display.show_table(long, "Sixteen")
    html_text = shown[-1][0]
    assert '<table class="bo-table bo-interactive">' in html_text
    assert '<th class="num">amount</th>' in html_text
    assert '<td class="num" data-order="-15007.5">-15,007.50</td>' in html_text
    assert '<td data-order="0"><span class="bo-rag"' in html_text  # red sorts before amber and green


def test_without_an_archive_folder_nothing_is_written_and_the_note_says_so(shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    display.archive_tables_to(None)
    display.show_table(pd.DataFrame({"n": range(5050)}), "Many")
    assert list(tmp_path.iterdir()) == []
    # an interactive table carries up to 5,000 rows into the page, so sorting and search cover them
    assert ("50 more rows not shown; sorting and search cover the first 5,000 (the full table is archived as CSV in a scheduled run)"
            in shown[-1][0])
    assert shown[-1][0].count("<tr>") == 1 + 5000


def test_archived_tables_write_every_row_as_csv_and_link_it(shown, tmp_path):
    folder = tmp_path / "USEQ" / "nav_files"
    display.archive_tables_to(folder)
    try:
        frame = pd.DataFrame({"trade_id": [f"T{i}" for i in range(1234)], "amount": [1234.5] * 1233 + [-0.0],
                              "trade_date": pd.to_datetime(["2026-11-06"] * 1234), "settle": [dt.date(2026, 11, 9)] * 1234})
        display.show_table(frame, "Open trades: USEQ / 2026-11-06")
        display.show_table(frame.head(3), "Open trades: USEQ / 2026-11-06")  # the same title again gets its own file
        display.show_table(frame.head(3))  # untitled: not archived
        display.show_table(frame.iloc[0:0], "Nothing")  # empty: not archived
    finally:
        display.archive_tables_to(None)
    files = sorted(p.name for p in (folder / "tables").iterdir())
    assert files == ["open-trades-useq-2026-11-06-2.csv", "open-trades-useq-2026-11-06.csv"]
    lines = (folder / "tables" / "open-trades-useq-2026-11-06.csv").read_text().splitlines()
    assert lines[0] == "trade_id,amount,trade_date,settle" and len(lines) == 1235
    assert lines[1] == "T0,1234.5,2026-11-06,2026-11-09" and lines[-1] == "T1233,0.0,2026-11-06,2026-11-09"
    html_text = shown[0][0]
    # every row in the page (sortable, searchable), and the CSV linked under the table
    assert '<div class="bo-note"><a href="nav_files/tables/open-trades-useq-2026-11-06.csv">all 1,234 rows as CSV</a></div>' in html_text
    assert html_text.count("<tr>") == 1 + 1234
    assert '<a href="nav_files/tables/open-trades-useq-2026-11-06-2.csv">all 3 rows as CSV</a>' in shown[1][0]
    # the link resolves from the page's folder (<run dir>/<FUND>/nav.html)
    assert (tmp_path / "USEQ" / "nav_files/tables/open-trades-useq-2026-11-06.csv").is_file()
