"""The analyst explorer: pick a table and filter it by column values with ipywidgets. In a
scheduled (papermill) run there is no one to click, so it says so and shows nothing dynamic;
it never raises."""

from __future__ import annotations

import pandas as pd

from bo_lib.report.display import show_message, show_table


#: every control's label shown whole (ipywidgets cuts a description at 80px by default)
LABEL_STYLE = {"description_width": "initial"}
#: the controls wrap onto the next line instead of running off the notebook's width
CONTROLS_LAYOUT = {"flex_flow": "row wrap", "align_items": "center"}
CONTROL_LAYOUT = {"width": "auto", "min_width": "220px", "margin": "2px 12px 2px 0"}


def explorer(tables: dict[str, pd.DataFrame], filter_columns: list[str], interactive: bool) -> None:
    """``tables``: name -> frame; ``filter_columns``: columns offered as drop-down filters where present."""
    if not interactive:
        show_message(f"Explorer: interactive in JupyterLab (tables: {', '.join(tables)}); the archived report shows the tables above.")
        return
    try:
        from IPython.display import display

        box = explorer_widget(tables, filter_columns)
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        show_message("Explorer unavailable: ipywidgets is not installed.")
        return
    display(box)


def explorer_widget(tables: dict[str, pd.DataFrame], filter_columns: list[str]):
    """The explorer's widget: a table picker and a drop-down per filter column above the table."""
    import ipywidgets as widgets

    table_pick = widgets.Dropdown(options=list(tables), description="table", style=LABEL_STYLE, layout=CONTROL_LAYOUT)
    filters = {c: widgets.Dropdown(options=["(all)"], description=c, style=LABEL_STYLE, layout=CONTROL_LAYOUT) for c in filter_columns}
    out = widgets.Output()

    def refresh_options(*_):
        frame = tables[table_pick.value]
        for column, dropdown in filters.items():
            values = sorted(frame[column].dropna().astype(str).unique()) if column in frame else []
            dropdown.options = ["(all)"] + values
            dropdown.value = "(all)"
            dropdown.disabled = column not in frame

    def redraw(*_):
        frame = tables[table_pick.value]
        for column, dropdown in filters.items():
            if column in frame and dropdown.value != "(all)":
                frame = frame[frame[column].astype(str) == dropdown.value]
        out.clear_output()
        with out:
            show_table(frame, f"{table_pick.value}: {len(frame)} rows")

    table_pick.observe(lambda change: (refresh_options(), redraw()), names="value")
    for dropdown in filters.values():
        dropdown.observe(redraw, names="value")
    refresh_options()
    redraw()
    box = widgets.VBox([widgets.HBox([table_pick, *filters.values()], layout=CONTROLS_LAYOUT), out])
    box.add_class("bo-explorer")
    return box
