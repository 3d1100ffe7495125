"""Packaging: pyproject.toml (pip) and environment.yml (conda) ask for the same packages at the same
versions, the `bo` command is declared, and README.md shows the two commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def _split(requirement: str) -> tuple[str, str]:
    """('QuantLib>=1.34') -> ('quantlib', '>=1.34'); names normalised, specifier without spaces."""
    m = _NAME.match(requirement)
    assert m, f"cannot read requirement {requirement!r}"
    name = m.group(1).lower().replace("_", "-").replace(".", "-")
    return name, m.group(2).replace(" ", "")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _pip_requirements() -> dict[str, str]:
    project = _pyproject()["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    out = dict(_split(r) for r in reqs)
    assert len(out) == len(reqs), "a package is listed twice in pyproject.toml"
    return out


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    pip_entries: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_entries += dep.get("pip", [])
            continue
        name, spec = _split(str(dep))
        if name in ("python", "pip"):
            continue
        assert name not in out, f"{name} listed twice in environment.yml"
        out[name] = spec
    for entry in pip_entries:
        if entry.strip() in ("-e .", "-e ./", "--editable ."):
            continue
        name, spec = _split(entry)
        assert name not in out, f"{name} listed twice in environment.yml"
        out[name] = spec
    return out


def test_split_normalises_names_and_specifiers():
    assert _split("exchange_calendars>=4.5") == ("exchange-calendars", ">=4.5")
    assert _split("QuantLib >= 1.34") == ("quantlib", ">=1.34")
    assert _split("pandas>=3.0,<4") == ("pandas", ">=3.0,<4")


def test_pyproject_and_environment_yml_agree():
    pip, conda = _pip_requirements(), _conda_requirements()
    assert len(pip) >= 20
    assert sorted(set(pip) - set(conda)) == [], "in pyproject.toml but not in environment.yml"
    assert sorted(set(conda) - set(pip)) == [], "in environment.yml but not in pyproject.toml"
    differing = {n: (pip[n], conda[n]) for n in pip if pip[n] != conda[n]}
    assert differing == {}, "version specifiers differ (pyproject, environment.yml)"
    assert pip["pandas"] == ">=3.0,<4" and pip["pytest"] == ">=8"


def test_environment_pins_python_311_and_installs_the_project():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in plain and "pip" in plain
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip
    assert _pyproject()["project"]["requires-python"] == ">=3.11"


def test_bo_console_script_is_declared():
    assert _pyproject()["project"]["scripts"]["bo"] == "bo_lib.cli:main"
    from bo_lib.cli import main

    assert callable(main)


def test_readme_first_code_block_shows_demo_and_test():
    readme = REPO / "README.md"
    if not readme.exists():
        pytest.skip("README.md does not exist yet (the lead is writing it)")
    blocks = re.findall(r"```[^\n]*\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README.md has no fenced code block"
    assert "make demo" in blocks[0] and "make test" in blocks[0], blocks[0]
