"""HTML (with a plain-text twin) for run headers, red/amber/green summaries and tables."""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from bo_lib.version import code_version

RAG_COLOURS = {"red": "#c62828", "amber": "#ef8f00", "green": "#2e7d32"}
_CSS = """<style>
.bo-table{border-collapse:collapse;font:13px/1.35 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:4px 0 12px}
.bo-table th{background:#eef1f5;text-align:left !important;padding:4px 8px;border-bottom:2px solid #c9d1db;white-space:nowrap}
.bo-table td{padding:3px 8px;border-bottom:1px solid #e3e7ec;vertical-align:top;text-align:left !important}
.bo-table td.num{text-align:right !important;font-variant-numeric:tabular-nums;white-space:nowrap}
.bo-rag{display:inline-block;min-width:52px;text-align:center;color:#fff;border-radius:3px;padding:1px 6px;font-weight:600;font-size:12px}
.bo-caption{font-weight:600;margin:10px 0 2px}
.bo-note{color:#555;font-size:12px;margin:2px 0 10px}
</style>"""


def _display(html_text: str, plain: str) -> None:
    from IPython.display import display

    display({"text/html": _CSS + html_text, "text/plain": plain}, raw=True)


def rag_badge(rag: str) -> str:
    colour = RAG_COLOURS.get(str(rag), "#607d8b")
    return f'<span class="bo-rag" style="background:{colour}">{html.escape(str(rag).upper())}</span>'


def _format_value(value, column: str, decimals: dict[str, int]) -> tuple[str, bool]:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "", False
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M"), False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int) or (hasattr(value, "dtype") and "int" in str(getattr(value, "dtype", ""))):
        return f"{int(value):,}", True
    if isinstance(value, float):
        places = decimals.get(column, 0 if float(value).is_integer() and column in ("quantity", "rows") else 2)
        return f"{value:,.{places}f}", True
    return str(value), False


def frame_html(frame: pd.DataFrame, decimals: dict[str, int] | None = None, max_rows: int = 200) -> str:
    decimals = decimals or {}
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for column, value in zip(shown.columns, row):
            if column == "rag":
                cells.append(f"<td>{rag_badge(value)}</td>")
                continue
            text, numeric = _format_value(value, column, decimals)
            cells.append(f'<td class="num">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<div class="bo-note">{len(frame) - max_rows:,} more rows not shown (see the notebook data)</div>' if len(frame) > max_rows else ""
    return f'<table class="bo-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


def show_table(frame: pd.DataFrame, title: str = "", note: str = "", decimals: dict[str, int] | None = None, max_rows: int = 200,
               empty: str = "") -> None:
    """A titled table; money to 2 decimals unless ``decimals`` says otherwise, RAG as badges.

    ``empty``: what an empty table says instead of its rows ("none" unless given), the all-clear
    text ("every position agrees"): shown only when there are no rows. ``note``: said under the
    table always (how to read it, whatever it holds)."""
    caption = f'<div class="bo-caption">{html.escape(title)}</div>' if title else ""
    note_html = f'<div class="bo-note">{html.escape(note)}</div>' if note else ""
    if frame.empty:
        said = empty or "none"
        plain = f"{title}: {said}" if title else said
        _display(caption + f'<div class="bo-note">{html.escape(said)}</div>' + note_html, plain + (f"\n{note}" if note else ""))
        return
    plain = f"{title}\n{frame.head(max_rows).to_string(index=False)}" if title else frame.head(max_rows).to_string(index=False)
    _display(caption + frame_html(frame, decimals, max_rows) + note_html, plain + (f"\n{note}" if note else ""))


def show_message(text: str, rag: str | None = None) -> None:
    badge = rag_badge(rag) + " " if rag else ""
    _display(f"<p>{badge}{html.escape(text)}</p>", text)


def show_run_header(title: str, entity: str, entity_name: str, business_date: dt.date, run_id: str, inputs: pd.DataFrame,
                    parameters: dict, previous_date: dt.date | None = None, books: str | None = None) -> None:
    """Who, when, with what code and which inputs (with SHA-256 and delivery version) this report
    was produced; ``books``: which closing state of the books it starts from."""
    facts = [
        ("Report", title), ("Fund / entity", f"{entity} — {entity_name}"), ("Business date", business_date.isoformat()),
        ("Previous delivery", previous_date.isoformat() if previous_date else "none (first date)"), ("Run id", run_id),
        ("Code version", code_version()), ("Generated (UTC)", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in parameters.items())),
    ] + ([("Books", books)] if books else [])
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts)
    files = inputs.assign(sha256=inputs["sha256"].str[:16] + "…")
    total = f"{len(inputs)} input files, {int(inputs['size_bytes'].sum()):,} bytes" if len(inputs) else "no input files found"
    html_text = (f'<table class="bo-table">{rows}</table><details><summary>{html.escape(total)} (SHA-256)</summary>'
                 f"{frame_html(files[[c for c in ('dataset', 'path', 'version', 'size_bytes', 'sha256') if c in files]], max_rows=500)}</details>")
    plain = "\n".join(f"{k}: {v}" for k, v in facts) + f"\n{total}"
    _display(html_text, plain)


def show_exceptions(summary_table: pd.DataFrame, title: str = "Exceptions") -> None:
    """Red/amber/green summary, worst first. The plain-text twin is what nbval checks."""
    counts = summary_table["rag"].value_counts()
    headline = ", ".join(f"{counts.get(r, 0)} {r}" for r in ("red", "amber", "green"))
    rows = "".join(
        f"<tr><td>{rag_badge(r.rag)}</td><td><b>{html.escape(r.check)}</b></td><td class='num'>{r.count:,}</td><td>{html.escape(r.detail)}</td></tr>"
        for r in summary_table.itertuples())
    html_text = (f'<div class="bo-caption">{html.escape(title)}: {headline}</div>'
                 f'<table class="bo-table"><thead><tr><th>status</th><th>check</th><th>count</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>')
    plain = f"{title}: {headline}\n" + "\n".join(f"{r.rag.upper():5}  {r.check} [{r.count}]: {r.detail}" for r in summary_table.itertuples())
    _display(html_text, plain)
