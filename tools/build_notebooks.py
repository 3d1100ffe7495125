"""Write the notebook templates under notebooks/ from their cell sources in tools/notebooks/
(reviewable as code), then execute each on the sample world so the committed copy carries the
outputs nbval checks.

Run: .venv/bin/python tools/build_notebooks.py [name ...]
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))

from bo_lib.controls import KERNEL_DISPLAY_NAME, KERNEL_NAME  # noqa: E402

#: the project's kernel (``make`` installs it into .venv: ``ipykernel install --sys-prefix --name bo-workbench``)
KERNELSPEC = {"name": KERNEL_NAME, "display_name": KERNEL_DISPLAY_NAME, "language": "python"}


def prepare_sample_store() -> None:
    """Roll the sample world's production store to its latest date once: each notebook then runs
    interactively (as an analyst would) on a scratch copy of it, and never writes it."""
    from bo_lib.books import prepare_books
    from bo_lib.data.layout import latest_business_date
    from bo_lib.parameters import load_funds
    from bo_lib.store import default_store

    data, funds = ROOT / "data", load_funds(ROOT / "parameters")
    prepare_books(data, default_store(data), funds, list(funds), latest_business_date(data))

TEMPLATES = sorted(p.stem for p in (ROOT / "tools" / "notebooks").glob("*.py") if p.stem not in ("__init__", "cells"))


def build(name: str, execute: bool = True) -> Path:
    cells = importlib.import_module(f"tools.notebooks.{name}").CELLS
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    path = NOTEBOOKS / f"{name}.ipynb"
    nbformat.write(nb, path)
    if execute:
        papermill.execute_notebook(str(path), str(path), cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False,
                                  execution_timeout=600)  # a hung cell fails the build instead of hanging it
        executed = nbformat.read(path, as_version=4)
        # keep the template clean: drop papermill's injected-parameters cell and run metadata
        executed.cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        executed.metadata.pop("papermill", None)
        executed.metadata["kernelspec"] = dict(KERNELSPEC)  # whatever kernel executed the build
        for cell in executed.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        nbformat.write(executed, path)
    return path


if __name__ == "__main__":
    prepare_sample_store()
    for notebook in sys.argv[1:] or TEMPLATES:
        print(build(notebook))
