"""``bo break ...``: work the reconciliation breaks (list, show, assign, investigate, comment,
resolve, write off, approve, reject, match, unmatch, reopen). Every action is checked by the rules
of ``bo_lib.recon.workflow`` and appended to the trail ``recon_break_actions`` of the store
(``bo_lib.recon.break_actions.perform``); a refusal is ``bo: error: ...`` (exit 2)."""

from __future__ import annotations

import argparse

#: (command, workflow action, help, whether --comment is required)
_ACTIONS = (
    ("assign", "assign", "give a break an owner (and an expected resolution date)", False),
    ("investigate", "investigate", "start investigating a break", False),
    ("comment", "comment", "add a comment (the state does not change)", True),
    ("resolve", "resolve", "resolve a break (a comment says how)", True),
    ("write-off", "write_off", "write a break off; above the fund's threshold this only proposes it (four eyes)", True),
    ("approve", "approve", "approve a write-off someone else proposed", False),
    ("reject", "reject", "reject a proposed write-off (back to investigating)", True),
    ("unmatch", "unmatch", "undo a manual match (both breaks back to investigating)", True),
    ("reopen", "reopen", "reopen a resolved or written-off break (back to investigating)", True),
)
_LIST_COLUMNS = ["break_id", "fund", "recon", "item", "classification", "value_base", "age_business_days", "status", "state", "owner",
                 "expected_date", "overdue", "last_action", "last_actor"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``bo break`` and its subcommands to ``bo``."""
    from bo_lib.cli import _book_options

    group = commands.add_parser("break", help="work the reconciliation breaks: list, show, assign, resolve, write off, match",
                                description="The break workflow: new -> assigned -> investigating -> resolved or written off; "
                                            "every action is appended to the trail recon_break_actions.")
    actions = group.add_subparsers(dest="break_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the breaks with their state, owner and expected date")
    listing.add_argument("--fund")
    listing.add_argument("--state", help="only breaks in this state (new, assigned, investigating, write_off_proposed, resolved, ...)")
    listing.add_argument("--owner")
    listing.add_argument("--overdue", action="store_true", help="only breaks past their expected resolution date (as of --as-of)")
    listing.add_argument("--as-of", dest="as_of", help="the business date overdue is judged on, YYYY-MM-DD "
                                                       "(default: each fund's latest reconciled date, as the notebook does)")
    listing.add_argument("--all", action="store_true", help="also breaks the recon resolved (default: open ones and those still worked)")
    _book_options(listing)
    listing.set_defaults(handler=_cmd_list)
    show = actions.add_parser("show", help="a break and its whole trail")
    show.add_argument("break_id")
    _book_options(show)
    show.set_defaults(handler=_cmd_show)
    for name, action, text, needs_comment in _ACTIONS:
        parser = actions.add_parser(name, help=text)
        parser.add_argument("break_id")
        _actor_options(parser, needs_comment)
        if name == "assign":
            parser.add_argument("--to", required=True, help="the new owner")
        parser.set_defaults(handler=_cmd_act, action=action)
    match = actions.add_parser("match", help="match two open breaks of one recon that explain each other, netting within the fund's write-off "
                                                    "threshold (kept for the next recons)")
    match.add_argument("break_id")
    match.add_argument("other")
    _actor_options(match, True)
    match.set_defaults(handler=_cmd_act, action="match")


def _actor_options(parser: argparse.ArgumentParser, needs_comment: bool) -> None:
    from bo_lib.cli import _book_options

    parser.add_argument("--as", dest="actor", required=True, help="who acts (your name)")
    parser.add_argument("--comment", required=needs_comment, default="", help="why, or what was found")
    parser.add_argument("--expected", help="expected resolution date YYYY-MM-DD (not in the past)")
    _book_options(parser)


def _breaks_table(store):
    from bo_lib.store import select_frame

    return select_frame(store, "recon_breaks", "SELECT * FROM recon_breaks ORDER BY fund, break_id")


def _cmd_list(args: argparse.Namespace, argv: list[str]) -> int:
    import pandas as pd

    from bo_lib.cli import EXIT_OK, _Setup
    from bo_lib.people import same_person
    from bo_lib.recon import workflow

    setup = _Setup(args)
    table = _breaks_table(setup.store)
    if args.fund:
        setup.fund(args.fund)
        table = table[table["fund"].eq(args.fund)]
    as_of, said = _as_of(args.as_of, table)
    if "state" not in table:
        table = table.assign(state=workflow.NEW, expected_date=pd.NaT, overdue=False, last_action="", last_actor="")
    if args.state:
        if args.state not in workflow.STATES:
            raise ValueError(f"--state: {args.state!r} is not a state (known: {', '.join(workflow.STATES)})")
        table = table[table["state"].eq(args.state)]
    elif not args.all:
        table = table[table["status"].eq("open") | ~table["state"].isin(workflow.CLOSED_STATES)]
    if args.owner:
        table = table[[same_person(owner, args.owner) for owner in table["owner"].fillna("")]]
    print(said)
    table = table.assign(overdue=workflow.overdue(table, as_of if args.as_of else as_of.reindex(table.index)))
    if args.overdue:
        table = table[table["overdue"]]
    if table.empty:
        print("no breaks match")
        return EXIT_OK
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_colwidth", 40):
        print(_printable(table.reindex(columns=_LIST_COLUMNS)).to_string(index=False))
    print(f"{len(table)} break(s); `bo break show ID` for one break and its trail")
    return EXIT_OK


def _as_of(given: str | None, table):
    """The business date(s) overdue is judged on, and the line saying so. Rule: ``--as-of`` when
    given, else each break's fund's latest reconciled date (``recon_breaks.as_of``), the business
    date the notebook's break history uses, never the calendar date."""
    import datetime as dt

    import pandas as pd

    if given:
        try:
            day = dt.date.fromisoformat(given)
        except ValueError:
            raise ValueError(f"--as-of: {given!r} is not a date YYYY-MM-DD") from None
        return day, f"overdue as of {day} (--as-of)"
    dates = pd.to_datetime(table["as_of"]) if "as_of" in table else pd.Series(pd.NaT, index=table.index)
    latest = dates.groupby(table["fund"]).max().dropna() if len(table) and "fund" in table else pd.Series(dtype="datetime64[ns]")
    shown = ", ".join(f"{fund} {day:%Y-%m-%d}" for fund, day in latest.items()) or "none"
    return dates, f"overdue as of each fund's latest reconciled date: {shown} (--as-of DATE for another)"


def _cmd_show(args: argparse.Namespace, argv: list[str]) -> int:
    import pandas as pd

    from bo_lib.cli import EXIT_OK, _Setup
    from bo_lib.recon import workflow
    from bo_lib.recon.break_actions import find_break, load_trail
    from bo_lib.report.break_panel import TRAIL_COLUMNS_SHOWN
    from bo_lib.store import open_store

    setup = _Setup(args)
    if not setup.store.exists():
        raise ValueError(f"unknown break {args.break_id!r}: the store {setup.store} has no breaks yet")
    with open_store(setup.store, read_only=True) as connection:
        record = find_break(connection, args.break_id)
    for key in ("break_id", "fund", "recon", "account", "item", "classification", "currency", "difference", "value_base", "first_seen",
                "last_seen", "status", "resolution", "age_business_days", "state", "owner", "expected_date", "comment", "detail"):
        print(f"{key:>18}: {'' if pd.isna(record.get(key)) else record.get(key)}")
    state = workflow.NEW if pd.isna(record.get("state")) or not record.get("state") else record["state"]
    print(f"{'allowed':>18}: {', '.join(a for a in workflow.allowed_actions(state) if a != 'note')}")
    trail = load_trail(setup.store, break_id=args.break_id)
    print(f"trail ({len(trail)} action(s)):")
    if len(trail):
        with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_colwidth", 60):
            print(_printable(trail[TRAIL_COLUMNS_SHOWN]).to_string(index=False))
    return EXIT_OK


def _printable(table):
    """Dates as YYYY-MM-DD, times to the second, money to the cent, nothing shown as NaN / NaT."""
    import pandas as pd

    out = table.copy()
    for column in out:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            fmt = "%Y-%m-%d %H:%M:%S" if column.endswith("_at") else "%Y-%m-%d"
            out[column] = out[column].dt.strftime(fmt).fillna("")
        elif column == "value_base":
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    return out.fillna("")


def _cmd_act(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.cli import EXIT_OK, _Setup
    from bo_lib.recon.break_actions import BreakAction, describe, perform, write_off_thresholds

    setup = _Setup(args)
    if not setup.store.exists():
        raise ValueError(f"unknown break {args.break_id!r}: the store {setup.store} has no breaks yet")
    request = BreakAction(args.break_id, args.action, args.actor, args.comment or "", getattr(args, "to", None),
                          getattr(args, "expected", None), getattr(args, "other", None))
    rows = perform(setup.store, request, write_off_thresholds(setup.funds))
    print(describe(rows))
    return EXIT_OK
