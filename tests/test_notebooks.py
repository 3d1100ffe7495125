"""Notebook templates keep their contract with bo_lib: parameters declared once (in
bo_lib.parameters) and matched by the notebook's parameters cell, a checked exceptions summary,
a place in the schedule, and thin cells (logic lives in bo_lib)."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from bo_lib.controls import KERNEL_NAME, NOTEBOOK_PARAMETERS, load_schedule
from tests.conftest import NOTEBOOKS, PARAMETERS

TEMPLATES = sorted(NOTEBOOKS.glob("*.ipynb"))
MAX_CODE_LINES = 12


def test_every_declared_notebook_exists_and_is_scheduled():
    assert sorted(p.stem for p in TEMPLATES) == sorted(NOTEBOOK_PARAMETERS)
    scheduled = {job.notebook for job in load_schedule(PARAMETERS / "schedule.yaml").jobs}
    assert scheduled == set(NOTEBOOK_PARAMETERS)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_parameters_cell_matches_the_declaration(path):
    declared = set(NOTEBOOK_PARAMETERS[path.stem].model_fields)
    in_notebook = set(papermill.inspect_notebook(str(path)))
    assert in_notebook == declared


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_structure_exceptions_first_and_thin_cells(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "nbval-check-output" in c.metadata.get("tags", [])]
    assert tagged, "the exceptions summary cell must be checked by nbval"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert params == [1]
    assert tagged[0] <= 6, "exceptions come before the detail sections"
    fat = [(i, len(c.source.splitlines())) for i, c in enumerate(nb.cells) if c.cell_type == "code" and len(c.source.splitlines()) > MAX_CODE_LINES]
    assert not fat, f"cells over {MAX_CODE_LINES} lines belong in bo_lib: {fat}"
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME, "templates declare the project's kernel"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, "the committed template was saved with an error output"
