"""``bo elect``: send a fund's election on a voluntary or choice corporate action. The election is
checked against the golden record and the books' holding of record
(``bo_lib.corporate_actions.instruct``), written as an MT565 under
``outbound/<date>/messages/`` for the custodians' gateway, and ingested at once, so the books and
the corporate-actions control count it from the moment it is sent. ``--dry-run`` prints the
message and writes nothing. Exit 0 written, 2 refused (the rule is named)."""

from __future__ import annotations

import argparse
import datetime as dt


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``bo elect`` to ``bo``."""
    from bo_lib.cli import _book_options

    elect = commands.add_parser(
        "elect", help="send a fund's election (MT565) on a voluntary or choice corporate action",
        description="Check an election against the event's notified options and deadlines and the fund's eligible balance (the "
                    "books' holding of record, less what is already instructed), write it as an MT565 under "
                    "outbound/<date>/messages/ and ingest it. Exit 0 written, 2 refused (the message names the rule).")
    elect.add_argument("--fund", required=True)
    elect.add_argument("--event", required=True, metavar="CORP", help="the corporate action reference (:20C::CORP), e.g. CA2026120022")
    elect.add_argument("--option", required=True, metavar="NNN", help="the option number (:13A::CAON), e.g. 002")
    elect.add_argument("--quantity", type=float, help="units (or nominal) to elect (default: the eligible balance not instructed yet)")
    elect.add_argument("--account", help="the safekeeping account, when the fund is eligible at more than one")
    elect.add_argument("--date", help="the business date the election is sent on (default: the latest with books)")
    elect.add_argument("--by", help="who sends it (recorded with the ingested file; default: the user name)")
    elect.add_argument("--dry-run", action="store_true", help="print the MT565 and write nothing")
    _book_options(elect)
    elect.set_defaults(handler=_cmd_elect)


def _cmd_elect(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.books.state import state_index
    from bo_lib.cli import EXIT_OK, _date, _error, _Setup
    from bo_lib.corporate_actions.control import assess
    from bo_lib.corporate_actions.inputs import gather_corporate_actions
    from bo_lib.corporate_actions.instruct import ElectionRefused, prepare_election
    from bo_lib.data.ingest import ingest
    from bo_lib.data.layout import outbound_messages_dir

    setup = _Setup(args)
    fund = setup.fund(args.fund)
    struck = state_index(setup.store, fund.fund_code) if setup.store.exists() else None
    if struck is None or struck.empty:
        return _error(f"{fund.fund_code}: no books yet: run `bo run --fund {fund.fund_code}` first (the books give the holding of record)")
    days = sorted(pd_date(d) for d in struck["business_date"])
    day = _date(args.date, "--date") if args.date else days[-1]
    if day < days[-1]:
        return _error(f"--date {day}: an election is sent on the latest business date with books ({days[-1]}), never backdated")
    if day not in days:
        return _error(f"{fund.fund_code}: no books on {day}: run `bo run --date {day} --fund {fund.fund_code}` first")
    inputs = gather_corporate_actions(setup.store, fund, day)
    result = assess(inputs)
    folder = outbound_messages_dir(setup.data_root, day)
    taken = {p.stem for p in folder.glob("*")} if folder.is_dir() else set()
    now = dt.datetime.now().replace(microsecond=0)
    try:
        election = prepare_election(result, inputs.messages, event_id=args.event, option_number=args.option, quantity=args.quantity,
                                    account=args.account, prepared=dt.datetime.combine(day, now.time()), taken_references=taken)
    except ElectionRefused as exc:
        return _error(f"election refused: {exc}")
    for warning in election.warnings:
        print(f"warning: {warning}")
    print(f"{fund.fund_code} {election.event_id} ({election.event_type} on {election.security_id} {election.isin}) account {election.account}: "
          f"option {election.option_number} {election.option_type}, {election.quantity:,.0f} of {election.eligible:,.0f} eligible "
          f"({election.instructed_before:,.0f} instructed before); market deadline {_day(election.market_deadline)}, "
          f"internal {_day(election.internal_deadline)}; from {election.sender} to {election.receiver}")
    if args.dry_run:
        print(election.text, end="")
        print("dry run: nothing written")
        return EXIT_OK
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / election.file_name
    try:
        with open(path, "x", encoding="ascii") as out:  # never overwrite an election written before
            out.write(election.text)
    except FileExistsError:
        return _error(f"{path} exists: another election took reference {election.sender_reference}; run the command again")
    report = ingest(setup.data_root, setup.store, setup.funds, dates=[day], ingested_by=args.by)
    problems = [item for item in report.new if item["path"].endswith(election.file_name) and item["violations"]]
    if problems:
        return _error(f"{path} written but held out at ingest: {problems[0]['violations']} violation(s); `bo inspect {path}` shows them")
    print(f"written: {path} (ingested; the books and the corporate-actions notebook count it from the next run of {day})")
    return EXIT_OK


def _day(value) -> str:
    import pandas as pd

    return f"{value:%Y-%m-%d}" if value is not None and pd.notna(value) else "none notified"


def pd_date(value) -> dt.date:
    import pandas as pd

    return pd.Timestamp(value).date()
