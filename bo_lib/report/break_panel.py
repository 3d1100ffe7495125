"""The reconciliation notebook's break action panel (JupyterLab only): pick a break and an action,
say who you are, a comment, an expected date (and the owner to assign, the other break of a match),
press the button; the outcome or the refusal is shown with the break's trail. It calls the same
workflow function as ``bo break`` (``bo_lib.recon.break_actions.perform``), so the same rules hold;
in a ``bo lab`` session the action is written to the production store and mirrored into the
session's scratch copy (``bo_lib.store.actions_target``); in a read-only session it is refused. In a
scheduled run nothing is interactive: the panel only says where it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bo_lib.rag import GREEN, RED
from bo_lib.recon import workflow
from bo_lib.recon.break_actions import BreakAction, describe, load_trail, perform
from bo_lib.report.display import show_message, show_table
from bo_lib.report.explorer import CONTROL_LAYOUT, CONTROLS_LAYOUT, LABEL_STYLE
from bo_lib.store import StoreReadOnlyError

#: the trail's columns a reader is shown (the panel, ``bo break show``)
TRAIL_COLUMNS_SHOWN = ["seq", "acted_at", "actor", "action", "state_from", "state_to", "owner_to", "expected_to", "match_id", "comment"]


@dataclass
class PanelOutcome:
    """What the panel shows after the button: whether the action was recorded, the message (what
    changed, or why it was refused) and the break's trail."""

    done: bool
    message: str
    trail: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TRAIL_COLUMNS_SHOWN))


def act_from_panel(store: Path | str, thresholds: Mapping[str, float], break_id: str, action: str, actor: str, comment: str = "",
                   expected: str = "", owner: str = "", other: str = "") -> PanelOutcome:
    """The panel's button: the action through the workflow (every rule of ``bo break``), never raising
    on a refusal: the refusal is the outcome's message."""
    request = BreakAction(break_id, action, actor.strip(), comment.strip(), owner.strip() or None, expected.strip() or None,
                          other.strip() or None)
    try:
        rows = perform(store, request, thresholds)
        done, message = True, describe(rows)
    except (ValueError, StoreReadOnlyError) as exc:
        done, message = False, f"refused: {exc}"
    trail = load_trail(store, break_id=break_id) if break_id else pd.DataFrame(columns=TRAIL_COLUMNS_SHOWN)
    return PanelOutcome(done, message, trail.reindex(columns=TRAIL_COLUMNS_SHOWN))


def break_action_panel(store: Path | str, history: pd.DataFrame, thresholds: Mapping[str, float], interactive: bool) -> None:
    """The panel in JupyterLab (``interactive``); in a scheduled run a line saying where to act."""
    if not interactive:
        show_message("Break actions: in JupyterLab (`bo lab`) with the break action panel, or with `bo break ...` (see the README).")
        return
    from IPython.display import display

    display(break_action_widget(store, history, thresholds))


def break_action_widget(store: Path | str, history: pd.DataFrame, thresholds: Mapping[str, float]):
    """The widgets: break, action, your name, comment, expected date, owner, other break, a button and
    the outcome with the break's trail."""
    import ipywidgets as widgets

    labels = [(f"{r.break_id}  {r.recon} {r.item}  [{r.state}]", r.break_id) for r in history.itertuples()]
    pick = widgets.Dropdown(options=labels or [("(no break)", "")], description="break", style=LABEL_STYLE, layout=CONTROL_LAYOUT)
    action = widgets.Dropdown(options=[a for a in workflow.ACTIONS if a != "note"], description="action", style=LABEL_STYLE,
                              layout=CONTROL_LAYOUT)
    fields = {name: widgets.Text(description=name, style=LABEL_STYLE, layout=CONTROL_LAYOUT, placeholder=hint) for name, hint in
              (("your name", "who acts"), ("comment", "why, or what was found"), ("expected", "YYYY-MM-DD"),
               ("owner", "assign: the new owner"), ("other break", "match: the second break id"))}
    button = widgets.Button(description="record the action", button_style="primary")
    out = widgets.Output()

    def on_click(_):
        outcome = act_from_panel(store, thresholds, pick.value, action.value, fields["your name"].value, fields["comment"].value,
                                 fields["expected"].value, fields["owner"].value, fields["other break"].value)
        out.clear_output()
        with out:
            show_message(outcome.message, GREEN if outcome.done else RED)
            show_table(outcome.trail, f"Trail of {pick.value}", empty="no action recorded yet")

    button.on_click(on_click)
    box = widgets.VBox([widgets.HBox([pick, action, *fields.values(), button], layout=CONTROLS_LAYOUT), out])
    box.add_class("bo-break-actions")
    return box
