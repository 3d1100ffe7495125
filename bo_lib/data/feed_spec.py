"""The inbound feed specification, written from the contracts themselves.

``docs/feed-spec.md`` (every dataset, every column with its type, whether it is required, its
allowed values, bounds, format and references) and the summary table in the README are produced
by :func:`feed_spec_markdown` and :func:`feed_summary_markdown`; ``tools/write_feed_docs.py`` rewrites them
and a test fails when either is stale, so the page a sender reads is the rule the loader applies.
"""

from __future__ import annotations

from pathlib import Path

from bo_lib.data.contracts import CONTRACTS, Column, Contract
from bo_lib.data.loaders import DEFAULT_MAX_ABS
from bo_lib.data.layout import INBOUND_FILES, MANUAL_FILES, OPENING_FILES, REFERENCE_FILES

_KIND = {"str": "text", "float": "number", "int": "whole number", "date": "date YYYY-MM-DD", "bool": "true / false"}
_CHECK = {"isin": "ISIN (check digit)", "cusip": "CUSIP (check digit)", "lei": "LEI (ISO 17442 check digits)", "bic": "BIC format",
          "currency": "ISO 4217 currency in use", "country": "ISO 3166 country (or XS)"}
_ROW_RULES = {
    "bond_terms": "a bond needs coupon_rate, coupon_frequency, day_count and maturity_date",
    "option_terms": "an option needs underlying_id, put_call and expiry_date",
    "isin_or_option": "every security except an option needs an isin",
    "settles_after_trade": "settlement_date is not before trade_date",
    "failing_has_reason": "a failing instruction (PENF or PART) needs a reason_code",
    "event_terms": "DVCA, INTR and CAPD need gross_rate; SPLF, SPLR, DVSE and BONU need ratio_new and ratio_old",
}

#: dataset -> (folder under the data root, file name)
def _locations() -> dict[str, str]:
    where = {name: f"reference/{file}" for name, file in REFERENCE_FILES.items()}
    where |= {name: file for name, file in MANUAL_FILES.items()}
    where |= {name: f"opening/<date>/{file}" for name, file in OPENING_FILES.items()}
    where |= {name: f"inbound/<date>/{file}" for name, file in INBOUND_FILES.items()}
    return where


_SECTIONS = (("Reference and manual files", REFERENCE_FILES.keys() | MANUAL_FILES.keys()),
             ("Opening files (the quarter-end book)", OPENING_FILES.keys()),
             ("Daily files", INBOUND_FILES.keys()))


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def column_rule(column: Column, contract: Contract) -> str:
    """What a value of the column must be, in words."""
    parts = []
    if column.allowed is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in column.allowed))
    if column.min_value is not None:
        parts.append(f"{'>' if column.exclusive_min else '≥'} {_number(column.min_value)}")
    if column.kind in ("float", "int"):
        parts.append(f"finite, at most {_number(column.max_abs if column.max_abs is not None else DEFAULT_MAX_ABS)} in magnitude")
    if column.check:
        parts.append(_CHECK.get(column.check, column.check))
    if column.pattern:
        parts.append(f"matches `{column.pattern}`")
    for reference in contract.references:
        if reference.column == column.name:
            parts.append(f"must exist in {reference.dataset}.{reference.target}")
    if contract.date_column == column.name:
        parts.append("= the folder's business date" if contract.date_rule == "equal" else "not after the folder's business date")
    return "; ".join(parts)


def _belongs(contract: Contract) -> str:
    if contract.fund_column:
        return f"the fund named in `{contract.fund_column}`"
    if contract.account_column:
        return f"the fund owning `{contract.account_column}`"
    return "every fund"


def dataset_markdown(contract: Contract, location: str) -> str:
    lines = [f"### {contract.name} — `{location}`", ""]
    if contract.description:
        lines += [contract.description[0].upper() + contract.description[1:] + ".", ""]
    lines += [f"Key: {', '.join(f'`{k}`' for k in contract.key)} (a key given twice holds every occurrence out). "
              f"Rows belong to {_belongs(contract)}.", ""]
    lines += ["| column | type | required | rule |", "|---|---|---|---|"]
    for column in contract.columns:
        lines.append(f"| `{column.name}` | {_KIND.get(column.kind, column.kind)} | {'yes' if column.required else 'no (may be blank)'} | "
                     f"{column_rule(column, contract).replace('|', '&#124;')} |")
    rules = [_ROW_RULES.get(rule, rule) for rule in contract.rules]
    if rules:
        lines += ["", "Row rules: " + "; ".join(rules) + "."]
    return "\n".join(lines)


def feed_spec_markdown() -> str:
    """``docs/feed-spec.md``: every dataset's contract."""
    where = _locations()
    out = ["# Inbound feed specification", "",
           "Generated from `bo_lib/data/contracts.py` by `tools/write_feed_docs.py` (a test fails when this page is stale): the rules",
           "below are the ones the loader applies. Every file is UTF-8 CSV with a header line; columns are matched by name;",
           "a row breaking a rule is held out and reported with file, line, column and rule. `docs/feeds.md` explains who",
           "sends each file and what the workbench does with it; bank statements (MT940, camt.053) are described there.", ""]
    for title, names in _SECTIONS:
        out += [f"## {title}", ""]
        for name in sorted(names, key=lambda n: list(where).index(n)):
            out += [dataset_markdown(CONTRACTS[name], where[name]), ""]
    return "\n".join(out).rstrip() + "\n"


def feed_summary_markdown() -> str:
    """The README's table of datasets (one line each)."""
    where = _locations()
    lines = ["| dataset | file under the data root | key | rows belong to | columns (required) |", "|---|---|---|---|---|"]
    for _title, names in _SECTIONS:
        for name in sorted(names, key=lambda n: list(where).index(n)):
            c = CONTRACTS[name]
            lines.append(f"| {name} | `{where[name]}` | {', '.join(c.key)} | {_belongs(c)} | "
                         f"{len(c.columns)} ({sum(col.required for col in c.columns)}) |")
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- feed-summary:begin (generated by `tools/write_feed_docs.py`) -->"
README_END = "<!-- feed-summary:end -->"


def readme_with_summary(readme: str) -> str:
    """The README with its generated feed summary replaced by the current one."""
    start, end = readme.index(README_BEGIN) + len(README_BEGIN), readme.index(README_END)
    return readme[:start] + "\n" + feed_summary_markdown() + readme[end:]


def write_feed_docs(repo: Path) -> list[Path]:
    """Rewrite ``docs/feed-spec.md`` and the README's summary; returns the files changed."""
    changed = []
    spec = Path(repo) / "docs" / "feed-spec.md"
    if not spec.exists() or spec.read_text(encoding="utf-8") != feed_spec_markdown():
        spec.write_text(feed_spec_markdown(), encoding="utf-8")
        changed.append(spec)
    readme = Path(repo) / "README.md"
    text = readme.read_text(encoding="utf-8")
    if readme_with_summary(text) != text:
        readme.write_text(readme_with_summary(text), encoding="utf-8")
        changed.append(readme)
    return changed
