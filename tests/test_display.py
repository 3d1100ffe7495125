"""What a report table says: its rows, or its all-clear text when it has none (never both), and
the note that reads it in either case."""

from __future__ import annotations

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
