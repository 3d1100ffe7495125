"""The feed specification a sender reads is generated from the contracts the loader applies:
docs/feed-spec.md and the README's summary must match the contracts (rewrite them with
tools/write_feed_docs.py)."""

from __future__ import annotations

from pathlib import Path

from bo_lib.data.contracts import CONTRACTS
from bo_lib.data.feed_spec import column_rule, feed_spec_markdown, readme_with_summary

ROOT = Path(__file__).resolve().parent.parent


def test_feed_spec_page_is_current():
    page = (ROOT / "docs" / "feed-spec.md").read_text(encoding="utf-8")
    assert page == feed_spec_markdown(), "docs/feed-spec.md is stale: run tools/write_feed_docs.py"


def test_readme_feed_summary_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_summary(readme), "the README's feed summary is stale: run tools/write_feed_docs.py"


def test_every_contract_and_column_is_specified():
    page = feed_spec_markdown()
    for name, contract in CONTRACTS.items():
        assert f"### {name} — " in page
        for column in contract.columns:
            assert f"| `{column.name}` |" in page


def test_rules_read_as_the_loader_applies_them():
    trades = CONTRACTS["trades"]
    rules = {c.name: column_rule(c, trades) for c in trades.columns}
    assert rules["side"] == "one of `BUY`, `SELL`"
    assert rules["trade_date"] == "= the folder's business date"
    assert "must exist in securities.security_id" in rules["security_id"]
    assert rules["quantity"].startswith("> 0")
    confirms = {c.name: column_rule(c, CONTRACTS["broker_confirms"]) for c in CONTRACTS["broker_confirms"].columns}
    assert confirms["trade_date"] == "not after the folder's business date"
