"""Cell builders shared by the notebook templates, including the one standard parameters cell."""

from __future__ import annotations

import nbformat


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str, *tags: str):
    cell = nbformat.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def parameters_cell(fund: str | None = None):
    """The parameters every notebook declares (bo_lib.parameters.NotebookParameters, plus ``fund``
    for fund-scoped notebooks). Comments must not contain ';' (papermill's parser stops there)."""
    lines = ["# Parameters (papermill injects the scheduled values below this cell)"]
    if fund is not None:
        lines.append(f'fund = "{fund}"')
    lines += [
        'business_date = ""  # YYYY-MM-DD, or empty for the latest date delivered',
        'data_root = "../data"',
        'parameters_dir = "../parameters"',
        'run_id = "interactive"',
        'store = ""  # the workbench DuckDB file, empty for <data_root>/store/workbench.duckdb',
        'output_dir = ""  # where files for the archive go (set by the daily run), empty for none',
    ]
    return code("\n".join(lines), "parameters")
