"""The control registry: each control declared once, and what reads from it (parameters, the
schedule check, the notebook templates, the index's labels) agrees with it."""

from __future__ import annotations

import nbformat
import pytest

from bo_lib.controls import CONTROLS, NOTEBOOK_PARAMETERS, Figure, check_notebook_parameters, check_schedule, control_of, parameters_cell_source
from bo_lib.report.figures import format_figure, shown_figures
from bo_lib.parameters import ParameterError, Schedule, load_funds
from tests.conftest import NOTEBOOKS, PARAMETERS

VALID = {"fund": "USEQ", "business_date": "2026-11-06", "data_root": "data", "parameters_dir": "parameters"}


def test_every_control_has_its_notebook_with_the_generated_parameters_cell():
    for name in CONTROLS:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert cell.source == parameters_cell_source(name), f"{name}: rebuild the notebook (tools/build_notebooks.py)"


def test_every_notebook_sets_up_through_the_registry():
    for name in CONTROLS:
        sources = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells if c.cell_type == "code")
        assert f'open_control("{name}", globals())' in sources
        assert "run.show_exceptions()" in sources and "run.record()" in sources


def test_policy_values_are_parameters_with_bounds():
    params = check_notebook_parameters("settlement", VALID)
    assert (params.ladder_days, params.fail_rate_days) == (5, 20)
    with pytest.raises(ParameterError, match="ladder_days: Input should be greater than or equal to 1"):
        check_notebook_parameters("settlement", VALID | {"ladder_days": 0})
    assert "ladder_days = 5  # business days the cash ladder projects" in parameters_cell_source("settlement")


def test_a_mistyped_fund_is_named_with_the_funds_that_exist():
    funds = load_funds(PARAMETERS)
    with pytest.raises(ParameterError) as info:
        check_notebook_parameters("nav", VALID | {"fund": "USEQQ"}, funds=funds)
    assert "fund: unknown fund 'USEQQ' (known: GLBD, MAHF, USEQ)" in str(info.value)
    # in a notebook the error reads as the command line prints it, without a traceback
    assert info.value._render_traceback_() == [f"bo: error: {info.value}"]


def test_open_control_refuses_a_mistyped_fund_before_touching_the_store(tmp_path):
    from bo_lib.report.control import open_control

    namespace = VALID | {"fund": "USEQQ", "parameters_dir": str(PARAMETERS), "store": str(tmp_path / "none.duckdb"), "run_id": "interactive",
                         "output_dir": ""}
    with pytest.raises(ParameterError, match="unknown fund 'USEQQ'"):
        open_control("intake", namespace)
    assert not (tmp_path / "none.duckdb").exists()


def test_schedule_at_another_scope_than_the_control_is_refused():
    schedule = Schedule.model_validate({"jobs": [{"notebook": "regulatory", "scope": "fund"}]})
    with pytest.raises(ParameterError, match=r"jobs.scope: scheduled at another scope than the control's: \['regulatory \(scope fund, declared company\)'\]"):
        check_schedule(schedule, "schedule.yaml")


def test_figures_read_with_labels_units_and_the_funds_decimals():
    results = {"business_date": "2026-11-06", "exceptions": {"red": 2, "amber": 3, "green": 14}, "base_currency": "USD", "nav_decimals": 4,
               "nav_per_share_A": 24.6, "nav_per_share_I": 26.3653, "net_assets": 460681889.0, "max_admin_difference_pct": -0.00001,
               "locked_through": None, "something_new": 3}
    shown = [(f.label, f.value, f.unit) for f in shown_figures("nav", results)]
    assert shown[:3] == [("NAV per share, class A", "24.6000", "per share"), ("NAV per share, class I", "26.3653", "per share"),
                         ("Net assets", "460,681,889.00", "USD")]
    # no negative zero; a missing figure is a dash; undeclared figures come last under their own name
    assert ("Largest difference to the administrator", "0.0000", "%") in shown
    assert ("Books locked through", "—", "") in shown
    assert shown[-1] == ("something new", "3", "")
    assert not any(label in ("base_currency", "nav_decimals") for label, _v, _u in shown)


def test_recon_figures_are_labelled_per_recon():
    label = control_of("reconciliation").figure("cash_open_value_base")[1]
    assert label == "Open cash breaks, value"
    assert format_figure(-0.004, Figure("x", decimals=2)) == "0.00"
    assert format_figure(1234567.891, Figure("x")) == "1,234,567.891"


def test_notebook_parameters_come_from_the_registry():
    assert NOTEBOOK_PARAMETERS == {name: control.parameters for name, control in CONTROLS.items()}


def test_what_a_control_persists_names_tables_the_store_knows():
    import importlib

    from bo_lib import store

    for control in CONTROLS.values():
        for reference in (control.gather, control.assess):
            importlib.import_module(reference.partition(":")[0])  # registers the tables its modules own
        unknown = [table for table in control.writes if table not in store._TABLES]
        assert not unknown, f"{control.notebook}: declares writes to unknown tables {unknown}"
    assert "recon_breaks" in control_of("reconciliation").writes and control_of("nav").writes == ()


def test_open_control_names_a_wrong_folder_parameter(tmp_path):
    from bo_lib.report.control import open_control

    namespace = VALID | {"parameters_dir": str(tmp_path / "nowhere"), "run_id": "interactive", "store": "", "output_dir": ""}
    with pytest.raises(ParameterError, match="parameters_dir: .*nowhere has no funds/ folder"):
        open_control("nav", namespace)
    namespace |= {"parameters_dir": str(PARAMETERS), "data_root": str(tmp_path / "no-data")}
    with pytest.raises(ParameterError, match="data_root: no such folder: .*no-data"):
        open_control("nav", namespace)
