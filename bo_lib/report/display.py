"""HTML (with a plain-text twin) for run headers, red/amber/green summaries and tables.

Report tables (``show_table``) are plain HTML tables of class ``bo-table``; one with more than
``INTERACTIVE_ROWS`` rows is also marked ``bo-interactive``, which the archived page (``pipeline.html``)
turns into a DataTable (sort, search, paging). Numeric cells carry their raw value in ``data-order``
so they sort as numbers. A wide table scrolls inside its own box, text cells wrap, and the column
that explains a row (``EXPLAINING_COLUMNS``) comes right after the columns that name it.

``archive_tables_to(folder)`` (called by a notebook's setup with its ``output_dir``) makes every
titled, non-empty table also write its full frame as ``<folder>/tables/<slug>.csv``, linked from
under the table; without it (interactive use) nothing is written.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from pathlib import Path

import pandas as pd

from bo_lib.money import amount_text
from bo_lib.version import code_version

RAG_COLOURS = {"red": "#c62828", "amber": "#ef8f00", "green": "#2e7d32"}
RAG_ORDER = {"red": 0, "amber": 1, "green": 2}
INTERACTIVE_ROWS = 15  # a table with more rows than this is sortable/searchable in the archived page
#: rows an interactive table carries into the page (paged by DataTables), so that sorting and search
#: cover the whole table, not its first ``max_rows``; beyond this, the note says they cover only these
INTERACTIVE_MAX_ROWS = 5000
WIDE_COLUMNS = 6  # a table with more columns than this gets its explaining column moved forward
STATUS_COLUMNS = ("rag", "status", "state")  # say how a row stands
EXPLAINING_COLUMNS = ("detail", "reason", "rule", "explanation", "note", "notes")  # say why, in words
_CSS = """<style>
.bo-table{border-collapse:collapse;font:13px/1.35 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:4px 0 12px}
.bo-table th{background:#eef1f5;text-align:left !important;padding:4px 8px;border-bottom:2px solid #c9d1db;white-space:nowrap}
.bo-table td{padding:3px 8px;border-bottom:1px solid #e3e7ec;vertical-align:top;text-align:left !important}
.bo-table td.num{text-align:right !important;font-variant-numeric:tabular-nums;white-space:nowrap}
.bo-rag{display:inline-block;min-width:52px;text-align:center;color:#fff;border-radius:3px;padding:1px 6px;font-weight:600;font-size:12px}
.bo-caption{font-weight:600;margin:10px 0 2px}
.bo-note{color:#555;font-size:12px;margin:2px 0 10px}
</style>"""
# for frame_html's tables, a block of its own: _CSS stays as the notebooks' checked outputs hold it
_TABLE_CSS = """<style>
.bo-table-wrap{overflow-x:auto;max-width:100%}
.bo-table-wrap .bo-table td{white-space:normal;max-width:32em;overflow-wrap:anywhere}
.bo-table-wrap .bo-table td.num{white-space:nowrap;overflow-wrap:normal}
</style>"""

_archive_folder: Path | None = None
_archive_href: str = ""
_slugs_used: set[str] = set()


def archive_tables_to(folder: Path | str | None, href: str | None = None) -> None:
    """From now on, every titled non-empty ``show_table`` also writes its full frame to
    ``<folder>/tables/<slug>.csv`` and links it under the table; ``None`` (or ``""``) stops that.

    ``href``: how the report page reaches ``folder`` (default: the folder's name, i.e. the page sits
    beside it, as ``<FUND>/<notebook>.html`` beside ``<FUND>/<notebook>_files/`` in a run)."""
    global _archive_folder, _archive_href
    _slugs_used.clear()
    if not folder:
        _archive_folder, _archive_href = None, ""
        return
    _archive_folder = Path(folder)
    _archive_href = (href if href is not None else _archive_folder.name).rstrip("/")


def _slug(title: str) -> str:
    """A file name from a title, unique among the tables archived since ``archive_tables_to``."""
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-") or "table"
    slug, n = base, 1
    while slug in _slugs_used:
        n += 1
        slug = f"{base}-{n}"
    _slugs_used.add(slug)
    return slug


def _csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Raw values for the CSV: ISO dates, no negative zero."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            out[column] = values + 0.0  # -0.0 + 0.0 == 0.0
        elif pd.api.types.is_object_dtype(values):
            out[column] = values.map(lambda v: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v)
    return out


def _archive_table(frame: pd.DataFrame, title: str) -> str | None:
    """Write the full frame as CSV (when archiving is on); the link's href relative to the page."""
    if _archive_folder is None or not title or frame.empty:
        return None
    slug = _slug(title)
    folder = _archive_folder / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    _csv_frame(frame).to_csv(folder / f"{slug}.csv", index=False, date_format="%Y-%m-%d")
    return f"{_archive_href}/tables/{slug}.csv" if _archive_href else f"tables/{slug}.csv"


def explaining_first(frame: pd.DataFrame) -> pd.DataFrame:
    """A wide frame (more than ``WIDE_COLUMNS`` columns) with its status and explaining columns
    moved to right after the leading columns that name a row (the text columns before the first
    number); a narrow one as it is."""
    if len(frame.columns) <= WIDE_COLUMNS or frame.columns.has_duplicates:
        return frame
    columns = [str(c) for c in frame.columns]
    moved = [c for c in columns if c in STATUS_COLUMNS] + [c for c in columns if c in EXPLAINING_COLUMNS]
    if not any(c in EXPLAINING_COLUMNS for c in moved):
        return frame
    leading = []
    for column in columns:
        values = frame[column]
        if column in moved or (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            break
        leading.append(column)
    order = leading + moved + [c for c in columns if c not in leading and c not in moved]
    return frame[[frame.columns[columns.index(c)] for c in order]]


def _display(html_text: str, plain: str) -> None:
    from IPython.display import display

    css = _CSS + _TABLE_CSS if "bo-table-wrap" in html_text else _CSS
    display({"text/html": css + html_text, "text/plain": plain}, raw=True)


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
        return amount_text(value, places), True
    return str(value), False


def _order_value(value) -> str | None:
    """The raw value a sortable table orders a numeric cell by (``data-order``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return repr(number + 0.0) if math.isfinite(number) else None


def _cell(column, value, decimals: dict[str, int]) -> str:
    if column == "rag":
        order = RAG_ORDER.get(str(value))
        return f'<td data-order="{order}">{rag_badge(value)}</td>' if order is not None else f"<td>{rag_badge(value)}</td>"
    text, numeric = _format_value(value, column, decimals)
    if not numeric:
        return f"<td>{html.escape(text)}</td>"
    order = _order_value(value)
    return f'<td class="num" data-order="{order}">{html.escape(text)}</td>' if order else f'<td class="num">{html.escape(text)}</td>'


def _is_numeric_column(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def frame_html(frame: pd.DataFrame, decimals: dict[str, int] | None = None, max_rows: int = 200, *,
               interactive: bool = False, full_href: str | None = None) -> str:
    """The first ``max_rows`` rows as a ``bo-table`` in its own scrolling box. ``interactive``: mark
    it for DataTables in the archived page; ``full_href``: where the full table is (CSV), said under
    the table and in the note when rows are cut."""
    decimals = decimals or {}
    if interactive and len(frame) > INTERACTIVE_ROWS:
        max_rows = max(max_rows, INTERACTIVE_MAX_ROWS)
    shown = frame.head(max_rows)
    head = "".join(f'<th class="num">{html.escape(str(c))}</th>' if _is_numeric_column(shown.iloc[:, i]) else f"<th>{html.escape(str(c))}</th>"
                   for i, c in enumerate(shown.columns))
    body = ["<tr>" + "".join(_cell(column, value, decimals) for column, value in zip(shown.columns, row)) + "</tr>"
            for row in shown.itertuples(index=False)]
    link = (f'<a href="{html.escape(full_href)}">all {len(frame):,} rows as CSV</a>' if full_href else "")
    if len(frame) > max_rows:
        where = f"; {link}" if link else " (the full table is archived as CSV in a scheduled run)"
        searched = f"; sorting and search cover the first {max_rows:,}" if interactive and len(shown) > INTERACTIVE_ROWS else ""
        more = f'<div class="bo-note">{len(frame) - max_rows:,} more rows not shown{searched}{where}</div>'
    else:
        more = f'<div class="bo-note">{link}</div>' if link else ""
    classes = "bo-table bo-interactive" if interactive and len(shown) > INTERACTIVE_ROWS else "bo-table"
    return (f'<div class="bo-table-wrap"><table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f"{more}")


def _plain_table(frame: pd.DataFrame) -> str:
    """The plain-text twin of a table, with no negative zero (``-0.0`` reads as 0)."""
    numbers = frame.select_dtypes("float")
    if len(numbers.columns):
        frame = frame.assign(**{c: numbers[c].where(numbers[c] != 0, 0.0) for c in numbers.columns})
    return frame.to_string(index=False)


def show_table(frame: pd.DataFrame, title: str = "", note: str = "", decimals: dict[str, int] | None = None, max_rows: int = 200,
               empty: str = "") -> None:
    """A titled table; money to 2 decimals unless ``decimals`` says otherwise, RAG as badges.

    ``empty``: what an empty table says instead of its rows ("none" unless given), the all-clear
    text ("every position agrees"): shown only when there are no rows. ``note``: said under the
    table always (how to read it, whatever it holds). Longer than ``INTERACTIVE_ROWS`` rows: sortable
    and searchable in the archived page. With ``archive_tables_to`` set, a titled table's full frame
    is written as CSV and linked."""
    caption = f'<div class="bo-caption">{html.escape(title)}</div>' if title else ""
    note_html = f'<div class="bo-note">{html.escape(note)}</div>' if note else ""
    if frame.empty:
        said = empty or "none"
        plain = f"{title}: {said}" if title else said
        _display(caption + f'<div class="bo-note">{html.escape(said)}</div>' + note_html, plain + (f"\n{note}" if note else ""))
        return
    full_href = _archive_table(frame, title)
    # the plain-text twin (what nbval compares) keeps the frame's own column order
    text = _plain_table(frame.head(max_rows))
    plain = f"{title}\n{text}" if title else text
    _display(caption + frame_html(explaining_first(frame), decimals, max_rows, interactive=True, full_href=full_href) + note_html,
             plain + (f"\n{note}" if note else ""))


def show_message(text: str, rag: str | None = None) -> None:
    badge = rag_badge(rag) + " " if rag else ""
    _display(f"<p>{badge}{html.escape(text)}</p>", text)


def show_run_header(title: str, entity: str, entity_name: str, business_date: dt.date, run_id: str, inputs: pd.DataFrame,
                    parameters: dict, previous_date: dt.date | None = None, books: str | None = None, store: str | None = None) -> None:
    """Who, when, with what code and which inputs (with SHA-256 and delivery version) this report
    was produced; ``books``: which closing state of the books it starts from; ``store``: which
    store it read and wrote (an interactive session's scratch copy says so)."""
    facts = [
        ("Report", title), ("Fund / entity", f"{entity} — {entity_name}"), ("Business date", business_date.isoformat()),
        ("Previous delivery", previous_date.isoformat() if previous_date else "none (first date)"), ("Run id", run_id),
        ("Code version", code_version()), ("Generated (UTC)", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in parameters.items())),
    ] + ([("Books", books)] if books else []) + ([("Store", store)] if store else [])
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
