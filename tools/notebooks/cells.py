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


def parameters_cell(notebook: str, fund: str = "USEQ"):
    """The notebook's parameters cell, generated from its declaration in ``bo_lib.controls``."""
    from bo_lib.controls import parameters_cell_source

    return code(parameters_cell_source(notebook, fund), "parameters")
