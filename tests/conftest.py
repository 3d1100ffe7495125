"""Shared fixtures: the committed sample world, its ground truth, and a scratch copy to corrupt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
PARAMETERS = REPO / "parameters"
NOTEBOOKS = REPO / "notebooks"


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    return json.loads((DATA / "seeded_exceptions.json").read_text())


@pytest.fixture(scope="session")
def funds():
    from bo_lib.parameters import load_funds

    return load_funds(PARAMETERS)


@pytest.fixture(scope="session")
def securities(sample_store):
    from bo_lib.data.catalogue import Catalogue

    return Catalogue(sample_store).reference()["securities"]


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the sample world's data root."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("store"))
    return target
