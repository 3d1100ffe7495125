"""``bo inspect FILE``: what the workbench reads from one delivered file, with its violations
(``bo_lib.data.inspect``). Exit 0 when the file has no violation, 1 when it has some (every one is
printed), 2 for a file of no known kind or a bad option, 3 for a file that cannot be read."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_ROWS = 20


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``bo inspect`` to ``bo``."""
    inspect = commands.add_parser(
        "inspect", help="what the workbench reads from one delivered file (CSV, MT940, camt.053, MT564/565/566), with its violations",
        description="Tell a file's kind (by content, then name), read it as the daily run does (its contract, the reference data "
                    "of the data root it is in, the fund parameters) and print its header (format, dataset, SHA-256, size, rows "
                    "read and held out), a summary, every violation (file, line, column, rule, value) and the first rows. "
                    "Exit 0 no violation, 1 violations found, 2 a file of no known kind, 3 a file that cannot be read.")
    inspect.add_argument("file", help="the file: a dataset CSV, a bank statement (.mt940, .camt053.xml) or corporate-action messages")
    inspect.add_argument("--json", action="store_true", help="one JSON object on stdout (header, summary, violations, rows as records)")
    inspect.add_argument("--data-root", metavar="DIR",
                         help="the data root whose reference data the file is checked against (default: the nearest folder above "
                              "the file holding reference/ and inbound/)")
    inspect.add_argument("--parameters", metavar="DIR",
                         help="the fund parameters (default: parameters/ if present, else the data root's ../parameters; none: "
                              "accounts and funds are not checked)")
    inspect.add_argument("--dataset", help="the dataset of a CSV whose name and folder do not tell it (e.g. trades)")
    inspect.add_argument("--rows", type=int, default=DEFAULT_ROWS, metavar="N", help=f"show the first N rows (default {DEFAULT_ROWS})")
    inspect.add_argument("--all", action="store_true", help="show every row")
    inspect.set_defaults(handler=_cmd_inspect)


def _parameters_dir(given: str | None, data_root: Path | None) -> Path | None:
    """``--parameters``; else ``parameters/`` of the current folder; else the data root's sibling ``parameters/``."""
    if given:
        folder = Path(given)
        if not (folder / "funds").is_dir():
            raise ValueError(f"--parameters: {folder} has no funds/ folder")
        return folder
    candidates = [Path("parameters")] + ([data_root.parent / "parameters"] if data_root is not None else [])
    return next((folder for folder in candidates if (folder / "funds").is_dir()), None)


def _cmd_inspect(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.cli import EXIT_FAILED, EXIT_OK, _error
    from bo_lib.data.inspect import UnknownFileKind, find_data_root, inspect_file, to_json_dict
    from bo_lib.parameters import load_funds

    if args.rows < 0:
        return _error(f"--rows: {args.rows} is negative")
    path = Path(args.file)
    if args.data_root:
        data_root = Path(args.data_root)
        if not data_root.is_dir():
            return _error(f"--data-root: {data_root} is not a folder")
    else:
        data_root = find_data_root(path)
    parameters = _parameters_dir(args.parameters, data_root)
    funds = load_funds(parameters) if parameters is not None else None
    try:
        inspection = inspect_file(path, data_root, funds, dataset=args.dataset)
    except UnknownFileKind as exc:
        return _error(str(exc))
    limit = None if args.all else args.rows
    if args.json:
        document = to_json_dict(inspection, limit)
        document["parameters"] = str(Path(parameters).resolve()) if parameters is not None else None
        json.dump(document, sys.stdout, indent=1, allow_nan=False)
        print()
    else:
        for line in inspection_lines(inspection, limit, parameters):
            print(line)
    return EXIT_FAILED if inspection.violations else EXIT_OK


def inspection_lines(inspection, rows: int | None = DEFAULT_ROWS, parameters: Path | None = None) -> list[str]:
    """The text ``bo inspect`` prints: header, summary, every violation, then the first ``rows`` rows (None: all)."""
    from bo_lib.pipeline.index import plural

    width = 12
    header = [("file", inspection.label), ("path", str(Path(inspection.path).resolve()))]
    if inspection.data_root is not None:
        header.append(("data root", str(Path(inspection.data_root).resolve())))
    if parameters is not None:
        header.append(("parameters", str(Path(parameters).resolve())))
    header += [
        ("format", inspection.format),
        ("dataset", inspection.dataset),
        ("SHA-256", inspection.sha256),
        ("size", f"{inspection.size_bytes:,} bytes"),
        ("rows", f"{inspection.rows_in_file} in the file, {inspection.rows_read} read, {inspection.held_out} held out"),
        ("violations", str(len(inspection.violations))),
    ]
    lines = [f"{label + ':':<{width}} {value}" for label, value in header]
    if inspection.summary:
        lines += ["", "summary:"]
        label_width = max(len(label) for label, _ in inspection.summary) + 1
        lines += [f"  {label + ':':<{label_width}} {value}" for label, value in inspection.summary]
    if inspection.violations:
        lines += ["", f"violations ({len(inspection.violations)}):"]
        lines += _table([{"file": v.file, "line": "" if v.line is None else str(v.line), "column": v.column or "", "rule": v.rule,
                          "value": "" if v.value is None else repr(v.value), "fund": v.fund or ""} for v in inspection.violations])
    if inspection.statements is not None and len(inspection.statements):
        lines += ["", f"{plural(len(inspection.statements), 'statement')}:"]
        lines += _frame_table(inspection.statements)
    frame = inspection.rows
    if rows != 0:
        shown = frame if rows is None else frame.head(rows)
        what = "entries" if inspection.dataset == "statement" else "rows"
        count = f"all {len(frame)}" if len(shown) == len(frame) else f"first {len(shown)} of {len(frame)}"
        lines += ["", f"{what} ({count}{'' if len(shown) == len(frame) else '; --rows N or --all for more'}):"]
        first = [c for c in ("source_line", "held_out") if c in shown.columns]
        ordered = shown[first + [c for c in shown.columns if c not in first]]
        if not len(shown):
            lines.append("  (none)")
        elif inspection.dataset == "ca_messages" and len(shown) <= RECORD_VIEW_ROWS:
            lines += _record_lines(ordered)
        else:
            lines += _frame_table(ordered)
    return lines


#: a message's few options of many fields read better one field per line, empty fields left out
RECORD_VIEW_ROWS = 5


def _record_lines(frame) -> list[str]:
    from bo_lib.data.inspect import printable_frame

    text = printable_frame(frame)
    width = max(len(str(c)) for c in text.columns) + 1
    lines = []
    for number, (_i, row) in enumerate(text.iterrows(), start=1):
        lines.append(f"  [{number}]")
        lines += [f"    {str(column) + ':':<{width}} {value}" for column, value in row.items() if value != ""]
    return lines


def _frame_table(frame) -> list[str]:
    from bo_lib.data.inspect import printable_frame

    text = printable_frame(frame)
    return _table(text.to_dict(orient="records"), [str(c) for c in text.columns])


def _table(records: list[dict], columns: list[str] | None = None) -> list[str]:
    """A fixed-width text table, two spaces between columns, nothing cut; numbers right-aligned."""
    if columns is None:
        columns = list(records[0]) if records else []
    cells = [[str(record.get(column, "")) for column in columns] for record in records]
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]
    numeric = [bool(cells) and all(_looks_numeric(row[i]) for row in cells) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  " + "  ".join(value.rjust(w) if right else value.ljust(w) for value, w, right in zip(values, widths, numeric)).rstrip()

    return [line(columns)] + [line(row) for row in cells]


def _looks_numeric(text: str) -> bool:
    if text == "":
        return True
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False
